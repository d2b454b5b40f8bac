"""The Today list from the decisions of literal rows: per rep in the Reps sheet's order, the
higher class first, overdue before due, each line's reason its 提醒 note."""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpers import book_of, context_of, opp, rendered

from funnel_sync.planning import today_sheet
from funnel_sync.rules import decide
from funnel_sync.texts import say

POOL = (
    {"customer_id": "KH001", "name": "甲公司", "region": "华东", "owner": "张三", "phone": "138"},
    {"customer_id": "KH002", "name": "乙公司", "region": "华南", "owner": "李四"},
    {"customer_id": "KH003", "name": "丙公司", "region": "华东", "owner": "张三"},
)
SEEN = [
    (dt.datetime(2026, 11, 20), cid, "接管", owner, "", "")
    for cid, owner in (("KH001", "张三"), ("KH002", "李四"), ("KH003", "张三"))
]


def _at(oid: str, stage: str, entered: str, **values: Any) -> dict[str, Any]:
    day = dt.date.fromisoformat(entered)
    return opp(
        opportunity_id=oid, stage=stage, confirmed_stage=stage, stage_entered_on=day, **values
    )


def _today(*opportunities: dict[str, Any]) -> list[tuple[Any, ...]]:
    ctx = context_of(book_of(pool=POOL, opportunities=opportunities), pool_log=SEEN)
    return [(r[0], r[1], r[2], r[3], r[7], r[8]) for r in today_sheet(ctx, decide(ctx))]


def test_today_lists_each_rep_in_team_order_most_urgent_first() -> None:
    rows = _today(
        _at("JH005", "C", "2026-11-20", customer_id="KH002", owner="李四"),  # 3 days overdue
        _at("JH001", "C", "2026-11-10"),  # 13 days overdue
        _at("JH002", "A", "2026-11-27"),  # due today
        _at("JH003", "B", "2026-11-20", customer_id="KH003"),  # 5 days overdue
        _at("JH004", "B", "2026-11-15", customer_id="KH003"),  # 10 days overdue
    )
    assert rows == [
        ("张三", 1, "A", "KH001", "JH002", "今天应联系"),
        ("张三", 2, "B", "KH003", "JH004", "逾期 10 天未联系: 今天联系"),
        ("张三", 3, "B", "KH003", "JH003", "逾期 5 天未联系: 今天联系"),
        ("张三", 4, "C", "KH001", "JH001", "逾期 13 天未联系: 今天联系"),
        ("李四", 1, "C", "KH002", "JH005", "逾期 3 天未联系: 今天联系"),
    ]


def test_overdue_comes_before_stalled_within_a_class() -> None:
    rows = _today(_at("JH001", "C", "2026-10-20"))  # 34 days in C, plan 30; due 10-27
    assert [r[-1] for r in rows] == [
        "逾期 34 天未联系: 今天联系",
        "在 C 停留 41 天 (计划 30 天): 发送行业资讯和活动, 推动报价",
    ]


def test_a_name_that_is_no_reps_gets_no_list() -> None:
    assert _today(_at("JH001", "C", "2026-11-10", owner="赵六")) == []


def test_the_today_reasons_are_the_notes_of_the_reminder_cells() -> None:
    ctx = context_of(book_of(pool=POOL, opportunities=[_at("JH001", "C", "2026-11-10")]))
    d = decide(ctx)
    (item,) = d.reminders.today
    assert d.reminders.notes[("opportunities", 2)] == [item.reason]


def test_a_said_quoting_a_said_renders_both() -> None:
    reason = say("log.reason.idle", days=31, limit=30)
    note = say("reminder.recycled", day=dt.date(2026, 11, 30), owner="张三", reason=reason)
    assert note.render("en") == (
        "recycled on 2026-11-30 (was 张三, 31 days without activity (limit 30)): free to claim"
    )
    assert rendered("已是文字") == "已是文字"  # a problem's message, as a log reason
