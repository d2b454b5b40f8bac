"""The byte scan of a worksheet's XML before python-calamine loads it: its used range, checked
against the limits (calamine allocates every cell of A1:last-cell), and its formula and error
cells (which python-calamine hides)."""

from __future__ import annotations

import functools
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from funnel_sync.config import Config
from funnel_sync.problems import column_letter
from funnel_sync.read.package import WorkbookError, message, short

#: What reading one cell of a sheet's range costs: calamine's cell (32 bytes) and the pointer in
#: the row list python-calamine hands over; the sum over the ledger sheets must stay within
#: limits.max_unpacked_mb.
_BYTES_PER_CELL = 40
_ROOT_PREFIX = re.compile(rb"<([\w.-]+:)?worksheet\b")


@dataclass(frozen=True)
class _RangePatterns:
    """Tag patterns for a worksheet whose elements carry `prefix` (b"" or b"x:"). Tags only:
    text cannot hold a "<", so nothing typed into a cell looks like a row or a cell here."""

    row: re.Pattern[bytes]  # a row element, with its number if it has one
    # [k]: in one pass, cells with r first (Excel's, LibreOffice's and openpyxl's order) in
    # a column AA… (group 1) or in a one-letter column right of column k (group 2; none for
    # k = 26), and any other cell (group 3: no r, or r not first)
    notable: tuple[re.Pattern[bytes], ...]
    # the slow way, r anywhere in the tag, for chunks with such other cells
    cell: re.Pattern[bytes]  # any cell
    cell_ref: re.Pattern[bytes]  # a cell's column and row


@functools.lru_cache(maxsize=8)
def _range_patterns(prefix: bytes) -> _RangePatterns:
    c, row = re.escape(b"<" + prefix + b"c"), re.escape(b"<" + prefix + b"row")
    return _RangePatterns(
        row=re.compile(row + rb'\b(?:[^>]*?\br="([0-9]{1,9})")?'),
        notable=tuple(
            re.compile(
                c + rb' r="(?:([A-Z]{2,3})|(' + beyond + rb"))[0-9]|" + c + rb'([>/]|\s(?!r="))'
            )
            for beyond in [b"[" + bytes([65 + k]) + b"-Z]" for k in range(26)] + [b"(?!)"]
        ),
        cell=re.compile(c + rb"[\s>/]"),
        cell_ref=re.compile(c + rb'\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,9})"'),
    )


@dataclass(frozen=True, slots=True)
class SheetScan:
    """What one pass over a worksheet's XML tells before python-calamine loads it."""

    last_row: int  # the last row and column used: calamine allocates A1 to there
    last_col: int
    formulas: dict[tuple[int, int], str | None]  # (row, column) → error text or None


def scan_part(
    archive: zipfile.ZipFile, part: str, *, formulas: bool, cfg: Config, path: Path
) -> SheetScan:
    """scan_sheet, with a damaged or exotic zip entry refused as the file is."""
    try:
        return scan_sheet(archive, part, formulas)
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise WorkbookError(message(cfg, path, "truncated")) from None
    except (RuntimeError, NotImplementedError) as e:  # an exotic zip entry
        raise WorkbookError(message(cfg, path, "unreadable", detail=short(e))) from None


def scan_sheet(archive: zipfile.ZipFile, part: str, formulas: bool) -> SheetScan:
    """The sheet's used range and (with `formulas`) its formula and error cells, in one pass.

    A byte scan, a small part of the time reading the sheet takes: the numbers of the row
    elements, the cells in columns beyond the rightmost seen so far; rows or cells without
    numbers (allowed, never written by Excel) count as many rows or columns as there are
    elements. Chunks end after a whole row where one ends, so that the formula scan sees whole
    cells; where a row is longer than a chunk the formula scan reads the part again whole."""
    last_row, last_col, elements, tail = 0, 0, 0, b""
    row_end, patterns = b"</row>", _range_patterns(b"")
    found: dict[tuple[int, int], str | None] = {}
    whole = False  # the formula scan must read the whole part instead
    with archive.open(part) as stream:
        first = True
        while block := stream.read(1 << 20):
            chunk = tail + block
            if first and (root := _ROOT_PREFIX.search(chunk)) and root.group(1):
                prefix = root.group(1)
                row_end = b"</" + prefix + b"row>"
                patterns = _range_patterns(prefix)
            first = False
            # whole tags only (whole rows where one ends): the rest goes to the next chunk
            cut = chunk.rfind(row_end)
            if cut >= 0:
                cut += len(row_end)
            else:
                cut = chunk.rfind(b">") + 1
                whole = True
            chunk, tail = chunk[:cut], chunk[cut:]
            if len(tail) > 1 << 20:
                tail, whole = tail[-(1 << 20) :], True
            if formulas and not whole:
                found.update(scan_formulas(chunk))
            rows = patterns.row.findall(chunk)
            elements += len(rows)
            if b"" in rows:  # rows without numbers: the cells say, else the count
                rows = [r for _, r in patterns.cell_ref.findall(chunk)]
                last_row = max(last_row, elements)
            last_row = max(last_row, max(map(int, rows), default=0))
            notable = patterns.notable[min(last_col, 26)].findall(chunk)
            if any(other for _, _, other in notable):  # the slow way, for this chunk
                refs = patterns.cell_ref.findall(chunk)
                columns = {letters for letters, _ in refs}
                last_row = max(last_row, max((int(r) for _, r in refs), default=0))
                cells = len(patterns.cell.findall(chunk))
                if cells > len(refs):  # cells without numbers: as many columns as cells
                    last_col = max(last_col, cells)
            else:
                columns = {wide or narrow for wide, narrow, _ in notable}
            last_col = max(last_col, max(map(col_index, columns), default=0))
    if formulas and whole:
        # in blocks: one read() of a whole part inflates as much as the deflate stream holds,
        # whatever the size the zip declares (a forged one is how a bomb gets this far)
        with archive.open(part) as stream:
            found = scan_formulas(b"".join(iter(functools.partial(stream.read, 1 << 20), b"")))
    return SheetScan(last_row, last_col, found)


