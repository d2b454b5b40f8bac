"""Streams one worksheet part, replacing or inserting the planned cells and nothing else."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..plan import CellValue, CellWrite, NewColumn
from ._styles import StyleBook
from ._values import Held, Wanted, held, same, typed, value_xml
from ._xml import ATTR_RE, MAIN_NS, attrs, col_letters, col_number, format_range, parse_range

CHUNK = 1 << 22
_MAX_HEAD = 64 << 20
_ROOT_RE = re.compile(rb"<([\w.-]+:)?worksheet\b([^>]*)>")
_ENCODING_RE = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']")
_ROW_R = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([0-9]+)[\"']")
_CELL_R = re.compile(rb"(?:^|\s)r\s*=\s*[\"']\$?([A-Za-z]{1,3})\$?[0-9]+[\"']")
_SPANS = re.compile(rb"(\sspans\s*=\s*[\"'])([0-9: ]+)([\"'])")


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
        self._track_re = re.compile(
            rb"<"
            + re.escape(self.p)
            + rb"c\b([^>]*?(?:^|\s)r\s*=\s*[\"']("
            + b"|".join(col_letters(c).encode() for c in tracked or [1])
            + rb")[0-9]+[\"'][^>]*?)/?>"
        )
        self._row_open = b"<" + self.p + b"row"
        self._row_close = b"</" + self.p + b"row>"
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
        out: list[bytes] = []
        if b'"array"' in seg or b'"dataTable"' in seg or b"'array'" in seg:
            self._scan_arrays(seg)
        pending = self.pending
        ro, rc = self._row_open, self._row_close
        lro = len(ro)
        copy_from = 0
        pos = 0
        while True:
            if self.pi >= len(pending):
                break
            i = seg.find(ro, pos)
            if i < 0:
                break
            j = seg.find(b">", i)
            if j < 0:
                raise SheetFormatError("unterminated <row>")
            self_closing = seg[j - 1] == 47
            attr_raw = seg[i + lro : j - 1 if self_closing else j]
            if self_closing:
                content: bytes | None = None
                k = j + 1
            else:
                k0 = seg.find(rc, j)
                if k0 < 0:
                    raise SheetFormatError("unterminated <row>")
                content = seg[j + 1 : k0]
                k = k0 + len(rc)
            rm = _ROW_R.search(attr_raw)
            rnum = int(rm.group(1)) if rm else self.last_row + 1
            self.last_row = rnum
            if self.pi < len(pending) and pending[self.pi] <= rnum:
                out.append(seg[copy_from:i])
                while self.pi < len(pending) and pending[self.pi] < rnum:
                    out.append(self._new_row(pending[self.pi]))
                    self.pi += 1
                if self.pi < len(pending) and pending[self.pi] == rnum:
                    out.append(self._edit_row(rnum, attr_raw, content, seg[i:k]))
                    self.pi += 1
                else:
                    out.append(seg[i:k])
                    if self.tracking and content and rnum > self.plan.header_row:
                        self._track(content)
                copy_from = k
            elif self.tracking and content and rnum > self.plan.header_row:
                self._track(content)
            pos = k
        out.append(seg[copy_from:])
        return out

    def _rows_until(self, limit: int | None) -> list[bytes]:
        out = []
        while self.pi < len(self.pending) and (limit is None or self.pending[self.pi] < limit):
            out.append(self._new_row(self.pending[self.pi]))
            self.pi += 1
        return out

    def _track(self, content: bytes) -> None:
        for m in self._track_re.finditer(content):
            s = attrs(m.group(1)).get(b"s")
            self.last_style[col_number(m.group(2).decode())] = int(s) if s is not None else None

    def _new_row(self, rnum: int) -> bytes:
        cells = self._edit_cells(rnum, b"")
        if cells is None:
            return b""
        return self._row_open + b' r="' + str(rnum).encode() + b'">' + cells[0] + self._row_close

    def _edit_row(
        self, rnum: int, attr_raw: bytes, content: bytes | None, original: bytes
    ) -> bytes:
        result = self._edit_cells(rnum, content or b"")
        if result is None:
            return original
        new_content, lo, hi = result
        m = _SPANS.search(attr_raw)
        if m is not None and lo <= hi:
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
        return self._row_open + attr_raw + b">" + new_content + self._row_close

    def _edit_cells(self, rnum: int, content: bytes) -> tuple[bytes, int, int] | None:
        """The row's new cell XML and the column span of new cells; None if nothing changed."""
        targets = self.plan.targets[rnum]
        if content and not any(t.header_for is not None for t in targets.values()):
            handled, fast = self._fast_cells(rnum, content, targets)
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
                    self.last_style[c] = row_styles[c]
        if not changed:
            return None
        pieces.append(content[pos:])
        return b"".join(pieces), lo, hi

    def _fast_cells(
        self, rnum: int, content: bytes, targets: dict[int, Target]
    ) -> tuple[bool, tuple[bytes, int, int] | None]:
        """_edit_cells without parsing every cell, for rows whose cells all start with r="...".

        Targets are found by their reference; new ones must lie right of the last cell. Returns
        (False, None) before touching any state when the row does not fit, for the full parse.
        """
        opener = b"<" + self.p + b"c"
        with_r = content.count(opener + b' r="')
        if with_r != content.count(opener + b" ") + content.count(opener + b">") + content.count(
            opener + b"/"
        ):
            return False, None
        last_start = content.rfind(opener + b' r="')
        last = self._cell_re.match(content, last_start) if last_start >= 0 else None
        if last is None:
            return False, None
        rm = _CELL_R.search(last.group(1))
        if rm is None:
            return False, None
        last_col = col_number(rm.group(1).decode())
        suffix = str(rnum).encode() + b'"'
        found: list[tuple[int, re.Match[bytes] | None]] = []
        prev = -1
        for c in sorted(targets):
            i = content.find(opener + b' r="' + col_letters(c).encode() + suffix)
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
        for c, m in found:
            if m is not None:
                replaced = self._replace_cell(
                    rnum, c, targets[c], m.group(1), m.group(3), row_styles
                )
                if replaced is not None:
                    pieces.append(content[pos : m.start()])
                    pieces.append(replaced)
                    pos = m.end()
                    changed = True
            else:
                cell = self._new_cell(rnum, c, targets[c], row_styles)
                if cell:
                    pieces.append(content[pos : last.end()])
                    pieces.append(cell)
                    pos = last.end()
                    changed = True
                    lo, hi = min(lo, c), max(hi, c)
        if rnum > self.plan.header_row and self.tracking:
            if any(c not in targets for c in self._target_cols):
                self._track(content)
            for c, style in row_styles.items():
                self.last_style[c] = style
        if not changed:
            return True, None
        pieces.append(content[pos:])
        return True, (b"".join(pieces), lo, hi)

    def _style_for_new(
        self, col: int, target: Target, row_styles: dict[int, int | None]
    ) -> int | None:
        if target.header_for is not None:
            return row_styles.get(col - 1)
        if col in self.col_style:
            return self.col_style[col]
        return self.last_style.get(col)

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
        h: Held = held(attr_raw, inner, self.sst)
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
        keep = [
            (m.group(0))
            for m in ATTR_RE.finditer(attr_raw)
            if m.group(1) not in (b"r", b"s", b"t", b"vm")
        ]
        ext = b""
        if inner:
            e = inner.find(b"<" + self.p + b"extLst")
            if e >= 0:
                ext = inner[e:]
        if w.kind is None and style is None and not ext:
            return b""
        return self._cell_xml(rnum, col, keep, style, w, ext)

    def _cell_xml(
        self, rnum: int, col: int, keep: list[bytes], style: int | None, w: Wanted, ext: bytes = b""
    ) -> bytes:
        t, body = value_xml(w, self.p)
        parts = [b"<", self.p, b'c r="', col_letters(col).encode(), str(rnum).encode(), b'"']
        if style is not None:
            parts += [b' s="', str(style).encode(), b'"']
        for k in keep:
            parts += [b" ", k]
        if t is not None:
            parts += [b' t="', t, b'"']
        body += ext
        if body:
            parts += [b">", body, b"</", self.p, b"c>"]
        else:
            parts.append(b"/>")
        return b"".join(parts)

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
