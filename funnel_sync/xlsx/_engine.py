"""Engine-owned sheets (logs, call lists): built whole, or their rows replaced in place."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from ..plan import DATE_FORMAT, DATETIME_FORMAT, CellValue, SheetContent
from ._numfmt import is_date_format
from ._styles import StyleBook
from ._values import Held, held, held_value, same, value_xml, want
from ._xml import (
    MAX_TEXT,
    attrs,
    clean_text,
    col_letters,
    col_number,
    escape_attr,
    escape_text,
    format_range,
    split_ref,
    unescape,
)

_CELL_RE = re.compile(rb"<(?:[\w.-]+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:[\w.-]+:)?c>)", re.S)
_ROW_RE = re.compile(rb"<(?:[\w.-]+:)?row\b([^>]*?)(?:/>|>(.*?)</(?:[\w.-]+:)?row>)", re.S)
_DV_RE = re.compile(
    rb"<(?:[\w.-]+:)?dataValidation\b([^>]*?)(?:/>|>(.*?)</(?:[\w.-]+:)?dataValidation>)", re.S
)
_CACHE_CELLS = 1 << 15
_PLAIN_ROW = re.compile(rb' r="([0-9]+)"')
_PLAIN_CELL = re.compile(rb' r="([A-Za-z]{1,3})[0-9]+"(?: s="([0-9]+)")?(?: t="([^"]*)")?')
_F1_RE = re.compile(rb"<(?:[\w.-]+:)?formula1>(.*?)</(?:[\w.-]+:)?formula1>", re.S)
# Elements that come before <dataValidations> in a worksheet (CT_Worksheet order).
_BEFORE_DV = (
    b"sheetData", b"sheetCalcPr", b"sheetProtection", b"protectedRanges", b"scenarios",
    b"autoFilter", b"sortState", b"dataConsolidate", b"customSheetViews", b"mergeCells",
    b"phoneticPr", b"conditionalFormatting",
)  # fmt: skip


def _grid(content: SheetContent) -> dict[tuple[int, int], CellValue]:
    grid: dict[tuple[int, int], CellValue] = {}
    for c, text in enumerate(content.header, start=1):
        grid[(1, c)] = text
    for r, row in enumerate(content.rows, start=2):
        for c, value in enumerate(row, start=1):
            if value is not None and value != "":
                grid[(r, c)] = value
    return grid


def _existing_grid(xml: bytes, sst: Callable[[], list[str]]) -> dict[tuple[int, int], Held]:
    out: dict[tuple[int, int], Held] = {}
    last_row = 0
    columns: dict[bytes, int] = {}
    for rm in _ROW_RE.finditer(xml):
        plain_row = _PLAIN_ROW.fullmatch(rm.group(1))
        if plain_row is not None:  # attrs() would give just r
            rnum = int(plain_row.group(1))
        else:
            ra = attrs(rm.group(1))
            rnum = int(ra[b"r"]) if b"r" in ra else last_row + 1
        last_row = rnum
        col = 0
        for cm in _CELL_RE.finditer(rm.group(2) or b""):
            plain = _PLAIN_CELL.fullmatch(cm.group(1))
            if plain is None:
                ca = attrs(cm.group(1))
                col = split_ref(ca[b"r"].decode())[1] if b"r" in ca else col + 1
                h = held(cm.group(1), cm.group(2), sst)
            else:  # r (a plain reference), s, t: read as attrs() and split_ref() would
                letters, s, t = plain.group(1, 2, 3)
                known = columns.get(letters)
                if known is None:
                    known = columns[letters] = col_number(letters.decode())
                col = known
                style = int(s) if s is not None else None
                h = held_value(style, t if t is not None else b"n", cm.group(2), sst)
            if h.kind is not None and not (h.kind == "s" and h.text == ""):
                out[(rnum, col)] = h
    return out


def _validations(xml: bytes) -> set[tuple[str, str]]:
    out = set()
    for m in _DV_RE.finditer(xml):
        f1 = _F1_RE.search(m.group(2) or b"")
        out.add(
            (unescape(attrs(m.group(1)).get(b"sqref", b"")), unescape(f1.group(1)) if f1 else "")
        )
    return out


def same_content(
    xml: bytes,
    content: SheetContent,
    sst: Callable[[], list[str]],
    styles: StyleBook,
    date1904: bool,
) -> bool:
    """Whether the existing sheet already shows exactly this content (values and dropdowns)."""
    m = re.search(rb"<([\w.-]+:)?sheetData\b[^>]*?(/?)>", xml)
    if m is None:
        return False
    end = xml.find(b"</" + (m.group(1) or b"") + b"sheetData>", m.end())
    body = b"" if m.group(2) or end < 0 else xml[m.end() : end]
    have = _existing_grid(body, sst)
    size = len(content.header) + sum(len(r) - r.count(None) - r.count("") for r in content.rows)
    if len(have) != size:  # len(_grid(content)), without building it
        return False
    wanted = _grid(content)
    if set(have) != set(wanted):
        return False
    for key, value in wanted.items():
        w = want(value, date1904)
        if isinstance(w, str) or not same(have[key], w, styles):
            return False
    if content.validations:
        desired = {(v.sqref, v.formula) for v in content.validations}
        if _validations(xml) != desired:
            return False
    return True


def _styles_for(content: SheetContent, styles: StyleBook) -> Callable[[int, CellValue], int | None]:
    cache: dict[tuple[int, str], int] = {}

    def style(col: int, value: CellValue) -> int | None:
        fmt = content.number_formats[col - 1] if col - 1 < len(content.number_formats) else None
        if isinstance(value, dt.date) and (fmt is None or not is_date_format(fmt)):
            fmt = DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
        if fmt is None:
            return None
        key = (col, fmt)
        if key not in cache:
            cache[key] = styles.with_format(None, fmt)
        return cache[key]

    return style


# Value types whose equal values always give the same cell XML (so it is built once per value).
_SHARED_XML = frozenset([str, int, float, bool, dt.date, dt.datetime, type(None)])


def sheet_data(
    content: SheetContent, styles: StyleBook, date1904: bool, p: bytes = b""
) -> tuple[bytes, str]:
    """(<sheetData> element, dimension ref) for the content."""
    style = _styles_for(content, styles)
    bold = styles.bold(None)
    max_col = max([len(content.header), *(len(r) for r in content.rows)], default=1) or 1
    c_open = b"<" + p + b'c r="'
    c_close = b"</" + p + b"c>"
    letters = [b""] + [col_letters(c).encode() for c in range(1, max_col + 1)]

    def tail(r: int, c: int, value: CellValue) -> bytes | None:
        """The cell's XML after its reference, or None for no cell."""
        w = want(value, date1904)
        if isinstance(w, str):
            w = want(str(value), date1904)
        if isinstance(w, str) or w.kind is None or (w.kind == "s" and w.text == ""):
            return None
        s = bold if r == 1 else style(c, value)
        t, body = value_xml(w, p)
        cell = b'"'
        if s is not None:
            cell += b' s="' + str(s).encode() + b'"'
        if t is not None:
            cell += b' t="' + t + b'"'
        return cell + b">" + body + c_close

    text_open = b' t="inlineStr"><' + p + b"is><" + p + b't xml:space="preserve">'
    text_close = b"</" + p + b"t></" + p + b"is>" + c_close
    text_styles: dict[int, bytes] = {}  # column -> its str cells' XML up to t=

    def text_tail(c: int, value: str) -> bytes | None:
        """tail() of a later row's str value, without building a Wanted."""
        text = clean_text(value)
        if not text or len(text) > MAX_TEXT:
            return None
        head = text_styles.get(c)
        if head is None:  # style() for str values depends on the column only
            s = style(c, value)
            head = text_styles[c] = (b'" s="%d"' % s if s is not None else b'"') + text_open
        return head + escape_text(text) + text_close

    # Cells of later rows are cached per column and value: style() then still runs first for
    # the same cell as without the cache, so new formats are added in the same order.
    cache: dict[tuple[int, type, CellValue], bytes] = {}  # b"": no cell
    refs = [c_open + x for x in letters]
    row_open = b"<" + p + b'row r="'
    row_close = b"</" + p + b"row>"
    out: list[bytes] = [b"<" + p + b"sheetData>"]
    for r, values in enumerate([content.header, *content.rows], start=1):
        rb = b"%d" % r
        out += (row_open, rb, b'">')
        for c, value in enumerate(values, start=1):
            kind = type(value)
            if r == 1 or kind not in _SHARED_XML:
                cell = tail(r, c, value)
            else:
                key = (c, kind, value)
                hit = cache.get(key)
                if hit is not None:
                    cell = hit or None
                else:
                    cell = text_tail(c, value) if isinstance(value, str) else tail(r, c, value)
                    if len(cache) < _CACHE_CELLS:
                        cache[key] = cell or b""
            if cell is not None:
                out += (refs[c], rb, cell)
        out.append(row_close)
    out.append(b"</" + p + b"sheetData>")
    data = b"".join(out)
    return data, format_range(1, 1, max(1, len(content.rows) + 1), max_col)


