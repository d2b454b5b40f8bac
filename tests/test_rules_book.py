"""The rule tests' Book from literal rows (helpers.book_of) holds what the reader makes of the
same rows written into a workbook: the rules see the same values either way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from helpers import POOL_OK, REPS_OK, act, book_of, opp, write_ledger

from funnel_sync.config import Config
from funnel_sync.read import read_book

ROWS = {
    "pool": [
        *POOL_OK,
        {
            "customer_id": "KH004",
            "region": "华东",
            "owner": "释放",
            "contact": "王总",
            "contact_birthday": "3月5日",
            "locked": "是",
            "claimed_on": dt.date(2026, 1, 5),
        },
    ],
    "opportunities": [
        opp(),
        opp(opportunity_id="JH002", stage=" b ", quoted="✓", amount="12万", confirmed_stage="C"),
        opp(opportunity_id="JH003", stage="丢单", lost_reason="预算", planned_advance="2026/3/5"),
    ],
    "activities": [act(), act(opportunity_id="JH002", kind="拜访", hours=2, date="2026-11-21")],
    "reps": REPS_OK,
}


def test_book_of_reads_literal_rows_as_the_reader_reads_the_sheet(tmp_path: Path) -> None:
    read = read_book(write_ledger(tmp_path / "ledger.xlsx", **ROWS), Config())
    built = book_of(**ROWS)
    for key in ("customers", "opportunities", "activities", "reps"):
        assert getattr(built, key) == getattr(read, key), key
    for key, layout in read.layouts.items():
        have = built.layouts[key]
        assert (have.name, have.header_row, have.columns) == (
            layout.name,
            layout.header_row,
            layout.columns,
        )
