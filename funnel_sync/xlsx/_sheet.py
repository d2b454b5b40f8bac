"""Streams one worksheet part, replacing or inserting the planned cells and nothing else."""

from __future__ import annotations

import operator
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from ..plan import CellValue, CellWrite, NewColumn
from ._styles import StyleBook
from ._values import Held, Wanted, held_value, same, typed, value_xml
from ._xml import ATTR_RE, MAIN_NS, attrs, col_letters, col_number, format_range, parse_range

CHUNK = 1 << 22
_MAX_HEAD = 64 << 20
_ROOT_RE = re.compile(rb"<([\w.-]+:)?worksheet\b([^>]*)>")
_ENCODING_RE = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']")
_ROW_R = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([0-9]+)[\"']")
_CELL_R = re.compile(rb"(?:^|\s)r\s*=\s*[\"']\$?([A-Za-z]{1,3})\$?[0-9]+[\"']")
_SPANS = re.compile(rb"(\sspans\s*=\s*[\"'])([0-9: ]+)([\"'])")
# A cell's attributes in the form writers usually give them: r, then s and t if present. Only
# these three, so attrs() would find exactly them and nothing needs keeping.
_PLAIN_ATTRS = re.compile(rb' r="[^"]*"(?: s="([0-9]+)")?(?: t="([^"]*)")?')

_CACHED = 1 << 12  # cell XML pieces an editor keeps
_CANDIDATES = 16  # tried by SheetEditor._last_in before it searches a region cell by cell

# Found wherever "array" or "dataTable" is (one scan instead of three)
_ARRAY_HINT = re.compile(rb"a(?:rray|taTable)")

_LETTERS: dict[int, bytes] = {}
_NUMBERS: dict[bytes, int] = {}

# A region whose cells have not been looked at yet: (buffer, start, end, whole rows?). Whole-row
# regions span complete <row> elements (and what lies between them); the others are one row's
# content.
_Region = tuple[bytes, int, int, bool]


def _letters(col: int) -> bytes:
    """col_letters as bytes, cached."""
    found = _LETTERS.get(col)
    if found is None:
        found = _LETTERS[col] = col_letters(col).encode()
    return found


def _number(letters: bytes) -> int:
    """col_number of a reference's letters, cached."""
    found = _NUMBERS.get(letters)
    if found is None:
        found = col_number(letters.decode())
        if len(_NUMBERS) < 1 << 16:
            _NUMBERS[letters] = found
    return found


def _style_attr(attr_raw: bytes) -> int | None:
    s = attrs(attr_raw).get(b"s")
    return int(s) if s is not None else None


class SheetFormatError(ValueError):
    """The worksheet XML is not in a form this editor can change safely."""


@dataclass(slots=True)
class Target:
    write: CellWrite
    want: Wanted
    header_for: NewColumn | None = None


@dataclass(slots=True)
class SheetPlan:
    name: str
    targets: dict[int, dict[int, Target]]
    new_columns: list[NewColumn]
    header_row: int
    add_box: tuple[int, int, int, int] | None  # cells that will hold values, for <dimension>


