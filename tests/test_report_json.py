"""`funnel-sync report --format json`: the report's figures as JSON, the same as the snapshot's,
with the keys README documents."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli
from test_report import TODAY, make_book, snapshot

from funnel_sync.funnel import ReportContext, Snapshot, jsonable
from funnel_sync.funnel import context as figures
from funnel_sync.funnel.context import Figure, Listing, Scope, keys

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_book(tmp_path_factory.mktemp("json") / "ledger.xlsx")


@pytest.fixture(scope="module")
def snap(book: Path) -> Snapshot:
    return snapshot(book)


@pytest.fixture(scope="module")
def out(book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    code, stdout, err = run_cli(
        "report", str(book), "--out", str(out), "--today", TODAY.isoformat(), "--rep", "李四",
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    assert [Path(p).name for p in stdout.split()] == [
        "funnel-report-2026-W48.html",
        "funnel-report-2026-W48.xlsx",
        "funnel-report-2026-W48.json",
        "funnel-report-2026-W48-李四.html",
        "funnel-report-2026-W48-李四.xlsx",
        "funnel-report-2026-W48-李四.json",
    ]
    return out


def load(out: Path, name: str) -> Any:
    return json.loads((out / name).read_text(encoding="utf-8"))


def test_the_json_holds_the_snapshots_figures(out: Path, snap: Snapshot) -> None:
    team = load(out, "funnel-report-2026-W48.json")
    assert team == jsonable(snap.context())
    rep = load(out, "funnel-report-2026-W48-李四.json")
    assert rep == jsonable(snap.context("李四"))


def test_the_figures_as_a_script_reads_them(out: Path) -> None:
    data = load(out, "funnel-report-2026-W48.json")
    assert list(data) == list(keys(ReportContext))
    assert (data["lang"], data["today"], data["for_rep"]) == ("zh", "2026-11-30", None)
    assert data["period"] == {
        "start": "2026-11-24",
        "end": "2026-11-30",
        "year": 2026,
        "week": 48,
        "label": "2026-W48",
    }
    team = data["team"]
    assert [(x["key"], x["count"], x["amount"]) for x in team["layers"]] == [
        ("pool", 2, None),
        ("D", 2, 150_000),
        ("C", 2, 320_000),
        ("B", 2, 380_000),
        ("A", 1, 400_000),
        ("won", 1, 500_000),
    ]
    assert team["funnel"]["B"]["weighted"] == 190_000
    assert team["open"] == {"count": 7, "amount": 1_250_000, "weighted": 605_000}
    conversion = {c["from"]: (c["to"], c["rate"]) for c in team["conversion"]}
    assert conversion["D"] == ("C", 2 / 3) and conversion["B"] == ("A", 1.0)
    assert team["pipeline"]["quota"] == 2_000_000
    assert [(s["opportunity_id"], s["planned"]) for s in team["stalled"]["items"]][-1] == (
        "O1",
        None,
    )
    assert team["stalled"]["total"] == 3 and data["stalled"] == team["stalled"]["items"]
    assert [(o["opportunity_id"], o["overdue"]) for o in data["overdue"]] == [
        ("O4", 1),
        ("O2", 3),
        ("O1", 15),
    ]
    pool = team["pool_activity"]
    assert (pool["claims"], pool["recycles"], pool["claims_rejected"], pool["total"]) == (
        1,
        1,
        1,
        2,
    )
    assert data["rejected_moves"][0]["date"] == "2026-11-30"
    assert [r["name"] for r in data["reps"]] == ["张三", "李四"]
    assert len(data["alerts"]) == 11 and [len(r["alerts"]) for r in data["regions"]] == [4, 7]
    rep = load(out, "funnel-report-2026-W48-李四.json")
    assert rep["for_rep"] == "李四" and rep["regions"] == []
    li = rep["team"]
    assert (li["kind"], li["phase"], li["quota"], li["remaining"]) == (
        "rep",
        "months_3_6",
        800_000,
        800_000,
    )
    assert li["needed"] == {"A": 2, "B": 2, "C": 4, "D": 5}
    assert (li["scorecard"]["met"], li["scorecard"]["total"]) == (1, 7)
    assert rep["scorecard"] == li["scorecard"]["items"]


def test_the_default_writes_no_json(book: Path, tmp_path: Path) -> None:
    code, stdout, err = run_cli(
        "report", str(book), "--out", str(tmp_path), "--today", TODAY.isoformat()
    )
    assert code == 0, err
    assert [Path(p).suffix for p in stdout.split()] == [".html", ".xlsx"]


# ---- the keys are documented ----


def _figure_classes() -> dict[str, type[Any]]:
    """Every class the context holds, found through the type hints from ReportContext down."""
    found: dict[str, type[Any]] = {}

    def visit(hint: Any) -> None:
        for arg in typing.get_args(hint):
            visit(arg)
        origin = typing.get_origin(hint) or hint
        if isinstance(origin, type) and issubclass(origin, Figure) and origin.__name__ not in found:
            found[origin.__name__] = origin
            for base in origin.__mro__[1:]:
                if base is not Figure and isinstance(base, type) and issubclass(base, Figure):
                    visit(base)
            for value in typing.get_type_hints(origin, vars(figures)).values():
                visit(value)

    for value in typing.get_type_hints(ReportContext, vars(figures)).values():
        visit(value)
    return found


def _readme_table(first: str) -> dict[str, str]:
    """README's table whose header starts with `first`: name → the rest of the row."""
    table = README.split(f"| {first} |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        name, rest = line.strip("|").split("|", 1)
        rows[name.strip().strip("`")] = rest
    return rows


def test_every_key_is_documented() -> None:
    assert list(_readme_table("key")) == list(keys(ReportContext))
    rows = _readme_table("object")
    classes = _figure_classes()
    assert sorted(rows) == sorted(classes)
    for name, cls in classes.items():
        named = set(keys(cls))
        for base in (Scope, Listing):  # documented once, the subclasses add their own
            if cls is not base and issubclass(cls, base):
                named -= set(keys(base))
        assert set(re.findall(r"`([^`]+)`", rows[name])) == named, name
