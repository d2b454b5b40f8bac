"""Reads and minimally extends xl/styles.xml as bytes (new numFmts, fonts, cellXfs appended)."""

from __future__ import annotations

import re

from ._numfmt import builtin_formats, is_date_format
from ._xml import attrs, escape_attr, unescape

# Built-in ids that are dates: the standard ones plus the East Asian locale date formats.
_DATE_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])

MINIMAL_STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    b'<fills count="2"><fill><patternFill patternType="none"/></fill>'
    b'<fill><patternFill patternType="gray125"/></fill></fills>'
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    b'<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    b'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    b"</styleSheet>"
)

_ROOT = re.compile(rb"<([\w.-]+:)?styleSheet\b[^>]*>")


def _section(prefix: bytes, name: bytes) -> re.Pattern[bytes]:
    p = re.escape(prefix)
    return re.compile(rb"<" + p + name + rb"\b([^>]*?)(?:/>|>(.*?)</" + p + name + rb">)", re.S)


def _element(prefix: bytes, name: bytes) -> re.Pattern[bytes]:
    p = re.escape(prefix)
    return re.compile(rb"<" + p + name + rb"\b[^>]*?(?:/>|>.*?</" + p + name + rb">)", re.S)


def _split_element(raw: bytes) -> tuple[bytes, bytes, bytes]:
    """'<xf a="1">kids</xf>' -> (tag name, attribute text, kids); kids is b'' when self-closing."""
    end = raw.index(b">")
    head = raw[1:end]
    if head.endswith(b"/"):
        head, kids = head[:-1], b""
    else:
        kids = raw[end + 1 : raw.rindex(b"</")]
    name, _, attr_text = head.partition(b" ")
    return name, attr_text, kids


def _with_attrs(raw: bytes, updates: dict[bytes, bytes]) -> bytes:
    """The element with attributes replaced/added, others kept in their order."""
    name, attr_text, kids = _split_element(raw)
    current = attrs(attr_text)
    for key, value in updates.items():
        current[key] = value
    text = b" ".join([name] + [k + b'="' + v + b'"' for k, v in current.items()])
    if kids:
        return b"<" + text + b">" + kids + b"</" + name + b">"
    return b"<" + text + b"/>"


def _normal(raw: bytes) -> tuple[frozenset[tuple[bytes, bytes]], bytes]:
    _, attr_text, kids = _split_element(raw)
    return frozenset(attrs(attr_text).items()), kids


