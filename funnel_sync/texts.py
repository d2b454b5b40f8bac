"""Every text the team reads, in Chinese and English, under a stable code: the one catalogue.

Codes are dotted and grouped by area (`problem.stage-skip`, `summary.claims`, `mail.intro`),
each part snake_case; the last part of a problem's or a PoolLog action's code is that code
itself, kebab-case as the engine stores it (`log.pool.claim-rejected`). A text is a
`str.format` template; both languages of a code take the same placeholders (tests/test_texts.py
holds every code to that). Rules return codes and parameters (`say`), and the edge — the CLI,
the writer of a log or a reminder cell, the mail — renders them in `general.language`:

    text("cli.sync.written", lang, path=path)         # once
    fill = template("log.reason.evidence", lang)      # a hot loop: look up once, fill per row
    said = say("mail.more", n=3); said.render(lang)   # a rule's decision, rendered later

Codes with `.one` / `.other` are the English singular and plural of one text (Chinese has no
plural, so its two are the same); `counted` picks by the number.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Text:
    """One text in both languages."""

    zh: str
    en: str

    def of(self, lang: str) -> str:
        """The template in `lang` ("zh", else English), not yet filled in."""
        return self.zh if lang == "zh" else self.en

    def __call__(self, lang: str, /, **params: object) -> str:
        return self.of(lang).format(**params)


#: Every text, by code. Placeholders are named, never positional.
TEXTS: dict[str, Text] = {
    # ---- problems (problems.CATALOGUE adds each code's severity) ----
    # {value} what the cell holds, {header} the column header, {sheet} the sheet (always given)
    # the shape of the workbook
    "problem.sheet-missing": Text(
        "缺少工作表「{sheet}」{hint}",
        "sheet '{sheet}' is missing{hint}",
    ),
    "problem.header-missing": Text(
        "缺少必填列「{header}」{hint}",
        "required column '{header}' is missing{hint}",
    ),
    "problem.header-duplicate": Text(
        "列「{header}」与 {other} 列重复: 删除或改名其中一列",
        "column '{header}' duplicates column {other}: delete or rename one of them",
    ),
    "problem.header-blank-row": Text(
        "第 1 行应为表头, 但为空: 把表头放在第 1 行",
        "row 1 should hold the headers but is empty: put the headers in row 1",
    ),
    "problem.merged-cells": Text(
        "数据区有合并单元格 {range}: 只读取左上角的值, 请取消合并",
        "merged cells {range} in the data: only the top-left value is read; unmerge them",
    ),
    "problem.row-empty": Text(
        "数据中间有空行: 删除空行",
        "empty row inside the data: delete it",
    ),
    "problem.rows-empty": Text(
        "第 {first}–{last} 行是空行 ({n} 行): 删除空行",
        "rows {first}–{last} are empty ({n} rows): delete them",
    ),
    # cell values
    "problem.value-missing": Text(
        "「{header}」不能为空",
        "'{header}' must not be empty",
    ),
    "problem.cell-error": Text(
        "单元格是错误值 {value}: 修正公式或改为手工输入",
        "the cell holds the error {value}: fix the formula or type the value",
    ),
    "problem.cell-formula": Text(
        "输入列中有公式 (按结果 {value} 读取): 输入列请直接填写数值",
        "formula in an input column (read as its result {value}): type the value instead",
    ),
    "problem.date-unreadable": Text(
        "「{header}」无法识别为日期: {value}; 请写成 2024-03-05",
        "'{header}' is not a date: {value}; write it as 2024-03-05",
    ),
    "problem.date-impossible": Text(
        "「{header}」日期不存在: {value}",
        "'{header}' is an impossible date: {value}",
    ),
    "problem.date-far-future": Text(
        "「{header}」远在未来 ({value}): 请确认年份",
        "'{header}' is far in the future ({value}): check the year",
    ),
    "problem.date-future": Text(
        "「{header}」是未来日期 ({value}): 跟进记录应记录已发生的事",
        "'{header}' lies in the future ({value}): activities record what happened",
    ),
    "problem.class-unknown": Text(
        "无法识别的分类: {value}; 可用 D、C、B、A、成交、丢单",
        "unknown class: {value}; use D, C, B, A, 成交 (won) or 丢单 (lost)",
    ),
    "problem.bool-unreadable": Text(
        "「{header}」应填 是/否: {value}",
        "'{header}' should be yes/no: {value}",
    ),
    "problem.amount-unreadable": Text(
        "「{header}」无法识别为金额: {value}; 请写成 120000 或 12万",
        "'{header}' is not an amount: {value}; write it as 120000 or 12万",
    ),
    "problem.amount-negative": Text(
        "「{header}」不能为负数: {value}",
        "'{header}' must not be negative: {value}",
    ),
    "problem.amount-zero": Text(
        "「{header}」为 0: 请填写预计金额",
        "'{header}' is 0: fill in the expected amount",
    ),
    "problem.number-unreadable": Text(
        "「{header}」无法识别为数字: {value}",
        "'{header}' is not a number: {value}",
    ),
    "problem.kind-unknown": Text(
        "无法识别的跟进类型: {value}; 可用 电话、拜访、短信、邮件、资料收集、寻找商机",
        "unknown activity kind: {value}; use 电话 call, 拜访 visit, 短信 sms, 邮件 email, "
        "资料收集 profile, 寻找商机 prospecting",
    ),
    "problem.email-invalid": Text(
        "邮箱格式不对: {value}",
        "not an e-mail address: {value}",
    ),
    # references between rows
    "problem.id-duplicate": Text(
        "编号 {value} 重复 (第 {first} 行已有): 改成唯一编号",
        "ID {value} is a duplicate (already on row {first}): make it unique",
    ),
    "problem.customer-unknown": Text(
        "客户编号 {value} 不在「{pool}」中: 先在资源库登记客户",
        "customer {value} is not on the '{pool}' sheet: add the customer there first",
    ),
    "problem.opportunity-unknown": Text(
        "机会编号 {value} 不在「{opportunities}」中",
        "opportunity {value} is not on the '{opportunities}' sheet",
    ),
    "problem.opportunity-customer-mismatch": Text(
        "机会 {value} 属于客户 {expected}, 不是 {actual}",
        "opportunity {value} belongs to customer {expected}, not {actual}",
    ),
    "problem.rep-unknown": Text(
        "销售「{value}」不在「{reps}」中{hint}",
        "rep '{value}' is not on the '{reps}' sheet{hint}",
    ),
    "problem.rep-name-variant": Text(
        "销售姓名「{value}」与团队表不完全一致, 按「{name}」读取: 请改为「{name}」",
        "rep name '{value}' differs from the Reps sheet; read as '{name}': write '{name}'",
    ),
    # the funnel discipline (checked by `check` and enforced by `sync`)
    "problem.stage-evidence-missing": Text(
        "{frm} → {to} 缺少证据: {missing}。仍按 {frm} 计",
        "{frm} → {to} lacks evidence: {missing}. Still counted at {frm}",
    ),
    "problem.stage-skip": Text(
        "{frm} → {to} 跳过了 {skipped}, 缺少证据: {missing}。仍按 {frm} 计",
        "{frm} → {to} skips {skipped} and lacks evidence: {missing}. Still counted at {frm}",
    ),
    "problem.stage-unverified": Text(
        "分类 {to} 缺少证据: {missing} (首次同步时按现状接收)",
        "class {to} lacks evidence: {missing} (adopted as is on the first sync)",
    ),
    "problem.lost-without-reason": Text(
        "标为丢单但没有填写「{header}」: 请填写原因",
        "marked lost without a '{header}': give the reason",
    ),
    "problem.won-is-final": Text(
        "已成交的机会只能退回 A 且须在备注说明: {to} 不接受",
        "a won opportunity may only go back to A with a note: {to} is not accepted",
    ),
    # the public pool (enforced by `sync`)
    "problem.claim-unknown-rep": Text(
        "「{value}」不在「{reps}」中, 不能领取: 请写团队中的姓名",
        "'{value}' is not on the '{reps}' sheet and cannot claim: write a team member's name",
    ),
    "problem.claim-outside-region": Text(
        "{rep} 负责区域 {regions}, 不能领取 {region} 的客户",
        "{rep} covers {regions} and cannot claim a customer in {region}",
    ),
    "problem.claim-over-cap": Text(
        "{rep} 已拥有 {owned} 个客户, 达到上限 {cap}: 先释放不跟进的客户",
        "{rep} already owns {owned} customers, the limit is {cap}: release some first",
    ),
    "problem.claim-over-daily-limit": Text(
        "{rep} 今天已领取 {claimed} 个客户, 每日上限 {limit}: 明天再领",
        "{rep} has claimed {claimed} customers today, the daily limit is {limit}: "
        "claim again tomorrow",
    ),
    "problem.claim-cooldown": Text(
        "{rep} 于 {released} 释放了该客户, {until} 前不能再领取",
        "{rep} released this customer on {released} and cannot claim it again before {until}",
    ),
    "problem.claim-no-region": Text(
        "客户没有区域, 无法领取: 请先填写「{header}」",
        "the customer has no region and cannot be claimed: fill in '{header}' first",
    ),
    "problem.transfer-flagged": Text(
        "客户由 {old} 转给 {new}: 请经理确认",
        "customer moved from {old} to {new}: a manager should confirm",
    ),
    "problem.owner-cleared": Text(
        "「{attempted}」的领取未通过, 负责人已清空 (原因见资源库日志)",
        "the claim by '{attempted}' was refused and the owner cleared (see the pool log)",
    ),
    "problem.owner-reverted": Text(
        "负责人已还原为「{old}」(输入的「{attempted}」已记入资源库日志)",
        "owner restored to '{old}' (the typed '{attempted}' is kept in the pool log)",
    ),
    # ---- the list of problems (`check`, `sync`): `销售机会!F12: 错误: … [code]`, then totals ----
    "problems.severity.error": Text("错误", "error"),
    "problems.severity.warning": Text("警告", "warning"),
    "problems.total": Text("共 {errors}, {warnings}", "{errors}, {warnings}"),
    "problems.errors.one": Text("{n} 个错误", "{n} error"),
    "problems.errors.other": Text("{n} 个错误", "{n} errors"),
    "problems.warnings.one": Text("{n} 个警告", "{n} warning"),
    "problems.warnings.other": Text("{n} 个警告", "{n} warnings"),
    # ---- the words of the ledger itself (dropdowns, cells the engine or the demo fills) ----
    "ledger.yes": Text("是", "yes"),
    "ledger.no": Text("否", "no"),
    # ---- the engine's log sheets: labels (read back in either language) and reasons ----
    # PoolLog actions (logs.py reads the log back by these labels, in either language)
    "log.pool.adopt": Text("接管", "adopt"),
    "log.pool.claim": Text("领取", "claim"),
    "log.pool.claim-rejected": Text("领取被拒", "claim rejected"),
    "log.pool.release": Text("释放", "release"),
    "log.pool.recycle": Text("自动回收", "recycle"),
    "log.pool.transfer": Text("转移", "transfer"),
    "log.pool.revert": Text("还原", "revert"),
    # StageLog results (likewise)
    "log.stage.adopted": Text("首次接收", "adopted"),
    "log.stage.accepted": Text("接收", "accepted"),
    "log.stage.rejected": Text("拒绝", "rejected"),
    # StageLog reasons (as rules/stages.py writes them)
    "log.reason.evidence": Text("证据齐全", "evidence present"),
    "log.reason.first_sync": Text("首次同步: 按现状接收", "first sync: adopted as found"),
    "log.reason.new_opportunity": Text(
        "新机会: 按填写的分类接收", "new opportunity: adopted as typed"
    ),
    "log.reason.lost": Text("丢单: {reason}", "lost: {reason}"),
    "log.reason.won_back": Text("成交退回 A: {notes}", "won back to A: {notes}"),
    "log.reason.reopened": Text("重新打开, 证据齐全", "reopened with evidence"),
    "log.reason.moved_back": Text("退回 {to}", "moved back to {to}"),
    # PoolLog reasons (rules/pool.py, rules/recycling.py)
    "log.reason.owner_first_sync": Text("首次同步: 按现状接管", "first sync"),
    "log.reason.released": Text("销售释放", "released by rep"),
    "log.reason.transfer_unconfirmed": Text("转移未经确认", "unconfirmed"),
    "log.reason.transfer_to_confirm": Text("转移, 待经理确认", "to confirm"),
    "log.reason.claim_refused": Text("领取未通过", "claim refused"),
    "log.reason.idle": Text(
        "{days} 天无跟进 (上限 {limit} 天)", "{days} days without activity (limit {limit})"
    ),
    # ---- the 提醒 cells and the Today list (rules/reminders.py, rules/recycling.py) ----
    "reminder.contact_due": Text("今天应联系", "contact due today"),
    "reminder.contact_overdue": Text(
        "逾期 {days} 天未联系: 今天联系", "{days} days overdue: contact today"
    ),
    # {advice}: one of reminder.advice.*, what the seed prescribes to reach the next class
    "reminder.stalled": Text(
        "在 {stage} 停留 {days} 天 (计划 {target} 天): {advice}",
        "{days} days in {stage} (plan {target}): {advice}",
    ),
    "reminder.advice.d": Text(
        "核实需求, 约到有影响力的人", "verify the need and reach someone of influence"
    ),
    "reminder.advice.c": Text(
        "发送行业资讯和活动, 推动报价", "share industry news and offers; get to a quote"
    ),
    "reminder.advice.b": Text(
        "明确决策流程和预算, 发送方案", "pin down decision makers and budget; send the proposal"
    ),
    "reminder.advice.a": Text("跟进合同和回款", "chase the contract and the payment"),
    "reminder.plan_passed": Text(
        "计划进阶日 {day} 已过: 推进或更新计划",
        "planned advance {day} has passed: move it or re-plan",
    ),
    "reminder.revisit_due": Text(
        "每月回访: 今天致电回访, 及时解决问题", "monthly revisit: call today"
    ),
    "reminder.revisit_overdue": Text(
        "回访逾期 {days} 天: 今天致电", "revisit {days} days overdue: call today"
    ),
    "reminder.upsell": Text(
        "成交 {days} 天: 挖掘二次需求, 适时二次营销", "won {days} days ago: look for a second sale"
    ),
    "reminder.important_day": Text(
        "{day:%m-%d} {what}: 发短信或致电问候", "{day:%m-%d} {what}: send greetings"
    ),
    "reminder.recycle_warning": Text(
        "{days} 天未跟进: {left} 天内不跟进, {day} 自动回收到资源库",
        "{days} days without activity: follow up within {left} days or it returns to the pool "
        "on {day}",
    ),
    # {reason}: the recycle's log reason (log.reason.idle, or as the PoolLog holds it)
    "reminder.recycled": Text(
        "{day} 已自动回收 (原负责人 {owner}, {reason}): 可重新领取",
        "recycled on {day} (was {owner}, {reason}): free to claim",
    ),
    # ---- the demo's own rows ----
    # the demo's history says "first sync: adopted" in English where the engine writes
    # log.reason.first_sync; kept as it was (a refactoring changes no output)
    "demo.first_sync": Text("首次同步: 按现状接收", "first sync: adopted"),
    "demo.unreadable_date": Text("月底前", "end of month"),
    "demo.next_step_requote": Text("重新报价", "re-quote"),
    # ---- `sync`: the summary's lines, by summary key ----
    "summary.adopted": Text("首次接收的机会", "opportunities adopted"),
    "summary.moves_accepted": Text("阶段变更 接收", "stage moves accepted"),
    "summary.moves_rejected": Text("阶段变更 拒绝", "stage moves rejected"),
    "summary.owners_adopted": Text("接管的负责人", "owners adopted"),
    "summary.claims": Text("领取", "claims"),
    "summary.claims_rejected": Text("领取被拒", "claims rejected"),
    "summary.releases": Text("释放", "releases"),
    "summary.transfers": Text("转移 (待经理确认)", "transfers (to confirm)"),
    "summary.reverts": Text("还原", "reverts"),
    "summary.recycles": Text("自动回收", "recycles"),
    "summary.recycle_warnings": Text("回收预警", "recycle warnings"),
    "summary.overdue": Text("逾期跟进", "overdue follow-ups"),
    "summary.stalled": Text("停滞的机会", "stalled opportunities"),
    "summary.revisits": Text("成交客户回访", "won-customer revisits"),
    "summary.upsells": Text("二次营销提醒", "upsell prompts"),
    "summary.important_days": Text("重要日子", "important days"),
    "summary.today_items": Text("今日提醒条目", "Today list items"),
    "summary.errors": Text("错误", "errors"),
    "summary.warnings": Text("警告", "warnings"),
    "summary.cells_changed": Text("写入的单元格", "cells changed"),
    # ---- the commands' output ----
    "cli.init.created": Text("{path}: 已创建空白台账", "{path}: new ledger created"),
    "cli.init.complete": Text("{path}: 已是完整台账, 无需添加", "{path}: already a ledger"),
    "cli.init.added": Text("{path}: 已添加: {added}", "{path}: added: {added}"),
    "cli.init.would_add": Text("{path}: 将添加: {added}", "{path}: would add: {added}"),
    "cli.demo.created": Text(
        "{path}: 演示团队 {reps} 名销售, {customers} 个客户, {opportunities} 个机会, "
        "{activities} 条跟进记录",
        "{path}: demo team of {reps} reps, {customers} customers, {opportunities} "
        "opportunities, {activities} activities",
    ),
    "cli.sync.dry_run": Text("(演练: 未写入)", "(dry run: nothing written)"),
    "cli.sync.written": Text("{path}: 已写回", "{path}: written"),
    "cli.sync.unchanged": Text("{path}: 无变化, 未写入", "{path}: unchanged, nothing written"),
    "cli.email.dry_run": Text("(演练: 未发送)", "(dry run: nothing sent)"),
    "cli.email.sent": Text("已发送: {subject} → {to}", "sent: {subject} → {to}"),
    "cli.email.missed": Text("未送达: {subject} → {to}: {why}", "missed: {subject} → {to}: {why}"),
    "cli.email.nothing": Text("没有可发送的邮件", "nothing to send"),
    "schedule.nothing_due": Text("无到期任务 ({log})", "nothing due ({log})"),
    # ---- files refused before any sheet is read (read/package.py): after the path ----
    "file.missing": Text(
        "找不到文件: 请检查路径",
        "file not found: check the path",
    ),
    "file.directory": Text(
        "这是一个文件夹, 不是工作簿",
        "this is a folder, not a workbook",
    ),
    "file.empty": Text(
        "文件是空的 (0 字节): 从备份恢复或重新保存",
        "the file is empty (0 bytes): restore it from a backup or save it again",
    ),
    "file.not_zip": Text(
        "不是 Excel 工作簿 (.xlsx): 可能是改了扩展名的 CSV 或文本; 请在 Excel 中另存为 .xlsx",
        "not an Excel workbook (.xlsx): perhaps a CSV or text file renamed; open it in Excel and "
        "save as .xlsx",
    ),
    "file.not_xlsx": Text(
        "是 zip 文件但不是 Excel 工作簿: 请另存为 .xlsx",
        "a zip file but not an Excel workbook: save it as .xlsx",
    ),
    "file.truncated": Text(
        "文件已损坏或不完整 (zip 结构无法读取): 从备份恢复",
        "the file is damaged or truncated (its zip structure cannot be read): restore it from a "
        "backup",
    ),
    "file.xls": Text(
        "这是旧版 Excel 97-2003 (.xls) 文件: 请在 Excel 中另存为 .xlsx",
        "this is an old Excel 97-2003 (.xls) file: save it as .xlsx in Excel",
    ),
    "file.ods": Text(
        "这是 OpenDocument (.ods) 文件: 请另存为 .xlsx",
        "this is an OpenDocument (.ods) file: save it as .xlsx",
    ),
    "file.encrypted": Text(
        "工作簿设置了打开密码 (已加密): 请在 Excel 中取消密码后再试",
        "the workbook is password-protected (encrypted): remove the password in Excel (File › "
        "Info › Protect Workbook) and try again",
    ),
    "file.too_big": Text(
        "文件超过 {mb} MB 上限 (limits.max_file_mb)",
        "the file is larger than the {mb} MB limit (limits.max_file_mb)",
    ),
    "file.bomb": Text(
        "解压后超过 {mb} MB (可能是 zip 炸弹): 已拒绝",
        "it unpacks to more than {mb} MB (a zip bomb?): refused",
    ),
    "file.unreadable": Text(
        "无法读取工作簿: {detail}",
        "cannot read the workbook: {detail}",
    ),
    "file.doctype": Text(
        "{part} 含有 XML 实体声明 (DOCTYPE), Excel 从不这样写; 可能是恶意文件 (XML 炸弹), 已拒绝",
        "{part} declares XML entities (DOCTYPE), which Excel never writes; possibly a malicious "
        "file (XML bomb): refused",
    ),
    "file.forged": Text(
        "{part} 的 zip 大小信息不可能成立 (可能是 zip 炸弹或文件已损坏): 已拒绝",
        "{part}: its sizes in the zip cannot be true (a zip bomb, or a damaged file): refused",
    ),
    "file.rows_beyond": Text(
        "工作表「{sheet}」的内容一直延伸到第 {last} 行, 超过 {rows} 行上限 (limits.max_rows); "
        "如果那一行是误输入, 请删除它 (在 Excel 中按 Ctrl+End 可定位) 后再试",
        "sheet '{sheet}' has content down to row {last}, beyond the {rows}-row limit "
        "(limits.max_rows); if that row was typed by mistake, delete it (Ctrl+End in Excel finds "
        "it) and try again",
    ),
    "file.range_too_large": Text(
        "工作表「{sheet}」的数据区从 A1 延伸到 {cell} ({rows} 行 × {cols} 列), "
        "读取所需内存超过 {mb} MB 上限 (limits.max_unpacked_mb); "
        "如果 {cell} 附近是误输入, 请删除 (在 Excel 中按 Ctrl+End 可定位) 后再试",
        "sheet '{sheet}' spans A1:{cell} ({rows} rows × {cols} columns), more than reading it may "
        "use ({mb} MB, limits.max_unpacked_mb); if a cell near {cell} was typed by mistake, "
        "delete it (Ctrl+End in Excel finds it) and try again",
    ),
    "file.too_many_rows": Text(
        "工作表「{sheet}」超过 {rows} 行上限 (limits.max_rows)",
        "sheet '{sheet}' has more than {rows} rows (limits.max_rows)",
    ),
    # ---- hints after a missing sheet, header or rep (read/layout.py, checks.py) ----
    "hint.sheet_like": Text(
        ": 是否是「{name}」? 改名或在 config.toml [sheets] 中映射",
        ": is it '{name}'? rename it or map it in config.toml [sheets]",
    ),
    "hint.sheet_add": Text(
        ": 用 funnel-sync init --into 添加",
        ": add it with funnel-sync init --into",
    ),
    "hint.header_like": Text(
        ": 是否是「{name}」? 改名或在 config.toml [headers.{sheet_key}] 中映射",
        ": is it '{name}'? rename it or map it in config.toml [headers.{sheet_key}]",
    ),
    "hint.rep_like": Text(": 是否是「{name}」?", ": did you mean '{name}'?"),
    "list.separator": Text("、", ", "),
    # ---- the weekly report's labels: templates reach them as {{ t.funnel }} (report.labels) ----
    "report.title": Text("销售漏斗周报", "Weekly funnel report"),
    "report.period": Text("周期", "Period"),
    "report.generated": Text("报告日期", "Report date"),
    "report.scope_team": Text("全团队", "Whole team"),
    "report.scope_rep": Text("个人报告", "Rep report"),
    "report.kpis": Text("本周概览", "This week"),
    "report.open_opps": Text("在途机会", "Open opportunities"),
    "report.open_amount": Text("在途金额", "Open amount"),
    "report.weighted": Text("加权管道", "Weighted pipeline"),
    "report.won_ytd": Text("本年成交", "Won this year"),
    "report.quota": Text("年度定额", "Annual quota"),
    "report.coverage": Text("定额覆盖率", "Quota coverage"),
    "report.coverage_target": Text("阶段目标", "Phase target"),
    "report.remaining": Text("剩余定额", "Quota left"),
    "report.funnel": Text("销售漏斗", "The funnel"),
    "report.layer": Text("层级", "Layer"),
    "report.count": Text("数量", "Count"),
    "report.amount": Text("金额", "Amount"),
    "report.alerts": Text("漏斗预警: 薄弱层级", "Thin-layer alerts"),
    "report.no_alerts": Text("没有薄弱层级。", "No thin layers."),
    "report.needed": Text("按剩余定额推算各层所需数量", "Layer sizes the remaining quota needs"),
    "report.needed_note": Text(
        "到年底还需成交 {money}, 约 {deals} 单 (平均成交额 {avg}, 转化率来自{source})",
        "to close {money} by year end: about {deals} deals (average deal {avg}, "
        "conversion rates of {source})",
    ),
    "report.source_own": Text("本人近期数据", "the rep's own history"),
    "report.source_team": Text("团队数据 (个人记录不足)", "the team (too little own history)"),
    "report.action": Text("行动", "Action"),
    "report.rep": Text("销售", "Rep"),
    "report.reps": Text("销售人员", "Reps"),
    "report.region": Text("区域", "Region"),
    "report.regions": Text("各区域", "Regions"),
    "report.phase": Text("阶段", "Phase"),
    "report.scorecard": Text("成功路线图记分卡", "Roadmap scorecard"),
    "report.standard": Text("项目", "Item"),
    "report.target": Text("目标", "Target"),
    "report.actual": Text("实际", "Actual"),
    "report.met": Text("达成", "Met"),
    "report.yes": Text("✓ 达成", "✓ met"),
    "report.no": Text("✗ 未达成", "✗ not met"),
    "report.flow": Text("本周流动 (与上周对比)", "Flow this week (vs last week)"),
    "report.entered": Text("进入", "Entered"),
    "report.advanced": Text("晋级", "Advanced"),
    "report.fell_back": Text("退回", "Fell back"),
    "report.lost": Text("丢单", "Lost"),
    "report.conversion": Text("阶段转化率 (近 {days} 天)", "Stage conversion (last {days} days)"),
    "report.rate": Text("转化率", "Rate"),
    "report.days": Text("各阶段停留天数 vs 计划", "Days in stage vs plan"),
    "report.plan_days": Text("计划天数", "Plan (days)"),
    "report.avg_current": Text("当前平均", "Now, average"),
    "report.avg_done": Text("已完成平均", "Completed, average"),
    "report.stalled": Text("停滞的机会", "Stalled opportunities"),
    "report.plan": Text("计划进阶日 vs 实际", "Planned advance dates vs actual"),
    "report.with_plan": Text("有计划", "With a plan"),
    "report.past_due": Text("已过期", "Past due"),
    "report.due_next_week": Text("下周到期", "Due next week"),
    "report.no_plan": Text("无计划", "No plan"),
    "report.avg_days_late": Text("平均延迟天数", "Average days late"),
    "report.trend": Text("近 8 周趋势", "Last 8 weeks"),
    "report.week": Text("周", "Week"),
    "report.new": Text("新增", "New"),
    "report.won": Text("成交", "Won"),
    "report.won_amount": Text("成交金额", "Won amount"),
    "report.overdue": Text("逾期跟进", "Overdue follow-ups"),
    "report.overdue_days": Text("逾期天数", "Days overdue"),
    "report.last_contact": Text("最近联系", "Last contact"),
    "report.due": Text("应联系日", "Due"),
    "report.important_days": Text("下周重要日子", "Important days next week"),
    "report.holidays": Text("公共假日", "Public holidays"),
    "report.date": Text("日期", "Date"),
    "report.what": Text("事项", "What"),
    "report.customer": Text("客户", "Customer"),
    "report.contact": Text("联系人", "Contact"),
    "report.phone": Text("电话", "Phone"),
    "report.opportunity": Text("机会", "Opportunity"),
    "report.class": Text("分类", "Class"),
    "report.entered_on": Text("进入日期", "Entered"),
    "report.days_in_stage": Text("天数", "Days"),
    "report.planned": Text("计划进阶日", "Planned advance"),
    "report.reason": Text("原因", "Reason"),
    "report.pool": Text("资源库动态与被拒的变更", "Pool activity and rejected moves"),
    "report.claims": Text("领取", "Claims"),
    "report.releases": Text("释放", "Releases"),
    "report.recycles": Text("自动回收", "Recycles"),
    "report.claims_rejected": Text("领取被拒", "Claims rejected"),
    "report.transfers": Text("转移", "Transfers"),
    "report.rejected_moves": Text("被拒的阶段变更", "Rejected stage moves"),
    "report.from": Text("原分类", "From"),
    "report.to": Text("新分类", "To"),
    "report.none": Text("无", "None"),
    "report.more": Text(
        "另有 {n} 条未列出 (共 {total} 条, 见 Excel 报告)",
        "{n} more not shown ({total} in all: see the Excel report)",
    ),
    "report.alerts_n": Text("预警", "Alerts"),
    "report.footer": Text(
        "由 funnel_sync 根据工作簿生成; 每个数字都可追溯到工作簿中的行。",
        "Made by funnel_sync from the workbook; every figure traces back to its rows.",
    ),
    "report_error.unknown_rep": Text(
        "--rep {name!r}: 不在「销售团队」中{known}",
        "--rep {name!r}: not a rep of the Reps sheet{known}",
    ),
    # ---- the report's figures (funnel/): what the snapshot names in the report's language ----
    "funnel.team_scope": Text("全团队", "whole team"),
    # the layers of the funnel, by layer key (lower case): the bar's label, and the pool's code
    "funnel.layer.pool": Text("储备客户", "Pool reserve"),
    "funnel.layer.d": Text("D 识别", "D general"),
    "funnel.layer.c": Text("C 目标", "C target"),
    "funnel.layer.b": Text("B 重点跟进", "B key follow-up"),
    "funnel.layer.a": Text("A 订单跟进", "A order follow-up"),
    "funnel.layer.won": Text("成交", "Won"),
    "funnel.layer_code.pool": Text("储备", "pool"),
    # why an opportunity is stalled, by the cadence's verdict (rules/cadence.py, kebab → snake)
    "funnel.stall.over_target": Text("超过计划天数", "over the planned days"),
    "funnel.stall.plan_passed": Text("计划进阶日已过", "planned advance passed"),
    # the success roadmap's phases (config.PHASES)
    "funnel.phase.training": Text("培训期", "training"),
    "funnel.phase.months_0_3": Text("定额 0–3 个月", "months 0–3"),
    "funnel.phase.months_3_6": Text("定额 3–6 个月", "months 3–6"),
    "funnel.phase.months_6_9": Text("定额 6–9 个月", "months 6–9"),
    "funnel.phase.months_9_plus": Text("定额 9 个月以上", "months 9+"),
    # a thin layer's alert; {layer} is funnel.alert.or_better or the won class's code
    "funnel.alert.or_better": Text("{c} 层及以上", "{c} or better"),
    "funnel.alert.goal": Text(
        "{layer} 只有 {n} 个, 目标 ≥ {goal} ({label}): 补充",
        "{layer}: only {n}, goal ≥ {goal} ({label}): replenish",
    ),
    "funnel.alert.needed": Text(
        "{c} 层只有 {n} 个, 需要 ≈ {need} 个 (到年底还需成交 {money}): 补充",
        "layer {c}: only {n}, needs ≈ {need} (to close {money} by year end): replenish",
    ),
    "funnel.alert_kind.goal": Text("阶段目标", "phase goal"),
    "funnel.alert_kind.needed": Text("定额所需", "quota needs"),
    # what the seed prescribes when a layer is thin, by that layer's key: work the layer above
    "funnel.action.d": Text(
        "从公共资源库领取客户, 补充 D 层", "claim customers from the pool to refill D"
    ),
    "funnel.action.c": Text(
        "推进 D 层: 核实需求, 约到关键人", "work layer D: verify needs, reach influencers"
    ),
    "funnel.action.b": Text("推进 C 层: 推动报价", "work layer C: get to a quote"),
    "funnel.action.a": Text(
        "推进 B 层: 明确决策和预算, 发送合同", "work layer B: decision, budget, contract"
    ),
    "funnel.action.won": Text(
        "推进 A 层: 跟进合同和回款", "work layer A: chase contracts and payment"
    ),
    # the roadmap scorecard: its two kinds, the weekly work standards (by config key), the goals
    "funnel.scorecard_kind.standard": Text("每周工作标准", "weekly standard"),
    "funnel.scorecard_kind.goal": Text("阶段目标", "phase goal"),
    "funnel.standard.profiles_per_week": Text("每周收集客户资料 (家)", "profiles collected / week"),
    "funnel.standard.prospecting_hours_per_week": Text(
        "每周寻找商机 (小时)", "prospecting hours / week"
    ),
    "funnel.standard.visit_hours_per_week": Text("每周拜访 (小时)", "visit hours / week"),
    "funnel.standard.visits_per_week": Text("每周拜访 (次)", "visits / week"),
    "funnel.goal.or_better": Text("{c} 及以上", "{c} or better"),
    "funnel.goal.won": Text("成交", "won"),
    "funnel.goal.coverage": Text("加权管道 / 年度定额 (%)", "weighted pipeline / annual quota (%)"),
    "funnel.goal.quarter": Text(
        "本季度成交 / 季度定额 (%)", "won this quarter / quarter quota (%)"
    ),
    "funnel.goal.annual": Text("本年成交 / 年度定额 (%)", "won this year / annual quota (%)"),
    # ---- won customers' important days (rules/occasions.py), in reminders and the report ----
    "occasion.birthday": Text("{who}生日", "{who}'s birthday"),
    "occasion.contact": Text("联系人", "contact"),
    "occasion.anniversary": Text("厂庆日", "company anniversary"),
    # ---- the report e-mail (the report's own labels are report.labels) ----
    "mail.subject": Text("{title} {period} · {scope}", "{title} {period} – {scope}"),
    "mail.team_scope": Text("全团队", "whole team"),
    "mail.no_email": Text(
        "{where}: {name} 没有邮箱地址, 个人报告未发送",
        "{where}: {name} has no e-mail address; their report is not sent",
    ),
    "mail.bad_email": Text(
        "{where}: {name} 的邮箱 {value!r} 无效, 个人报告未发送到该地址",
        "{where}: {name}'s e-mail {value!r} is not valid; their report is not sent to it",
    ),
    "mail.no_managers": Text(
        "没有经理的邮箱 (销售团队 经理 = 是, 或 email.extra_recipients): 团队报告未发送",
        "no manager has an e-mail address (Reps sheet 经理 = yes, or email.extra_recipients): "
        "the team report is not sent",
    ),
    "mail.row": Text("{sheet} 第 {row} 行", "{sheet} row {row}"),
    "mail.greeting_team": Text("各位经理好,", "Hello,"),
    "mail.greeting_rep": Text("{name} 你好,", "Hello {name},"),
    "mail.intro": Text(
        "这是 {start} 至 {end} 的销售漏斗周报 ({label})。完整报告见 HTML 正文, Excel 版见附件。",
        "This is the funnel report for {start} to {end} ({label}). The full report is the "
        "HTML part of this message; the Excel version is attached.",
    ),
    "mail.open": Text(
        "在途机会 {count} 个, 金额 {amount}, 加权管道 {weighted}",
        "Open: {count} opportunities, {amount}, weighted {weighted}",
    ),
    "mail.coverage": Text(
        "定额覆盖率 {pct}% (目标 {target})", "Quota coverage {pct}% (target {target})"
    ),
    "mail.call_list": Text("待联系 (逾期跟进)", "Call list (overdue follow-ups)"),
    "mail.call_item": Text(
        "{customer} {contact} {phone} — 应联系 {due}, 逾期 {days} 天 [{code}]",
        "{customer} {contact} {phone} — due {due}, {days} days overdue [{code}]",
    ),
    "mail.more": Text("另有 {n} 条, 见报告", "{n} more in the report"),
    "mail.signature": Text("— funnel_sync", "— funnel_sync"),
}


def text(code: str, lang: str, /, **params: object) -> str:
    """The text of `code` in `lang`, filled in."""
    return TEXTS[code].of(lang).format(**params)


def template(code: str, lang: str) -> Callable[..., str]:
    """The text of `code` in `lang` as a function of its placeholders: look it up once, then
    fill it per row (`template(...)(customer=…)` costs one `str.format`)."""
    return TEXTS[code].of(lang).format


def counted(code: str, lang: str, n: int, /, **params: object) -> str:
    """`code.one` when n is 1, else `code.other`, filled in with n and params."""
    return text(f"{code}.one" if n == 1 else f"{code}.other", lang, n=n, **params)


def strings(prefix: str, lang: str) -> dict[str, str]:
    """Every text under `prefix.` in `lang`, unfilled, by the rest of its code: a table of
    labels for a template engine (`strings("mail", "zh")["signature"]`)."""
    start = prefix + "."
    return {c[len(start) :]: t.of(lang) for c, t in TEXTS.items() if c.startswith(start)}


@dataclass(frozen=True, slots=True)
class Said:
    """A text decided but not yet rendered: what a rule returns instead of a string."""

    code: str
    params: tuple[tuple[str, object], ...] = ()

    def render(self, lang: str) -> str:
        """The text in `lang`; a parameter that is a Said itself (a log reason quoted in a
        reminder) is rendered first."""
        params = {k: v.render(lang) if v.__class__ is Said else v for k, v in self.params}
        return TEXTS[self.code].of(lang).format(**params)


def say(code: str, /, **params: object) -> Said:
    """A rule's text as a code and its parameters; rendered at the edge with `.render(lang)`.
    An unknown code fails here, where the rule names it, not later where it is shown."""
    if code not in TEXTS:
        raise KeyError(f"no text {code!r} in funnel_sync.texts.TEXTS")
    return Said(code, tuple(params.items()))


_FORMATTER = string.Formatter()


def placeholders(s: str) -> frozenset[str]:
    """The names of the fields of a format string: "{rep} owns {n!r}" → {"rep", "n"}
    ("" for a positional field, which the catalogue does not allow)."""
    names = set()
    for _, field, _, _ in _FORMATTER.parse(s):
        if field is not None:
            names.add(field.split(".", 1)[0].split("[", 1)[0])
    return frozenset(names)
