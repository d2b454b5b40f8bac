"""The xlwings backend: the same change set written through a running Excel (Windows, macOS).

`apply` is what callers use: it picks the backend (`writer.backend` = file, xlwings or auto)
and dispatches to the lossless file writer (`apply_changes`) or to `apply_live`.

`apply_live` plans first (reading the open workbook's cells), writes only afterwards, and saves
only when something changed, so a refusal or an error found while planning leaves Excel as it
was. It keeps the file writer's rules: only engine columns, never a formula cell, only values
that differ, text that looks like a formula (or a number, a date...) stays text.

This layer is tested on Linux against a fake xlwings module only (tests/test_xlwings_backend.py);
it has not been run against a real Excel.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..plan import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    CellValue,
    CellWrite,
    ChangeSet,
    NewColumn,
    SheetContent,
)
from ._numfmt import is_date_format
from ._values import want
from .errors import SheetNotFound, WorkbookChanged, WorkbookReadOnly, WriteError
from .safety import Fingerprint, check_locked, fingerprint, make_backup, owner_files
from .writer import (
    MAX_COL,
    MAX_ROW,
    CellChange,
    Refusal,
    WriteResult,
    apply_changes,
    check_sheet_names,
)

#: Where xlwings can drive Excel.
LIVE_PLATFORMS = ("win32", "darwin")
BACKENDS = ("file", "xlwings", "auto")

_GENERAL = "general"
_MS = dt.timedelta(milliseconds=1)


class BackendUnavailable(WriteError):
    """`writer.backend = "xlwings"` was asked for, but Excel cannot be driven here."""

    def __init__(self, path: Path | str, detail: str) -> None:
        super().__init__(path, f"cannot write through Excel ({detail}), not written")


class UnsavedInExcel(WriteError):
    """The workbook has edits in Excel that are not saved yet.

    The change set was planned from the file on disk; rows inserted or deleted in Excel since
    would shift the cells it names, so nothing is written."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(
            path,
            "workbook has unsaved changes in Excel, not written (save it in Excel, then run again)",
        )


# ---- choosing the backend ------------------------------------------------------------------


def _load_xlwings() -> tuple[Any | None, str]:
    """(the xlwings module, "") or (None, why it cannot be imported)."""
    try:
        return importlib.import_module("xlwings"), ""
    except Exception as err:  # ImportError, or pywin32 / appscript failing to load
        return None, f"{type(err).__name__}: {err}"


def _unavailable() -> str | None:
    """Why xlwings cannot drive Excel on this machine, or None when it can."""
    if sys.platform not in LIVE_PLATFORMS:
        return f"xlwings drives Excel only on Windows and macOS, this is {sys.platform}"
    xw, why = _load_xlwings()
    if xw is None:
        return f"xlwings cannot be imported ({why}); install it: pip install -e '.[xlwings]'"
    return None


def open_in_excel(path: Path) -> bool:
    """Whether Excel's owner file `~$NAME` sits beside the workbook (LibreOffice's lock does
    not count: xlwings cannot write through LibreOffice)."""
    return any(p.name.startswith("~$") for p in owner_files(Path(path)))


def choose_backend(path: Path, backend: str) -> str:
    """Which backend writes: "file" or "xlwings", for `writer.backend`.

    file: always the file writer. xlwings: always Excel (BackendUnavailable when xlwings cannot
    be imported or this is not Windows/macOS). auto: Excel only when the workbook is open in
    Excel (an owner file `~$NAME` exists) on Windows/macOS with xlwings importable; else the
    file writer, which then refuses an open workbook with WorkbookLocked as before.
    """
    if backend == "file":
        return "file"
    if backend == "xlwings":
        problem = _unavailable()
        if problem is not None:
            raise BackendUnavailable(path, problem)
        return "xlwings"
    if backend == "auto":
        if open_in_excel(Path(path)) and _unavailable() is None:
            return "xlwings"
        return "file"
    raise ValueError(f"unknown writer backend {backend!r} (expected one of {', '.join(BACKENDS)})")


