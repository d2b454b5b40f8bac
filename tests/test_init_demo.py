"""`init` and `demo`: what the files contain when opened by openpyxl and by the reader."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner

from funnel_sync import schema
from funnel_sync.cli import main
from funnel_sync.config import Config
from funnel_sync.demo import DemoSize, generate

TODAY = "2026-11-30"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_creates_every_sheet_header_dropdown_and_frozen_row(tmp_path: Path) -> None:
    path = tmp_path / "team.xlsx"
    code, out, _ = run("init", str(path))
    assert code == 0, out
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [s.zh for s in schema.SHEETS]
    for spec in schema.SHEETS:
        ws = wb[spec.zh]
        assert [c.value for c in ws[1]] == [c.zh for c in spec.columns]
        assert ws.freeze_panes in ("A2", "B2")
        assert ws.max_row == 1
    opps = wb[schema.OPPORTUNITIES.zh]
    lists = {dv.formula1: str(dv.sqref) for dv in opps.data_validations.dataValidation}
    assert lists['"D,C,B,A,成交,丢单"'] == "D2:D1048576"
    assert "'销售团队'!$A$2:$A$501" in lists  # owner from the Reps sheet
    assert '"是,否"' in lists and "I2:I1048576" in lists['"是,否"']
    acts = wb[schema.ACTIVITIES.zh]
    kinds = [dv.formula1 for dv in acts.data_validations.dataValidation]
    assert '"电话,拜访,短信,邮件,资料收集,寻找商机"' in kinds
    # dates show as dates, widths fit the headers
    assert opps.column_dimensions["F"].number_format == "yyyy-mm-dd"
    assert opps.column_dimensions["L"].width >= 16  # 决策流程已明确 fits


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "team.xlsx"
    path.write_bytes(b"the team's work")
    code, _, err = run("init", str(path))
    assert code == 2
    assert "already exists" in err
    assert path.read_bytes() == b"the team's work"


def test_init_in_english(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[general]\nlanguage = "en"\n', encoding="utf-8")
    path = tmp_path / "team.xlsx"
    assert run("init", str(path), "--config", str(cfg))[0] == 0
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [s.en for s in schema.SHEETS]
    lists = [dv.formula1 for dv in wb["Opportunities"].data_validations.dataValidation]
    assert '"D,C,B,A,won,lost"' in lists


def test_empty_ledger_checks_clean(tmp_path: Path) -> None:
    path = tmp_path / "team.xlsx"
    run("init", str(path))
    code, out, _ = run("check", str(path), "--format", "json")
    assert (code, json.loads(out)) == (0, [])


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.xlsx"
    code, _out, err = run("demo", str(path), "--seed", "7", "--today", TODAY)
    assert code == 0, err
    return path


def test_demo_check_reports_exactly_the_planted_mistakes(demo_book: Path) -> None:
    team = generate(DemoSize(), 7, dt.date.fromisoformat(TODAY), Config())
    titles = {s.key: s.zh for s in schema.SHEETS}
    planted = sorted((titles[sheet], row, field, code) for sheet, row, field, code in team.planted)
    code, out, _ = run("check", str(demo_book), "--format", "json", "--today", TODAY)
    found = sorted((p["sheet"], p["row"], p["field"], p["code"]) for p in json.loads(out))
    assert code == 1
    assert found == planted
    assert {p[3] for p in planted} == {
        "stage-skip",
        "id-duplicate",
        "date-unreadable",
        "rep-unknown",
    }


def test_demo_is_deterministic(demo_book: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.xlsx"
    run("demo", str(again), "--seed", "7", "--today", TODAY)
    assert (
        hashlib.sha256(again.read_bytes()).digest()
        == hashlib.sha256(demo_book.read_bytes()).digest()
    )
    other = tmp_path / "other.xlsx"
    run("demo", str(other), "--seed", "8", "--today", TODAY)
    assert other.read_bytes() != demo_book.read_bytes()


def test_demo_team_is_realistic(demo_book: Path) -> None:
    wb = openpyxl.load_workbook(demo_book)
    reps = list(wb["销售团队"].iter_rows(min_row=2, values_only=True))
    assert len(reps) == 8
    assert sum(1 for r in reps if r[5] == "是") == 1  # one manager
    today = dt.datetime.fromisoformat(TODAY)
    tenures = sorted((today - r[3]).days for r in reps)
    # in training, and in each roadmap phase (0-3, 3-6, 6-9, 9+ months after training)
    assert tenures[0] < 30 and any(60 < t < 120 for t in tenures)
    assert any(150 < t < 200 for t in tenures) and any(240 < t < 300 for t in tenures)
    assert len({r[2] for r in reps}) >= 4  # several regions
    pool = list(wb["公共资源库"].iter_rows(min_row=2, values_only=True))
    assert sum(1 for c in pool if c[9] is None) > 20  # unclaimed reserve
    opps = list(wb["销售机会"].iter_rows(min_row=2, values_only=True))
    assert {o[3] for o in opps} == {"D", "C", "B", "A", "成交", "丢单"}
    # consistent evidence: every won opportunity is signed, every B was quoted
    assert all(o[14] == "是" for o in opps if o[3] == "成交")
    assert all(o[10] == "是" for o in opps if o[3] == "B" and o[17] == "B")
    acts = list(wb["跟进记录"].iter_rows(min_row=2, values_only=True))
    days = {a[0].date() for a in acts}
    assert (max(days) - min(days)).days >= 7 * 7  # weeks of history
    # dates are real dates, shown as dates
    assert wb["跟进记录"]["A2"].number_format == "yyyy-mm-dd"
    # some won customers have a birthday next week
    won_customers = {o[1] for o in opps if o[3] == "成交"}
    soon = [
        c
        for c in pool
        if c[0] in won_customers
        and isinstance(c[6], dt.datetime)
        and 0 < (dt.date(today.year, c[6].month, c[6].day) - today.date()).days % 365 <= 7
    ]
    assert soon


def test_demo_reads_back_through_calamine(demo_book: Path) -> None:
    wb = python_calamine.CalamineWorkbook.from_path(str(demo_book))
    rows = wb.get_sheet_by_name("销售机会").to_python()
    assert rows[0][:4] == ["机会编号", "客户编号", "负责人", "分类"]
    assert isinstance(rows[1][17], str) and rows[1][18].__class__ is dt.date


def test_demo_refuses_to_overwrite(demo_book: Path) -> None:
    before = demo_book.read_bytes()
    code, _, err = run("demo", str(demo_book), "--today", TODAY)
    assert code == 2 and "already exists" in err
    assert demo_book.read_bytes() == before


def test_demo_scales_in_proportion() -> None:
    size = DemoSize.scaled(None, None, 100_000, None)
    assert size.customers == 40_000
    team = generate(DemoSize.scaled(None, None, 2_000, None), 1, dt.date(2026, 11, 30), Config())
    assert len(team.rows["opportunities"]) == 2_001  # one planted duplicate
    assert 7_000 <= len(team.rows["activities"]) <= 9_000


def test_bad_today_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("demo", str(tmp_path / "x.xlsx"), "--today", "30.11.2026")
    assert code == 2 and "YYYY-MM-DD" in err
