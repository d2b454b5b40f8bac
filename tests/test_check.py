"""`funnel-sync check` on small literal workbooks: each problem at its exact sheet, row, column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    POOL_OK,
    REPS_OK,
    TODAY,
    act,
    edit_ledger,
    flat,
    opp,
    patch_cell,
    run_check,
    run_cli,
    write_ledger,
)

from funnel_sync.config import Config
from funnel_sync.read import read_book

D = dt.date
POOL_S, OPPS_S, ACTS_S, REPS_S = "公共资源库", "销售机会", "跟进记录", "销售团队"


def ledger(tmp_path: Path, name: str = "book.xlsx", **rows: Any) -> Path:
    """A ledger with the valid team and customers unless the test passes its own."""
    rows.setdefault("pool", POOL_OK)
    rows.setdefault("reps", REPS_OK)
    return write_ledger(tmp_path / name, **rows)


def located(path: Path, *args: str) -> tuple[int, list[tuple[Any, ...]]]:
    code, problems, stderr = run_check(path, *args)
    assert "Traceback" not in stderr
    return code, flat(problems, "sheet", "row", "column", "code")


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------------------- a valid book


def test_valid_small_ledger_has_no_problems(tmp_path: Path) -> None:
    path = ledger(
        tmp_path,
        opportunities=[
            opp(),
            opp(
                opportunity_id="JH002",
                customer_id="KH002",
                owner="李四",
                stage="C",
                influencer_contacted="是",
                need_confirmed="是",
                amount="12万",
                expected_close=D(2027, 3, 31),
            ),
        ],
        activities=[
            act(opportunity_id="JH001"),
            act(rep="李四", customer_id="KH002", kind="拜访", hours=2),
        ],
        extra_sheets={"说明": [["本台账由销售部维护"], ["=1/0"]]},  # other sheets are ignored
    )
    code, problems, stderr = run_check(path)
    assert (code, problems, stderr) == (0, [], "")


# ------------------------------------------------------------- messy input read (no problem)


@pytest.mark.parametrize(
    "typed",
    [
        "2024-03-05",
        "2024/3/5",
        "2024年3月5日",
        "3/5/2024",
        D(2024, 3, 5),
        dt.datetime(2024, 3, 5, 14, 30),
    ],
    ids=["iso", "slashes", "chinese", "mdy", "date-cell", "datetime-cell"],
)
def test_dates_in_every_written_form(tmp_path: Path, typed: object) -> None:
    path = ledger(tmp_path, activities=[act(date=typed)])
    assert located(path) == (0, [])
    book = read_book(path, Config())
    assert book.activities[0].date == D(2024, 3, 5)


@pytest.mark.parametrize(
    ("typed", "order", "future"),
    [
        # today is 2026-11-30: 12/1/2026 is 1 December (future) as mdy, 12 January as dmy
        ("12/1/2026", "mdy", True),
        ("12/1/2026", "dmy", False),
        ("1/12/2026", "mdy", False),
        ("1/12/2026", "dmy", True),
    ],
)
def test_date_order_from_config(tmp_path: Path, typed: str, order: str, future: bool) -> None:
    path = ledger(tmp_path, activities=[act(date=typed)])
    cfg = write_config(tmp_path, f'[general]\ndate_order = "{order}"\n')
    code, problems, _ = run_check(path, "--config", cfg)
    expected = [(ACTS_S, 2, "A", "date-future")] if future else []
    assert flat(problems) == expected
    assert code == 0  # date-future is a warning
    if future:
        assert "2026-12-01" in problems[0]["message"]


def test_1904_workbook_dates_read_right(tmp_path: Path) -> None:
    """Excel for Mac's 1904 system: misread as 1900, every date lands 4 years and a day early,
    so the future date (2026-12-20) would lose its warning and no longer print as itself."""
    path = write_ledger(
        tmp_path / "mac.xlsx",
        pool=POOL_OK,
        reps=REPS_OK,
        activities=[act(date=D(2026, 11, 20)), act(date=D(2026, 12, 20))],
        date1904=True,
    )
    code, problems, _ = run_check(path)
    assert flat(problems) == [(ACTS_S, 3, "A", "date-future")]
    assert "2026-12-20" in problems[0]["message"]
    assert code == 0
    book = read_book(path, Config())
    assert book.date1904
    assert [a.date for a in book.activities] == [D(2026, 11, 20), D(2026, 12, 20)]


def test_1904_workbook_raw_serial_number(tmp_path: Path) -> None:
    """A date typed as a plain number (no date format) in a 1904 book: serial 44 958 is
    2027-02-02 in the 1904 system, 2023-01-31 in the 1900 one."""
    path = write_ledger(
        tmp_path / "mac.xlsx",
        pool=POOL_OK,
        reps=REPS_OK,
        activities=[act(date=44_958)],
        date1904=True,
    )
    code, problems, _ = run_check(path)
    assert flat(problems) == [(ACTS_S, 2, "A", "date-future")]
    assert "2027-02-02" in problems[0]["message"]
    assert code == 0


def test_1900_workbook_raw_serial_number_is_not_read_as_1904(tmp_path: Path) -> None:
    # 46 000 is 2025-12-09 in the 1900 system; read as 1904 it would be 2029-12-10 (future).
    path = ledger(tmp_path, activities=[act(date=46_000)])
    assert located(path) == (0, [])
    assert read_book(path, Config()).activities[0].date == D(2025, 12, 9)


@pytest.mark.parametrize(
    ("typed", "code"),
    [(" a ", "A"), ("Ａ", "A"), ("A类", "A"), ("won", "成交"), ("成交客户", "成交"), ("b类", "B")],
)
def test_class_codes_as_typed(tmp_path: Path, typed: str, code: str) -> None:
    """Without a confirmed class and without evidence, the typed class is adopted with a
    warning that names the class it was read as."""
    path = ledger(tmp_path, opportunities=[opp(stage=typed)])
    status, problems, _ = run_check(path)
    assert flat(problems) == [(OPPS_S, 2, "D", "stage-unverified")]
    assert problems[0]["message"].startswith(f"分类 {code} 缺少证据")
    assert status == 0


@pytest.mark.parametrize("yes", ["是", "Y", "y", "✓", "TRUE", "1", True, 1])
def test_yes_forms_count_as_evidence(tmp_path: Path, yes: object) -> None:
    # confirmed D → typed C needs influencer and need: both read as yes, so no problem
    path = ledger(
        tmp_path,
        opportunities=[
            opp(stage="C", confirmed_stage="D", influencer_contacted=yes, need_confirmed=yes)
        ],
    )
    assert located(path) == (0, [])


@pytest.mark.parametrize("no", ["否", "N", "n", "FALSE", "0", False, 0])
def test_no_forms_are_read_as_no(tmp_path: Path, no: object) -> None:
    path = ledger(
        tmp_path,
        opportunities=[
            opp(stage="C", confirmed_stage="D", influencer_contacted="是", need_confirmed=no)
        ],
    )
    assert located(path) == (1, [(OPPS_S, 2, "D", "stage-evidence-missing")])


@pytest.mark.parametrize(
    ("typed", "value"),
    [("1,234", 1234.0), ("12万", 120_000.0), ("¥5,000", 5000.0), (88_000, 88_000.0)],
)
def test_amount_forms(tmp_path: Path, typed: object, value: float) -> None:
    path = ledger(tmp_path, opportunities=[opp(amount=typed)])
    assert located(path) == (0, [])
    assert read_book(path, Config()).opportunities[0].amount == value


# ------------------------------------------------------------------ the shape of the workbook


def test_sheet_missing(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp()])
    edit_ledger(path, lambda wb: wb.remove(wb[REPS_S]))
    assert located(path) == (1, [(REPS_S, None, None, "sheet-missing")])


def test_header_missing_suggests_nearest_header(tmp_path: Path) -> None:
    path = ledger(tmp_path)

    def rename(wb: Any) -> None:
        wb[POOL_S]["A1"] = "客户编码"

    edit_ledger(path, rename)
    code, problems, _ = run_check(path)
    assert flat(problems) == [(POOL_S, 1, None, "header-missing")]
    assert "客户编号" in problems[0]["message"]
    assert "客户编码" in problems[0]["message"]
    assert code == 1


def test_header_duplicate(tmp_path: Path) -> None:
    path = ledger(tmp_path)

    def duplicate(wb: Any) -> None:
        ws = wb[POOL_S]
        ws["P1"] = "客户名称"
        ws["P2"] = "别的名字"

    edit_ledger(path, duplicate)
    code, problems, _ = run_check(path)
    assert flat(problems) == [(POOL_S, 1, "P", "header-duplicate")]
    assert "B" in problems[0]["message"]  # names the column it duplicates
    assert code == 1


def test_title_block_above_headers(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp(), opp(opportunity_id="JH002", stage="?")])

    def title(wb: Any) -> None:
        ws = wb[OPPS_S]
        ws.insert_rows(1, 2)
        ws["A1"] = "2026 年销售机会台账"

    edit_ledger(path, title)
    # headers now in row 3, data in rows 4 and 5
    assert located(path) == (1, [(OPPS_S, 5, "D", "class-unknown")])
    book = read_book(path, Config())
    assert book.layouts["opportunities"].header_row == 3
    assert [o.source.row for o in book.opportunities] == [4, 5]


def test_merged_cells_in_the_data(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp(next_step="约拜访"), opp(opportunity_id="JH002")])
    edit_ledger(path, lambda wb: wb[OPPS_S].merge_cells("G2:G3"))
    code, problems, _ = run_check(path)
    assert flat(problems) == [(OPPS_S, 2, "G", "merged-cells")]
    assert "G2:G3" in problems[0]["message"]
    assert code == 0


def test_horizontal_merge_in_the_data(tmp_path: Path) -> None:
    # Someone merges 已接触关键人 and 需求已确认 and types 是 once, meaning both.
    path = ledger(
        tmp_path,
        opportunities=[
            opp(stage="C", confirmed_stage="D", influencer_contacted="是", need_confirmed="是")
        ],
    )
    edit_ledger(path, lambda wb: wb[OPPS_S].merge_cells("I2:J2"))
    _, problems = located(path)
    assert (OPPS_S, 2, "I", "merged-cells") in problems


def test_row_of_invisible_characters_is_empty(tmp_path: Path) -> None:
    path = ledger(tmp_path, activities=[act(), {"notes": "\u200b"}, act(), {"notes": "\u200b"}])
    assert located(path) == (0, [(ACTS_S, 3, None, "row-empty")])


def test_row_empty_inside_the_data_but_not_after_it(tmp_path: Path) -> None:
    path = ledger(tmp_path, activities=[act(), act(date=D(2026, 11, 21))])

    def gap(wb: Any) -> None:
        ws = wb[ACTS_S]
        ws.insert_rows(3)  # rows 2 and 4 hold data, row 3 is empty
        for row in range(5, 9):  # trailing rows: blank text and formatted empty cells
            ws.cell(row=row, column=7, value="  ")
            ws.cell(row=row, column=1).number_format = "yyyy-mm-dd"

    edit_ledger(path, gap)
    assert located(path) == (0, [(ACTS_S, 3, None, "row-empty")])


# -------------------------------------------------------------------------------- cell values


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            {"pool": [*POOL_OK, {"customer_id": "KH004", "region": "华南"}]},
            [(POOL_S, 5, "B", "value-missing")],
            id="value-missing",
        ),
        pytest.param(
            {"activities": [act(date="上周三")]},
            [(ACTS_S, 2, "A", "date-unreadable")],
            id="date-unreadable",
        ),
        pytest.param(
            {"activities": [act(), act(date="2024-02-30")]},
            [(ACTS_S, 3, "A", "date-impossible")],
            id="date-impossible",
        ),
        pytest.param(
            {"opportunities": [opp(stage="?"), opp(opportunity_id="JH002", stage="E")]},
            [(OPPS_S, 2, "D", "class-unknown"), (OPPS_S, 3, "D", "class-unknown")],
            id="class-unknown",
        ),
        pytest.param(
            {"opportunities": [opp(influencer_contacted="也许")]},
            [(OPPS_S, 2, "I", "bool-unreadable")],
            id="bool-unreadable",
        ),
        pytest.param(
            {"opportunities": [opp(amount="1,2,3"), opp(opportunity_id="JH002", amount="十万")]},
            [(OPPS_S, 2, "E", "amount-unreadable"), (OPPS_S, 3, "E", "amount-unreadable")],
            id="amount-unreadable",
        ),
        pytest.param(
            {"opportunities": [opp(amount=-5000)]},
            [(OPPS_S, 2, "E", "amount-negative")],
            id="amount-negative",
        ),
        pytest.param(
            {"activities": [act(kind="吃饭")]},
            [(ACTS_S, 2, "E", "kind-unknown")],
            id="kind-unknown",
        ),
    ],
)
def test_unreadable_values_are_located_errors(
    tmp_path: Path, rows: dict[str, Any], expected: list[tuple[Any, ...]]
) -> None:
    assert located(ledger(tmp_path, **rows)) == (1, expected)


def test_problem_message_quotes_the_cell(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp(amount="十万")])
    _, problems, _ = run_check(path)
    assert problems[0]["message"] == "「预计金额」无法识别为金额: 十万; 请写成 120000 或 12万"
    assert problems[0]["severity"] == "error"
    assert problems[0]["field"] == "amount"


def test_amount_zero_is_only_a_warning(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp(amount=0)])
    code, problems, _ = run_check(path)
    assert flat(problems, "sheet", "row", "column", "code", "severity") == [
        (OPPS_S, 2, "E", "amount-zero", "warning")
    ]
    assert code == 0


def test_email_invalid(tmp_path: Path) -> None:
    reps = [dict(REPS_OK[0], email="zhangsan#example.com"), *REPS_OK[1:]]
    path = ledger(tmp_path, reps=reps)
    code, problems, _ = run_check(path)
    assert flat(problems, "sheet", "row", "column", "code", "severity") == [
        (REPS_S, 2, "B", "email-invalid", "warning")
    ]
    assert code == 0


# -------------------------------------------------------------------------------- references


def test_id_duplicate_in_customers_opportunities_and_reps(tmp_path: Path) -> None:
    path = ledger(
        tmp_path,
        pool=[*POOL_OK, {"customer_id": "KH001", "name": "甲公司二", "region": "华东"}],
        opportunities=[opp(), opp(amount=1)],
        reps=[*REPS_OK, dict(REPS_OK[0], email="zs2@example.com")],
    )
    code, problems, _ = run_check(path)
    assert flat(problems) == [
        (POOL_S, 5, "A", "id-duplicate"),
        (REPS_S, 5, "A", "id-duplicate"),
        (OPPS_S, 3, "A", "id-duplicate"),
    ]
    assert "第 2 行" in problems[0]["message"]
    assert code == 1


def test_unknown_customer_opportunity_and_rep(tmp_path: Path) -> None:
    path = ledger(
        tmp_path,
        pool=[
            *POOL_OK,
            {"customer_id": "KH004", "name": "丁公司", "region": "华南", "owner": "钱七"},
        ],
        opportunities=[opp(customer_id="KH999"), opp(opportunity_id="JH002", owner="赵六")],
        activities=[act(customer_id="KH999"), act(opportunity_id="JH999"), act(rep="赵六")],
    )
    assert located(path) == (
        1,
        [
            (POOL_S, 5, "J", "rep-unknown"),
            (ACTS_S, 2, "C", "customer-unknown"),
            (ACTS_S, 3, "D", "opportunity-unknown"),
            (ACTS_S, 4, "B", "rep-unknown"),
            (OPPS_S, 2, "B", "customer-unknown"),
            (OPPS_S, 3, "C", "rep-unknown"),
        ],
    )


def test_released_owner_is_not_a_rep(tmp_path: Path) -> None:
    pool = [dict(POOL_OK[0], owner="释放"), *POOL_OK[1:]]
    assert located(ledger(tmp_path, pool=pool)) == (0, [])


def test_activity_on_another_customers_opportunity(tmp_path: Path) -> None:
    path = ledger(
        tmp_path,
        opportunities=[opp()],
        activities=[act(customer_id="KH002", opportunity_id="JH001")],
    )
    code, problems, _ = run_check(path)
    assert flat(problems) == [(ACTS_S, 2, "C", "opportunity-customer-mismatch")]
    assert code == 0


def test_customer_id_typed_in_full_width_or_lower_case(tmp_path: Path) -> None:
    # 'ＫＨ００１' (Chinese IME in full-width mode) is a duplicate of KH001 for unique_ids...
    dup = ledger(
        tmp_path,
        name="dup.xlsx",
        pool=[*POOL_OK, {"customer_id": "ＫＨ００１", "name": "甲", "region": "华东"}],
    )
    assert located(dup) == (1, [(POOL_S, 5, "A", "id-duplicate")])
    # ...so the same text in a reference must find KH001 (at most a warning, never an error)
    path = ledger(
        tmp_path,
        opportunities=[opp(customer_id="ＫＨ００１")],
        activities=[act(customer_id="kh001")],
    )
    code, problems, _ = run_check(path)
    assert "customer-unknown" not in {p["code"] for p in problems}
    assert code == 0


def test_rep_name_variant_full_width(tmp_path: Path) -> None:
    reps = [*REPS_OK, {"name": "Alice", "regions": "华东", "start_date": D(2025, 1, 2)}]
    path = ledger(
        tmp_path, reps=reps, opportunities=[opp(owner="ＡＬＩＣＥ")], activities=[act(rep="alice")]
    )
    code, problems, _ = run_check(path)
    assert flat(problems) == [
        (ACTS_S, 2, "B", "rep-name-variant"),
        (OPPS_S, 2, "C", "rep-name-variant"),
    ]
    assert "「Alice」" in problems[1]["message"]
    assert code == 0


def test_rep_name_variant_trailing_space(tmp_path: Path) -> None:
    pool = [dict(POOL_OK[0], owner="张三 "), *POOL_OK[1:]]
    path = ledger(tmp_path, pool=pool, opportunities=[opp(owner="李四\u3000")])
    assert located(path) == (
        0,
        [(POOL_S, 2, "J", "rep-name-variant"), (OPPS_S, 2, "C", "rep-name-variant")],
    )


# ------------------------------------------------------------------- formulas and error values


def test_cell_formula_is_a_warning_read_as_its_result(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp(amount="=1000*2")])
    patch_cell(path, OPPS_S, "E2", '<c r="E2"><f>1000*2</f><v>2000</v></c>')
    code, problems, _ = run_check(path)
    assert flat(problems, "sheet", "row", "column", "code", "severity") == [
        (OPPS_S, 2, "E", "cell-formula", "warning")
    ]
    assert "2000" in problems[0]["message"]
    assert code == 0
    assert read_book(path, Config()).opportunities[0].amount == 2000


def test_cell_formula_without_cached_value(tmp_path: Path) -> None:
    # openpyxl writes formulas without a cached result; still a warning, never a crash
    path = ledger(tmp_path, opportunities=[opp(amount="=SUM(1,2)")])
    assert located(path) == (0, [(OPPS_S, 2, "E", "cell-formula")])


def test_cell_error(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp(amount="=1/0")])
    patch_cell(path, OPPS_S, "E2", '<c r="E2" t="e"><f>1/0</f><v>#DIV/0!</v></c>')
    code, problems, _ = run_check(path)
    assert flat(problems) == [(OPPS_S, 2, "E", "cell-error")]
    assert "#DIV/0!" in problems[0]["message"]
    assert code == 1


def test_cell_error_in_a_required_column_is_not_also_value_missing(tmp_path: Path) -> None:
    path = ledger(
        tmp_path, pool=[*POOL_OK, {"customer_id": "KH004", "name": "丁公司", "region": "华东"}]
    )
    patch_cell(path, POOL_S, "B5", '<c r="B5" t="e"><f>VLOOKUP(A5,X!A:B,2,0)</f><v>#N/A</v></c>')
    assert located(path) == (1, [(POOL_S, 5, "B", "cell-error")])


# -------------------------------------------------------------------------------- stage moves


A_EVIDENCE = {
    "influencer_contacted": "是",
    "need_confirmed": "是",
    "quoted": "是",
    "contract_sent": "是",
}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(
            {
                "confirmed_stage": "D",
                "stage": "B",
                "influencer_contacted": "是",
                "need_confirmed": "是",
            },
            [(OPPS_S, 2, "D", "stage-skip")],
            id="skip-without-quote",
        ),
        pytest.param(
            {"confirmed_stage": "D", "stage": "C", "need_confirmed": "是"},
            [(OPPS_S, 2, "D", "stage-evidence-missing")],
            id="evidence-missing",
        ),
        pytest.param(
            {
                "confirmed_stage": "D",
                "stage": "B",
                "influencer_contacted": "是",
                "need_confirmed": "是",
                "quoted": "是",
            },
            [],
            id="accepted-move",
        ),
        pytest.param({"confirmed_stage": "B", "stage": "D"}, [], id="backwards"),
        pytest.param(
            {"confirmed_stage": "C", "stage": "丢单"},
            [(OPPS_S, 2, "P", "lost-without-reason")],
            id="lost-without-reason",
        ),
        pytest.param(
            {"confirmed_stage": "C", "stage": "丢单", "lost_reason": "价格太高"}, [], id="lost"
        ),
        pytest.param(
            {"confirmed_stage": "成交", "stage": "B"},
            [(OPPS_S, 2, "D", "won-is-final")],
            id="won-is-final",
        ),
        pytest.param(
            {"confirmed_stage": "成交", "stage": "A"},
            [(OPPS_S, 2, "D", "won-is-final")],
            id="won-to-A-without-note",
        ),
        pytest.param(
            {"confirmed_stage": "成交", "stage": "A", "notes": "客户要求补签合同", **A_EVIDENCE},
            [],
            id="won-to-A-with-note",
        ),
        pytest.param(
            {"confirmed_stage": "成交", "stage": "A", "notes": "客户要求补签合同"},
            [(OPPS_S, 2, "D", "stage-unverified")],  # accepted, but A stands without evidence
            id="won-to-A-with-note-unverified",
        ),
        pytest.param({"stage": "A"}, [(OPPS_S, 2, "D", "stage-unverified")], id="unverified"),
    ],
)
def test_stage_moves(tmp_path: Path, values: dict[str, Any], expected: list[Any]) -> None:
    path = ledger(tmp_path, opportunities=[opp(**values)])
    code, problems = located(path)
    assert problems == expected
    errors = [p for p in expected if p[3] != "stage-unverified"]
    assert code == (1 if errors else 0)


def test_won_cannot_become_lost(tmp_path: Path) -> None:
    path = ledger(
        tmp_path, opportunities=[opp(confirmed_stage="成交", stage="丢单", lost_reason="客户违约")]
    )
    assert located(path) == (1, [(OPPS_S, 2, "D", "won-is-final")])


def test_reopening_a_lost_opportunity_still_needs_evidence(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp(confirmed_stage="丢单", stage="成交")])
    code, problems, _ = run_check(path)
    assert [p["code"] for p in problems] in (["stage-skip"], ["stage-evidence-missing"])
    assert code == 1


def test_reopening_a_lost_opportunity_at_D(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp(confirmed_stage="丢单", stage="D")])
    assert located(path) == (0, [])


def test_stage_skip_message_names_the_skipped_class(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp(confirmed_stage="D", stage="B")])
    _, problems, _ = run_check(path)
    assert flat(problems) == [(OPPS_S, 2, "D", "stage-skip")]
    message = problems[0]["message"]
    for needed in ("已接触关键人", "需求已确认", "已报价"):
        assert needed in message


# ------------------------------------------------------------------------------------ English


def test_english_workbook_and_messages(tmp_path: Path) -> None:
    path = write_ledger(
        tmp_path / "en.xlsx",
        lang="en",
        pool=[*POOL_OK, {"customer_id": "KH004", "region": "华南"}],
        reps=REPS_OK,
        opportunities=[opp(amount="ten grand")],
    )
    cfg = write_config(tmp_path, '[general]\nlanguage = "en"\n')
    code, problems, _ = run_check(path, "--config", cfg)
    assert flat(problems, "sheet", "row", "column", "code", "message") == [
        (
            "Opportunities",
            2,
            "E",
            "amount-unreadable",
            "'Amount' is not an amount: ten grand; write it as 120000 or 12万",
        ),
        ("Pool", 5, "B", "value-missing", "'Customer' must not be empty"),
    ]
    assert code == 1


def test_english_headers_read_with_chinese_messages(tmp_path: Path) -> None:
    """English aliases are accepted everywhere, whatever the message language."""
    path = write_ledger(
        tmp_path / "en.xlsx", lang="en", pool=POOL_OK, reps=REPS_OK, opportunities=[opp(amount=-1)]
    )
    assert located(path) == (1, [("Opportunities", 2, "E", "amount-negative")])


def test_messages_use_the_configured_header(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp(amount=0), opp(opportunity_id="JH002", amount="x")])
    edit_ledger(path, lambda wb: wb[OPPS_S].cell(row=1, column=5, value="金额(元)"))
    cfg = write_config(tmp_path, '[headers.opportunities]\namount = "金额(元)"\n')
    _, problems, _ = run_check(path, "--config", cfg)
    assert flat(problems, "row", "code") == [(2, "amount-zero"), (3, "amount-unreadable")]
    assert "「金额(元)」" in problems[1]["message"]  # read/columns.py: right
    assert "「金额(元)」" in problems[0]["message"]  # checks.py: says 「预计金额」


# ------------------------------------------------------------------------------------- config


def test_config_unknown_key_names_key_and_line(tmp_path: Path) -> None:
    path = ledger(tmp_path)
    cfg = write_config(tmp_path, '[general]\nlanguage = "zh"\nlanguag = "en"\n')
    code, problems, stderr = run_check(path, "--config", cfg)
    assert code == 2
    assert problems == []
    assert "general.languag" in stderr
    assert f"{cfg}:3" in stderr
    assert "Traceback" not in stderr


def test_config_wrong_type(tmp_path: Path) -> None:
    path = ledger(tmp_path)
    cfg = write_config(tmp_path, '[pool]\nmax_owned_per_rep = "many"\n')
    code, _, stderr = run_check(path, "--config", cfg)
    assert code == 2
    assert "pool.max_owned_per_rep" in stderr
    assert f"{cfg}:2" in stderr
    assert "integer" in stderr


def test_config_not_toml(tmp_path: Path) -> None:
    path = ledger(tmp_path)
    cfg = write_config(tmp_path, "[general\nlanguage = zh\n")
    code, _, stderr = run_check(path, "--config", cfg)
    assert code == 2
    assert "TOML" in stderr


def test_config_missing_file(tmp_path: Path) -> None:
    code, _, stderr = run_check(ledger(tmp_path), "--config", str(tmp_path / "nope.toml"))
    assert code == 2
    assert "nope.toml" in stderr


def test_bad_today(tmp_path: Path) -> None:
    code, stdout, stderr = run_cli("check", str(ledger(tmp_path)), "--today", "30.11.2026")
    assert code == 2
    assert stdout == ""
    assert "--today" in stderr


# ---------------------------------------------------------------------------------- text form


def test_text_format_lines_and_summary(tmp_path: Path) -> None:
    path = ledger(
        tmp_path, opportunities=[opp(amount=-5000), opp(opportunity_id="JH002", amount=0)]
    )
    code, stdout, stderr = run_cli("check", str(path), "--today", TODAY)
    lines = stdout.strip().splitlines()
    assert lines == [
        "销售机会!E2: 错误: 「预计金额」不能为负数: -5,000 [amount-negative]",
        "销售机会!E3: 警告: 「预计金额」为 0: 请填写预计金额 [amount-zero]",
        "共 1 个错误, 1 个警告",
    ]
    assert code == 1
    assert stderr == ""


def test_text_format_clean_book(tmp_path: Path) -> None:
    code, stdout, _ = run_cli("check", str(ledger(tmp_path)), "--today", TODAY)
    assert code == 0
    assert stdout.strip().splitlines() == ["共 0 个错误, 0 个警告"]


def test_text_format_sheet_level_location(tmp_path: Path) -> None:
    path = ledger(tmp_path)
    edit_ledger(path, lambda wb: wb.remove(wb[REPS_S]))
    code, stdout, _ = run_cli("check", str(path), "--today", TODAY)
    assert code == 1
    assert stdout.splitlines()[0].startswith("销售团队: 错误: 缺少工作表「销售团队」")


def test_text_format_unusable_file_exit_2(tmp_path: Path) -> None:
    code, stdout, stderr = run_cli("check", str(tmp_path / "none.xlsx"), "--today", TODAY)
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("funnel-sync: ")
    assert "找不到文件" in stderr


def test_problems_are_listed_in_the_workbooks_sheet_order(tmp_path: Path) -> None:
    path = write_ledger(
        tmp_path / "book.xlsx",
        pool=[*POOL_OK, {"customer_id": "KH009", "region": "华东", "owner": "无名"}],
        opportunities=[
            {"opportunity_id": "JH1", "customer_id": "KH404", "owner": "张三", "stage": "D"}
        ],
        reps=REPS_OK,
    )
    code, problems, _ = run_check(path)
    assert code == 1
    assert [p["sheet"] for p in problems] == ["公共资源库", "公共资源库", "销售机会"]