def apply(
    path: Path,
    changes: ChangeSet,
    *,
    backend: str,
    expected: Fingerprint | None,
    backups: int = 7,
    header_rows: Mapping[str, int] | None = None,
) -> WriteResult:
    """Write `changes` with the backend `choose_backend` picks: the one function callers use.

    The file backend checks for lock files first (WorkbookLocked), exactly as before."""
    path = Path(path)
    if choose_backend(path, backend) == "file":
        check_locked(path)
        return apply_changes(
            path, changes, expected=expected, backups=backups, header_rows=header_rows
        )
    return apply_live(path, changes, expected=expected, backups=backups)


# ---- values as Excel sees them ---------------------------------------------------------------


def _blank(value: object) -> bool:
    return value is None or value == ""


def _same(old: object, new: CellValue) -> bool:
    """Whether a cell that reads `old` through xlwings already holds `new`.

    xlwings reads numbers as float, dates as datetime (when the cell shows a date), empty as
    None; an empty string counts as empty."""
    if _blank(new):
        return _blank(old)
    if _blank(old):
        return False
    if isinstance(new, bool) or isinstance(old, bool):
        return isinstance(new, bool) and isinstance(old, bool) and new == old
    if isinstance(new, dt.datetime):
        return isinstance(old, dt.datetime) and abs(old.replace(tzinfo=None) - new) < _MS
    if isinstance(new, dt.date):
        if isinstance(old, dt.datetime):
            return old.time() == dt.time() and old.date() == new
        return isinstance(old, dt.date) and old == new
    if isinstance(new, int | float):
        return isinstance(old, int | float) and old == new
    return isinstance(old, str) and old == new


def _typed(old: object) -> CellValue:
    """A value read through xlwings as the engine reports it (whole floats as int)."""
    if isinstance(old, float) and old.is_integer() and abs(old) < 1e15:
        return int(old)
    if isinstance(old, str | int | float | bool | dt.date) or old is None:
        return old
    return str(old)


def needs_quote(text: str) -> bool:
    """Whether Excel would not keep `text` as typed when it is assigned as a cell's value.

    Excel parses an assigned string as if typed: '=…' (and '+…', '-…', '@…') becomes a formula,
    digits may become a number or a date ('13800138000', '3月5日', '2024-03-05'), TRUE/FALSE a
    boolean, '#N/A' an error, and a leading apostrophe is swallowed. Strings without any of
    these are left alone so that ordinary text carries no prefix."""
    if not text:
        return False
    return (
        text[0] in "=+-@'#"
        or any(ch.isdigit() for ch in text)
        or text.strip().upper() in ("TRUE", "FALSE")
    )


