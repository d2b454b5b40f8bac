"""The parsed ledger: what reading a workbook gives every stage after it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funnel_sync.model import Activity, Customer, Opportunity, Rep
from funnel_sync.problems import Problem
from funnel_sync.read.layout import SheetLayout


@dataclass(frozen=True)
class Book:
    """The parsed ledger: typed rows, where each sheet lies, and the problems met reading it."""

    path: Path
    customers: tuple[Customer, ...]
    opportunities: tuple[Opportunity, ...]
    activities: tuple[Activity, ...]
    reps: tuple[Rep, ...]
    layouts: dict[str, SheetLayout]  # by sheet key
    sheet_names: tuple[str, ...]  # every sheet of the file, in order
    date1904: bool
    problems: tuple[Problem, ...] = ()
    engine_rows: dict[str, list[list[Any]]] = field(default_factory=dict)  # raw engine sheets
    # (sheet key, row, field, text as typed) of rep names typed with surrounding spaces
    untrimmed: tuple[tuple[str, int, str, str], ...] = ()
    # per sheet key: the data rows' numbers, and the engine columns' cells as they are now
    row_numbers: dict[str, list[int]] = field(default_factory=dict)
    engine_cells: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    stale_rows: dict[str, list[int]] = field(default_factory=dict)  # only engine text left