def validations_xml(content: SheetContent, p: bytes = b"") -> bytes:
    if not content.validations:
        return b""
    items = b"".join(
        b"<"
        + p
        + b'dataValidation type="list"'
        + (b' errorStyle="warning"' if v.error_style == "warning" else b"")
        + (b' allowBlank="1"' if v.allow_blank else b"")
        + b' showInputMessage="1" showErrorMessage="1" sqref="'
        + escape_attr(v.sqref)
        + b'"><'
        + p
        + b"formula1>"
        + escape_text(v.formula)
        + b"</"
        + p
        + b"formula1></"
        + p
        + b"dataValidation>"
        for v in content.validations
    )
    n = str(len(content.validations)).encode()
    return (
        b"<" + p + b'dataValidations count="' + n + b'">' + items + b"</" + p + b"dataValidations>"
    )


def new_sheet(
    content: SheetContent, styles: StyleBook, date1904: bool, main_ns: str, rel_ns: str
) -> bytes:
    data, dim = sheet_data(content, styles, date1904)
    view = b'<sheetView workbookViewId="0"'
    if content.freeze_header:
        view += (
            b'><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            b'<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView>'
        )
    else:
        view += b"/>"
    cols = []
    n = max(len(content.widths), len(content.number_formats))
    fmt_style = _styles_for(content, styles)
    for c in range(1, n + 1):
        width = content.widths[c - 1] if c - 1 < len(content.widths) else None
        fmt = content.number_formats[c - 1] if c - 1 < len(content.number_formats) else None
        if width is None and fmt is None:
            continue
        col = b'<col min="%d" max="%d"' % (c, c)
        col += b' width="' + repr(float(width if width is not None else 9.140625)).encode() + b'"'
        if width is not None:
            col += b' customWidth="1"'
        style = fmt_style(c, 0) if fmt is not None else None
        if style is not None:
            col += b' style="%d"' % style
        cols.append(col + b"/>")
    return b"".join(
        [
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
            b'<worksheet xmlns="' + main_ns.encode() + b'" xmlns:r="' + rel_ns.encode() + b'">',
            b'<dimension ref="' + dim.encode() + b'"/>',
            b"<sheetViews>" + view + b"</sheetViews>",
            b'<sheetFormatPr defaultRowHeight="15"/>',
            b"<cols>" + b"".join(cols) + b"</cols>" if cols else b"",
            data,
            validations_xml(content),
            b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75"'
            b' header="0.3" footer="0.3"/>',
            b"</worksheet>",
        ]
    )


