"""Cell values: what a write asks for, what a cell holds, and their XML form."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..plan import DATE_FORMAT, DATETIME_FORMAT, CellValue
from ._package import rich_text
from ._styles import StyleBook
from ._xml import (
    MAX_TEXT,
    attrs,
    clean_text,
    escape_text,
    format_number,
    from_serial,
    to_serial,
    unescape,
)

_V_RE = re.compile(rb"<(?:[\w.-]+:)?v(?:\s[^>]*)?(?:/>|>(.*?)</(?:[\w.-]+:)?v>)", re.S)
F_RE = re.compile(rb"<(?:[\w.-]+:)?f\b")


@dataclass(frozen=True, slots=True)
class Wanted:
    """A requested value in the form it is stored: kind s/n/b/d or None (clear)."""

    kind: str | None
    text: str = ""
    number: float = 0.0
    number_text: bytes = b""
    date_format: str = DATE_FORMAT


def want(value: CellValue, date1904: bool) -> Wanted | str:
    """The storable form of `value`, or the reason it cannot be stored."""
    if value is None:
        return Wanted(None)
    if isinstance(value, bool):
        return Wanted("b", number=float(value), number_text=b"1" if value else b"0")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "a non-finite number cannot be stored in Excel"
        return Wanted("n", number=float(value), number_text=format_number(value))
    if isinstance(value, dt.date):
        try:
            serial = to_serial(value, date1904)
        except ValueError as err:
            return str(err)
        fmt = DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
        return Wanted("d", number=serial, number_text=format_number(serial), date_format=fmt)
    if not isinstance(value, str):
        return f"unsupported value type {type(value).__name__}"  # type: ignore[unreachable]
    text = clean_text(value)
    if len(text) > MAX_TEXT:
        return f"text longer than {MAX_TEXT} characters"
    return Wanted("s", text=text)


@dataclass(frozen=True, slots=True)
class Held:
    """What a cell currently holds."""

    kind: str | None  # s n b e str d, or None for no value
    text: str = ""
    number: float = 0.0
    style: int | None = None
    formula: bool = False
    shared_ref: bool = False  # t="s": removing it lowers the shared-strings count


def held(attr_raw: bytes, inner: bytes | None, sst: Callable[[], list[str]]) -> Held:
    a = attrs(attr_raw)
    style = int(a[b"s"]) if b"s" in a else None
    return held_value(style, a.get(b"t", b"n"), inner, sst)


def held_value(
    style: int | None, t: bytes, inner: bytes | None, sst: Callable[[], list[str]]
) -> Held:
    """`held` for a cell whose s and t attributes are already known (t defaults to b"n")."""
    if not inner:
        return Held(None, style=style)
    formula = bool(F_RE.search(inner))
    if t == b"inlineStr":
        return Held("s", text=rich_text(inner), style=style, formula=formula)
    m = _V_RE.search(inner)
    raw = m.group(1) if m else None
    if raw is None:
        return Held(None, style=style, formula=formula)
    if t == b"s":
        try:
            text = sst()[int(raw)]
        except (ValueError, IndexError):
            text = ""
        return Held("s", text=text, style=style, formula=formula, shared_ref=True)
    if t in (b"str", b"e", b"d"):
        return Held(t.decode(), text=unescape(raw), style=style, formula=formula)
    if t == b"b":
        return Held(
            "b", number=1.0 if raw.strip() in (b"1", b"true") else 0.0, style=style, formula=formula
        )
    try:
        number = float(raw)
    except ValueError:
        return Held("str", text=unescape(raw), style=style, formula=formula)
    return Held("n", number=number, style=style, formula=formula)


def same(h: Held, w: Wanted, styles: StyleBook) -> bool:
    """Whether writing `w` would leave the cell's value as it is."""
    if w.kind is None:
        return h.kind is None
    if w.kind == "s":
        return h.kind == "s" and h.text == w.text
    if w.kind == "n":
        return h.kind == "n" and h.number == w.number
    if w.kind == "b":
        return h.kind == "b" and h.number == w.number
    # A date equals a number cell showing a date with the same serial (to about a millisecond).
    return h.kind == "n" and abs(h.number - w.number) < 1e-8 and styles.is_date(h.style)


def typed(h: Held, styles: StyleBook, date1904: bool) -> CellValue:
    """The held value as the engine sees it."""
    if h.kind is None:
        return None
    if h.kind == "n":
        if styles.is_date(h.style):
            try:
                return from_serial(h.number, date1904)
            except (OverflowError, ValueError):
                pass
        return int(h.number) if h.number.is_integer() and abs(h.number) < 1e15 else h.number
    if h.kind == "b":
        return bool(h.number)
    return h.text


def value_xml(w: Wanted, p: bytes) -> tuple[bytes | None, bytes]:
    """(t attribute or None, inner XML) for a wanted value; p is the element prefix."""
    if w.kind == "s":
        body = escape_text(w.text)
        return b"inlineStr", (
            b"<"
            + p
            + b"is><"
            + p
            + b't xml:space="preserve">'
            + body
            + b"</"
            + p
            + b"t></"
            + p
            + b"is>"
        )
    if w.kind == "b":
        return b"b", b"<" + p + b"v>" + w.number_text + b"</" + p + b"v>"
    if w.kind in ("n", "d"):
        return None, b"<" + p + b"v>" + w.number_text + b"</" + p + b"v>"
    return None, b""
