"""Tests for the tolerant cell-value parsers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnel_sync.model import ActivityKind, MonthDay, Stage
from funnel_sync.parse import (
    Invalid,
    normalize_key,
    parse_amount,
    parse_bool,
    parse_date,
    parse_hours,
    parse_kind,
    parse_month_day,
    parse_regions,
    parse_stage,
    parse_text,
)

D = dt.date
CODES = {
    "date-unreadable",
    "date-impossible",
    "class-unknown",
    "bool-unreadable",
    "amount-unreadable",
    "number-unreadable",
    "kind-unknown",
}
BLANKS = [None, "", "   ", "\u3000", "\xa0", " \t\n", "\u200b"]


def invalid(code: str) -> Callable[[object], bool]:
    def check(result: object) -> bool:
        return isinstance(result, Invalid) and result.code == code

    return check


# ---------------------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "abc"),
        ("  客户 A\u3000", "客户 A"),
        ("\xa0张三\xa0", "张三"),
        ("\ufeff名称", "名称"),
        ("a  b", "a  b"),
        (13800138000.0, "13800138000"),
        (1001.0, "1001"),
        (-5.0, "-5"),
        (0.0, "0"),
        (1.25, "1.25"),
        (0.1, "0.1"),
        (1001, "1001"),
        (True, "TRUE"),
        (False, "FALSE"),
        (D(2024, 3, 5), "2024-03-05"),
        (dt.datetime(2024, 3, 5), "2024-03-05"),
        (dt.datetime(2024, 3, 5, 14, 30), "2024-03-05 14:30:00"),
        (dt.time(14, 30), "14:30:00"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
    ],
)
def test_parse_text(value: object, expected: str) -> None:
    assert parse_text(value) == expected


@pytest.mark.parametrize("value", BLANKS)
def test_parse_text_blank(value: object) -> None:
    assert parse_text(value) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Customer ID", "customer id"),
        ("customer_id", "customer id"),
        ("Customer-ID", "customer id"),
        ("  Customer __ - ID  ", "customer id"),
        ("ＣＵＳＴＯＭＥＲ\u3000ＩＤ", "customer id"),
        ("客户　名称", "客户 名称"),
        ("Straße", "strasse"),
        ("_id_", "id"),
        ("", ""),
    ],
)
def test_normalize_key(text: str, expected: str) -> None:
    assert normalize_key(text) == expected


# --------------------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", D(2024, 3, 5)),
        ("2024/3/5", D(2024, 3, 5)),
        ("2024.3.5", D(2024, 3, 5)),
        ("2024年3月5日", D(2024, 3, 5)),
        ("2024 年 3 月 5 日", D(2024, 3, 5)),
        ("2024年3月5", D(2024, 3, 5)),
        ("2024年3月5号", D(2024, 3, 5)),
        ("20240305", D(2024, 3, 5)),
        ("3/5/2024", D(2024, 3, 5)),
        ("3-5-2024", D(2024, 3, 5)),
        ("3.5.2024", D(2024, 3, 5)),
        ("03/05/2024", D(2024, 3, 5)),
        ("2024-03-05 14:30", D(2024, 3, 5)),
        ("2024-03-05T14:30:00", D(2024, 3, 5)),
        ("2024-03-05t14:30:00.123Z", D(2024, 3, 5)),
        ("2024/3/5 2:30 PM", D(2024, 3, 5)),
        ("2024年3月5日 14:30", D(2024, 3, 5)),
        ("2024年3月5日14:30", D(2024, 3, 5)),
        ("3/5/2024 14:30:00", D(2024, 3, 5)),
        ("２０２４－０３－０５", D(2024, 3, 5)),
        ("２０２４年３月５日", D(2024, 3, 5)),
        ("  2024-03-05\u3000", D(2024, 3, 5)),
        ("45357", D(2024, 3, 6)),
        ("45357.5", D(2024, 3, 6)),
        ("1900-01-01", D(1900, 1, 1)),
        ("9999-12-31", D(9999, 12, 31)),
        (D(2024, 3, 5), D(2024, 3, 5)),
        (dt.datetime(2024, 3, 5, 14, 30), D(2024, 3, 5)),
        (45357, D(2024, 3, 6)),
        (45357.0, D(2024, 3, 6)),
        (45357.999, D(2024, 3, 6)),
        (1, D(1900, 1, 1)),
        (59, D(1900, 2, 28)),
        (61, D(1900, 3, 1)),
        (2958465, D(9999, 12, 31)),
    ],
)
def test_parse_date(value: object, expected: dt.date) -> None:
    result = parse_date(value)
    assert result == expected
    assert type(result) is dt.date


@pytest.mark.parametrize(
    ("text", "mdy", "dmy"),
    [
        ("3/5/2024", D(2024, 3, 5), D(2024, 5, 3)),
        ("3-5-2024", D(2024, 3, 5), D(2024, 5, 3)),
        ("3.5.2024", D(2024, 3, 5), D(2024, 5, 3)),
        ("12/25/2024", D(2024, 12, 25), "date-impossible"),
        ("25/12/2024", "date-impossible", D(2024, 12, 25)),
        ("2024-03-05", D(2024, 3, 5), D(2024, 3, 5)),
    ],
)
def test_parse_date_order(text: str, mdy: dt.date | str, dmy: dt.date | str) -> None:
    for order, expected in (("mdy", mdy), ("dmy", dmy)):
        result = parse_date(text, order=order)
        if isinstance(expected, str):
            assert invalid(expected)(result), (order, result)
        else:
            assert result == expected, order


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, D(1904, 1, 1)),
        (1, D(1904, 1, 2)),
        (60, D(1904, 3, 1)),
        (43894.25, D(2024, 3, 5)),
        ("43894", D(2024, 3, 5)),
        (2957003, D(9999, 12, 31)),
    ],
)
def test_parse_date_1904(value: object, expected: dt.date) -> None:
    assert parse_date(value, date1904=True) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2024-02-30", "date-impossible"),
        ("2023-02-29", "date-impossible"),
        ("2024-13-01", "date-impossible"),
        ("2024-00-10", "date-impossible"),
        ("2024年3月32日", "date-impossible"),
        ("20241340", "date-impossible"),
        ("1899-12-31", "date-impossible"),
        ("0001-01-01", "date-impossible"),
        (60, "date-impossible"),
        (60.5, "date-impossible"),
        ("60", "date-impossible"),
        ("24-03-05", "date-unreadable"),
        ("3/5/24", "date-unreadable"),
        ("3/5", "date-unreadable"),
        ("2024-03/05", "date-unreadable"),
        ("12345-01-01", "date-unreadable"),
        ("2024", "date-unreadable"),
        ("next week", "date-unreadable"),
        ("2024-03-05 next", "date-unreadable"),
        ("-5", "date-unreadable"),
        ("99999999999999999999", "date-unreadable"),
        (0, "date-unreadable"),
        (0.5, "date-unreadable"),
        (-1, "date-unreadable"),
        (2958466, "date-unreadable"),
        (10**30, "date-unreadable"),
        (float("nan"), "date-unreadable"),
        (float("inf"), "date-unreadable"),
        (True, "date-unreadable"),
        (dt.time(14, 30), "date-unreadable"),
        (dt.timedelta(days=1), "date-unreadable"),
        ([2024, 3, 5], "date-unreadable"),
    ],
)
def test_parse_date_invalid(value: object, code: str) -> None:
    assert invalid(code)(parse_date(value))


def test_parse_date_1904_range() -> None:
    assert invalid("date-unreadable")(parse_date(-1, date1904=True))
    assert invalid("date-unreadable")(parse_date(2957004, date1904=True))


@pytest.mark.parametrize("value", BLANKS)
def test_parse_date_blank(value: object) -> None:
    assert parse_date(value) is None
    assert parse_month_day(value) is None


def test_parse_date_bad_order() -> None:
    with pytest.raises(ValueError):
        parse_date("2024-03-05", order="ymd")
    with pytest.raises(ValueError):
        parse_month_day("3/5", order="ymd")


def test_invalid_text_is_short_display() -> None:
    result = parse_date("x" * 100)
    assert isinstance(result, Invalid)
    assert len(result.text) == 60
    assert result.text.startswith("x" * 59)
    assert parse_date("  oops\u3000") == Invalid("date-unreadable", "oops")
    assert parse_amount(12.5j) == Invalid("amount-unreadable", "12.5j")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3月5日", MonthDay(3, 5)),
        ("3月5", MonthDay(3, 5)),
        ("3 月 5 日", MonthDay(3, 5)),
        ("03月05号", MonthDay(3, 5)),
        ("１２月３１日", MonthDay(12, 31)),
        ("03-05", MonthDay(3, 5)),
        ("3/5", MonthDay(3, 5)),
        ("2/29", MonthDay(2, 29)),
        ("2月29日", MonthDay(2, 29)),
        ("1985-03-05", MonthDay(3, 5)),
        ("1985年3月5日", MonthDay(3, 5)),
        ("3/5/1985", MonthDay(3, 5)),
        ("19850305", MonthDay(3, 5)),
        ("31111", MonthDay(3, 5)),
        (31111, MonthDay(3, 5)),
        (31111.5, MonthDay(3, 5)),
        (D(1985, 3, 5), MonthDay(3, 5)),
        (dt.datetime(1985, 3, 5, 8), MonthDay(3, 5)),
    ],
)
def test_parse_month_day(value: object, expected: MonthDay) -> None:
    assert parse_month_day(value) == expected


@pytest.mark.parametrize(
    ("text", "mdy", "dmy"),
    [
        ("3/5", MonthDay(3, 5), MonthDay(5, 3)),
        ("03-05", MonthDay(3, 5), MonthDay(5, 3)),
        ("3/5/1985", MonthDay(3, 5), MonthDay(5, 3)),
        ("3月5日", MonthDay(3, 5), MonthDay(3, 5)),
    ],
)
def test_parse_month_day_order(text: str, mdy: MonthDay, dmy: MonthDay) -> None:
    assert parse_month_day(text, order="mdy") == mdy
    assert parse_month_day(text, order="dmy") == dmy


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2/30", "date-impossible"),
        ("13/5", "date-impossible"),
        ("4月31日", "date-impossible"),
        ("0/5", "date-impossible"),
        ("2023-02-29", "date-impossible"),
        ("3.5", "date-unreadable"),
        (3.5, "date-unreadable"),
        (12.31, "date-unreadable"),
        ("1231", "date-unreadable"),
        (1231, "date-unreadable"),
        ("0305", "date-unreadable"),
        ("3/5/", "date-unreadable"),
        ("birthday", "date-unreadable"),
        (True, "date-unreadable"),
        (float("nan"), "date-unreadable"),
    ],
)
def test_parse_month_day_invalid(value: object, code: str) -> None:
    assert invalid(code)(parse_month_day(value))


# --------------------------------------------------------------------------------------- stage


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", Stage.A),
        (" A ", Stage.A),
        ("Ａ", Stage.A),
        ("ａ", Stage.A),
        ("A类", Stage.A),
        ("A级", Stage.A),
        ("a 类", Stage.A),
        ("A类客户", Stage.A),
        ("A 类 客户", Stage.A),
        ("b", Stage.B),
        ("C类", Stage.C),
        ("D类客户", Stage.D),
        ("成交", Stage.WON),
        ("成交客户", Stage.WON),
        ("won", Stage.WON),
        ("Won", Stage.WON),
        ("win", Stage.WON),
        ("closed won", Stage.WON),
        ("Closed-Won", Stage.WON),
        ("closed_won", Stage.WON),
        ("签约", Stage.WON),
        ("丢单", Stage.LOST),
        ("输单", Stage.LOST),
        ("lost", Stage.LOST),
        ("LOST", Stage.LOST),
        ("closed lost", Stage.LOST),
        ("丢失", Stage.LOST),
        ("识别阶段", Stage.D),
        ("一般客户", Stage.D),
        ("general", Stage.D),
        ("目标客户", Stage.C),
        ("target", Stage.C),
        ("重点跟进", Stage.B),
        ("重点跟进客户", Stage.B),
        ("潜在客户", Stage.B),
        ("potential", Stage.B),
        ("key", Stage.B),
        ("订单跟进", Stage.A),
        ("订单跟进客户", Stage.A),
        ("order", Stage.A),
        ("Order", Stage.A),
    ],
)
def test_parse_stage(value: object, expected: Stage) -> None:
    assert parse_stage(value) is expected


@pytest.mark.parametrize("stage", list(Stage))
def test_parse_stage_code_and_key(stage: Stage) -> None:
    assert parse_stage(stage.code) is stage
    assert parse_stage(stage.key) is stage


@pytest.mark.parametrize(
    "value",
    ["?", "E", "AB", "x类", "A B", "-", "类", "客户", 1, 1.0, 4, True, D(2024, 1, 1)],
)
def test_parse_stage_invalid(value: object) -> None:
    assert invalid("class-unknown")(parse_stage(value))


@pytest.mark.parametrize("value", BLANKS)
def test_parse_stage_blank(value: object) -> None:
    assert parse_stage(value) is None


# ---------------------------------------------------------------------------------------- bool

TRUE_WORDS = ["是", "对", "有", "已", "y", "Y", "yes", "YES", "true", "True", "t", "1", "✓"]
TRUE_WORDS += ["✔", "√", "☑", "ok", "OK", " 是 ", "ｙｅｓ", "1.0"]
FALSE_WORDS = ["否", "不", "无", "没有", "未", "n", "N", "no", "No", "false", "FALSE", "f", "0"]
FALSE_WORDS += ["✗", "✘", "×", "x", "X", "☐", "-", "－", "０", "0.0"]


@pytest.mark.parametrize("value", [*TRUE_WORDS, True, 1, 1.0])
def test_parse_bool_true(value: object) -> None:
    assert parse_bool(value) is True


@pytest.mark.parametrize("value", [*FALSE_WORDS, False, 0, 0.0, -0.0])
def test_parse_bool_false(value: object) -> None:
    assert parse_bool(value) is False


@pytest.mark.parametrize(
    "value",
    ["maybe", "是否", "2", "yess", "√×", 2, 0.5, -1, float("nan"), D(2024, 1, 1), dt.time(1)],
)
def test_parse_bool_invalid(value: object) -> None:
    assert invalid("bool-unreadable")(parse_bool(value))


@pytest.mark.parametrize("value", BLANKS)
def test_parse_bool_blank(value: object) -> None:
    assert parse_bool(value) is None


# -------------------------------------------------------------------------------------- amount


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234.5, 1234.5),
        (3, 3.0),
        (-500, -500.0),
        (0, 0.0),
        ("1234", 1234.0),
        ("1234.50", 1234.5),
        (".5", 0.5),
        ("1,234", 1234.0),
        ("1,234,567.89", 1234567.89),
        ("1 234", 1234.0),
        ("1 234 567", 1234567.0),
        ("1\xa0234", 1234.0),
        ("１，２３４", 1234.0),
        ("¥500", 500.0),
        ("￥500", 500.0),
        ("¥ 1,000", 1000.0),
        ("$1,000.50", 1000.5),
        ("RMB 300", 300.0),
        ("rmb300", 300.0),
        ("CNY300", 300.0),
        ("300元", 300.0),
        ("300 RMB", 300.0),
        ("¥300元", 300.0),
        ("12万", 120_000.0),
        ("1.5万", 15_000.0),
        ("1.1万", 11_000.0),
        ("1,200万", 12_000_000.0),
        ("12 万元", 120_000.0),
        ("1.5万元", 15_000.0),
        ("1亿", 100_000_000.0),
        ("2.5亿元", 250_000_000.0),
        ("5k", 5_000.0),
        ("5K", 5_000.0),
        ("1.5k", 1_500.0),
        ("12w", 120_000.0),
        ("1.2e5", 120_000.0),
        ("-500", -500.0),
        ("\u2212500", -500.0),
        ("+500", 500.0),
        ("(500)", -500.0),
        ("（500）", -500.0),
        ("(1,234.50)", -1234.5),
        ("(¥500)", -500.0),
        ("-¥500", -500.0),
        ("¥-500", -500.0),
        ("-1.5万", -15_000.0),
        ("-0", 0.0),
    ],
)
def test_parse_amount(value: object, expected: float) -> None:
    result = parse_amount(value)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize(
    "value",
    [
        "1,2,3",
        "1,23",
        "12,34,567",
        "1,234,56",
        "1234,567",
        "1.234,56",
        "12 34",
        "十万",
        "一百",
        "nan",
        "inf",
        "-inf",
        "1e999",
        "9" * 400,
        "(-500)",
        "--500",
        "-+500",
        "(500",
        "abc",
        "¥",
        "万",
        "12万万",
        "50%",
        True,
        False,
        float("nan"),
        float("inf"),
        float("-inf"),
        10**400,
        D(2024, 1, 1),
    ],
)
def test_parse_amount_invalid(value: object) -> None:
    assert invalid("amount-unreadable")(parse_amount(value))


@pytest.mark.parametrize("value", BLANKS)
def test_parse_amount_blank(value: object) -> None:
    assert parse_amount(value) is None


# --------------------------------------------------------------------------------------- hours


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, 1.5),
        (2, 2.0),
        (0, 0.0),
        ("1.5", 1.5),
        ("1.5h", 1.5),
        ("1.5H", 1.5),
        ("2 hours", 2.0),
        ("1.5 小时", 1.5),
        ("2小时", 2.0),
        ("2个小时", 2.0),
        ("90分钟", 1.5),
        ("90 min", 1.5),
        ("30分", 0.5),
        ("1h30m", 1.5),
        ("1小时30分钟", 1.5),
        ("1:30", 1.5),
        ("１.５小时", 1.5),
        (dt.timedelta(minutes=90), 1.5),
        (dt.time(1, 30), 1.5),
    ],
)
def test_parse_hours(value: object, expected: float) -> None:
    result = parse_hours(value)
    assert result == pytest.approx(expected)
    assert type(result) is float


@pytest.mark.parametrize(
    "value",
    [
        "-1",
        "-1.5h",
        -1,
        -0.5,
        dt.timedelta(hours=-1),
        "abc",
        "1.5天",
        "h",
        "1:75",
        "1,5",
        float("nan"),
        float("inf"),
        10**400,
        True,
        D(2024, 1, 1),
    ],
)
def test_parse_hours_invalid(value: object) -> None:
    assert invalid("number-unreadable")(parse_hours(value))


@pytest.mark.parametrize("value", BLANKS)
def test_parse_hours_blank(value: object) -> None:
    assert parse_hours(value) is None


# ---------------------------------------------------------------------------------------- kind


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("电话", ActivityKind.CALL),
        ("call", ActivityKind.CALL),
        ("CALL", ActivityKind.CALL),
        ("打电话", ActivityKind.CALL),
        ("phone", ActivityKind.CALL),
        ("Tel", ActivityKind.CALL),
        ("拜访", ActivityKind.VISIT),
        ("visit", ActivityKind.VISIT),
        ("上门", ActivityKind.VISIT),
        ("上门拜访", ActivityKind.VISIT),
        ("meeting", ActivityKind.VISIT),
        ("短信", ActivityKind.SMS),
        ("sms", ActivityKind.SMS),
        ("微信", ActivityKind.SMS),
        ("WeChat", ActivityKind.SMS),
        ("message", ActivityKind.SMS),
        ("邮件", ActivityKind.EMAIL),
        ("email", ActivityKind.EMAIL),
        ("e-mail", ActivityKind.EMAIL),
        ("E-Mail", ActivityKind.EMAIL),
        ("mail", ActivityKind.EMAIL),
        ("资料收集", ActivityKind.PROFILE),
        ("profile", ActivityKind.PROFILE),
        ("收集资料", ActivityKind.PROFILE),
        ("资料", ActivityKind.PROFILE),
        ("寻找商机", ActivityKind.PROSPECTING),
        ("prospecting", ActivityKind.PROSPECTING),
        ("找商机", ActivityKind.PROSPECTING),
        ("商机挖掘", ActivityKind.PROSPECTING),
        (" 电话\u3000", ActivityKind.CALL),
        ("ＣＡＬＬ", ActivityKind.CALL),
    ],
)
def test_parse_kind(value: object, expected: ActivityKind) -> None:
    assert parse_kind(value) is expected


@pytest.mark.parametrize("value", ["吃饭", "calls", "-", "?", 1, 1.0, True, D(2024, 1, 1)])
def test_parse_kind_invalid(value: object) -> None:
    assert invalid("kind-unknown")(parse_kind(value))


@pytest.mark.parametrize("value", BLANKS)
def test_parse_kind_blank(value: object) -> None:
    assert parse_kind(value) is None


# ------------------------------------------------------------------------------------- regions


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("华东", (frozenset({"华东"}), False)),
        ("华东,华南", (frozenset({"华东", "华南"}), False)),
        ("华东， 华南、华北", (frozenset({"华东", "华南", "华北"}), False)),
        ("华东;华南；华北/西南", (frozenset({"华东", "华南", "华北", "西南"}), False)),
        ("华东 华南\u3000华北", (frozenset({"华东", "华南", "华北"}), False)),
        ("East, West", (frozenset({"East", "West"}), False)),
        (" 华东 ,, 华东 ", (frozenset({"华东"}), False)),
        ("*", (frozenset(), True)),
        ("全部", (frozenset(), True)),
        ("All", (frozenset(), True)),
        ("ALL", (frozenset(), True)),
        ("华东, *", (frozenset(), True)),
        ("华东、全部", (frozenset(), True)),
        (1001.0, (frozenset({"1001"}), False)),
    ],
)
def test_parse_regions(value: object, expected: tuple[frozenset[str], bool]) -> None:
    assert parse_regions(value) == expected


@pytest.mark.parametrize("value", [*BLANKS, ",", " ,、; "])
def test_parse_regions_blank(value: object) -> None:
    assert parse_regions(value) is None


# ----------------------------------------------------------------------------------- properties

ANY_CELL = st.one_of(
    st.text(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.none(),
)


def _valid_or_invalid(result: object, *types: type) -> bool:
    if result is None:
        return True
    if isinstance(result, Invalid):
        return result.code in CODES and len(result.text) <= 60
    return type(result) in types


@given(ANY_CELL)
def test_parsers_never_raise(value: object) -> None:
    text = parse_text(value)
    assert text is None or (type(text) is str and text == text.strip())
    for order in ("mdy", "dmy"):
        for date1904 in (False, True):
            assert _valid_or_invalid(parse_date(value, order=order, date1904=date1904), dt.date)
            month_day = parse_month_day(value, order=order, date1904=date1904)
            assert _valid_or_invalid(month_day, MonthDay)
    assert _valid_or_invalid(parse_stage(value), Stage)
    assert _valid_or_invalid(parse_bool(value), bool)
    assert _valid_or_invalid(parse_kind(value), ActivityKind)
    amount = parse_amount(value)
    assert _valid_or_invalid(amount, float)
    assert not isinstance(amount, float) or abs(amount) < float("inf")
    hours = parse_hours(value)
    assert _valid_or_invalid(hours, float)
    assert not isinstance(hours, float) or 0 <= hours < float("inf")
    regions = parse_regions(value)
    if regions is not None:
        names, every = regions
        assert type(names) is frozenset and type(every) is bool
        assert all(type(name) is str and name for name in names)
        assert not (every and names)


@given(st.text())
def test_normalize_key_is_idempotent(text: str) -> None:
    key = normalize_key(text)
    assert key == key.strip()
    assert normalize_key(key) == key


PARSEABLE_DATES = st.dates(min_value=D(1900, 3, 1), max_value=D(9999, 12, 31))


@given(PARSEABLE_DATES)
def test_date_round_trips(date: dt.date) -> None:
    y, m, d = date.year, date.month, date.day
    for text in (
        date.isoformat(),
        f"{y}/{m}/{d}",
        f"{y}年{m}月{d}日",
        f"{y}.{m}.{d}",
        f"{y}{m:02}{d:02}",
        f"{date.isoformat()} 14:30",
    ):
        assert parse_date(text) == date, text
        assert parse_date(text, order="dmy") == date, text
        assert parse_month_day(text) == MonthDay(m, d), text
    assert parse_date(f"{m}/{d}/{y}", order="mdy") == date
    assert parse_date(f"{d}/{m}/{y}", order="dmy") == date
    assert parse_date(dt.datetime(y, m, d, 23, 59)) == date


@given(PARSEABLE_DATES, st.floats(min_value=0, max_value=0.999, allow_nan=False))
def test_date_serial_round_trips(date: dt.date, time_of_day: float) -> None:
    serial = (date - D(1899, 12, 30)).days
    assert parse_date(serial) == date
    assert parse_date(float(serial)) == date
    assert parse_date(serial + time_of_day) == date
    assert parse_date(str(serial)) == date or 1900 <= serial <= 9999
    if date >= D(1904, 1, 1):
        serial1904 = (date - D(1904, 1, 1)).days
        assert parse_date(serial1904, date1904=True) == date
        assert parse_date(serial1904 + time_of_day, date1904=True) == date


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_amount_round_trips(amount: int) -> None:
    assert parse_amount(f"{amount:,}") == float(amount)
    assert parse_amount(str(amount)) == float(amount)
    assert parse_amount(f"¥{amount:,}") == float(amount)
    assert parse_amount(f"{amount:,}元") == float(amount)
    assert parse_amount(amount) == float(amount)
    if amount > 0:
        assert parse_amount(f"({amount:,})") == -float(amount)
        assert parse_amount(f"{amount:,}".replace(",", " ")) == float(amount)


@given(st.integers(min_value=-(10**11), max_value=10**11))
def test_amount_wan_round_trips(wan: int) -> None:
    assert parse_amount(f"{wan:,}万") == float(wan * 10_000)
    assert parse_amount(f"{wan}万元") == float(wan * 10_000)


_FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(ord("A"), ord("Z") + 1)})


@given(
    st.sampled_from([Stage.A, Stage.B, Stage.C, Stage.D]),
    st.sampled_from([str.upper, str.lower, lambda s: s.upper().translate(_FULL_WIDTH)]),
    st.sampled_from(["", "类", "级", " 类", "类客户", "级客户"]),
    st.sampled_from(["", " ", "\u3000"]),
)
def test_stage_round_trips(stage: Stage, case: Callable[[str], str], suffix: str, pad: str) -> None:
    assert parse_stage(f"{pad}{case(stage.code)}{suffix}{pad}") is stage


@given(st.sampled_from(list(Stage)), st.sampled_from([str.upper, str.lower, str.title]))
def test_stage_keys_round_trip(stage: Stage, case: Callable[[str], str]) -> None:
    assert parse_stage(case(stage.key)) is stage
