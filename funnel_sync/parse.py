"""Tolerant parsers that turn whatever was typed into a cell into a value, None, or Invalid."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import numbers
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from funnel_sync.model import ActivityKind, MonthDay, Stage

__all__ = [
    "Invalid",
    "normalize_key",
    "parse_amount",
    "parse_bool",
    "parse_date",
    "parse_hours",
    "parse_kind",
    "parse_month_day",
    "parse_regions",
    "parse_stage",
    "parse_text",
]

# Strings repeat a lot across millions of cells (class codes, yes/no, names), so the str branch of
# every parser is memoised; the bound keeps a workbook full of unique notes from growing memory.
_CACHE_SIZE = 65536
_DISPLAY_MAX = 60

# Zero-width marks are not whitespace to Python, but they arrive the same way: pasted from web
# pages and chat apps, invisible to the person who typed the cell.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
# Every Unicode space sits below U+3001; passing them explicitly lets one strip() call do both.
_STRIP = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + _INVISIBLE
#: What counts as blank around a value: whitespace (full-width too) and zero-width marks.
BLANK_CHARS = _STRIP
_DROP_INVISIBLE = str.maketrans("", "", _INVISIBLE)


@dataclass(frozen=True, slots=True)
class Invalid:
    """A non-empty cell the parser could not read: a stable `code` and the cell text for display."""

    code: str
    text: str


def _display(value: object) -> str:
    text = value.strip(_STRIP) if isinstance(value, str) else (parse_text(value) or "")
    if len(text) > _DISPLAY_MAX:
        # The ellipsis tells the reader the text goes on; the total stays within the limit.
        return text[: _DISPLAY_MAX - 1] + "…"
    return text


def _invalid(code: str, value: object) -> Invalid:
    return Invalid(code, _display(value))


def _fold(text: str) -> str:
    """NFKC (full-width to half-width), casefold and strip: the form every str branch reads."""
    return unicodedata.normalize("NFKC", text).casefold().strip(_STRIP)


def _as_real(value: object) -> float | None:
    """A number from a type outside the fast paths (numpy, Fraction), or None if it is not one."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except (ArithmeticError, ValueError, TypeError):
        return math.nan


# --------------------------------------------------------------------------------------- text


def parse_text(value: object) -> str | None:
    """Cell text, stripped; numbers typed as numbers (phones, IDs) come back without `.0`."""
    if type(value) is str:
        return _text_from_str(value)
    if value is None:
        return None
    if type(value) is float:
        return _float_text(value)
    if type(value) is int:
        return _int_text(value)
    if type(value) is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, str):
        return _text_from_str(str(value))
    if isinstance(value, numbers.Integral):
        return _int_text(int(value))
    number = _as_real(value)
    if number is not None:
        return _float_text(number)
    try:
        return str(value).strip(_STRIP) or None
    except Exception:
        return type(value).__name__


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _text_from_str(text: str) -> str | None:
    # Stripping with an explicit character set is slower than a cache hit on repeated names.
    return text.strip(_STRIP) or None


def _float_text(value: float) -> str:
    if math.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:
        # Python refuses decimal conversion of enormous ints; hex has no such limit.
        return hex(value)


_KEY_GAPS = re.compile(r"[\s_\-\u2010-\u2015\u2212]+")


def normalize_key(text: str) -> str:
    """The form names and headers are matched in: NFKC, casefold, one space for any gap."""
    if text.isascii() and text.isalnum():  # IDs such as KH00001: all of that is lower()
        return text.lower()
    return _normalize_key(text)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _normalize_key(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_DROP_INVISIBLE)
    return _KEY_GAPS.sub(" ", folded).strip()


# -------------------------------------------------------------------------------------- dates

_EPOCH_1900 = dt.date(1899, 12, 30)
_EPOCH_1904 = dt.date(1904, 1, 1)
_MAX_SERIAL_1900 = (dt.date.max - _EPOCH_1900).days
_MAX_SERIAL_1904 = (dt.date.max - _EPOCH_1904).days
_ORDINAL_1900 = _EPOCH_1900.toordinal()
_ORDINAL_1904 = _EPOCH_1904.toordinal()
# Lotus 1-2-3 treated 1900 as a leap year and Excel kept the bug: serial 60 is 1900-02-29.
_FICTITIOUS_SERIAL = 60
_MIN_YEAR = 1900
_MAX_YEAR = 9999

