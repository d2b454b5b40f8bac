"""Automatic recycling called on literal rows: the countdown per class, who is never recycled, the
warning ahead and the notice after (no workbook involved)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpers import act, book_of, context_of, opp, rendered, settings

from funnel_sync.config import Config
from funnel_sync.model import Stage
from funnel_sync.rules import decide
from funnel_sync.rules.decisions import Decisions, Idleness
from funnel_sync.rules.pool import owner_counts, ownership
from funnel_sync.rules.recycling import idleness, recycling
from funnel_sync.rules.stages import stage_moves

TODAY = dt.date(2026, 11, 30)
POOL = (
    {"customer_id": "KH001", "name": "甲公司", "region": "华东", "owner": "张三"},
    {"customer_id": "KH003", "name": "丙公司", "region": "华东"},
)


def _claimed(days_ago: int, customer: str = "KH001") -> tuple[Any, ...]:
    """The PoolLog row of 张三's claim `days_ago` days before TODAY."""
    when = dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(9))
    return (when, customer, "领取", "张三", "", "")


def _decide(
    days_ago: int,
    *,
    pool: tuple[dict[str, Any], ...] = POOL,
    opportunities: tuple[dict[str, Any], ...] = (),
    activities: tuple[dict[str, Any], ...] = (),
    log: tuple[tuple[Any, ...], ...] = (),
    cfg: Config | None = None,
) -> Decisions:
    book = book_of(pool=pool, opportunities=opportunities, activities=activities)
    ctx = context_of(book, cfg=cfg, pool_log=[_claimed(days_ago), *log], today=TODAY)
    return decide(ctx)


def _notes(d: Decisions, lang: str = "zh") -> dict[tuple[str, int], list[str]]:
    return {key: [rendered(n, lang) for n in notes] for key, notes in d.reminders.notes.items()}


def test_a_customer_idle_past_its_limit_goes_back_to_the_pool() -> None:
    d = _decide(31)
    assert (d.pool.owners["KH001"], d.pool.owner_writes, d.pool.released) == (
        None,
        {2: None},
        {"KH001"},
    )
    assert [(e.customer_id, e.action, e.rep, rendered(e.reason)) for e in d.pool.log] == [
        ("KH001", "recycle", "张三", "31 天无跟进 (上限 30 天)")
    ]
    assert _notes(d) == {
        ("pool", 2): ["2026-11-30 已自动回收 (原负责人 张三, 31 天无跟进 (上限 30 天)): 可重新领取"]
    }
    assert d.counts["recycles"] == 1


def test_the_limit_is_that_of_the_highest_open_class() -> None:
    b = opp(stage="B", quoted="是", confirmed_stage="B", stage_entered_on=dt.date(2026, 9, 1))
    assert _decide(40, opportunities=(b,)).pool.owners["KH001"] == "张三"  # B: 45 days
    assert _decide(46, opportunities=(b,)).pool.owners["KH001"] is None


def test_the_owners_own_activity_restarts_the_countdown() -> None:
    mine, theirs = act(date=dt.date(2026, 11, 25)), act(date=dt.date(2026, 11, 26), rep="李四")
    assert _decide(60, activities=(mine,)).pool.owners["KH001"] == "张三"
    assert _decide(60, activities=(theirs,)).pool.owners["KH001"] is None


def test_locked_and_won_customers_are_never_recycled() -> None:
    locked = ({**POOL[0], "locked": "是"},)
    assert _decide(90, pool=locked).pool.owners["KH001"] == "张三"
    won = opp(stage="成交", signed="是", confirmed_stage="成交", stage_entered_on=TODAY)
    assert _decide(90, opportunities=(won,)).pool.owners["KH001"] == "张三"


def test_the_owner_is_warned_ahead_on_the_row_and_on_today() -> None:
    d = _decide(28)
    warning = "28 天未跟进: 2 天内不跟进, 2026-12-03 自动回收到资源库"
    assert _notes(d) == {("pool", 2): [warning]}
    assert [
        (i.rep, i.stage, i.urgency, i.customer and i.customer.customer_id)
        for i in d.reminders.today
    ] == [("张三", None, "recycle-warning", "KH001")]
    assert _notes(d, "en")[("pool", 2)] == [
        "28 days without activity: follow up within 2 days or it returns to the pool on 2026-12-03"
    ]
    assert _decide(26).reminders.notes == {}  # not yet within warn_before_recycle_days


def test_a_recycle_is_noted_for_a_week_unless_claimed_again() -> None:
    recycled = (
        dt.datetime(2026, 11, 25),
        "KH003",
        "自动回收",
        "李四",
        "33 天无跟进 (上限 30 天)",
        "李四",
    )
    notice = "2026-11-25 已自动回收 (原负责人 李四, 33 天无跟进 (上限 30 天)): 可重新领取"
    assert _notes(_decide(1, log=(recycled,))) == {("pool", 3): [notice]}
    old = (dt.datetime(2026, 11, 22), *recycled[1:])
    assert _notes(_decide(1, log=(old,))) == {}
    claimed = ({**POOL[1], "owner": "张三"}, POOL[0])
    assert _notes(_decide(1, pool=claimed, log=(recycled,))) == {}


def test_a_claim_today_is_counted_from_today() -> None:
    """With a limit within the warning window (an odd config), today's claim is warned at 0."""
    cfg = settings(pool={"recycle_after_days": dict.fromkeys(("none", "D", "C", "B", "A"), 2)})
    claimed = (POOL[0], {**POOL[1], "owner": "张三"})
    d = _decide(1, pool=claimed, cfg=cfg)
    assert _notes(d)[("pool", 3)] == ["0 天未跟进: 2 天内不跟进, 2026-12-03 自动回收到资源库"]


def test_idleness_is_one_function_the_recycling_and_the_warnings_share() -> None:
    book = book_of(pool=POOL, opportunities=[opp(stage="C", confirmed_stage="C")])
    ctx = context_of(book, pool_log=[_claimed(20)], today=TODAY)
    stages = stage_moves(ctx)
    since = TODAY - dt.timedelta(days=20)
    assert idleness(ctx, stages, ctx.customers["KH001"], "张三") == Idleness(
        "张三", 20, 30, since, Stage.C
    )
    counts = owner_counts(ctx, stages)
    kept = recycling(ctx, stages, ownership(ctx, counts), counts)
    assert (dict(kept.returned), dict(kept.idleness)) == (
        {},
        {"KH001": Idleness("张三", 20, 30, since, Stage.C)},
    )
