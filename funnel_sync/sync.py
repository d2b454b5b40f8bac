"""The nightly sync from top to bottom: read → validate → rules → plan → write → summary."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from funnel_sync import runlock, xlsx
from funnel_sync.checks import Validating, in_order
from funnel_sync.config import Config
from funnel_sync.gcpause import gc_paused
from funnel_sync.logs import PoolState, StageState
from funnel_sync.parse import parse_date
from funnel_sync.plan import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    CellValue,
    CellWrite,
    ChangeSet,
    NewColumn,
    SheetContent,
)
from funnel_sync.problems import Problem, count
from funnel_sync.read import Book, check_file, reading
from funnel_sync.rules import Context, Outcome, Rule, TodayItem, build_context, reminders, stages
from funnel_sync.rules import pool as pool_rules
from funnel_sync.schema import (
    OPPORTUNITIES,
    POOL,
    POOL_LOG,
    STAGE_LOG,
    TODAY,
    Kind,
    Sheet,
)
from funnel_sync.xlsx import live

#: The rules in the order they run; each reads the book and fills the one Outcome.
SYNC_RULES: list[Rule] = [
    stages.stage_moves,
    pool_rules.ownership,
    pool_rules.recycling,
    reminders.contact_cadence,
    reminders.important_days,
]

Progress = Callable[[str], None]


@dataclass
class SyncResult:
    problems: list[Problem]
    counts: Counter[str]
    changes: ChangeSet
    write: xlsx.WriteResult | None
    timings: dict[str, float] = field(default_factory=dict)
    today_rows: int = 0

    @property
    def errors(self) -> int:
        return count(self.problems)[0]

    @property
    def cells_changed(self) -> int:
        return len(self.write.changes) if self.write else 0

    def summary(self) -> dict[str, Any]:
        errors, warnings = count(self.problems)
        return {
            **{k: self.counts.get(k, 0) for k in SUMMARY_KEYS},
            "today_items": self.today_rows,
            "errors": errors,
            "warnings": warnings,
            "cells_changed": self.cells_changed,
            "written": bool(self.write and self.write.written),
        }


SUMMARY_KEYS = (
    "adopted",
    "moves_accepted",
    "moves_rejected",
    "owners_adopted",
    "claims",
    "claims_rejected",
    "releases",
    "transfers",
    "reverts",
    "recycles",
    "recycle_warnings",
    "overdue",
    "stalled",
    "revisits",
    "upsells",
    "important_days",
)


@contextmanager
def _timed(timings: dict[str, float], step: str, progress: Progress | None) -> Iterator[None]:
    if progress:
        progress(step)
    start = time.perf_counter()
    yield
    timings[step] = time.perf_counter() - start


@runlock.exclusive  # one sync of a workbook at a time, read to write (not dry runs)
@gc_paused()  # millions of long-lived objects: see gcpause.py
def run_sync(
    path: Path,
    cfg: Config,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SyncResult:
    """One sync of the workbook at `path`. Unusable files raise read.WorkbookError; refusals
    to write (locked, changed, read-only, disk full) raise xlsx.WriteError."""
    timings: dict[str, float] = {}
    now = now or dt.datetime.combine(today, dt.time())
    check_file(path, cfg)  # a missing or unusable file: a clear WorkbookError first
    before = xlsx.fingerprint(path)
    # the rows read and the rules' working state end with _decide: their memory goes to the
    # writer (at 100k opportunities the peak of a sync is otherwise the two together)
    decided = _decide(path, cfg, today, now, timings, progress)
    with _timed(timings, "write", progress):
        if dry_run:
            result = xlsx.plan_changes(path, decided.changes, header_rows=decided.header_rows)
        else:
            # writer backend (file or a running Excel): xlsx/live.py; the file backend still
            # refuses a locked workbook first
            result = live.apply(
                path,
                decided.changes,
                backend=cfg.writer.backend,
                expected=before,
                backups=cfg.writer.backups,
                header_rows=decided.header_rows,
            )
    return SyncResult(
        decided.problems, decided.counts, decided.changes, result, timings, decided.today_rows
    )


@dataclass(frozen=True)
class _Decided:
    """What the write and the summary need of the read, the validations and the rules."""

    changes: ChangeSet
    problems: list[Problem]
    counts: Counter[str]
    today_rows: int  # the Today list's length
    header_rows: dict[str, int]  # per sheet name


def _decide(
    path: Path,
    cfg: Config,
    today: dt.date,
    now: dt.datetime,
    timings: dict[str, float],
    progress: Progress | None,
) -> _Decided:
    """read → validate → rules → plan. python-calamine loads the sheets on a worker thread
    while this one works on what has arrived: the validations run as their sheets come (all
    but the activities' while those load, theirs while the logs load), the rules while Today
    loads."""
    with reading(path, cfg, engine_sheets=True, checked=True) as sheets:
        with _timed(timings, "read and validate", progress):
            validating = Validating(cfg, today)
            book = sheets.ledger(validating)  # names and IDs as the team means them
        with _timed(timings, "rules", progress):
            # the logs' rows are handed over: only the states decoded from them stay
            stage_state = StageState.from_rows(sheets.hand_over(STAGE_LOG.key))
            pool_state = PoolState.from_rows(sheets.hand_over(POOL_LOG.key))
            ctx = build_context(book, cfg, today, now, pool_state, stage_state)
            out = Outcome()
            for rule in SYNC_RULES:
                rule(ctx, out)
        with _timed(timings, "plan", progress):
            book = sheets.book()  # with Today's rows, and what reading every sheet found
            found = [*book.problems, *validating.problems, *out.problems]
            problems = in_order(book, _current(book, found, out))
            today_rows = today_sheet(ctx, out)
            changes = plan(book, cfg, out, problems, today_rows)
    return _Decided(changes, problems, out.counts, len(today_rows), _header_rows(book))


def _current(book: Book, problems: list[Problem], out: Outcome) -> list[Problem]:
    """Drop what was said about owner cells the engine has just rewritten (recycled or
    reverted): the next sync would not say it, so 校验 must not either."""
    layout = book.layouts.get(POOL.key)
    if layout is None or not out.owner_writes:
        return problems
    column = layout.letter("owner")
    stale = {(layout.name, row, column) for row in out.owner_writes}
    keep = {"owner-reverted", "owner-cleared"}
    return [p for p in problems if (p.sheet, p.row, p.column) not in stale or p.code in keep]


def _header_rows(book: Book) -> dict[str, int]:
    return {layout.name: layout.header_row for layout in book.layouts.values()}


# ---- the plan: engine cells that differ, log rows appended, the Today sheet ----


def today_sheet(ctx: Context, out: Outcome) -> list[tuple[CellValue, ...]]:
    """Per rep (in the Reps sheet's order), most urgent first, numbered from 1."""
    order = {r.name: i for i, r in enumerate(ctx.book.reps)}
    by_rep: dict[str, list[TodayItem]] = defaultdict(list)
    for item in out.today:
        if item.rep in ctx.reps:
            by_rep[item.rep].append(item)
    rows: list[tuple[CellValue, ...]] = []
    for rep in sorted(by_rep, key=lambda r: order.get(r, len(order))):
        for n, item in enumerate(sorted(by_rep[rep], key=TodayItem.sort_key), 1):
            c = item.customer
            rows.append(
                (
                    rep,
                    n,
                    item.stage.code if item.stage is not None else "",
                    c.customer_id if c else "",
                    c.name if c else "",
                    c.contact if c else "",
                    c.phone if c else "",
                    item.opportunity_id or "",
                    item.reason,
                )
            )
    return rows


def plan(
    book: Book,
    cfg: Config,
    out: Outcome,
    problems: Sequence[Problem],
    today_rows: list[tuple[CellValue, ...]],
) -> ChangeSet:
    """Decide the writes: only engine cells whose value differs, new engine columns where the
    sheet lacks them, new log rows appended, the Today sheet replaced."""
    checks = _check_texts(book, problems, cfg.lang)
    cells: list[CellWrite] = []
    new_columns: list[NewColumn] = []
    sheets: list[SheetContent] = []
    engine_columns: dict[str, frozenset[int]] = {}
    for spec in (POOL, OPPORTUNITIES):
        layout = book.layouts.get(spec.key)
        if layout is None:
            continue
        columns = dict(layout.columns)
        next_col = layout.width + 1
        for col in spec.columns:
            if col.is_engine and col.field not in columns:
                fmt = DATE_FORMAT if col.kind is Kind.DATE else None
                new_columns.append(
                    NewColumn(
                        layout.name,
                        next_col,
                        cfg.header(spec, col.field),
                        layout.header_row,
                        fmt,
                        col.width,
                    )
                )
                columns[col.field] = next_col
                next_col += 1
        owned = {columns[c.field] for c in spec.columns if c.is_engine}
        if spec is POOL and out.owner_writes:
            owned.add(columns["owner"])  # recycle and revert: documented rules, logged
        engine_columns[layout.name] = frozenset(owned)
        current = book.engine_cells.get(spec.key, {})
        rows = book.row_numbers.get(spec.key, [])
        for col in spec.columns:
            if not col.is_engine:
                continue
            column = columns[col.field]
            # the new values a column at a time, looked up by C loops (a million cells at 100k)
            values: list[CellValue]
            if col.field == "reminder":
                notes = map(out.reminders.get, zip(repeat(spec.key), rows))
                values = [("; ".join(n) if n else None) for n in notes]
            elif col.field == "check":
                values = list(map(checks.get, zip(repeat(layout.name), rows)))
            else:
                values = list(map(out.cells[(spec.key, col.field)].get, rows))
            now = current.get(col.field) or [None] * len(rows)
            number = col.kind is Kind.INT
            for row, old, value in zip(rows, now, values, strict=True):
                # _same's answer without the call for the common cases: blank, or equal values
                # of one type (a whole number is read back as a float)
                if value is None:
                    if old is None or old == "":
                        continue
                elif old == value and (
                    old.__class__ is value.__class__
                    or (number and old.__class__ is float and value.__class__ is int)
                ):
                    continue
                if not _same(old, value, col.kind, book.date1904):
                    cells.append(CellWrite(layout.name, row, column, value))
            for row in book.stale_rows.get(spec.key, []):  # cleared rows keep no old reminders
                cells.append(CellWrite(layout.name, row, column, None))
        if spec is POOL:
            for row, owner in sorted(out.owner_writes.items()):
                cells.append(CellWrite(layout.name, row, columns["owner"], owner))
    for spec, new_rows in ((STAGE_LOG, out.stage_log), (POOL_LOG, out.pool_log)):
        layout = book.layouts.get(spec.key)
        if layout is None:
            sheets.append(_sheet(spec, cfg, [tuple(r) for r in new_rows]))
            continue
        engine_columns[layout.name] = frozenset(range(1, max(layout.width, len(spec.columns)) + 1))
        for k, values in enumerate(new_rows):
            row = layout.height + 1 + k
            for field_name, value in zip((c.field for c in spec.columns), values, strict=True):
                log_column = layout.columns.get(field_name)
                if log_column is not None:
                    cells.append(CellWrite(layout.name, row, log_column, value))
    if not _today_unchanged(book, cfg, today_rows):
        sheets.append(_sheet(TODAY, cfg, today_rows))
    return ChangeSet(tuple(cells), tuple(new_columns), tuple(sheets), engine_columns)


def _today_unchanged(book: Book, cfg: Config, rows: list[tuple[CellValue, ...]]) -> bool:
    """The Today sheet as read already holds exactly these rows (under the same headers): then
    it is not sent to the writer at all, which saves re-parsing it on every idempotent sync."""
    layout = book.layouts.get(TODAY.key)
    current = book.engine_rows.get(TODAY.key)
    if layout is None or current is None:
        return False
    headers = [c.field for c in TODAY.columns]
    if [layout.columns.get(f) for f in headers] != list(range(1, len(headers) + 1)):
        return False
    if layout.name != cfg.sheet_title(TODAY):
        return False
    width = len(headers)
    if layout.width > width:
        for r in current:
            beside = r[width:]
            if beside.count("") + beside.count(None) != len(beside):
                return False  # something else was typed beside the list
    # list.count and == run in C: 62k rows at 100k opportunities
    present = [r[:width] for r in current if r.count("") + r.count(None) != len(r)]
    if len(present) != len(rows):
        return False
    for k, r in enumerate(present):
        if len(r) < width:
            present[k] = r + [""] * (width - len(r))
    wanted = [list(map(_cell, r)) if None in r else list(r) for r in rows]
    return present == wanted


def _cell(value: object) -> object:
    """A value as calamine reads it back: blank is "", whole numbers are floats."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    return value


def _sheet(spec: Sheet, cfg: Config, rows: list[tuple[CellValue, ...]]) -> SheetContent:
    formats = tuple(
        DATETIME_FORMAT if c.kind is Kind.DATETIME else DATE_FORMAT if c.kind is Kind.DATE else None
        for c in spec.columns
    )
    return SheetContent(
        cfg.sheet_title(spec),
        tuple(cfg.header(spec, c.field) for c in spec.columns),
        tuple(rows),
        formats,
        tuple(float(c.width) for c in spec.columns),
    )


def _check_texts(book: Book, problems: Sequence[Problem], lang: str) -> dict[tuple[str, int], str]:
    """The 校验 text of each row: its problems' messages, errors first."""
    grouped: dict[tuple[str, int], list[Problem]] = defaultdict(list)
    for p in problems:
        if p.row is not None:
            grouped[(p.sheet, p.row)].append(p)
    mark = {"error": "✗ ", "warning": "⚠ "}
    texts = {}
    for key, items in grouped.items():
        items.sort(key=lambda p: p.severity != "error")
        texts[key] = "; ".join(mark[p.severity] + p.message for p in items)
    return texts


def _same(old: Any, new: CellValue, kind: Kind, date1904: bool) -> bool:
    """Whether the cell already holds `new` (as Excel would show it)."""
    if old is None or old == "":
        return new is None or new == ""
    if new is None or new == "":
        return False
    if kind in (Kind.DATE, Kind.DATETIME):
        parsed = parse_date(old, date1904=date1904)
        return isinstance(parsed, dt.date) and isinstance(new, dt.date) and parsed == new
    if kind is Kind.INT:
        return isinstance(old, int | float) and isinstance(new, int | float) and old == new
    return isinstance(old, str) and old == str(new)