_TIME_BODY = (
    r"\d{1,2}:\d{1,2}(?::\d{1,2}(?:[.,]\d+)?)?(?:\s*[ap]\.?m\.?)?(?:\s*(?:z|[+-]\d{2}:?\d{2}))?"
)
# A time of day after the date is matched only so that it can be dropped.
_TIME = rf"(?:(?:\s+|\s*t\s*){_TIME_BODY})?"
_YMD = re.compile(
    rf"(?P<y>\d{{4}})\s*(?P<sep>[-/.])\s*(?P<m>\d{{1,2}})\s*(?P=sep)\s*(?P<d>\d{{1,2}}){_TIME}",
    re.IGNORECASE,
)
# With 日 present a time may follow directly (2024年3月5日14:30); without it a space must separate
# the day from the time, or "514:30" would read as a day.
_YMD_ZH = re.compile(
    rf"(?P<y>\d{{4}})\s*年\s*(?P<m>\d{{1,2}})\s*月\s*(?P<d>\d{{1,2}})"
    rf"(?:\s*[日号]\s*(?:t\s*)?(?:{_TIME_BODY})?|{_TIME})",
    re.IGNORECASE,
)
_COMPACT = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})")
_YEAR_FIRST = (_YMD, _YMD_ZH, _COMPACT)
_YEAR_LAST = re.compile(
    rf"(?P<a>\d{{1,2}})\s*(?P<sep>[-/.])\s*(?P<b>\d{{1,2}})\s*(?P=sep)\s*(?P<y>\d{{4}}){_TIME}",
    re.IGNORECASE,
)
_NUMERIC = re.compile(r"(?P<whole>\d+)(?:\.\d*)?")
_MAX_SERIAL_DIGITS = len(str(_MAX_SERIAL_1900))

_MONTH_DAY_ZH = re.compile(r"(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?")
_MONTH_DAY_SEP = re.compile(r"(?P<a>\d{1,2})\s*[-/]\s*(?P<b>\d{1,2})")
# A bare number below this is far likelier a typed month.day or MMDD (3.5, 305, 1231) than the
# serial of a date in the first three years of Excel's calendar, so a birthday column refuses it.
_MONTH_DAY_MIN_SERIAL = 1232
_LEAP_YEAR = 2000


def _check_order(order: str) -> None:
    if order != "mdy" and order != "dmy":
        raise ValueError(f"order must be 'mdy' or 'dmy', not {order!r}")


def parse_date(
    value: object, *, order: str = "mdy", date1904: bool = False
) -> dt.date | Invalid | None:
    """A calendar date from a date cell, an Excel serial, or text in the common written forms."""
    _check_order(order)
    if type(value) is str:
        return _date_from_str(value, order, date1904)
    if type(value) is dt.date:
        return value
    if type(value) is dt.datetime:
        return value.date()
    if type(value) is float or type(value) is int:
        return _date_from_number(value, date1904)
    if value is None:
        return None
    if isinstance(value, str):
        return _date_from_str(str(value), order, date1904)
    if isinstance(value, dt.datetime):
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    number = _as_real(value)
    if number is not None:
        return _date_from_number(number, date1904)
    return _invalid("date-unreadable", value)


def _date_from_number(value: float | int, date1904: bool) -> dt.date | Invalid:
    if type(value) is int:
        serial = value
    elif math.isfinite(value):
        serial = math.floor(value)
    else:
        return _invalid("date-unreadable", value)
    result = _serial_date(serial, date1904)
    return result if isinstance(result, dt.date) else _invalid(result, value)