class RangeGuard:
    """The cell ranges of the sheets queued so far, against the limits: a sheet reaching past
    limits.max_rows, or sheets whose ranges (A1 to the last cell used) would take more memory
    than limits.max_unpacked_mb allows, are refused before python-calamine allocates them."""

    def __init__(self, cfg: Config, path: Path) -> None:
        self.cfg, self.path = cfg, path
        self.budget = cfg.limits.max_unpacked_mb * 1024 * 1024 // _BYTES_PER_CELL
        self.cells = 0  # the cell ranges admitted so far, and the largest
        self.largest = ("", 0, 0)

    def admit(self, name: str, scan: SheetScan) -> None:
        limits = self.cfg.limits
        rows, cols = scan.last_row, scan.last_col
        if rows > limits.max_rows:
            raise WorkbookError(
                message(
                    self.cfg, self.path, "rows-beyond", sheet=name, last=rows, rows=limits.max_rows
                )
            )
        self.cells += rows * cols
        if rows * cols > self.largest[1] * self.largest[2]:
            self.largest = (name, rows, cols)
        if self.cells > self.budget:
            sheet, rows, cols = self.largest
            raise WorkbookError(
                message(
                    self.cfg,
                    self.path,
                    "range-too-large",
                    sheet=sheet,
                    cell=f"{column_letter(cols)}{rows}",
                    rows=rows,
                    cols=cols,
                    mb=limits.max_unpacked_mb,
                )
            )


_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]+)(\d+)\"")
_CELL_ERROR_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)<")


_FORMULA_NEXT = (
    frozenset(b">" + bytes([c]) for c in range(256))
    | frozenset(b" " + bytes([c]) for c in range(256))
    | {b"/>"}
)


def scan_formulas(xml: bytes) -> dict[tuple[int, int], str | None]:
    """(row, column) → error text (e.g. "#REF!") or None, for every formula or error cell.

    A byte-level scan: find each `<f` and `t="e"`, then the cell it belongs to, so the cost is
    one pass over the bytes plus a little work per formula cell (python-calamine hides both)."""
    found: dict[tuple[int, int], str | None] = {}
    for needle in (b"<f", b't="e"'):
        start = 0
        while True:
            hit = xml.find(needle, start)
            if hit < 0:
                break
            start = hit + 1
            if needle == b"<f" and xml[hit + 2 : hit + 4] not in _FORMULA_NEXT:
                continue  # <f>, <f ...> and <f/>, not <formula>
            cell_start = max(xml.rfind(b"<c ", 0, hit), xml.rfind(b":c ", 0, hit))
            if cell_start < 0:
                continue
            match = _CELL_REF.match(xml, cell_start if xml[cell_start] == 60 else cell_start - 1)
            if match is None:
                match = _CELL_REF.search(xml, cell_start - 8, hit + 64)
                if match is None:
                    continue
            key = (int(match.group(2)), col_index(match.group(1)))
            error = None
            end = xml.find(b"</c>", hit)
            cell = xml[cell_start : end if end > 0 else hit + 256]
            if b't="e"' in cell[:200]:
                value = _CELL_ERROR_VALUE.search(cell)
                error = value.group(1).decode("utf-8", "replace") if value else "#ERROR"
            found[key] = error
    return found


def col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n
