"""Problems as values: the code catalogue, message templates per language, text and JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the workbook, located as Excel shows it (row from 1, column letter)."""

    sheet: str
    row: int | None
    column: str | None
    field: str | None
    code: str
    severity: Severity
    message: str

    @property
    def location(self) -> str:
        """`销售机会!F12`, `销售机会!12`, `销售机会!F1` or just the sheet name."""
        if self.row is None and self.column is None:
            return self.sheet
        return f"{self.sheet}!{self.column or ''}{self.row or ''}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Template:
    severity: Severity
    zh: str
    en: str


#: Every problem code funnel_sync reports, with its default severity and message per language.
#: Placeholders: {value} what the cell holds, {header} the column header, and code-specific ones.
CATALOGUE: dict[str, Template] = {
    # the shape of the workbook
    "sheet-missing": Template(
        "error",
        "缺少工作表「{sheet}」{hint}",
        "sheet '{sheet}' is missing{hint}",
    ),
    "header-missing": Template(
        "error",
        "缺少必填列「{header}」{hint}",
        "required column '{header}' is missing{hint}",
    ),
    "header-duplicate": Template(
        "error",
        "列「{header}」与 {other} 列重复: 删除或改名其中一列",
        "column '{header}' duplicates column {other}: delete or rename one of them",
    ),
    "header-blank-row": Template(
        "error",
        "第 1 行应为表头, 但为空: 把表头放在第 1 行",
        "row 1 should hold the headers but is empty: put the headers in row 1",
    ),
    "merged-cells": Template(
        "warning",
        "数据区有合并单元格 {range}: 只读取左上角的值, 请取消合并",
        "merged cells {range} in the data: only the top-left value is read; unmerge them",
    ),
    "row-empty": Template(
        "warning",
        "数据中间有空行: 删除空行",
        "empty row inside the data: delete it",
    ),
    "rows-empty": Template(
        "warning",
        "第 {first}–{last} 行是空行 ({n} 行): 删除空行",
        "rows {first}–{last} are empty ({n} rows): delete them",
    ),
    # cell values
    "value-missing": Template(
        "error",
        "「{header}」不能为空",
        "'{header}' must not be empty",
    ),
    "cell-error": Template(
        "error",
        "单元格是错误值 {value}: 修正公式或改为手工输入",
        "the cell holds the error {value}: fix the formula or type the value",
    ),
    "cell-formula": Template(
        "warning",
        "输入列中有公式 (按结果 {value} 读取): 输入列请直接填写数值",
        "formula in an input column (read as its result {value}): type the value instead",
    ),
    "date-unreadable": Template(
        "error",
        "「{header}」无法识别为日期: {value}; 请写成 2024-03-05",
        "'{header}' is not a date: {value}; write it as 2024-03-05",
    ),
    "date-impossible": Template(
        "error",
        "「{header}」日期不存在: {value}",
        "'{header}' is an impossible date: {value}",
    ),
    "date-far-future": Template(
        "warning",
        "「{header}」远在未来 ({value}): 请确认年份",
        "'{header}' is far in the future ({value}): check the year",
    ),
    "date-future": Template(
        "warning",
        "「{header}」是未来日期 ({value}): 跟进记录应记录已发生的事",
        "'{header}' lies in the future ({value}): activities record what happened",
    ),
    "class-unknown": Template(
        "error",
        "无法识别的分类: {value}; 可用 D、C、B、A、成交、丢单",
        "unknown class: {value}; use D, C, B, A, 成交 (won) or 丢单 (lost)",
    ),
    "bool-unreadable": Template(
        "error",
        "「{header}」应填 是/否: {value}",
        "'{header}' should be yes/no: {value}",
    ),
    "amount-unreadable": Template(
        "error",
        "「{header}」无法识别为金额: {value}; 请写成 120000 或 12万",
        "'{header}' is not an amount: {value}; write it as 120000 or 12万",
    ),
    "amount-negative": Template(
        "error",
        "「{header}」不能为负数: {value}",
        "'{header}' must not be negative: {value}",
    ),
    "amount-zero": Template(
        "warning",
        "「{header}」为 0: 请填写预计金额",
        "'{header}' is 0: fill in the expected amount",
    ),
    "number-unreadable": Template(
        "error",
        "「{header}」无法识别为数字: {value}",
        "'{header}' is not a number: {value}",
    ),
    "kind-unknown": Template(
        "error",
        "无法识别的跟进类型: {value}; 可用 电话、拜访、短信、邮件、资料收集、寻找商机",
        "unknown activity kind: {value}; use 电话 call, 拜访 visit, 短信 sms, 邮件 email, "
        "资料收集 profile, 寻找商机 prospecting",
    ),
    "email-invalid": Template(
        "warning",
        "邮箱格式不对: {value}",
        "not an e-mail address: {value}",
    ),
    # references between rows
    "id-duplicate": Template(
        "error",
        "编号 {value} 重复 (第 {first} 行已有): 改成唯一编号",
        "ID {value} is a duplicate (already on row {first}): make it unique",
    ),
    "customer-unknown": Template(
        "error",
        "客户编号 {value} 不在「{pool}」中: 先在资源库登记客户",
        "customer {value} is not on the '{pool}' sheet: add the customer there first",
    ),
    "opportunity-unknown": Template(
        "error",
        "机会编号 {value} 不在「{opportunities}」中",
        "opportunity {value} is not on the '{opportunities}' sheet",
    ),
    "opportunity-customer-mismatch": Template(
        "warning",
        "机会 {value} 属于客户 {expected}, 不是 {actual}",
        "opportunity {value} belongs to customer {expected}, not {actual}",
    ),
    "rep-unknown": Template(
        "error",
        "销售「{value}」不在「{reps}」中{hint}",
        "rep '{value}' is not on the '{reps}' sheet{hint}",
    ),
    "rep-name-variant": Template(
        "warning",
        "销售姓名「{value}」与团队表不完全一致, 按「{name}」读取: 请改为「{name}」",
        "rep name '{value}' differs from the Reps sheet; read as '{name}': write '{name}'",
    ),
    # the funnel discipline (checked by `check` and enforced by `sync`)
    "stage-evidence-missing": Template(
        "error",
        "{frm} → {to} 缺少证据: {missing}。仍按 {frm} 计",
        "{frm} → {to} lacks evidence: {missing}. Still counted at {frm}",
    ),
    "stage-skip": Template(
        "error",
        "{frm} → {to} 跳过了 {skipped}, 缺少证据: {missing}。仍按 {frm} 计",
        "{frm} → {to} skips {skipped} and lacks evidence: {missing}. Still counted at {frm}",
    ),
    "stage-unverified": Template(
        "warning",
        "分类 {to} 缺少证据: {missing} (首次同步时按现状接收)",
        "class {to} lacks evidence: {missing} (adopted as is on the first sync)",
    ),
    "lost-without-reason": Template(
        "error",
        "标为丢单但没有填写「{header}」: 请填写原因",
        "marked lost without a '{header}': give the reason",
    ),
    "won-is-final": Template(
        "error",
        "已成交的机会只能退回 A 且须在备注说明: {to} 不接受",
        "a won opportunity may only go back to A with a note: {to} is not accepted",
    ),
    # the public pool (enforced by `sync`)
    "claim-unknown-rep": Template(
        "error",
        "「{value}」不在「{reps}」中, 不能领取: 请写团队中的姓名",
        "'{value}' is not on the '{reps}' sheet and cannot claim: write a team member's name",
    ),
    "claim-outside-region": Template(
        "error",
        "{rep} 负责区域 {regions}, 不能领取 {region} 的客户",
        "{rep} covers {regions} and cannot claim a customer in {region}",
    ),
    "claim-over-cap": Template(
        "error",
        "{rep} 已拥有 {owned} 个客户, 达到上限 {cap}: 先释放不跟进的客户",
        "{rep} already owns {owned} customers, the limit is {cap}: release some first",
    ),
    "claim-over-daily-limit": Template(
        "error",
        "{rep} 今天已领取 {claimed} 个客户, 每日上限 {limit}: 明天再领",
        "{rep} has claimed {claimed} customers today, the daily limit is {limit}: "
        "claim again tomorrow",
    ),
    "claim-cooldown": Template(
        "error",
        "{rep} 于 {released} 释放了该客户, {until} 前不能再领取",
        "{rep} released this customer on {released} and cannot claim it again before {until}",
    ),
    "claim-no-region": Template(
        "error",
        "客户没有区域, 无法领取: 请先填写「{header}」",
        "the customer has no region and cannot be claimed: fill in '{header}' first",
    ),
    "transfer-flagged": Template(
        "warning",
        "客户由 {old} 转给 {new}: 请经理确认",
        "customer moved from {old} to {new}: a manager should confirm",
    ),
    "owner-cleared": Template(
        "warning",
        "「{attempted}」的领取未通过, 负责人已清空 (原因见资源库日志)",
        "the claim by '{attempted}' was refused and the owner cleared (see the pool log)",
    ),
    "owner-reverted": Template(
        "warning",
        "负责人已还原为「{old}」(输入的「{attempted}」已记入资源库日志)",
        "owner restored to '{old}' (the typed '{attempted}' is kept in the pool log)",
    ),
}


