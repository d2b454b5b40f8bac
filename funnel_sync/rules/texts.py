"""The texts the rules write (log reasons, reminders): a code and its parameters, rendered in the
run's language only at the edge, by the plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import NamedTuple

NO_PARAMS: Mapping[str, object] = MappingProxyType({})


class Note(NamedTuple):
    """A text a rule decided on: a code of RULE_TEXTS and its parameters (a parameter may be a
    Note itself, rendered first: a log reason quoted in a reminder)."""

    code: str
    params: Mapping[str, object] = NO_PARAMS


class Text(NamedTuple):
    zh: str
    en: str
    quotes: tuple[str, ...] = ()  # the parameters that may be Notes


#: Every text a rule writes, by code, in both languages with the same placeholders.
RULE_TEXTS: dict[str, Text] = {
    # StageLog reasons
    "stage-first-sync": Text("首次同步: 按现状接收", "first sync: adopted as found"),
    "stage-new": Text("新机会: 按填写的分类接收", "new opportunity: adopted as typed"),
    "stage-lost": Text("丢单: {r}", "lost: {r}"),
    "stage-won-back": Text("成交退回 A: {n}", "won back to A: {n}"),
    "stage-reopened": Text("重新打开, 证据齐全", "reopened with evidence"),
    "stage-back": Text("退回 {to}", "moved back to {to}"),
    "stage-evidence": Text("证据齐全", "evidence present"),
    # PoolLog reasons
    "pool-first-sync": Text("首次同步: 按现状接管", "first sync"),
    "pool-released": Text("销售释放", "released by rep"),
    "pool-transfer-reverted": Text("转移未经确认", "unconfirmed"),
    "pool-transfer": Text("转移, 待经理确认", "to confirm"),
    "pool-claim-reverted": Text("领取未通过", "claim refused"),
    "pool-idle": Text(
        "{n} 天无跟进 (上限 {limit} 天)", "{n} days without activity (limit {limit})"
    ),
    # the pool's reminders
    "recycle-warning": Text(
        "{n} 天未跟进: {left} 天内不跟进, {d} 自动回收到资源库",
        "{n} days without activity: follow up within {left} days or it returns to the pool on {d}",
    ),
    "recycled": Text(
        "{d} 已自动回收 (原负责人 {o}, {r}): 可重新领取",
        "recycled on {d} (was {o}, {r}): free to claim",
        quotes=("r",),
    ),
    # the contact cadence's reminders
    "contact-due": Text("今天应联系", "contact due today"),
    "contact-overdue": Text("逾期 {n} 天未联系: 今天联系", "{n} days overdue: contact today"),
    # "stalled-D" … "stalled-A": STALLED with the class's ADVICE (below)
    "plan-passed": Text(
        "计划进阶日 {d} 已过: 推进或更新计划", "planned advance {d} has passed: move it or re-plan"
    ),
    # won customers' care
    "revisit-due": Text("每月回访: 今天致电回访, 及时解决问题", "monthly revisit: call today"),
    "revisit-overdue": Text("回访逾期 {n} 天: 今天致电", "revisit {n} days overdue: call today"),
    "upsell": Text(
        "成交 {n} 天: 挖掘二次需求, 适时二次营销", "won {n} days ago: look for a second sale"
    ),
    "important-day": Text("{d:%m-%d} {w}: 发短信或致电问候", "{d:%m-%d} {w}: send greetings"),
}


STALLED = Text("在 {s} 停留 {n} 天 (计划 {t} 天): {a}", "{n} days in {s} (plan {t}): {a}")
#: What the seed prescribes to move an opportunity to the next layer, by class.
ADVICE = {
    "D": Text("核实需求, 约到有影响力的人", "verify the need and reach someone of influence"),
    "C": Text("发送行业资讯和活动, 推动报价", "share industry news and offers; get to a quote"),
    "B": Text(
        "明确决策流程和预算, 发送方案", "pin down decision makers and budget; send the proposal"
    ),
    "A": Text("跟进合同和回款", "chase the contract and the payment"),
}
# composed here rather than quoted at each render: 60k stalled notes at 100k opportunities
RULE_TEXTS.update(
    {
        f"stalled-{key}": Text(STALLED.zh.replace("{a}", a.zh), STALLED.en.replace("{a}", a.en))
        for key, a in ADVICE.items()
    }
)


class Renderer:
    """Notes to text in one language; templates looked up once (the plan renders 100k notes)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._templates = {
            code: text.zh if lang == "zh" else text.en for code, text in RULE_TEXTS.items()
        }
        self._quotes = {code: text.quotes for code, text in RULE_TEXTS.items() if text.quotes}

    def __call__(self, note: Note | str) -> str:
        """The text of a note; a str is a text already (a problem's message, a log cell)."""
        if isinstance(note, str):
            return note
        code, params = note
        quotes = self._quotes.get(code)
        if quotes:
            quoted = {k: self(params[k]) for k in quotes if k in params}  # type: ignore[arg-type]
            params = {**params, **quoted}
        return self._templates[code].format_map(params)

    def all(self, notes: Iterable[Note | str]) -> list[str]:
        """The texts of many notes: one list comprehension, no call per note but a format."""
        templates, quotes = self._templates, self._quotes
        return [
            note
            if isinstance(note, str)
            else self(note)
            if note.code in quotes
            else templates[note.code].format_map(note.params)
            for note in notes
        ]