def _serial_date(serial: int, date1904: bool) -> dt.date | str:
    """The date of an Excel day number (time of day already dropped), or an Invalid code."""
    # fromordinal is about twice as fast as adding a timedelta, and this runs for every date cell.
    if date1904:
        if 0 <= serial <= _MAX_SERIAL_1904:
            return dt.date.fromordinal(_ORDINAL_1904 + serial)
        return "date-unreadable"
    if not 1 <= serial <= _MAX_SERIAL_1900:
        return "date-unreadable"
    if serial > _FICTITIOUS_SERIAL:
        return dt.date.fromordinal(_ORDINAL_1900 + serial)
    if serial == _FICTITIOUS_SERIAL:
        return "date-impossible"
    # Serials before the fictitious day count from one day later than those after it.
    return dt.date.fromordinal(_ORDINAL_1900 + serial + 1)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _date_from_str(text: str, order: str, date1904: bool) -> dt.date | Invalid | None:
    folded = _fold(text)
    if not folded:
        return None
    result = _read_date(folded, order, date1904)
    return result if isinstance(result, dt.date) else Invalid(result, _display(text))


def _read_date(text: str, order: str, date1904: bool) -> dt.date | str:
    """A date from folded text, or an Invalid code."""
    for pattern in _YEAR_FIRST:
        match = pattern.fullmatch(text)
        if match:
            return _make_date(int(match["y"]), int(match["m"]), int(match["d"]))
    match = _YEAR_LAST.fullmatch(text)
    if match:
        first, second = int(match["a"]), int(match["b"])
        month, day = (first, second) if order == "mdy" else (second, first)
        return _make_date(int(match["y"]), month, day)
    match = _NUMERIC.fullmatch(text)
    if match:
        whole = match["whole"]
        if len(whole) > _MAX_SERIAL_DIGITS:
            return "date-unreadable"
        serial = int(whole)
        if len(whole) == 4 and serial >= _MIN_YEAR:
            # "2024" on its own is a year someone meant to finish, not serial 2024 (1905-07-16).
            return "date-unreadable"
        return _serial_date(serial, date1904)
    return "date-unreadable"


def _make_date(year: int, month: int, day: int) -> dt.date | str:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return "date-impossible"
    try:
        return dt.date(year, month, day)
    except ValueError:
        return "date-impossible"


def parse_month_day(
    value: object, *, order: str = "mdy", date1904: bool = False
) -> MonthDay | Invalid | None:
    """A recurring date (birthday, anniversary): a full date with its year dropped, or 3月5日."""
    _check_order(order)
    if type(value) is str:
        return _month_day_from_str(value, order, date1904)
    if value is None:
        return None
    if type(value) is float or type(value) is int:
        number: float | None = value
    elif isinstance(value, str):
        return _month_day_from_str(str(value), order, date1904)
    else:
        number = _as_real(value)
    if number is not None and not number >= _MONTH_DAY_MIN_SERIAL:
        return _invalid("date-unreadable", value)
    result = parse_date(value, order=order, date1904=date1904)
    return MonthDay(result.month, result.day) if isinstance(result, dt.date) else result


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _month_day_from_str(text: str, order: str, date1904: bool) -> MonthDay | Invalid | None:
    folded = _fold(text)
    if not folded:
        return None
    result = _read_month_day(folded, order, date1904)
    return result if isinstance(result, MonthDay) else Invalid(result, _display(text))


def _read_month_day(text: str, order: str, date1904: bool) -> MonthDay | str:
    match = _MONTH_DAY_ZH.fullmatch(text)
    if match:
        return _make_month_day(int(match["m"]), int(match["d"]))
    match = _MONTH_DAY_SEP.fullmatch(text)
    if match:
        first, second = int(match["a"]), int(match["b"])
        month, day = (first, second) if order == "mdy" else (second, first)
        return _make_month_day(month, day)
    match = _NUMERIC.fullmatch(text)
    if (
        match
        and len(match["whole"]) <= _MAX_SERIAL_DIGITS
        and int(match["whole"]) < _MONTH_DAY_MIN_SERIAL
    ):
        return "date-unreadable"
    result = _read_date(text, order, date1904)
    return MonthDay(result.month, result.day) if isinstance(result, dt.date) else result


def _make_month_day(month: int, day: int) -> MonthDay | str:
    try:
        # A leap year, so 29 February is a valid birthday.
        dt.date(_LEAP_YEAR, month, day)
    except ValueError:
        return "date-impossible"
    return MonthDay(month, day)


# -------------------------------------------------------------------------------------- stage

