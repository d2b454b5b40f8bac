"""The nightly sync from top to bottom: read → validate → rules → plan → write → summary."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funnel_sync import runlock, xlsx
from funnel_sync.checks import Validating, in_order
from funnel_sync.config import Config
from funnel_sync.gcpause import gc_paused
from funnel_sync.logs import PoolState, StageState
from funnel_sync.plan import CellValue, ChangeSet
from funnel_sync.planning import plan
from funnel_sync.problems import Problem, count
from funnel_sync.read import Book, check_file, reading
from funnel_sync.rules import build_context, decide
from funnel_sync.schema import POOL, POOL_LOG, STAGE_LOG
from funnel_sync.xlsx import live

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
            decisions = decide(ctx)
        with _timed(timings, "plan", progress):
            book = sheets.book()  # with Today's rows, and what reading every sheet found
            found = [*book.problems, *validating.problems, *decisions.problems]
            problems = in_order(book, _current(book, found, decisions.pool.owner_writes))
            changes = plan(ctx, book, decisions, problems)
    today_rows = len(decisions.reminders.today)
    return _Decided(changes, problems, decisions.counts, today_rows, _header_rows(book))


def _current(
    book: Book, problems: list[Problem], owner_writes: Mapping[int, CellValue]
) -> list[Problem]:
    """Drop what was said about owner cells the engine has just rewritten (recycled or
    reverted): the next sync would not say it, so 校验 must not either."""
    layout = book.layouts.get(POOL.key)
    if layout is None or not owner_writes:
        return problems
    column = layout.letter("owner")
    stale = {(layout.name, row, column) for row in owner_writes}
    keep = {"owner-reverted", "owner-cleared"}
    return [p for p in problems if (p.sheet, p.row, p.column) not in stale or p.code in keep]


def _header_rows(book: Book) -> dict[str, int]:
    return {layout.name: layout.header_row for layout in book.layouts.values()}
