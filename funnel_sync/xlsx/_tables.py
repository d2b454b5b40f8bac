"""Widening an Excel Table (xl/tables/tableN.xml) when an engine column is added at its edge."""

from __future__ import annotations

import re

from ..plan import NewColumn
from ._xml import attrs, clean_text, escape_attr, format_range, parse_range, unescape

_ROOT = re.compile(rb"<([\w.-]+:)?table\b([^>]*)>")


def extend_table(xml: bytes, nc: NewColumn) -> tuple[bytes, str] | None:
    """The table widened by `nc` and its name, or None when `nc` is not at its right edge."""
    root = _ROOT.search(xml)
    if root is None:
        return None
    p = root.group(1) or b""
    pe = re.escape(p)
    a = attrs(root.group(2))
    if a.get(b"headerRowCount", b"1") == b"0" or b"ref" not in a:
        return None
    try:
        r1, c1, r2, c2 = parse_range(a[b"ref"].decode())
    except ValueError:
        return None
    if r1 != nc.header_row or c2 + 1 != nc.column:
        return None
    name = clean_text(nc.header).replace("\r", "").strip() or f"Column{nc.column}"
    cols = re.search(
        rb"<" + pe + rb"tableColumns\b([^>]*)>(.*?)</" + pe + rb"tableColumns>", xml, re.S
    )
    if cols is None:
        return None
    existing = [
        attrs(m.group(1))
        for m in re.finditer(rb"<" + pe + rb"tableColumn\b([^>]*?)/?>", cols.group(2))
    ]
    names = {unescape(c.get(b"name", b"")).casefold() for c in existing}
    if name.casefold() in names:
        return None
    new_id = max([0, *(int(c.get(b"id", b"0")) for c in existing)]) + 1
    new_ref = format_range(r1, c1, r2, c2 + 1).encode()
    col_xml = (
        b"<"
        + p
        + b'tableColumn id="'
        + str(new_id).encode()
        + b'" name="'
        + escape_attr(name)
        + b'"/>'
    )
    cols_attrs = re.sub(
        rb'count\s*=\s*["\'][0-9]+["\']',
        b'count="' + str(len(existing) + 1).encode() + b'"',
        cols.group(1),
    )
    out = (
        xml[: cols.start()]
        + b"<" + p + b"tableColumns" + cols_attrs + b">" + cols.group(2) + col_xml
        + b"</" + p + b"tableColumns>" + xml[cols.end() :]
    )  # fmt: skip
    head_end = root.end()
    head = re.sub(rb'(\sref\s*=\s*["\'])[^"\']*', rb"\g<1>" + new_ref, out[:head_end], count=1)
    body = out[head_end:]
    af = re.search(rb"(<" + pe + rb'autoFilter\b[^>]*?\sref\s*=\s*["\'])([^"\']*)', body)
    if af is not None:
        try:
            f1, fc1, f2, fc2 = parse_range(af.group(2).decode())
            af_ref = format_range(f1, fc1, f2, fc2 + 1).encode()
        except ValueError:
            af_ref = new_ref
        body = body[: af.start(2)] + af_ref + body[af.end(2) :]
    return head + body, unescape(a.get(b"displayName", a.get(b"name", b"")))