def replace_sheet(xml: bytes, content: SheetContent, styles: StyleBook, date1904: bool) -> bytes:
    """The sheet with its rows (and, if given, its dropdowns) replaced; all else kept."""
    m = re.search(rb"<([\w.-]+:)?sheetData\b[^>]*?(/?)>", xml)
    if m is None:
        raise ValueError("worksheet has no <sheetData>")
    p = m.group(1) or b""
    if m.group(2):
        end = m.end()
    else:
        close = b"</" + p + b"sheetData>"
        end = xml.index(close, m.end()) + len(close)
    data, dim = sheet_data(content, styles, date1904, p)
    head = xml[: m.start()]
    tail = xml[end:]
    dm = re.search(rb"(<" + re.escape(p) + rb"dimension\b[^>]*?\bref\s*=\s*[\"'])([^\"']*)", head)
    if dm is not None:
        head = head[: dm.start(2)] + dim.encode() + head[dm.end(2) :]
    if content.validations:
        tail = re.sub(
            rb"<"
            + re.escape(p)
            + rb"dataValidations\b[^>]*?(?:/>|>.*?</"
            + re.escape(p)
            + rb"dataValidations>)",
            b"",
            tail,
            count=1,
            flags=re.S,
        )
        at = 0
        for name in _BEFORE_DV[1:]:
            close_at = tail.rfind(b"</" + p + name + b">")
            if close_at >= 0:
                at = max(at, close_at + len(b"</" + p + name + b">"))
            for em in re.finditer(rb"<" + re.escape(p + name) + rb"\b[^>]*/>", tail):
                at = max(at, em.end())
        tail = tail[:at] + validations_xml(content, p) + tail[at:]
    return head + data + tail