_STAGE_NAMES: dict[str, Stage] = {
    normalize_key(name): stage
    for stage, names in {
        Stage.WON: ("成交", "成交客户", "已成交", "签约", "已签约", "won", "win", "closed won"),
        Stage.LOST: ("丢单", "已丢单", "输单", "丢失", "lost", "closed lost"),
        Stage.D: ("识别阶段", "一般客户", "general"),
        Stage.C: ("目标客户", "target"),
        Stage.B: ("重点跟进", "重点跟进客户", "潜在客户", "potential", "key"),
        Stage.A: ("订单跟进", "订单跟进客户", "order"),
    }.items()
    for name in names
}
_STAGE_LETTERS = {"a": Stage.A, "b": Stage.B, "c": Stage.C, "d": Stage.D}
# Matched against normalize_key output, so case, width and spacing are already settled.
_STAGE_CODE = re.compile(r"(?:(?:class|stage|level) ?)?(?P<letter>[a-d]) ?(?:类|级)? ?(?:客户)?")
_CUSTOMER_SUFFIX = "客户"


def parse_stage(value: object) -> Stage | Invalid | None:
    """The opportunity class: a letter (A, a 类, Ａ级客户), a won/lost word, or a class name."""
    if type(value) is str:
        return _stage_from_str(value)
    if value is None:
        return None
    if isinstance(value, str):
        return _stage_from_str(str(value))
    return _invalid("class-unknown", value)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _stage_from_str(text: str) -> Stage | Invalid | None:
    if not text.strip(_STRIP):
        return None
    key = normalize_key(text)
    stage = _STAGE_NAMES.get(key)
    if stage is None and key.endswith(_CUSTOMER_SUFFIX):
        stage = _STAGE_NAMES.get(key.removesuffix(_CUSTOMER_SUFFIX).rstrip())
    if stage is None:
        match = _STAGE_CODE.fullmatch(key)
        if match:
            stage = _STAGE_LETTERS[match["letter"]]
    return _invalid("class-unknown", text) if stage is None else stage


# --------------------------------------------------------------------------------------- bool

_BOOLS: dict[str, bool] = {
    **dict.fromkeys(
        ("是", "对", "有", "已", "y", "yes", "true", "t", "1", "1.0", "✓", "✔", "√", "☑", "ok"),
        True,
    ),
    **dict.fromkeys(
        ("否", "不", "无", "没有", "没", "未", "n", "no", "false", "f", "0", "0.0"), False
    ),
    **dict.fromkeys(("✗", "✘", "×", "x", "☐", "-"), False),
}


def parse_bool(value: object) -> bool | Invalid | None:
    """Yes/no in the ways people write it: 是/否, y/n, true/false, 1/0, ✓/✗."""
    if type(value) is str:
        return _bool_from_str(value)
    if value is None:
        return None
    if type(value) is bool:
        return value
    if type(value) is float or type(value) is int:
        number: float | None = value
    elif isinstance(value, str):
        return _bool_from_str(str(value))
    else:
        number = _as_real(value)
    if number == 1:
        return True
    if number == 0:
        return False
    return _invalid("bool-unreadable", value)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _bool_from_str(text: str) -> bool | Invalid | None:
    # Not normalize_key: it would collapse "-" (a conventional "no") into an empty string.
    folded = _fold(text)
    if not folded:
        return None
    result = _BOOLS.get(folded)
    return _invalid("bool-unreadable", text) if result is None else result


# ------------------------------------------------------------------------------------- amount

_AMOUNT = re.compile(
    r"""
    (?P<sign>[-+\u2212])?\s*
    (?P<prefix>[¥$]|rmb|cny|人民币)?\s*
    (?P<sign2>[-+\u2212])?\s*
    (?P<number>
        \d{1,3}(?:,\d{3})+(?:\.\d+)?        # 1,234,567.89
      | \d{1,3}(?:\ \d{3})+(?:\.\d+)?       # 1 234 567.89
      | \d+(?:\.\d*)?(?:e[-+]?\d{1,3})?     # 1234.5, 1.2e5
      | \.\d+                               # .5
    )\s*
    (?P<multiplier>万|亿|k|w)?\s*
    (?P<suffix>元|块|rmb|cny|人民币)?
    """,
    re.VERBOSE,
)
_MULTIPLIERS = {
    "万": Decimal(10_000),
    "w": Decimal(10_000),  # Chinese shorthand for 万 (12w = 120,000)
    "亿": Decimal(100_000_000),
    "k": Decimal(1_000),
}


