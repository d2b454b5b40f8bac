"""python-calamine on one worker thread: each sheet's XML is scanned here (its range checked
against the limits, its formulas found), then the sheet is queued for loading there, so that
what the caller does with one sheet runs while the next ones load."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import python_calamine as calamine

from funnel_sync.config import Config
from funnel_sync.read.layout import Merged
from funnel_sync.read.package import WorkbookError, message, short
from funnel_sync.read.scan import RangeGuard, SheetScan, scan_part
from funnel_sync.schema import (
    ACTIVITIES,
    OPPORTUNITIES,
    POOL,
    POOL_LOG,
    REPS,
    SHEETS,
    STAGE_LOG,
    TODAY,
    Sheet,
)

#: The order the sheets load in: the activities, the largest, after the small team sheet, so
#: that everything but them can be worked on while they load (see staged.Reading.ledger).
LOAD_ORDER = (POOL, OPPORTUNITIES, REPS, ACTIVITIES, STAGE_LOG, POOL_LOG, TODAY)
assert sorted(LOAD_ORDER, key=SHEETS.index) == list(SHEETS)


def open_workbook(path: Path, cfg: Config) -> Any:
    """python-calamine's workbook (which reads the sheets' names, not their cells yet)."""
    try:
        return calamine.CalamineWorkbook.from_path(str(path))
    except calamine.PasswordError:
        raise WorkbookError(message(cfg, path, "encrypted")) from None
    except (calamine.CalamineError, calamine.XmlError, calamine.ZipError) as e:
        raise WorkbookError(message(cfg, path, "unreadable", detail=short(e))) from None
    except Exception as e:  # calamine raises bare errors for some malformed parts
        raise WorkbookError(message(cfg, path, "unreadable", detail=short(e))) from None


@dataclass(frozen=True, slots=True)
class Loaded:
    """A sheet as python-calamine loaded it, with what the byte scan found in it."""

    spec: Sheet
    name: str
    data: list[list[Any]]  # every row of A1:last-cell, padded with ""
    merged: Merged
    formulas: dict[tuple[int, int], str | None]  # (row, column) → error text or None


@dataclass(frozen=True, slots=True)
class _Queued:
    spec: Sheet
    name: str
    scan: SheetScan


class Loader:
    """The sheets to read (spec, name in the file), in LOAD_ORDER, loaded one after the other on
    the worker thread of `pool`; take(i) hands over the i-th once loaded, and queues the next
    ones meanwhile so that the worker never waits for this thread."""

    def __init__(
        self,
        path: Path,
        cfg: Config,
        workbook: Any,
        archive: zipfile.ZipFile,
        pool: ThreadPoolExecutor,
        found: Sequence[tuple[Sheet, str]],
        parts: dict[str, str],
        idle: Callable[[], object] | None = None,
    ) -> None:
        self.path, self.cfg = path, cfg
        self.workbook, self.archive, self.pool = workbook, archive, pool
        self.found = tuple(found)
        self.parts = parts
        self.present = set(archive.namelist())
        self.idle = idle
        self.guard = RangeGuard(cfg, path)
        self.queued: list[_Queued] = []
        # by index in queued, until taken (a future holds on to the rows it loaded)
        self.futures: dict[int, Future[tuple[Merged, list[list[Any]]]]] = {}
        self.taken: set[int] = set()

    def submit_next(self) -> None:
        """Scan the next sheet and queue it for loading (refused first if it is too large)."""
        spec, name = self.found[len(self.queued)]
        part = self.parts.get(name)
        scan = SheetScan(0, 0, {})
        if part is not None and part in self.present:
            scan = scan_part(
                self.archive, part, formulas=not spec.engine, cfg=self.cfg, path=self.path
            )
        self.guard.admit(name, scan)
        self.futures[len(self.queued)] = self.pool.submit(_load_sheet, self.workbook, name)
        self.queued.append(_Queued(spec, name, scan))

    def submit_all(self) -> None:
        while len(self.queued) < len(self.found):
            self.submit_next()

    def take(self, index: int) -> Loaded | None:
        """The sheet found[index], loaded; None if it was taken before."""
        if index in self.taken:
            return None
        self.taken.add(index)
        # while the sheet is still loading, scan the next ones: the worker never waits for them
        while len(self.queued) <= index or (
            len(self.queued) < len(self.found) and not self.futures[index].done()
        ):
            self.submit_next()
        queued = self.queued[index]
        future = self.futures.pop(index)
        if self.idle is not None and not future.done():
            idle, self.idle = self.idle, None
            idle()
        try:
            merged, data = future.result()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # pyo3's PanicException is a BaseException
            detail = f"{queued.name}: {short(e)}"
            raise WorkbookError(message(self.cfg, self.path, "unreadable", detail=detail)) from None
        max_rows = self.cfg.limits.max_rows
        if len(data) > max_rows:
            raise WorkbookError(
                message(self.cfg, self.path, "too-many-rows", sheet=queued.name, rows=max_rows)
            )
        if len(self.queued) == index + 1 < len(self.found):
            self.submit_next()  # the worker goes on while this thread works on the sheet
        return Loaded(queued.spec, queued.name, data, merged, queued.scan.formulas)


def _load_sheet(workbook: Any, name: str) -> tuple[Merged, list[list[Any]]]:
    """The sheet's merged ranges and rows; calamine's own copy of the cells goes right away."""
    sheet = workbook.get_sheet_by_name(name)
    return getattr(sheet, "merged_cell_ranges", None) or [], sheet.to_python(skip_empty_area=False)
