"""The fast paths of the report: the aggregation's vectorised helpers against the plain
pandas/Python they replace, ledgers with the awkward rows they must handle, and the cached
template rendering (the same output, the broken cell still named)."""

from __future__ import annotations

import datetime as dt
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from helpers import REPS_OK, append_rows, write_ledger

from funnel_sync.config import Config
from funnel_sync.funnel import Snapshot, build_snapshot
from funnel_sync.funnel.context import Scope
from funnel_sync.funnel.frames import _dates, _mapped
from funnel_sync.funnel.tables import _counts
from funnel_sync.logs import log_day
from funnel_sync.parse import parse_text
from funnel_sync.read import read_book
from funnel_sync.report import ReportError
from funnel_sync.report.excel import render_excel
from funnel_sync.report.html import render_html

TODAY = dt.date(2026, 11, 30)
D = dt.date

# ---- the helpers against what they replace ----

NAN = float("nan")
MIXED: list[Any] = [
    "O1",
    " O1 ",
    "O1",
    None,
    NAN,
    NAN,
    1,
    1.0,
    True,
    0,
    False,
    "",
    "  ",
    dt.datetime(2026, 11, 25, 1, 59, 59, 712000),
    dt.datetime(2026, 11, 25, 1, 59, 59, 712000),
    dt.date(2026, 11, 25),
    "2026-11-25",
]


@pytest.mark.parametrize("convert", [parse_text, log_day, repr])
def test_mapped_converts_like_a_dictionary_of_the_distinct_values(convert: Any) -> None:
    table = {v: convert(v) for v in set(MIXED)}  # what _mapped did before
    expected = list(map(table.__getitem__, MIXED))
    got = _mapped(MIXED, convert)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g == e or (g != g and e != e), (g, e)  # NaN equals NaN here
    assert _mapped([], convert) == []
    assert _mapped(np.array(MIXED, dtype=object), convert) == got


def _slow_dates(values: list[Any]) -> pd.Series:
    raw = pd.Series(values, dtype=object)
    return pd.Series(pd.to_datetime(raw, errors="coerce")).astype("datetime64[ns]")


@pytest.mark.parametrize(
    "values",
    [
        [D(2026, 11, 1), None, D(2026, 11, 1), D(2025, 2, 28), None],
        [None, None],
        [D(2026, 1, 1), dt.datetime(2026, 1, 1, 12, 30)],  # not all dates: the slow path
        [],
    ],
)
def test_dates_convert_each_day_once_with_the_same_result(values: list[Any]) -> None:
    got, expected = _dates(values), _slow_dates(values)
    assert got.dtype == expected.dtype == np.dtype("datetime64[ns]")
    assert got.tolist() == expected.tolist() or (
        got.isna().tolist() == expected.isna().tolist()
        and got.dropna().tolist() == expected.dropna().tolist()
    )


def test_counts_equal_the_group_sizes() -> None:
    rng = random.Random(5)
    names = ["张三", "李四", "王五", None]
    df = pd.DataFrame(
        {
            "rep": pd.Series([rng.choice(names) for _ in range(500)], dtype=object),
            "frm": [rng.randint(-1, 5) for _ in range(500)],
            "kind": [rng.choice(["拜访", "电话"]) for _ in range(500)],
        }
    )
    df["rep"] = df["rep"].astype("category")

    def sizes(keys: Any) -> dict[Any, int]:
        size = df.groupby(keys, observed=True).size()
        return {k: int(v) for k, v in size.to_dict().items() if v}

    assert _counts(df, "rep", "frm") == sizes(["rep", "frm"])
    assert _counts(df, "rep") == sizes("rep")
    assert _counts(df, "rep", "kind") == sizes(["rep", "kind"])  # text: pandas does it
    assert _counts(df.iloc[:0], "rep", "frm") == {}
    assert _counts(df.iloc[:0], "rep") == {}


# ---- awkward rows, end to end ----


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(2))