def parse_amount(value: object) -> float | Invalid | None:
    """A money amount: numbers as is; text with ¥/RMB/元, 1,234 grouping, 万/亿/k, (negatives)."""
    if type(value) is float or type(value) is int:
        return _finite_amount(value)
    if type(value) is str:
        return _amount_from_str(value)
    if value is None:
        return None
    if isinstance(value, str):
        return _amount_from_str(str(value))
    number = _as_real(value)
    if number is None:
        return _invalid("amount-unreadable", value)
    return _finite_amount(number)


def _finite_amount(value: float) -> float | Invalid:
    try:
        number = float(value)
    except OverflowError:
        return _invalid("amount-unreadable", value)
    if not math.isfinite(number):
        return _invalid("amount-unreadable", value)
    return number + 0.0  # -0.0 would print as "-0" in reports


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _amount_from_str(text: str) -> float | Invalid | None:
    folded = _fold(text)
    if not folded:
        return None
    negative = False
    # Accountants write a negative as (500).
    if folded.startswith("(") and folded.endswith(")"):
        negative = True
        folded = folded[1:-1].strip(_STRIP)
    match = _AMOUNT.fullmatch(folded)
    if not match or (match["sign"] and match["sign2"]):
        return _invalid("amount-unreadable", text)
    sign = match["sign"] or match["sign2"]
    if sign and negative:
        return _invalid("amount-unreadable", text)
    try:
        amount = Decimal(match["number"].replace(",", "").replace(" ", ""))
        if match["multiplier"]:
            amount *= _MULTIPLIERS[match["multiplier"]]
        number = float(amount)
    except (ArithmeticError, ValueError):
        return _invalid("amount-unreadable", text)
    if not math.isfinite(number):
        return _invalid("amount-unreadable", text)
    if negative or sign in ("-", "\u2212"):
        number = -number
    return number + 0.0


# -------------------------------------------------------------------------------------- hours

_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_HOUR_UNIT = r"h|hr|hrs|hour|hours|小时|个小时|钟头|个钟头"
_MINUTE_UNIT = r"m|min|mins|minute|minutes|分钟|分"
_HOURS = re.compile(rf"(?P<h>{_NUMBER})\s*(?:{_HOUR_UNIT})?")
_MINUTES = re.compile(rf"(?P<m>{_NUMBER})\s*(?:{_MINUTE_UNIT})")
_HOURS_MINUTES = re.compile(
    rf"(?P<h>{_NUMBER})\s*(?:{_HOUR_UNIT})\s*(?P<m>{_NUMBER})\s*(?:{_MINUTE_UNIT})?"
)
_CLOCK = re.compile(r"(?P<h>\d+):(?P<m>[0-5]\d)")
_SECONDS_PER_HOUR = 3600


def parse_hours(value: object) -> float | Invalid | None:
    """Time spent, in hours: 1.5, 1.5h, 2小时, 90分钟, 1h30m, 1:30, or a duration cell."""
    if type(value) is float or type(value) is int:
        return _hours_from_number(value)
    if type(value) is str:
        return _hours_from_str(value)
    if value is None:
        return None
    if isinstance(value, str):
        return _hours_from_str(str(value))
    if isinstance(value, dt.timedelta):
        return _hours_from_number(value.total_seconds() / _SECONDS_PER_HOUR)
    if isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return seconds / _SECONDS_PER_HOUR
    number = _as_real(value)
    if number is None:
        return _invalid("number-unreadable", value)
    return _hours_from_number(number)


def _hours_from_number(value: float) -> float | Invalid:
    try:
        number = float(value)
    except OverflowError:
        return _invalid("number-unreadable", value)
    if not math.isfinite(number) or number < 0:
        return _invalid("number-unreadable", value)
    return number + 0.0


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _hours_from_str(text: str) -> float | Invalid | None:
    folded = _fold(text)
    if not folded:
        return None
    match = _HOURS.fullmatch(folded) or _HOURS_MINUTES.fullmatch(folded)
    if match:
        hours = match["h"]
        minutes = match.groupdict().get("m") or "0"
    else:
        match = _MINUTES.fullmatch(folded) or _CLOCK.fullmatch(folded)
        if not match:
            return _invalid("number-unreadable", text)
        minutes = match["m"]
        hours = match.groupdict().get("h") or "0"
    total = float(hours) + float(minutes) / 60
    if not math.isfinite(total):
        return _invalid("number-unreadable", text)
    return total


