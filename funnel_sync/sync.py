"""The nightly sync from top to bottom: read → validate → rules → plan → write → summary."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from funnel_sync import runlock, xlsx
from funnel_sync.checks import prepare, validate
from funnel_sync.config import Config
from funnel_sync.gcpause import gc_paused
from funnel_sync.logs import PoolState, StageState
from funnel_sync.plan import CellValue, ChangeSet
from funnel_sync.planning import plan
from funnel_sync.problems import Problem, count, sort_key
from funnel_sync.read import Book, check_file, reading
from funnel_sync.rules import build_context, decide
from funnel_sync.schema import ACTIVITIES, POOL, POOL_LOG, STAGE_LOG
from funnel_sync.xlsx import live

_ACTIVITIES = frozenset({ACTIVITIES.key})

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
    # python-calamine loads the sheets on a worker thread while this one works on what has
    # arrived: the other sheets are validated while the activities load, the activities while
    # the logs load, and the rules run while Today loads
    with reading(path, cfg, engine_sheets=True, checked=True) as sheets:
        with _timed(timings, "read", progress):
            # every sheet but the activities is validated while those load
            prepared = prepare(sheets.ledger(without=_ACTIVITIES), cfg, today)
            ledger = sheets.ledger()
        with _timed(timings, "validate", progress):
            book, problems = validate(ledger, cfg, today, prepared)
        with _timed(timings, "rules", progress):
            logs = sheets.book((POOL_LOG.key, STAGE_LOG.key))
            pool_state = PoolState.from_rows(logs.engine_rows.get(POOL_LOG.key, []))
            stage_state = StageState.from_rows(logs.engine_rows.get(STAGE_LOG.key, []))
            # the rules need the logs' layouts, not their rows: those go while Today loads
            sheets.release((POOL_LOG.key, STAGE_LOG.key))
            layouts = logs.layouts
            del logs
            ctx = build_context(
                replace(book, layouts=layouts), cfg, today, now, pool_state, stage_state
            )
            decisions = decide(ctx)
        with _timed(timings, "plan", progress):
            full = sheets.book()
            # the validated book with its engine sheets, and what reading those found
            problems += full.problems[len(ledger.problems) :]
            book = replace(
                book, layouts=full.layouts, problems=full.problems, engine_rows=full.engine_rows
            )
            problems += decisions.problems
            problems = _sorted(book, _current(book, problems, decisions.pool.owner_writes))
            changes = plan(ctx, book, decisions, problems)
    header_rows, counts = _header_rows(book), decisions.counts
    listed = len(decisions.reminders.today)
    # the rows read and the rules' working state are done with: their memory goes to the
    # writer (at 100k opportunities the peak of a sync is otherwise the two together)
    del sheets, prepared, full, ledger, book, ctx, decisions
    with _timed(timings, "write", progress):
        if dry_run:
            result = xlsx.plan_changes(path, changes, header_rows=header_rows)
        else:
            # writer backend (file or a running Excel): xlsx/live.py; the file backend still
            # refuses a locked workbook first
            result = live.apply(
                path,
                changes,
                backend=cfg.writer.backend,
                expected=before,
                backups=cfg.writer.backups,
                header_rows=header_rows,
            )
    return SyncResult(problems, counts, changes, result, timings, listed)


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


def _sorted(book: Book, problems: list[Problem]) -> list[Problem]:
    order = {name: i for i, name in enumerate(book.sheet_names)}
    return sorted(problems, key=lambda p: (order.get(p.sheet, len(order)), *sort_key(p)))


def _header_rows(book: Book) -> dict[str, int]:
    return {layout.name: layout.header_row for layout in book.layouts.values()}