@dataclass(slots=True)
class SheetOutcome:
    changes: list[tuple[Target, CellValue]] = field(default_factory=list)
    refusals: list[tuple[CellWrite, str]] = field(default_factory=list)
    sst_removed: int = 0
    headers_written: list[NewColumn] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _union(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


class SheetEditor:
    """One pass over a worksheet: `run()` yields the new part, `outcome` says what changed."""

    def __init__(
        self,
        plan: SheetPlan,
        styles: StyleBook,
        sst: Callable[[], list[str]],
        date1904: bool,
    ) -> None:
        self.plan = plan
        self.styles = styles
        self.sst = sst
        self.date1904 = date1904
        self.outcome = SheetOutcome()
        self.pending = sorted(plan.targets)
        self.pi = 0
        self.last_row = 0
        self.p = b""
        self.col_style: dict[int, int] = {}
        self.col_format_style: dict[int, int] = {}
        self.tracking = False
        self.last_style: dict[int, int | None] = {}
        self.arrays: list[tuple[int, int, int, int]] = []
        self.header_rows_max = max((nc.header_row for nc in plan.new_columns), default=0)
        target_cols = {c for cols in plan.targets.values() for c in cols}
        self._target_cols = target_cols
        # Styles new cells inherit (last_style: column -> s of the last cell above, found with
        # _track_re) are looked up lazily: rows that are only copied are noted as regions,
        # searched backwards only when a new cell needs a column's style or before the segment
        # holding them is dropped. Edited rows set last_style directly. _since[c]: the regions
        # before this index are settled for column c (last_style[c] accounts for them).
        self._regions: list[_Region] = []
        self._starts: list[int] = []  # where each region starts in its buffer
        self._since: dict[int, int] = {}
        self._tracked: frozenset[int] = frozenset()
        # value_xml and whole-cell XML per Wanted (kept, so its id stays unique) and style
        self._xml_cache: dict[int, tuple[Wanted, bytes | None, bytes]] = {}
        self._parts_cache: dict[tuple[int, int | None, int], tuple[Wanted, bytes, bytes]] = {}
        self._refs: dict[int, bytes] = {}  # column -> b'<c r="' and its letters
        # StyleBook.date_style per (style, format): the same answer every time it is asked
        self._date_styles: dict[tuple[int | None, str], int] = {}
        # a new cell's (Wanted, style, XML before and after the row number) per column, Wanted
        # and inherited style
        self._new_cells: dict[
            tuple[int, int, int | None], tuple[Wanted, int | None, bytes, bytes]
        ] = {}
        self._plain_seg: bytes | None = None
        self._plain = False

    # ---- the pass -------------------------------------------------------------------------

    def run(self, read: Callable[[int], bytes]) -> Iterator[bytes]:
        buf = b""
        while True:
            chunk = read(CHUNK)
            buf += chunk
            m = re.search(rb"<([\w.-]+:)?sheetData\b[^>]*?(/?)>", buf)
            if m is not None:
                break
            if not chunk or len(buf) > _MAX_HEAD:
                raise SheetFormatError("worksheet has no <sheetData>")
        self._check_root(buf[: m.start()])
        self.p = m.group(1) or b""
        head = buf[: m.start()]
        self._read_cols(head)
        self.tracking = any(c not in self.col_style for c in self._target_cols)
        self._cell_re = re.compile(
            rb"<" + re.escape(self.p) + rb"c\b([^>]*?)(/>|>(.*?)</" + re.escape(self.p) + rb"c>)",
            re.S,
        )
        self._f_re = re.compile(rb"<" + re.escape(self.p) + rb"f\b([^>]*)>")
        tracked = sorted(c for c in self._target_cols if c not in self.col_style)
        pe = re.escape(self.p)
        self._track_re = re.compile(
            rb"<"
            + pe
            + rb"c\b([^>]*?(?:^|\s)r\s*=\s*[\"']("
            + b"|".join(_letters(c) for c in tracked or [1])
            + rb")[0-9]+[\"'][^>]*?)/?>"
        )
        if self.tracking:
            self._tracked = frozenset(tracked)
        self._row_open = b"<" + self.p + b"row"
        self._row_close = b"</" + self.p + b"row>"
        self._row_r = self._row_open + b' r="'
        self._row_nums = re.compile(re.escape(self._row_open) + rb'(?: r="([0-9]+)")?')
        self._row_empty = re.compile(re.escape(self._row_open) + rb"[^>]*/>")
        self._c_open = b"<" + self.p + b"c"
        self._c_r = self._c_open + b' r="'
        self._c_close = b"</" + self.p + b"c>"
        self._ext_open = b"<" + self.p + b"extLst"
        held_out: list[bytes] | None = None
        rest = buf[m.end() :]
        first: list[bytes] = []

        def emit(pieces: list[bytes]) -> Iterator[bytes]:
            nonlocal held_out
            if held_out is not None:
                held_out.extend(pieces)
                if self._headers_done():
                    yield self._final_head(head) + b"".join(held_out)
                    held_out = None
            else:
                yield b"".join(pieces)

        if m.group(2):  # <sheetData/>: every planned row is new
            pieces = [
                b"<" + self.p + b"sheetData>",
                *self._rows_until(None),
                b"</" + self.p + b"sheetData>",
                rest,
            ]
            yield self._final_head(head) + b"".join(pieces)
            yield from iter(lambda: read(CHUNK), b"")
            return
        first.append(buf[m.start() : m.end()])
        held_out = first
        buf = rest
        close = b"</" + self.p + b"sheetData>"
        while True:
            end = buf.find(close)
            if end >= 0:
                pieces = self._segment(buf[:end])
                pieces.extend(self._rows_until(None))
                pieces.append(buf[end:])
                yield from emit(pieces)
                if held_out is not None:
                    yield self._final_head(head) + b"".join(held_out)
                yield from iter(lambda: read(CHUNK), b"")
                return
            cut = buf.rfind(self._row_open)
            if cut > 0:
                yield from emit(self._segment(buf[:cut]))
                buf = buf[cut:]
            chunk = read(CHUNK)
            if not chunk:
                raise SheetFormatError("worksheet ends inside <sheetData>")
            buf += chunk

    def _check_root(self, head: bytes) -> None:
        enc = _ENCODING_RE.search(head)
        if enc and enc.group(1).lower().replace(b"-", b"") not in (b"utf8",):
            raise SheetFormatError(f"worksheet encoded as {enc.group(1).decode()}, not UTF-8")
        root = _ROOT_RE.search(head)
        if root is None:
            raise SheetFormatError("worksheet root element not found")
        prefix = (root.group(1) or b"")[:-1]
        decl = b"xmlns:" + prefix if prefix else b"xmlns"
        a = attrs(root.group(2))
        if a.get(decl) not in MAIN_NS:
            raise SheetFormatError("worksheet elements are not in the SpreadsheetML namespace")

    def _headers_done(self) -> bool:
        if not self.plan.new_columns:
            return True
        return self.pi >= len(self.pending) or self.pending[self.pi] > self.header_rows_max

    # ---- head: <dimension> and <cols> -------------------------------------------------------

    def _read_cols(self, head: bytes) -> None:
        for m in re.finditer(rb"<" + re.escape(self.p) + rb"col\b([^>]*?)/?>", head):
            a = attrs(m.group(1))
            try:
                lo, hi = int(a[b"min"]), int(a[b"max"])
            except (KeyError, ValueError):
                continue
            if b"style" in a:
                for c in self._target_cols:
                    if lo <= c <= hi:
                        self.col_style[c] = int(a[b"style"])

    def _final_head(self, head: bytes) -> bytes:
        p = re.escape(self.p)
        box = self.plan.add_box
        if box is not None:
            m = re.search(rb"<" + p + rb"dimension\b[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']", head)
            if m is not None:
                try:
                    old = parse_range(m.group(1).decode())
                    new = format_range(*_union(old, box)).encode()
                except ValueError:
                    new = format_range(*box).encode()
                head = head[: m.start(1)] + new + head[m.end(1) :]
        for nc in self.outcome.headers_written:
            if nc.width is not None or nc.number_format is not None:
                head = self._set_col(head, nc)
        return head

    def _set_col(self, head: bytes, nc: NewColumn) -> bytes:
        p = self.p
        pe = re.escape(p)
        c = nc.column
        section = re.search(
            rb"<" + pe + rb"cols\b[^>]*?(?:/>|>(.*?)</" + pe + rb"cols>)", head, re.S
        )
        items: list[tuple[int, int, dict[bytes, bytes]]] = []
        if section is not None:
            for m in re.finditer(rb"<" + pe + rb"col\b([^>]*?)/?>", section.group(1) or b""):
                a = dict(
                    (k.group(1), k.group(2) or k.group(3) or b"")
                    for k in ATTR_RE.finditer(m.group(1))
                )
                items.append((int(a.get(b"min", b"1")), int(a.get(b"max", b"1")), a))
        out: list[tuple[int, int, dict[bytes, bytes]]] = []
        found: dict[bytes, bytes] | None = None
        for lo, hi, a in items:
            if lo <= c <= hi:
                if lo < c:
                    out.append((lo, c - 1, dict(a)))
                found = dict(a)
                out.append((c, c, found))
                if c < hi:
                    out.append((c + 1, hi, dict(a)))
            else:
                out.append((lo, hi, a))
        if found is None:
            found = {}
            out.append((c, c, found))
            out.sort(key=lambda x: x[0])
        if nc.width is not None:
            found[b"width"] = repr(float(nc.width)).encode()
            found[b"customWidth"] = b"1"
        if c in self.col_format_style:
            found[b"style"] = str(self.col_format_style[c]).encode()
        cols = b"".join(
            b"<"
            + p
            + b"col"
            + b"".join(
                b" " + k + b'="' + v + b'"'
                for k, v in {**a, b"min": str(lo).encode(), b"max": str(hi).encode()}.items()
            )
            + b"/>"
            for lo, hi, a in out
        )
        new = b"<" + p + b"cols>" + cols + b"</" + p + b"cols>"
        if section is not None:
            return head[: section.start()] + new + head[section.end() :]
        # <cols> goes right before <sheetData>, i.e. at the end of the head.
        return head + new

    # ---- rows ---------------------------------------------------------------------------------

    def _scan_arrays(self, seg: bytes) -> None:
        for m in self._f_re.finditer(seg):
            a = attrs(m.group(1))
            if a.get(b"t") in (b"array", b"dataTable") and b"ref" in a:
                try:
                    box = parse_range(a[b"ref"].decode())
                except ValueError:
                    continue
                if box[0] != box[2] or box[1] != box[3]:
                    self.arrays.append(box)

    def _segment(self, seg: bytes) -> list[bytes]:
        """Complete <row> elements (and whitespace): copied, edited, or with new rows between."""
        if _ARRAY_HINT.search(seg) and (
            b'"array"' in seg or b'"dataTable"' in seg or b"'array'" in seg
        ):
            self._scan_arrays(seg)
        if self.pi >= len(self.pending):
            return [seg]
        index = self._row_index(seg)
        out = self._rows_slow(seg) if index is None else self._rows_fast(seg, *index)
        self._settle()
        return out

    def _row_index(self, seg: bytes) -> tuple[list[bytes], list[int]] | None:
        """Row numbers of the segment's rows, when byte searches find the rows exactly as the
        row-by-row walk would: every row starts <row r="N", rows are numbered in increasing
        order and each ends with </row> or "/>"; no comments, CDATA or processing instructions.
        """
        # (a lone "!" or "?" is found quickly, and rarely there at all)
        if (b"!" in seg and b"<!" in seg) or (b"?" in seg and b"<?" in seg):
            return None
        nums: list[bytes] = self._row_nums.findall(seg)  # b"" for a row without r=" first
        n = len(nums)
        if b"" in nums:
            return None
        closed = seg.count(self._row_close)
        if closed != n and closed + len(self._row_empty.findall(seg)) != n:
            return None
        ints = list(map(int, nums))
        if not all(map(operator.lt, ints, islice(ints, 1, None))):
            return None
        return nums, ints

    def _rows_fast(self, seg: bytes, nums: list[bytes], ints: list[int]) -> list[bytes]:
        """_rows_slow for an indexed segment: rows only copied are neither visited nor parsed."""
        out: list[bytes] = []
        pending = self.pending
        n_pending = len(pending)
        n = len(ints)
        header_row = self.plan.header_row
        at = self._row_r
        copy_from = 0
        pos = 0
        kk = 0  # index of the first row not yet passed
        while self.pi < n_pending:
            k = bisect_left(ints, pending[self.pi], kk)
            i = seg.find(at + nums[k] + b'"', pos) if k < n else len(seg)
            if self.tracking:
                first = bisect_right(ints, header_row, kk, k)
                if first < k:  # rows first..k-1 are only copied: noted for style inheritance
                    self._note(seg, seg.find(at + nums[first] + b'"', pos), i, True)
            if k >= n:
                if kk < n:
                    self.last_row = ints[-1]
                break
            if i < 0:
                raise SheetFormatError("unterminated <row>")
            j, attr_raw, content, k0, end = self._row_element(seg, i)
            rnum = ints[k]
            self.last_row = rnum
            out.append(seg[copy_from:i])
            self._place(out, seg, i, j, k0, end, rnum, attr_raw, content)
            copy_from = pos = end
            kk = k + 1
        out.append(seg[copy_from:])
        return out

    def _rows_slow(self, seg: bytes) -> list[bytes]:
        """Walk the segment's rows one by one."""
        out: list[bytes] = []
        pending = self.pending
        ro = self._row_open
        copy_from = 0
        pos = 0
        while True:
            if self.pi >= len(pending):
                break
            i = seg.find(ro, pos)
            if i < 0:
                break
            j, attr_raw, content, k0, k = self._row_element(seg, i)
            rm = _ROW_R.search(attr_raw)
            rnum = int(rm.group(1)) if rm else self.last_row + 1
            self.last_row = rnum
            if self.pi < len(pending) and pending[self.pi] <= rnum:
                out.append(seg[copy_from:i])
                self._place(out, seg, i, j, k0, k, rnum, attr_raw, content)
                copy_from = k
            elif self.tracking and content and rnum > self.plan.header_row:
                self._note(seg, j + 1, k0, False)
            pos = k
        out.append(seg[copy_from:])
        return out

    def _row_element(self, seg: bytes, i: int) -> tuple[int, bytes, bytes | None, int, int]:
        """The <row> starting at seg[i]: (end of its start tag, its attributes, its content or
        None if self-closing, start of </row> or -1, end of the element)."""
        j = seg.find(b">", i)
        if j < 0:
            raise SheetFormatError("unterminated <row>")
        self_closing = seg[j - 1] == 47
        attr_raw = seg[i + len(self._row_open) : j - 1 if self_closing else j]
        if self_closing:
            return j, attr_raw, None, -1, j + 1
        k0 = seg.find(self._row_close, j)
        if k0 < 0:
            raise SheetFormatError("unterminated <row>")
        return j, attr_raw, seg[j + 1 : k0], k0, k0 + len(self._row_close)

    def _place(
        self,
        out: list[bytes],
        seg: bytes,
        i: int,
        j: int,
        k0: int,
        end: int,
        rnum: int,
        attr_raw: bytes,
        content: bytes | None,
    ) -> None:
        """Pending new rows before row `rnum`, then the row itself: edited if it is pending,
        else copied (and noted for style inheritance)."""
        pending = self.pending
        while self.pi < len(pending) and pending[self.pi] < rnum:
            out.append(self._new_row(pending[self.pi]))
            self.pi += 1
        if self.pi < len(pending) and pending[self.pi] == rnum:
            out.append(self._edit_row(rnum, attr_raw, content, seg[i:end], (seg, j + 1)))
            self.pi += 1
        else:
            out.append(seg[i:end])
            if self.tracking and content and rnum > self.plan.header_row:
                self._note(seg, j + 1, k0, False)

    def _rows_until(self, limit: int | None) -> list[bytes]:
        out = []
        while self.pi < len(self.pending) and (limit is None or self.pending[self.pi] < limit):
            out.append(self._new_row(self.pending[self.pi]))
            self.pi += 1
        return out

    # ---- styles new cells inherit: the last cell above in the column ---------------------------

    def _note(self, buf: bytes, start: int, end: int, rows: bool) -> None:
        """Cells in buf[start:end] come next in the sheet; their styles are read when needed."""
        self._regions.append((buf, start, end, rows))
        self._starts.append(start)

    def _set_style(self, col: int, style: int | None) -> None:
        """A row's cell in `col` has `style`: it supersedes every region noted so far."""
        self.last_style[col] = style
        self._since[col] = len(self._regions)

    def _inherited(self, col: int) -> int | None:
        """The style of the last cell above in `col`: its s, or None (also for no cell)."""
        if self._since.get(col, 0) < len(self._regions) and col in self._tracked:
            self._resolve(col)
        return self.last_style.get(col)

    def _settle(self) -> None:
        """Resolve every tracked column, so the noted regions (and their buffers) can go."""
        if self._regions:
            if self.pi < len(self.pending):  # (else no new cell will ask)
                for col in self._tracked:
                    self._resolve(col)
            self._regions.clear()
            self._starts.clear()
            self._since.clear()

    def _resolve(self, col: int) -> None:
        """Bring last_style[col] up to date with the regions noted since it was last set."""
        regions = self._regions
        n = len(regions)
        lo = self._since.get(col, 0)
        last = n - 1
        while last >= lo:
            # Regions in one buffer lie in it in order: they are searched together.
            buf = regions[last][0]
            first = last
            while (
                first > lo
                and regions[first - 1][0] is buf
                and regions[first - 1][2] <= (regions[first][1])
            ):
                first -= 1
            found, style = self._last_in(first, last, col)
            if found:
                self.last_style[col] = style
                break
            last = first - 1
        self._since[col] = n

    def _last_in(self, first: int, last: int, col: int) -> tuple[bool, int | None]:
        """(found?, style) of the last cell of `col` in regions first..last (one buffer, in
        order): the last match of _track_re for `col` in the regions' row contents.

        Every such cell holds a quote, the column's letters and a digit (its reference), and
        no cell starts after that in the regions: the candidates are tried from the end.
        """
        regions = self._regions
        buf = regions[last][0]
        floor = regions[first][1]
        hi = regions[last][2]
        letters = _letters(col)
        dq, sq = b'"' + letters, b"'" + letters
        single = buf.find(b"'", floor, hi) >= 0
        after = len(dq)
        for _ in range(_CANDIDATES):
            v = buf.rfind(dq, floor, hi)
            if single:
                v = max(v, buf.rfind(sq, floor, hi))
            if v < 0:
                return False, None
            hi = v + after - 1
            idx = bisect_right(self._starts, v, first, last + 1) - 1
            _, start, end, rows = regions[idx]
            if v + after >= end or not 48 <= buf[v + after] <= 57:
                continue  # between the regions, or not a reference
            q = buf.rfind(b"<", start, v)
            t = self._track_re.match(buf, q, end) if q >= 0 else None
            if t is None or t.group(2) != letters:
                continue
            if rows:
                # The cell must lie in a row's content, as the row-by-row walk splits rows.
                i = buf.rfind(self._row_open, start, q)
                j = buf.find(b">", i) if i >= 0 else -1
                if (
                    j < 0
                    or j >= q
                    or buf[j - 1] == 47
                    or buf.find(self._row_close, j, end) < t.end()
                ):
                    break
            return True, _style_attr(t.group(1))
        for idx in range(last, first - 1, -1):
            found, style = self._last_exact(regions[idx], col)
            if found:
                return True, style
        return False, None

    def _last_exact(self, region: _Region, col: int) -> tuple[bool, int | None]:
        """_last_in for one region, running _track_re over each row's content in turn."""
        buf, start, end, rows = region
        spans: list[tuple[int, int]] = []
        if rows:
            ro, rc = self._row_open, self._row_close
            pos = start
            while True:
                i = buf.find(ro, pos, end)
                j = buf.find(b">", i, end) if i >= 0 else -1
                if j < 0:
                    break
                if buf[j - 1] == 47:
                    pos = j + 1
                    continue
                k0 = buf.find(rc, j, end)
                if k0 < 0:
                    break
                spans.append((j + 1, k0))
                pos = k0 + len(rc)
        else:
            spans.append((start, end))
        letters = _letters(col)
        found: re.Match[bytes] | None = None
        for a, b in spans:
            for m in self._track_re.finditer(buf, a, b):
                if m.group(2) == letters:
                    found = m
        if found is None:
            return False, None
        return True, _style_attr(found.group(1))

    def _new_row(self, rnum: int) -> bytes:
        cells = self._edit_cells(rnum, b"")
        if cells is None:
            return b""
        return self._row_open + b' r="' + str(rnum).encode() + b'">' + cells[0] + self._row_close

    def _edit_row(
        self,
        rnum: int,
        attr_raw: bytes,
        content: bytes | None,
        original: bytes,
        at: tuple[bytes, int] | None = None,
    ) -> bytes:
        """`at`: the buffer holding `content` and where it starts there."""
        result = self._edit_cells(rnum, content or b"", at)
        if result is None:
            return original
        new_content, lo, hi = result
        m = _SPANS.search(attr_raw) if lo <= hi and b"spans" in attr_raw else None
        if m is not None:
            try:
                parts = [tuple(int(x) for x in s.split(b":")) for s in m.group(2).split()]
                first, last = parts[0][0], parts[-1][-1]
                if lo < first or hi > last:
                    parts[0] = (min(first, lo), parts[0][-1])
                    parts[-1] = (parts[-1][0], max(last, hi))
                    spans = b" ".join(b"%d:%d" % (a, b) for a, b in parts)
                    attr_raw = attr_raw[: m.start(2)] + spans + attr_raw[m.end(2) :]
            except (ValueError, IndexError):
                pass
        return b"".join((self._row_open, attr_raw, b">", new_content, self._row_close))

    def _edit_cells(
        self, rnum: int, content: bytes, at: tuple[bytes, int] | None = None
    ) -> tuple[bytes, int, int] | None:
        """The row's new cell XML and the column span of new cells; None if nothing changed."""
        targets = self.plan.targets[rnum]
        if content and (
            not self.plan.new_columns or not any(t.header_for is not None for t in targets.values())
        ):
            handled, fast = self._fast_cells(rnum, content, targets, at)
            if handled:
                return fast
        tcols = sorted(targets)
        ti = 0
        pieces: list[bytes] = []
        pos = 0
        col = 0
        changed = False
        lo, hi = 1 << 30, 0
        row_styles: dict[int, int | None] = {}
        last_end = 0
        for m in self._cell_re.finditer(content):
            rm = _CELL_R.search(m.group(1))
            col = col_number(rm.group(1).decode()) if rm else col + 1
            while ti < len(tcols) and tcols[ti] < col:
                c = tcols[ti]
                cell = self._new_cell(rnum, c, targets[c], row_styles)
                if cell:
                    pieces.append(content[pos : m.start()])
                    pieces.append(cell)
                    pos = m.start()
                    changed = True
                    lo, hi = min(lo, c), max(hi, c)
                ti += 1
            inner = m.group(3)
            if ti < len(tcols) and tcols[ti] == col:
                replaced = self._replace_cell(
                    rnum, col, targets[col], m.group(1), inner, row_styles
                )
                if replaced is not None:
                    pieces.append(content[pos : m.start()])
                    pieces.append(replaced)
                    pos = m.end()
                    changed = True
                ti += 1
            else:
                s = attrs(m.group(1)).get(b"s")
                row_styles[col] = int(s) if s is not None else None
            last_end = m.end()
        while ti < len(tcols):
            c = tcols[ti]
            cell = self._new_cell(rnum, c, targets[c], row_styles)
            if cell:
                pieces.append(content[pos:last_end])
                pieces.append(cell)
                pos = last_end
                changed = True
                lo, hi = min(lo, c), max(hi, c)
            ti += 1
        if rnum > self.plan.header_row and self.tracking:
            for c in self._target_cols:
                if c in row_styles:
                    self._set_style(c, row_styles[c])
        if not changed:
            return None
        pieces.append(content[pos:])
        return b"".join(pieces), lo, hi

    def _fast_cells(
        self,
        rnum: int,
        content: bytes,
        targets: dict[int, Target],
        at: tuple[bytes, int] | None = None,
    ) -> tuple[bool, tuple[bytes, int, int] | None]:
        """_edit_cells without parsing every cell, for rows whose cells all start with r="...".

        Targets are found by their reference; new ones must lie right of the last cell. Returns
        (False, None) before touching any state when the row does not fit, for the full parse.
        """
        c_r = self._c_r
        if at is None or not self._plain_cells(at[0]):
            opener = self._c_open
            with_r = content.count(c_r)
            if with_r != content.count(opener + b" ") + content.count(
                opener + b">"
            ) + content.count(opener + b"/"):
                return False, None
        last_start = content.rfind(c_r)
        last = self._cell_re.match(content, last_start) if last_start >= 0 else None
        if last is None:
            return False, None
        rm = _CELL_R.search(last.group(1))
        if rm is None:
            return False, None
        last_col = _number(rm.group(1))
        suffix = b'%d"' % rnum
        found: list[tuple[int, re.Match[bytes] | None]] = []
        prev = -1
        refs = self._refs
        for c in sorted(targets):
            ref = refs.get(c)
            if ref is None:
                ref = refs[c] = c_r + _letters(c)
            i = content.find(ref + suffix)
            if i >= 0:
                m = self._cell_re.match(content, i)
                if m is None or i < prev:
                    return False, None
                prev = m.end()
                found.append((c, m))
            elif c > last_col:
                prev = last.end()
                found.append((c, None))
            else:
                return False, None
        pieces: list[bytes] = []
        pos = 0
        changed = False
        lo, hi = 1 << 30, 0
        row_styles: dict[int, int | None] = {}
        col_style = self.col_style
        since = self._since
        n_regions = len(self._regions)
        last_style = self.last_style
        new_cells = self._new_cells
        date_styles = self._date_styles
        add_change = self.outcome.changes.append
        rnum_text = b"%d" % rnum
        last_end = last.end()
        for c, m in found:
            target = targets[c]
            if m is not None:
                replaced = self._replace_cell(rnum, c, target, m.group(1), m.group(3), row_styles)
                if replaced is not None:
                    pieces.append(content[pos : m.start()])
                    pieces.append(replaced)
                    pos = m.end()
                    changed = True
                continue
            # _new_cell, inline (no header cells here)
            w = target.want
            kind = w.kind
            if kind is None:
                continue
            style: int | None
            if c in col_style:
                style = col_style[c]
            elif since.get(c, 0) >= n_regions:
                style = last_style.get(c)
            else:
                style = self._inherited(c)
            # (the cell's style and XML for this column, value and inherited style)
            known = new_cells.get((c, id(w), style))
            if known is None or known[0] is not w:
                if kind == "d":
                    key = (style, w.date_format)
                    date_style = date_styles.get(key)
                    if date_style is None:
                        date_style = date_styles[key] = self.styles.date_style(style, w.date_format)
                    inherited, style = style, date_style
                else:
                    inherited = style
                head, tail = self._cell_parts(c, style, w)
                known = (w, style, head, tail)
                if len(new_cells) < _CACHED:
                    new_cells[(c, id(w), inherited)] = known
            _, style, head, tail = known
            row_styles[c] = style
            add_change((target, None))
            cell = head + rnum_text + tail
            if pos != last_end:
                pieces.append(content[pos:last_end])
                pos = last_end
            pieces.append(cell)
            changed = True
            if c < lo:
                lo = c
            if c > hi:
                hi = c
        if rnum > self.plan.header_row and self.tracking:
            if len(targets) < len(self._target_cols):  # some target columns not in this row's
                buf, base = at if at is not None else (content, 0)
                self._note(buf, base, base + len(content), False)
            settled = len(self._regions)
            for c, style in row_styles.items():
                self.last_style[c] = style
                self._since[c] = settled
        if not changed:
            return True, None
        pieces.append(content[pos:])
        return True, (b"".join(pieces), lo, hi)

    def _plain_cells(self, seg: bytes) -> bool:
        """Whether every "<c" in the segment starts a cell with r= first (<c r="...). Then so
        does every "<c" in each row's content (a part of it), which passes _fast_cells' check.
        """
        if seg is not self._plain_seg:
            self._plain_seg = seg
            self._plain = seg.count(self._c_open) == seg.count(self._c_r)
        return self._plain

    def _style_for_new(
        self, col: int, target: Target, row_styles: dict[int, int | None]
    ) -> int | None:
        if target.header_for is not None:
            return row_styles.get(col - 1)
        if col in self.col_style:
            return self.col_style[col]
        return self._inherited(col)

    def _new_cell(
        self, rnum: int, col: int, target: Target, row_styles: dict[int, int | None]
    ) -> bytes:
        w = target.want
        if w.kind is None:
            return b""
        style = self._style_for_new(col, target, row_styles)
        if w.kind == "d":
            style = self.styles.date_style(style, w.date_format)
        row_styles[col] = style
        self._changed(target, None)
        return self._cell_xml(rnum, col, [], style, w)

    def _replace_cell(
        self,
        rnum: int,
        col: int,
        target: Target,
        attr_raw: bytes,
        inner: bytes | None,
        row_styles: dict[int, int | None],
    ) -> bytes | None:
        """The rewritten cell, b'' to drop it, or None to keep it as it is."""
        plain = _PLAIN_ATTRS.fullmatch(attr_raw)
        if plain is not None:  # held() without building the attribute dict
            s, t = plain.group(1), plain.group(2)
            h: Held = held_value(
                int(s) if s is not None else None, t if t is not None else b"n", inner, self.sst
            )
        else:
            a = attrs(attr_raw)
            h = held_value(int(a[b"s"]) if b"s" in a else None, a.get(b"t", b"n"), inner, self.sst)
        row_styles[col] = h.style
        w = target.want
        if h.formula:
            self.outcome.refusals.append((target.write, "cell holds a formula"))
            return None
        for box in self.arrays:
            if box[0] <= rnum <= box[2] and box[1] <= col <= box[3]:
                self.outcome.refusals.append((target.write, "cell is part of an array formula"))
                return None
        if same(h, w, self.styles):
            return None
        if target.header_for is not None and h.kind is not None:
            self.outcome.refusals.append((target.write, "header cell is not empty"))
            return None
        style = h.style
        if w.kind == "d":
            style = self.styles.date_style(style, w.date_format)
        row_styles[col] = style
        self._changed(target, typed(h, self.styles, self.date1904))
        if h.shared_ref:
            self.outcome.sst_removed += 1
        keep = (
            []
            if plain is not None
            else [
                (m.group(0))
                for m in ATTR_RE.finditer(attr_raw)
                if m.group(1) not in (b"r", b"s", b"t", b"vm")
            ]
        )
        ext = b""
        if inner:
            e = inner.find(self._ext_open)
            if e >= 0:
                ext = inner[e:]
        if w.kind is None and style is None and not ext:
            return b""
        return self._cell_xml(rnum, col, keep, style, w, ext)

    def _cell_xml(
        self, rnum: int, col: int, keep: list[bytes], style: int | None, w: Wanted, ext: bytes = b""
    ) -> bytes:
        if not keep and not ext:
            head, tail = self._cell_parts(col, style, w)
            return head + b"%d" % rnum + tail
        t, body = self._value_xml(w)
        parts = [self._c_r, _letters(col), b'%d"' % rnum]
        if style is not None:
            parts.append(b' s="%d"' % style)
        for k in keep:
            parts += [b" ", k]
        if t is not None:
            parts += [b' t="', t, b'"']
        body += ext
        if body:
            parts += [b">", body, self._c_close]
        else:
            parts.append(b"/>")
        return b"".join(parts)

    def _value_xml(self, w: Wanted) -> tuple[bytes | None, bytes]:
        cached = self._xml_cache.get(id(w))
        if cached is not None and cached[0] is w:
            return cached[1], cached[2]
        t, body = value_xml(w, self.p)
        if len(self._xml_cache) < _CACHED:
            self._xml_cache[id(w)] = (w, t, body)
        return t, body

    def _cell_parts(self, col: int, style: int | None, w: Wanted) -> tuple[bytes, bytes]:
        """_cell_xml (nothing kept, no extLst) as the XML before and after the row number."""
        key = (col, style, id(w))
        cached = self._parts_cache.get(key)
        if cached is not None and cached[0] is w:
            return cached[1], cached[2]
        t, body = self._value_xml(w)
        tail = b'"'
        if style is not None:
            tail += b' s="%d"' % style
        if t is not None:
            tail += b' t="' + t + b'"'
        tail += b">" + body + self._c_close if body else b"/>"
        head = self._c_r + _letters(col)
        if len(self._parts_cache) < _CACHED:
            self._parts_cache[key] = (w, head, tail)
        return head, tail

    def _changed(self, target: Target, old: CellValue) -> None:
        self.outcome.changes.append((target, old))
        nc = target.header_for
        if nc is not None:
            self.outcome.headers_written.append(nc)
            if nc.number_format is not None:
                # Later rows of this pass already take the column's new format.
                style = self.styles.with_format(self.col_style.get(nc.column), nc.number_format)
                self.col_style[nc.column] = style
                self.col_format_style[nc.column] = style