# --------------------------------------------------------------------------------------- kind

_KINDS: dict[str, ActivityKind] = {
    normalize_key(name): kind
    for kind, names in {
        ActivityKind.CALL: ("打电话", "致电", "phone", "phone call", "tel", "telephone"),
        ActivityKind.VISIT: ("上门", "上门拜访", "拜访客户", "面谈", "见面", "meeting"),
        ActivityKind.SMS: ("微信", "wechat", "message", "信息", "消息", "text"),
        ActivityKind.EMAIL: ("e-mail", "mail", "电子邮件", "发邮件"),
        ActivityKind.PROFILE: ("收集资料", "资料"),
        ActivityKind.PROSPECTING: ("找商机", "商机挖掘", "prospect"),
    }.items()
    for name in (kind.value, kind.name, *names)
}


def parse_kind(value: object) -> ActivityKind | Invalid | None:
    """An activity kind by its Chinese value, English name, or a common synonym."""
    if type(value) is str:
        return _kind_from_str(value)
    if value is None:
        return None
    if isinstance(value, str):
        return _kind_from_str(str(value))
    return _invalid("kind-unknown", value)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _kind_from_str(text: str) -> ActivityKind | Invalid | None:
    if not text.strip(_STRIP):
        return None
    kind = _KINDS.get(normalize_key(text))
    return _invalid("kind-unknown", text) if kind is None else kind


# ------------------------------------------------------------------------------------ regions

_REGION_SEPARATORS = re.compile(r"[,，、;；/／\s]+")
_ALL_REGIONS = frozenset(("*", "全部", "all"))


def parse_regions(value: object) -> tuple[frozenset[str], bool] | None:
    """A rep's regions as (names, all_regions); `*`, 全部 or all anywhere means every region."""
    if type(value) is str:
        return _regions_from_str(value)
    text = parse_text(value)
    return None if text is None else _regions_from_str(text)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _regions_from_str(text: str) -> tuple[frozenset[str], bool] | None:
    regions = [part.strip(_STRIP) for part in _REGION_SEPARATORS.split(text)]
    regions = [region for region in regions if region]
    if not regions:
        return None
    if any(_fold(region) in _ALL_REGIONS for region in regions):
        return frozenset(), True
    return frozenset(regions), False


# ------------------------------------------------------------------------------------- columns


_NUMBER_TYPES = frozenset({bool, int, float})


def parse_column(parser: Callable[[object], Any], raw: Sequence[Any]) -> list[Any]:
    """`parser` of every value, calling it once per distinct value (names, classes, dates and
    kinds repeat down a column) unless 1, 1.0 and True, equal as dict keys, are mixed."""
    types = set(map(type, raw))
    if len(_NUMBER_TYPES.intersection(types)) > 1:
        return list(map(parser, raw))
    if parser is parse_text and types == {str}:  # parse_text of a str, in C
        sample = raw[:: max(1, len(raw) // 4096)]
        if len(set(sample)) * 4 > len(sample):  # IDs, notes: few repeats, nothing to share
            return _stripped(raw)
        keys = list(set(raw))  # names and kinds: one object per distinct value
        return list(map(dict(zip(keys, _stripped(keys), strict=True)).__getitem__, raw))
    distinct = set(raw)
    if len(distinct) * 2 > len(raw):  # mostly unique: the memo would not pay
        return list(map(parser, raw))
    parsed = {v: parser(v) for v in distinct}
    return list(map(parsed.__getitem__, raw))


def _stripped(texts: Sequence[str]) -> list[str | None]:
    """parse_text of each str: stripped, None for blank (str.strip keeps an unchanged str)."""
    out: list[str | None] = list(map(str.strip, texts, itertools.repeat(BLANK_CHARS)))
    return [v or None for v in out] if "" in out else out
