"""Byte-level XML helpers: escaping, attributes, cell references, Excel date serials."""

from __future__ import annotations

import datetime as dt
import math
import re

MAIN_NS = (
    b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    b"http://purl.oclc.org/ooxml/spreadsheetml/main",
)
REL_NS_TRANSITIONAL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_NS_STRICT = "http://purl.oclc.org/ooxml/officeDocument/relationships"

# XML 1.0 forbids these code points even as character references.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Excel reads "_xHHHH_" in text as an escaped character, so a literal one must be escaped itself.
_EXCEL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_EXCEL_UNESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
ATTR_RE = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_REF_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]+)$")

MAX_TEXT = 32767  # Excel's limit on characters in one cell


def clean_text(text: str) -> str:
    """The text as it can be stored: characters XML 1.0 cannot carry are dropped."""
    if text.isprintable():  # (none of those characters is printable)
        return text
    return _ILLEGAL_XML.sub("", text)


def escape_text(text: str) -> bytes:
    """Element text for a cleaned string: XML-escaped, CR kept as a reference, Excel-escaped."""
    if "_x" in text:
        text = _EXCEL_ESCAPE.sub(r"_x005F_\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A literal CR would be normalised to LF by every XML parser.
    text = text.replace("\r", "&#13;")
    return text.encode("utf-8")


def escape_attr(text: str) -> bytes:
    """An attribute value (without quotes) for a cleaned string."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace('"', "&quot;").replace("\r", "&#13;").replace("\n", "&#10;")
    return text.replace("\t", "&#9;").encode("utf-8")


def _entity(m: re.Match[str]) -> str:
    name = m.group(1)
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return _ENTITIES[name]


def unescape(raw: bytes) -> str:
    """Decode XML text or an attribute value (predefined entities and character references)."""
    text = raw.decode("utf-8")
    return _ENTITY.sub(_entity, text) if "&" in text else text


def excel_unescape(text: str) -> str:
    """Undo Excel's _xHHHH_ escaping in cell text."""
    if "_x" not in text:
        return text
    return _EXCEL_UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def attrs(raw: bytes) -> dict[bytes, bytes]:
    """Attributes of a start tag's inside, raw (still escaped) values."""
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in ATTR_RE.finditer(raw)
    }


def col_letters(col: int) -> str:
    """1 -> A, 27 -> AA."""
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_number(letters: str) -> int:
    """A -> 1, AA -> 27."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def split_ref(ref: str) -> tuple[int, int]:
    """'B3' -> (row 3, column 2)."""
    m = _REF_RE.match(ref)
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(m.group(2)), col_number(m.group(1))


def cell_ref(row: int, col: int) -> str:
    return f"{col_letters(col)}{row}"


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """'A1:C4' -> (min_row, min_col, max_row, max_col); a single cell is a 1x1 range."""
    first, _, last = ref.partition(":")
    r1, c1 = split_ref(first)
    r2, c2 = split_ref(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def format_range(min_row: int, min_col: int, max_row: int, max_col: int) -> str:
    a, b = cell_ref(min_row, min_col), cell_ref(max_row, max_col)
    return a if a == b else f"{a}:{b}"


_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def to_serial(value: dt.date, date1904: bool) -> float:
    """Excel serial number of a date/datetime (naive) in the workbook's date system."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueError("timezone-aware datetimes cannot be stored in Excel")
        moment = value
    else:
        moment = dt.datetime(value.year, value.month, value.day)
    delta = moment - (_EPOCH_1904 if date1904 else _EPOCH_1900)
    serial = delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    if not date1904 and serial < 61:
        # Excel counts the fictitious 1900-02-29 as serial 60.
        serial -= 1
    if serial < 0 or (not date1904 and serial < 1):
        raise ValueError("date before the workbook's first date")
    return serial


def from_serial(serial: float, date1904: bool) -> dt.date | dt.datetime:
    """Inverse of to_serial; whole numbers give a date, fractions a datetime (to the ms)."""
    if not date1904 and serial < 61:
        serial += 1
    base = _EPOCH_1904 if date1904 else _EPOCH_1900
    days = math.floor(serial)
    ms = round((serial - days) * 86_400_000)
    moment = base + dt.timedelta(days=days, milliseconds=ms)
    if moment.time() == dt.time(0):
        return moment.date()
    return moment


def format_number(value: int | float) -> bytes:
    """Text of a <v> for a number: ints exact, floats shortest round-trip."""
    if isinstance(value, int):
        return str(value).encode()
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value)).encode()
    return repr(value).encode()
