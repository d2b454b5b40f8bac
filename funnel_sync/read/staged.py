"""The staged reading: a workbook's sheets handed over as they arrive from the loader thread,
each turned into typed rows (and, for a caller that asks, validated) while the next ones load."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, cast

from funnel_sync.config import Config
from funnel_sync.model import Activity, Customer, Opportunity, Rep
from funnel_sync.read.book import Book
from funnel_sync.read.columns import Table, parse_columns
from funnel_sync.read.findings import Findings
from funnel_sync.read.layout import (
    SheetLayout,
    check_cells,
    find_sheet,
    sheet_layout,
    sheet_missing,
)
from funnel_sync.read.loader import LOAD_ORDER, Loader, open_workbook
from funnel_sync.read.package import check_file, is_date1904, sheet_parts
from funnel_sync.read.rows import BUILDERS
from funnel_sync.schema import ACTIVITIES, OPPORTUNITIES, POOL, REPS, SHEETS

_LEDGER = frozenset(s.key for s in SHEETS if not s.engine)


def read_book(
    path: Path,
    cfg: Config,
    *,
    engine_sheets: bool | frozenset[str] = False,
    checked: bool = False,
) -> Book:
    """Read a ledger. Unusable files raise WorkbookError; everything else becomes Problems.
    `engine_sheets`: read the engine's sheets too (logs, Today), or those of these keys.
    `checked`: the caller has just run check_file. Each sheet's cell range is checked here,
    in the same pass over its XML that finds formulas, before python-calamine loads it."""
    with reading(path, cfg, engine_sheets=engine_sheets, checked=checked) as sheets:
        return sheets.book()


@contextmanager
def reading(
    path: Path,
    cfg: Config,
    *,
    engine_sheets: bool | frozenset[str] = False,
    checked: bool = False,
    idle: Callable[[], object] | None = None,
) -> Iterator[Reading]:
    """A workbook being read, for a caller with work to do on part of it before it needs the
    rest: python-calamine loads the sheets in loader.LOAD_ORDER on a worker thread, and what
    the caller does in between runs while the next ones load. In order, each waiting only for
    its own sheets: Reading.ledger(then) (`then` is handed each ledger sheet as it arrives: the
    sync's validations), Reading.hand_over(key) or Reading.book(keys) (the logs),
    Reading.book() (everything asked for).
    `idle`: run once, the first time this thread would otherwise wait for a sheet to load (the
    report imports pandas there: a third of a second that costs nothing then)."""
    if not checked:
        check_file(path, cfg)
    workbook = open_workbook(path, cfg)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="funnel-sync-read")
    try:
        with zipfile.ZipFile(path) as archive:
            yield Reading(path, workbook, archive, cfg, pool, engine_sheets, idle)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class Arrivals(Protocol):
    """What works on the ledger as its sheets arrive (checks.Validating: the validations)."""

    def arrived(self, book: Book, sheets: frozenset[str]) -> Book:
        """`book`: the ledger sheets arrived so far, `sheets` their keys (those the file lacks
        included: nothing is coming for them). Returns the book whose rows the reading keeps
        from then on (names and IDs as the team means them)."""
        ...


class Reading:
    """The sheets of one workbook (see `reading`), turned into typed rows here as each arrives:
    the parse of one sheet overlaps the loading of the next."""

    def __init__(
        self,
        path: Path,
        workbook: Any,
        archive: zipfile.ZipFile,
        cfg: Config,
        pool: ThreadPoolExecutor,
        engine_sheets: bool | frozenset[str],
        idle: Callable[[], object] | None = None,
    ) -> None:
        self.path, self.cfg = path, cfg
        self.said = Findings(cfg.lang)
        self.names: tuple[str, ...] = tuple(workbook.sheet_names)
        self.date1904 = is_date1904(archive)
        self.layouts: dict[str, SheetLayout] = {}
        self.row_numbers: dict[str, list[int]] = {}
        self.untrimmed: list[tuple[str, int, str, str]] = []
        self.engine_cells: dict[str, dict[str, list[Any]]] = {}
        self.stale_rows: dict[str, list[int]] = {}
        self.typed: dict[str, tuple[Any, ...]] = {}  # sheet key → its typed rows
        self.engine_rows: dict[str, list[list[Any]]] = {}  # until handed over
        found = []  # the sheets to read, in loading order
        for spec in sorted(SHEETS, key=LOAD_ORDER.index):
            name = find_sheet(cfg, self.names, spec)
            if name is None:
                if not spec.engine:
                    sheet_missing(cfg, self.names, spec, self.said)
            elif (
                not spec.engine
                or engine_sheets is True
                or (isinstance(engine_sheets, frozenset) and spec.key in engine_sheets)
            ):
                found.append((spec, name))
        self.loader = Loader(path, cfg, workbook, archive, pool, found, sheet_parts(archive), idle)
        # the ledger sheets arrived, those not in the file first: nothing is coming for them
        self.arrived = set(_LEDGER - {spec.key for spec, _ in found})
        self._ledger: Book | None = None

    def ledger(self, then: Arrivals | None = None) -> Book:
        """The ledger sheets as typed rows (no engine sheets), and the problems found in them.
        `then`: handed the ledger each time one of its sheets has arrived, and given the last
        word on its rows (see Arrivals)."""
        if self._ledger is None:
            ledger = [i for i, (spec, _) in enumerate(self.loader.found) if not spec.engine]
            for index in ledger:
                self._arrive(index)
                if then is not None and index != ledger[-1]:  # the last: once the worker has more
                    self._adopt(then.arrived(self._book(), frozenset(self.arrived)))
            self.loader.submit_all()  # the worker goes on with the engine sheets
            self._ledger = self._book()
        if then is not None:  # the whole ledger is there
            self._adopt(then.arrived(self._ledger, frozenset(self.arrived)))
            self._ledger = self._book()
        return self._ledger

    def book(self, keys: Iterable[str] | None = None) -> Book:
        """The ledger with the engine sheets read (those of `keys`, or all asked for): a
        caller that needs the logs before Today does not wait for Today. Problems met in
        engine sheets follow the ledger's."""
        ledger, wanted = self.ledger(), None if keys is None else set(keys)
        for index, (spec, _) in enumerate(self.loader.found):
            if spec.engine and (wanted is None or spec.key in wanted):
                self._arrive(index)
        return replace(
            ledger,
            layouts=dict(self.layouts),
            problems=tuple(self.said.problems),
            engine_rows=dict(self.engine_rows),
        )

    def hand_over(self, key: str) -> list[list[Any]]:
        """The rows below the header of the engine sheet `key` ([] if it is not read): the
        reading keeps its layout and what reading it found, not its rows (at 100k
        opportunities the StageLog alone is 240k rows)."""
        self.ledger()
        for index, (spec, _) in enumerate(self.loader.found):
            if spec.key == key:
                self._arrive(index)
        return self.engine_rows.pop(key, [])

    def _arrive(self, index: int) -> None:
        """Take the sheet found[index] from the loader (if not taken before) and keep what is
        wanted of it: a ledger sheet's typed rows, an engine sheet's rows."""
        parsed = self._parse(index)  # the rows as loaded are gone once parsed
        if parsed is not None:
            layout, table = parsed
            key = layout.spec.key
            self.typed[key] = BUILDERS[key](table, layout, self.cfg, self.said)

    def _parse(self, index: int) -> tuple[SheetLayout, Table] | None:
        """The sheet's layout and parsed columns (a ledger sheet with a usable header)."""
        loaded = self.loader.take(index)
        if loaded is None:
            return None
        spec = loaded.spec
        if not spec.engine:
            self.arrived.add(spec.key)  # with its rows, or none if it has no usable header
        layout = sheet_layout(self.cfg, spec, loaded.name, loaded.data, self.said)
        if layout is None:
            return None
        self.layouts[spec.key] = layout
        if spec.engine:
            self.engine_rows[spec.key] = loaded.data[layout.header_row :]
            return None
        rows = check_cells(layout, loaded.data, loaded.merged, loaded.formulas, self.said)
        self.row_numbers[spec.key] = rows.numbers
        if rows.stale:
            self.stale_rows[spec.key] = rows.stale
        table = parse_columns(self.cfg, self.date1904, layout, loaded.data, rows, self.said)
        if table.engine_cells:
            self.engine_cells[spec.key] = table.engine_cells
        self.untrimmed.extend(table.untrimmed)
        return layout, table

    def _adopt(self, book: Book) -> None:
        self.typed[POOL.key] = book.customers
        self.typed[OPPORTUNITIES.key] = book.opportunities
        self.typed[ACTIVITIES.key] = book.activities
        self.typed[REPS.key] = book.reps

    def _book(self) -> Book:
        return Book(
            self.path,
            cast(tuple[Customer, ...], self.typed.get(POOL.key, ())),
            cast(tuple[Opportunity, ...], self.typed.get(OPPORTUNITIES.key, ())),
            cast(tuple[Activity, ...], self.typed.get(ACTIVITIES.key, ())),
            cast(tuple[Rep, ...], self.typed.get(REPS.key, ())),
            dict(self.layouts),
            self.names,
            self.date1904,
            tuple(self.said.problems),
            {},
            tuple(self.untrimmed),
            dict(self.row_numbers),
            dict(self.engine_cells),
            dict(self.stale_rows),
        )