class StyleBook:
    """The workbook's cell formats, plus those this run adds (deduplicated)."""

    def __init__(self, data: bytes | None) -> None:
        self.created = data is None
        self._data = MINIMAL_STYLES if data is None else data
        root = _ROOT.search(self._data)
        if root is None:
            raise ValueError("styles part has no styleSheet root")
        self._root_end = root.end()
        self.prefix = root.group(1) or b""
        self.numfmts: dict[int, str] = {}
        for m in re.finditer(rb"<" + re.escape(self.prefix) + rb"numFmt\b([^>]*)>", self._data):
            a = attrs(m.group(1))
            if b"numFmtId" in a and b"formatCode" in a:
                self.numfmts[int(a[b"numFmtId"])] = unescape(a[b"formatCode"])
        self._xf_re = _element(self.prefix, b"xf")
        xfs = _section(self.prefix, b"cellXfs").search(self._data)
        self.xfs: list[bytes] = self._xf_re.findall(xfs.group(2) or b"") if xfs else []
        fonts = _section(self.prefix, b"fonts").search(self._data)
        self.fonts: list[bytes] = (
            _element(self.prefix, b"font").findall(fonts.group(2) or b"") if fonts else []
        )
        self._new_numfmts: list[tuple[int, str]] = []
        self._new_fonts: list[bytes] = []
        self._new_xfs: list[bytes] = []
        self._xf_index: dict[tuple[frozenset[tuple[bytes, bytes]], bytes], int] | None = None
        self._date_cache: dict[int, bool] = {}

    @property
    def changed(self) -> bool:
        return bool(self._new_xfs or self._new_fonts or self._new_numfmts)

    def _xf(self, s: int | None) -> bytes:
        all_xfs = self.xfs + self._new_xfs
        if s is not None and 0 <= s < len(all_xfs):
            return all_xfs[s]
        if all_xfs:
            return all_xfs[0]
        return b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'

    def format_code(self, s: int | None) -> str:
        a = attrs(_split_element(self._xf(s))[1])
        fid = int(a.get(b"numFmtId", b"0"))
        return self.numfmts.get(fid) or builtin_formats().get(fid, "General")

    def is_date(self, s: int | None) -> bool:
        key = -1 if s is None else s
        hit = self._date_cache.get(key)
        if hit is None:
            a = attrs(_split_element(self._xf(s))[1])
            fid = int(a.get(b"numFmtId", b"0"))
            if fid in self.numfmts:
                hit = bool(is_date_format(self.numfmts[fid]))
            else:
                hit = fid in _DATE_IDS
            self._date_cache[key] = hit
        return hit

    def _numfmt_id(self, code: str) -> int:
        for fid, existing in self.numfmts.items():
            if existing == code:
                return fid
        for fid, existing in builtin_formats().items():
            if existing == code and fid < 50:
                return fid
        fid = max([163, *self.numfmts]) + 1
        self.numfmts[fid] = code
        self._new_numfmts.append((fid, code))
        return fid

    def _add_xf(self, raw: bytes) -> int:
        if self._xf_index is None:
            self._xf_index = {}
            for i, xf in enumerate(self.xfs):
                self._xf_index.setdefault(_normal(xf), i)
        key = _normal(raw)
        found = self._xf_index.get(key)
        if found is not None:
            return found
        index = len(self.xfs) + len(self._new_xfs)
        self._new_xfs.append(raw)
        self._xf_index[key] = index
        return index

    def with_format(self, s: int | None, code: str) -> int:
        """A style like `s` (or the default) showing numbers with `code`."""
        if s is not None and self.format_code(s) == code:
            return s
        fid = self._numfmt_id(code)
        raw = _with_attrs(self._xf(s), {b"numFmtId": str(fid).encode(), b"applyNumberFormat": b"1"})
        return self._add_xf(raw)

    def date_style(self, s: int | None, code: str) -> int:
        """`s` if it already shows dates, else a clone of it with the date format `code`."""
        if s is not None and self.is_date(s):
            return s
        return self.with_format(s, code)

    def bold(self, s: int | None) -> int:
        """A style like `s` (or the default) in a bold font."""
        a = attrs(_split_element(self._xf(s))[1])
        all_fonts = self.fonts + self._new_fonts
        fid = int(a.get(b"fontId", b"0"))
        font = all_fonts[fid] if 0 <= fid < len(all_fonts) else b"<font/>"
        name, attr_text, kids = _split_element(font)
        if re.search(rb"<(?:[\w.-]+:)?b(?:\s[^>]*)?/?>", kids) and b'val="0"' not in kids:
            return s if s is not None else 0
        bold_tag = b"<" + self.prefix + b"b/>"
        head = b"<" + name + (b" " + attr_text if attr_text else b"") + b">"
        new_font = head + bold_tag + kids + b"</" + name + b">"
        font_id = None
        for i, existing in enumerate(all_fonts):
            if existing == new_font:
                font_id = i
                break
        if font_id is None:
            font_id = len(all_fonts)
            self._new_fonts.append(new_font)
        raw = _with_attrs(self._xf(s), {b"fontId": str(font_id).encode(), b"applyFont": b"1"})
        return self._add_xf(raw)

    def render(self) -> bytes:
        """The styles part with this run's additions (the original bytes if none)."""
        data = self._data
        p = self.prefix
        if self._new_numfmts:
            items = b"".join(
                b"<"
                + p
                + b'numFmt numFmtId="'
                + str(fid).encode()
                + b'" formatCode="'
                + escape_attr(code)
                + b'"/>'
                for fid, code in self._new_numfmts
            )
            data = _append(
                data, p, b"numFmts", b"numFmt", items, len(self._new_numfmts), self._root_end
            )
        if self._new_fonts:
            data = _append(
                data, p, b"fonts", b"font", b"".join(self._new_fonts), len(self._new_fonts), None
            )
        if self._new_xfs:
            data = _append(
                data, p, b"cellXfs", b"xf", b"".join(self._new_xfs), len(self._new_xfs), None
            )
        return data


def _append(
    data: bytes, p: bytes, name: bytes, child: bytes, items: bytes, n: int, create_at: int | None
) -> bytes:
    m = _section(p, name).search(data)
    if m is None:
        if create_at is None:
            raise ValueError(f"styles part has no {name.decode()}")
        new = (
            b"<"
            + p
            + name
            + b' count="'
            + str(n).encode()
            + b'">'
            + items
            + b"</"
            + p
            + name
            + b">"
        )
        return data[:create_at] + new + data[create_at:]
    attr_text = m.group(1)
    a = attrs(attr_text)
    if b"count" in a:
        existing = len(_element(p, child).findall(m.group(2) or b""))
        attr_text = re.sub(
            rb'count\s*=\s*["\'][0-9]+["\']',
            b'count="' + str(existing + n).encode() + b'"',
            attr_text,
            count=1,
        )
    new = b"<" + p + name + attr_text + b">" + (m.group(2) or b"") + items + b"</" + p + name + b">"
    return data[: m.start()] + new + data[m.end() :]