def _log(day: dt.date, oid: str | None, frm: str, to: str, owner: str | None) -> dict[str, Any]:
    return {
        "time": _at(day),
        "opportunity_id": oid,
        "from_stage": frm,
        "to_stage": to,
        "result": "接收",
        "reason": "证据齐全",
        "owner": owner,
    }


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log row without its owner, an ID typed with spaces, moves and an activity of an
    opportunity that is not in the sheet, a touch on the customer only."""
    path = tmp_path_factory.mktemp("awkward") / "ledger.xlsx"
    pool = (
        {"customer_id": "KH001", "name": "甲公司", "region": "华东", "owner": "张三"},
        {"customer_id": "KH002", "name": "乙公司", "region": "华南", "owner": "李四"},
        {"customer_id": "KH003", "name": "丙公司", "region": "华东"},
    )
    opps = (
        {
            "opportunity_id": "O1",
            "customer_id": "KH001",
            "owner": "张三",
            "stage": "D",
            "amount": 100_000,
            "confirmed_stage": "D",
            "stage_entered_on": D(2026, 11, 1),
        },
        {
            "opportunity_id": "O2",
            "customer_id": "KH002",
            "owner": "李四",
            "stage": "C",
            "amount": 200_000,
            "confirmed_stage": "C",
            "stage_entered_on": D(2026, 11, 10),
        },
    )
    acts = (
        {"date": D(2026, 11, 10), "rep": "张三", "customer_id": "KH001", "opportunity_id": "O1"},
        {"date": D(2026, 11, 12), "rep": "李四", "customer_id": "KH002"},  # the customer only
        {"date": D(2026, 11, 28), "rep": "李四", "customer_id": "KH002", "opportunity_id": "OX"},
    )
    for a in acts:
        a.update(kind="拜访", hours=1)
    write_ledger(path, pool=pool, opportunities=opps, activities=acts, reps=REPS_OK)
    append_rows(
        path,
        "stage_log",
        _log(D(2026, 11, 25), "O1", "", "D", None),  # the rep: the opportunity's
        _log(D(2026, 11, 26), " O2 ", "D", "C", "李四"),
        _log(D(2026, 11, 27), "OX", "D", "C", "李四"),  # not in the sheet: no region
    )
    return path


def _snap(path: Path, today: dt.date = TODAY, lang: str = "zh") -> Snapshot:
    cfg = Config()
    return build_snapshot(read_book(path, cfg, engine_sheets=True), cfg, today, lang=lang)


def _flow(scope: Scope, key: str) -> tuple[int, int]:
    row = next(r for r in scope.flow if r.key == key)
    return row.entered, row.advanced


def test_awkward_log_rows_count_where_they_belong(awkward: Path) -> None:
    snap = _snap(awkward)
    assert (_flow(snap.team, "D"), _flow(snap.team, "C")) == ((1, 2), (2, 0))
    assert _flow(snap.rep("张三"), "D") == (1, 0)  # the owner came from the opportunity
    assert (_flow(snap.rep("李四"), "D"), _flow(snap.rep("李四"), "C")) == ((0, 2), (2, 0))
    regions = {r.name: r for r in snap.regions}
    assert _flow(regions["华东"], "D") == (1, 0)
    assert _flow(regions["华南"], "D") == (0, 1)  # OX has no customer, so no region
    assert [w.new for w in snap.team.trend][-1] == 1


def test_last_contact_from_the_opportunity_or_its_customer(awkward: Path) -> None:
    snap = _snap(awkward, D(2026, 12, 31))
    overdue = {i.opportunity_id: i for i in snap.team.overdue.items}
    assert overdue["O1"].last_contact == D(2026, 11, 10)  # OX's visit is nobody's
    assert overdue["O2"].last_contact == D(2026, 11, 12)
    assert overdue["O1"].customer == "甲公司" and overdue["O2"].customer == "乙公司"


@pytest.mark.parametrize("today", [D(2026, 1, 5), D(2026, 11, 30), D(2027, 6, 30)])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_any_report_date_reports(awkward: Path, today: dt.date, lang: str) -> None:
    """Regression: a date before every log row leaves the trend's rows empty."""
    snap = _snap(awkward, today, lang)
    new = sum(w.new for w in snap.team.trend)
    assert new == (1 if today == TODAY else 0)  # the new D of 11-25, in the last 8 weeks
    assert [snap.context(r.name).for_rep for r in snap.reps] == ["张三", "李四"]


# ---- the templates: compiled once, the same output, errors still name their cell ----


def _template(path: Path, cells: dict[str, str]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "T"
    for ref, text in cells.items():
        ws[ref] = text
    wb.save(path)
    return path


def _values(path: Path) -> list[tuple[Any, ...]]:
    ws = openpyxl.load_workbook(path)["T"]
    return [tuple(c.value for c in row) for row in ws.iter_rows()]


def test_excel_rows_render_the_same_every_time(tmp_path: Path) -> None:
    template = _template(
        tmp_path / "t.xlsx",
        {
            "A1": "{{ title }}",
            "B1": "{{ n * 2 }}",
            "C1": "n = {{ n }}",
            "D1": "{{ missing_is_blank.x if false else none }}",
            "A2": "{%row items as it%}{{ it.name }}",
            "B2": "{{ it.value }}",
            "C2": "#{{ index }}",
            "D2": "{{ it.value / 2 }}",
        },
    )
    items = [{"name": f"r{i}", "value": i} for i in range(3)]
    context = {"lang": "zh", "title": "周报", "n": 21, "items": items}
    for k in range(2):  # the second render reuses the compiled cells
        render_excel(template, tmp_path / f"out{k}.xlsx", context)
    assert _values(tmp_path / "out0.xlsx") == _values(tmp_path / "out1.xlsx")
    assert _values(tmp_path / "out0.xlsx") == [
        ("周报", 42, "n = 21", None),
        ("r0", 0, "#1", 0.0),
        ("r1", 1, "#2", 0.5),
        ("r2", 2, "#3", 1.0),
    ]


@pytest.mark.parametrize(
    ("cells", "where"),
    [
        ({"A1": "{{ n }}", "B1": "{{ n.x.y }}", "C1": "{{ n + 1 }}"}, "T!B1"),
        (
            {
                "A1": "{%row items as it%}{{ it.name }}",
                "B1": "{{ it.value }}",
                "C1": "{{ 1 / it.value }}",
            },
            "T!C2",  # the second item divides by zero
        ),
    ],
)
def test_a_broken_cell_is_named(tmp_path: Path, cells: dict[str, str], where: str) -> None:
    template = _template(tmp_path / "t.xlsx", cells)
    items = [{"name": "a", "value": 1}, {"name": "b", "value": 0}]
    with pytest.raises(ReportError, match=where):
        render_excel(template, tmp_path / "out.xlsx", {"lang": "zh", "n": 1, "items": items})


def test_a_changed_html_template_is_read_again(tmp_path: Path) -> None:
    page = tmp_path / "report.html.j2"
    page.write_text("one {{ lang }}", encoding="utf-8")
    assert render_html({"lang": "zh"}, tmp_path) == "one zh"
    page.write_text("two {{ lang }}", encoding="utf-8")
    later = page.stat().st_mtime + 5
    os.utime(page, (later, later))
    assert render_html({"lang": "zh"}, tmp_path) == "two zh"