def excel_value(value: CellValue) -> Any:
    """`value` in the form assigned to `Range.value`.

    Text Excel would reinterpret gets a leading apostrophe: Excel stores the rest as text
    (the apostrophe becomes the cell's hidden prefix character, not part of the value), the
    same way a person typing it in a cell does. Dates are passed as datetimes."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return "'" + value if needs_quote(value) else value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def _has_formula(rng: Any) -> bool:
    """Whether the cell holds a formula. `Range.formula` of a constant is the constant itself,
    so text such as '=cmd' stored as text reads '=cmd' too; it is told apart from a formula by
    its value being that same text (a formula's value is its result)."""
    formula = rng.formula
    if not isinstance(formula, str) or not formula.startswith("="):
        return False
    value = rng.value
    return not (isinstance(value, str) and value == formula)


def _date_format(value: CellValue) -> str | None:
    if isinstance(value, dt.datetime):
        return DATETIME_FORMAT
    if isinstance(value, dt.date):
        return DATE_FORMAT
    return None


# ---- the open workbook -------------------------------------------------------------------------


def _norm(name: str) -> str:
    norm = os.path.normpath(os.path.abspath(name))
    return norm.casefold() if sys.platform in LIVE_PLATFORMS else norm


def _same_file(fullname: object, path: Path) -> bool:
    if not isinstance(fullname, str) or not fullname:
        return False
    if _norm(fullname) == _norm(str(path)):
        return True
    try:
        return os.path.samefile(fullname, path)
    except (OSError, ValueError):
        return False


def find_open_book(xw: Any, path: Path) -> Any | None:
    """The workbook at `path` among the books open in every running Excel, or None."""
    for app in xw.apps:
        for book in app.books:
            if _same_file(book.fullname, path):
                return book
    return None


def _book_flag(book: Any, windows: str, mac: str) -> bool | None:
    """A workbook property read through the native object (COM on Windows, appscript on
    macOS), or None when it cannot be read (e.g. a fake without `api`)."""
    api = getattr(book, "api", None)
    if api is None:
        return None
    try:
        if sys.platform == "darwin":
            return bool(getattr(api, mac).get())
        return bool(getattr(api, windows))
    except Exception:
        return None


def _sheet(book: Any, name: str) -> Any | None:
    """The sheet called `name` (Excel compares sheet names without case), or None."""
    folded = name.casefold()
    for sheet in book.sheets:
        if sheet.name.casefold() == folded:
            return sheet
    return None


# ---- planning: read the open workbook, decide the writes ----------------------------------------


@dataclass
class _Plan:
    headers: list[tuple[Any, NewColumn]] = field(default_factory=list)  # (sheet, column)
    cells: list[tuple[Any, CellWrite, str | None]] = field(default_factory=list)  # fmt to set
    sheets: list[tuple[Any | None, SheetContent]] = field(default_factory=list)  # None: create
    changes: list[CellChange] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    columns_added: list[NewColumn] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(self.headers or self.cells or self.sheets)


def _grid(rows: list[list[Any]]) -> dict[tuple[int, int], Any]:
    return {
        (r, c): value
        for r, row in enumerate(rows, start=1)
        for c, value in enumerate(row, start=1)
        if not _blank(value)
    }


def _same_sheet(sheet: Any, content: SheetContent) -> bool:
    """Whether the sheet already shows exactly this header and these rows (values only)."""
    last = sheet.used_range.last_cell
    values = sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value
    have = _grid(values)
    wanted = _grid([list(content.header), *(list(r) for r in content.rows)])
    return set(have) == set(wanted) and all(_same(have[k], v) for k, v in wanted.items())


def _plan(path: Path, book: Any, changes: ChangeSet) -> _Plan:
    plan = _Plan()
    sheets: dict[str, Any] = {}

    def sheet_of(name: str) -> Any:
        if name not in sheets:
            found = _sheet(book, name)
            if found is None:
                raise SheetNotFound(path, name)
            sheets[name] = found
        return sheets[name]

    headers: set[tuple[str, int, int]] = set()  # (sheet name, row, column) of new columns
    for nc in changes.new_columns:
        sheet = sheet_of(nc.sheet)
        cw = CellWrite(nc.sheet, nc.header_row, nc.column, nc.header)
        if not (1 <= nc.header_row <= MAX_ROW and 1 <= nc.column <= MAX_COL):
            plan.refused.append(Refusal(cw, "cell outside the sheet"))
            continue
        problem = want(nc.header, False)
        if isinstance(problem, str):
            plan.refused.append(Refusal(cw, problem))
            continue
        headers.add((sheet.name, nc.header_row, nc.column))
        rng = sheet.range((nc.header_row, nc.column))
        if _has_formula(rng):
            plan.refused.append(Refusal(cw, "cell holds a formula"))
            continue
        old = rng.value
        if _same(old, nc.header):
            continue
        if not _blank(old):
            plan.refused.append(Refusal(cw, "header cell is not empty"))
            continue
        plan.headers.append((sheet, nc))
        plan.changes.append(CellChange(sheet.name, nc.header_row, nc.column, None, nc.header))
        plan.columns_added.append(nc)

    last: dict[tuple[str, int, int], CellWrite] = {}  # the last write to a cell wins
    for cw in changes.cells:
        sheet = sheet_of(cw.sheet)
        engine = changes.engine_columns.get(cw.sheet)
        if engine is None:
            engine = changes.engine_columns.get(sheet.name, frozenset())
        if not (1 <= cw.row <= MAX_ROW and 1 <= cw.column <= MAX_COL):
            plan.refused.append(Refusal(cw, "cell outside the sheet"))
        elif cw.column not in engine:
            plan.refused.append(Refusal(cw, "column is not an engine column"))
        elif (sheet.name, cw.row, cw.column) in headers:
            plan.refused.append(Refusal(cw, "cell is the header of a new column"))
        elif isinstance(reason := want(cw.value, False), str):
            plan.refused.append(Refusal(cw, reason))
        else:
            last[(sheet.name, cw.row, cw.column)] = cw
    for (name, row, column), cw in last.items():
        sheet = sheets[cw.sheet]
        rng = sheet.range((row, column))
        if getattr(rng, "has_array", False):
            plan.refused.append(Refusal(cw, "cell is part of an array formula"))
            continue
        if _has_formula(rng):
            plan.refused.append(Refusal(cw, "cell holds a formula"))
            continue
        old = rng.value
        if _same(old, cw.value):
            continue
        fmt = _date_format(cw.value)
        if fmt is not None and str(rng.number_format).strip().casefold() != _GENERAL:
            fmt = None  # the cell has its own format: keep it
        plan.cells.append((sheet, cw, fmt))
        plan.changes.append(CellChange(name, row, column, _typed(old), cw.value))

    for content in changes.sheets:
        existing = _sheet(book, content.name)
        if existing is None:
            plan.sheets.append((None, content))
            plan.created.append(content.name)
        elif not _same_sheet(existing, content):
            plan.sheets.append((existing, content))
            plan.replaced.append(existing.name)
    return plan


# ---- writing ------------------------------------------------------------------------------------


def _write_header(sheet: Any, nc: NewColumn) -> None:
    sheet.range((nc.header_row, nc.column)).value = excel_value(nc.header)
    if nc.number_format is not None and nc.header_row < MAX_ROW:
        below = sheet.range((nc.header_row + 1, nc.column), (MAX_ROW, nc.column))
        below.number_format = nc.number_format
    if nc.width is not None:
        sheet.range((nc.header_row, nc.column)).column_width = nc.width


def _write_cell(sheet: Any, cw: CellWrite, fmt: str | None) -> None:
    rng = sheet.range((cw.row, cw.column))
    rng.value = excel_value(cw.value)
    if fmt is not None:
        rng.number_format = fmt


def _column_format(content: SheetContent, column: int) -> str | None:
    """The number format of a column of an engine sheet: as given, else a date format when the
    column holds dates (a given format that shows no date does not hide a date)."""
    given = content.number_formats[column - 1] if column - 1 < len(content.number_formats) else None
    values = [row[column - 1] for row in content.rows if column - 1 < len(row)]
    dated = [_date_format(v) for v in values if isinstance(v, dt.date)]
    if dated and (given is None or not is_date_format(given)):
        return DATETIME_FORMAT if DATETIME_FORMAT in dated else DATE_FORMAT
    return given


def _write_sheet(book: Any, sheet: Any | None, content: SheetContent) -> None:
    created = sheet is None
    if sheet is None:
        active = None
        with contextlib.suppress(Exception):
            active = book.sheets.active
        sheet = book.sheets.add(name=content.name, after=list(book.sheets)[-1])
        if active is not None:  # Excel shows an added sheet: show the user's sheet again
            with contextlib.suppress(Exception):
                active.activate()
    else:
        sheet.used_range.clear()
    width = max([1, len(content.header), *(len(r) for r in content.rows)])
    block = [
        [excel_value(v) for v in row] + [None] * (width - len(row))
        for row in (content.header, *content.rows)
    ]
    sheet.range("A1").value = block
    sheet.range((1, 1), (1, width)).font.bold = True
    last_row = MAX_ROW if created else 1 + len(content.rows)
    for c in range(1, width + 1):
        fmt = _column_format(content, c)
        if fmt is not None and last_row >= 2:
            sheet.range((2, c), (last_row, c)).number_format = fmt
        if created and c - 1 < len(content.widths) and content.widths[c - 1] is not None:
            sheet.range((1, c)).column_width = content.widths[c - 1]
    if sys.platform == "win32":
        _windows_extras(book, sheet, content, created)


def _windows_extras(book: Any, sheet: Any, content: SheetContent, created: bool) -> None:
    """Dropdowns and a frozen header row, through COM (Windows only, best effort).

    Neither has an xlwings API; both are cosmetic to the data written, so a failure here does
    not stop the write. Not run against a real Excel (see README)."""
    for v in content.validations:
        with contextlib.suppress(Exception):
            validation = sheet.range(v.sqref.replace(" ", ",")).api.Validation
            formula = v.formula
            if formula.startswith('"') and formula.endswith('"'):
                formula = formula[1:-1]  # COM takes the list itself, the XML quotes it
            elif not formula.startswith("="):
                formula = "=" + formula
            validation.Delete()
            # xlValidateList = 3, xlValidAlertStop = 1 / xlValidAlertWarning = 2, xlBetween = 1
            validation.Add(3, 1 if v.error_style == "stop" else 2, 1, formula)
            validation.IgnoreBlank = v.allow_blank
    app_api = getattr(getattr(book, "app", None), "api", None)
    if not (created and content.freeze_header) or app_api is None:
        return
    with contextlib.suppress(Exception):
        active = book.sheets.active
        sheet.activate()
        window = app_api.ActiveWindow
        window.FreezePanes = False
        window.SplitColumn = 0
        window.SplitRow = 1
        window.FreezePanes = True
        active.activate()


def apply_live(
    path: Path,
    changes: ChangeSet,
    *,
    xw: Any | None = None,
    expected: Fingerprint | None = None,
    backups: int = 0,
    backup_dir: Path | None = None,
) -> WriteResult:
    """Write `changes` into the workbook at `path` through Excel, then save it.

    The book is looked up among the workbooks open in every running Excel (by full path; case
    does not matter on Windows/macOS). When it is not open: if Excel's owner file says someone
    else has it open, WorkbookLocked; else it is opened, written, saved and closed again.
    Refused before anything is written: the file changed since it was read (`expected`,
    WorkbookChanged), unsaved edits in Excel (UnsavedInExcel), a book open read-only
    (WorkbookReadOnly). When nothing differs nothing is written and the book is not saved;
    else the file on disk is first copied to the backups (`backups` kept), as the file
    backend does. `xw` is the xlwings module (imported when None; tests pass a fake).
    """
    path = Path(path)
    if changes.is_empty:
        return WriteResult(path=path)
    check_sheet_names(path, changes.sheets)
    if xw is None:
        xw, why = _load_xlwings()
        if xw is None:
            raise BackendUnavailable(path, f"xlwings cannot be imported: {why}")
    if expected is not None and fingerprint(path) != expected:
        raise WorkbookChanged(path)
    book = find_open_book(xw, path)
    opened = book is None
    started: Any | None = None
    if book is None:
        check_locked(path)  # open elsewhere (another user, LibreOffice): refuse as before
        pids = {getattr(app, "pid", None) for app in xw.apps}
        book = xw.Book(str(path))
        if getattr(book.app, "pid", None) not in pids:
            started = book.app
    try:
        if _book_flag(book, "ReadOnly", "read_only") is True:
            raise WorkbookReadOnly(path, "open read-only in Excel")
        if _book_flag(book, "Saved", "saved") is False:
            raise UnsavedInExcel(path)
        plan = _plan(path, book, changes)
        result = WriteResult(
            path=path,
            changes=tuple(plan.changes),
            refused=tuple(plan.refused),
            columns_added=tuple(plan.columns_added),
            sheets_created=tuple(plan.created),
            sheets_replaced=tuple(plan.replaced),
        )
        if not plan.anything:
            return result
        backup = make_backup(path, backup_dir or path.parent / ".funnel_sync" / "backups", backups)
        for sheet, nc in plan.headers:
            _write_header(sheet, nc)
        for sheet, cw, fmt in plan.cells:
            _write_cell(sheet, cw, fmt)
        for existing, content in plan.sheets:
            _write_sheet(book, existing, content)
        book.save()
    finally:
        if opened:
            book.close()  # without saving: after a failure nothing reaches the file
            if started is not None:
                with contextlib.suppress(Exception):
                    started.quit()
    return replace(result, written=True, backup=backup, fingerprint=fingerprint(path))


__all__ = [
    "BACKENDS",
    "LIVE_PLATFORMS",
    "BackendUnavailable",
    "UnsavedInExcel",
    "apply",
    "apply_live",
    "choose_backend",
    "excel_value",
    "find_open_book",
    "needs_quote",
    "open_in_excel",
]