def make(
    code: str,
    *,
    lang: str,
    sheet: str,
    row: int | None = None,
    column: str | None = None,
    field: str | None = None,
    severity: Severity | None = None,
    **params: Any,
) -> Problem:
    """Build a Problem from the catalogue; the one place messages are rendered."""
    template = CATALOGUE[code]
    text = template.zh if lang == "zh" else template.en
    message = text.format_map(_Defaults(params, sheet=sheet))
    return Problem(sheet, row, column, field, code, severity or template.severity, message)


class _Defaults(dict[str, object]):
    """Placeholders a call did not fill render as empty text, never as a KeyError."""

    def __init__(self, params: dict[str, object], **extra: object) -> None:
        super().__init__(extra)
        self.update(params)

    def __missing__(self, key: str) -> str:
        return ""


def sort_key(p: Problem) -> tuple[str, int, int, str]:
    return (p.sheet, p.row or 0, column_index(p.column) if p.column else 0, p.code)


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """A → 1, AA → 27."""
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def count(problems: Iterable[Problem]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = warnings = 0
    for p in problems:
        if p.severity == "error":
            errors += 1
        else:
            warnings += 1
    return errors, warnings


def format_text(problems: Sequence[Problem], *, lang: str) -> str:
    """Compiler-style lines, `销售机会!F12: error: message [code]`, then the counts."""
    lines = [
        f"{p.location}: {_severity_word(p.severity, lang)}: {p.message} [{p.code}]"
        for p in problems
    ]
    errors, warnings = count(problems)
    if lang == "zh":
        lines.append(f"共 {errors} 个错误, {warnings} 个警告")
    else:
        lines.append(
            f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        )
    return "\n".join(lines)


def format_json(problems: Sequence[Problem]) -> str:
    return json.dumps([p.as_dict() for p in problems], ensure_ascii=False, indent=2)


def _severity_word(severity: Severity, lang: str) -> str:
    if lang == "zh":
        return "错误" if severity == "error" else "警告"
    return severity
