"""One rule, one place: the report lists what the sync wrote into the workbook.

For every opportunity of the demo at 1,000, with calendar and with working days, on a first sync
and on later ones, the report's overdue list, stalled list and days in stage equal the cells of
销售机会 after the sync of that day (issue #13: the report once counted calendar days where the
workbook counted working days)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import defaultdict
from pathlib import Path
from statistics import mean

import openpyxl
import pytest
from helpers import run_cli

from funnel_sync import config as config_mod
from funnel_sync.funnel import build_snapshot
from funnel_sync.model import Stage
from funnel_sync.read import read_book

DAYS = ("2026-11-30", "2026-12-03", "2026-12-14")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("one-source") / "demo.xlsx"
    code, _, err = run_cli(
        "demo", str(path), "--seed", "2", "--opportunities", "1000", "--today", DAYS[0]
    )
    assert code == 0, err
    return path


@pytest.mark.parametrize("count_days", ["calendar", "working"])
def test_the_report_lists_what_the_sync_wrote(demo: Path, tmp_path: Path, count_days: str) -> None:
    book_path = tmp_path / "book.xlsx"
    shutil.copyfile(demo, book_path)
    config = tmp_path / "config.toml"
    config.write_text(f'[general]\ncount_days = "{count_days}"\n', encoding="utf-8")
    cfg = config_mod.load(config)
    assert cfg.general.count_days == count_days
    checked = 0
    for day in DAYS:
        code, _, err = run_cli("sync", str(book_path), "--today", day, "--config", str(config))
        assert code in (0, 1), err
        today = dt.date.fromisoformat(day)
        book = read_book(book_path, cfg, engine_sheets=True)
        snap = build_snapshot(book, cfg, today, limit=10**6)
        seen: set[str] = set()
        cells = {}
        for o in book.opportunities:  # the first row of a duplicated ID counts
            if o.opportunity_id and o.opportunity_id not in seen:
                seen.add(o.opportunity_id)
                cells[o.opportunity_id] = o
        engine = _engine_cells(book_path)

        overdue = {
            i["opportunity_id"]: (i["overdue"], i["due"], i["last_contact"])
            for i in snap.team["overdue"]["items"]
        }
        assert snap.team["overdue"]["total"] == len(overdue)
        wanted = {
            oid: (e["overdue_days"], e["next_contact_due"], e["last_contact"])
            for oid, e in engine.items()
            if e["overdue_days"]
        }
        assert overdue == wanted, day

        stalled = {i["opportunity_id"]: i["age"] for i in snap.team["stalled"]["items"]}
        assert snap.team["stalled"]["total"] == len(stalled)
        wanted_stalled = {
            oid: e["days_in_stage"] for oid, e in engine.items() if _stalled(e["reminder"])
        }
        assert stalled == wanted_stalled, day

        by_class: dict[str, list[int]] = defaultdict(list)
        for oid, e in engine.items():
            stage = cells[oid].confirmed_stage
            if stage is not None and stage.is_open:
                by_class[stage.code].append(e["days_in_stage"])
        for layer in snap.team["days"]:
            days = by_class.get(layer["key"])
            assert layer["avg_current"] == (round(mean(days), 1) if days else None), day
        checked += len(overdue) + len(stalled)
    assert checked > 100  # the demo has plenty of both


def _stalled(reminder: str | None) -> bool:
    """The sync's stalled notes (rules/reminders.py): over the planned days, or the plan passed."""
    return bool(reminder) and ("停留" in reminder or "计划进阶日" in reminder)


def _engine_cells(path: Path) -> dict[str, dict[str, object]]:
    """The engine columns of 销售机会 as the sync wrote them, per opportunity (first row)."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    ws = wb["销售机会"]
    rows = ws.iter_rows(values_only=True)
    header = list(next(rows))
    col = {name: header.index(name) for name in header if name}
    fields = {
        "overdue_days": "逾期天数",
        "next_contact_due": "下次联系",
        "last_contact": "最近联系",
        "days_in_stage": "阶段天数",
        "reminder": "提醒",
        "confirmed": "确认分类",
    }
    out: dict[str, dict[str, object]] = {}
    for row in rows:
        oid = row[col["机会编号"]]
        if not oid or oid in out:
            continue
        values = {k: row[col[h]] for k, h in fields.items()}
        for k in ("next_contact_due", "last_contact"):
            v = values[k]
            values[k] = v.date() if isinstance(v, dt.datetime) else v
        for k in ("overdue_days", "days_in_stage"):
            v = values[k]
            values[k] = int(v) if isinstance(v, int | float) else None
        if values["confirmed"] in (None, "", Stage.LOST.code):
            continue
        out[str(oid)] = values
    wb.close()
    return out
