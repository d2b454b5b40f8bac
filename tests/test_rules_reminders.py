"""The contact cadence and the important days called on literal rows: the follow-up of each
opportunity, the 提醒 notes and the Today items they call for (no workbook involved)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpers import act, book_of, context_of, opp, rendered, settings

from funnel_sync.config import Config
from funnel_sync.rules import decide
from funnel_sync.rules.cadence import FollowUp
from funnel_sync.rules.decisions import Reminders
from funnel_sync.rules.reminders import contact_cadence
from funnel_sync.rules.stages import stage_moves

TODAY = dt.date(2026, 11, 30)
SEEN = [(dt.datetime(2026, 11, 20), "KH001", "接管", "张三", "", "")]  # synced before


def _at(stage: str, entered: dt.date, **values: Any) -> dict[str, Any]:
    """An opportunity counted at `stage` since `entered` (as an earlier sync confirmed it)."""
    return opp(stage=stage, confirmed_stage=stage, stage_entered_on=entered, **values)


def _cadence(
    *opportunities: dict[str, Any],
    activities: tuple[dict[str, Any], ...] = (),
    cfg: Config | None = None,
) -> tuple[dict[str, FollowUp], list[tuple[Any, ...]]]:
    book = book_of(opportunities=opportunities, activities=activities)
    ctx = context_of(book, cfg=cfg, pool_log=SEEN, today=TODAY)
    cadence = contact_cadence(ctx, stage_moves(ctx))
    return dict(cadence.follow_ups), _listed(cadence.reminders, ctx.lang)


def _listed(reminders: Reminders, lang: str = "zh") -> list[tuple[Any, ...]]:
    return [
        (
            i.opportunity_id or (i.customer and i.customer.customer_id),
            i.urgency,
            rendered(i.reason, lang),
        )
        for i in reminders.today
    ]


def test_an_opportunity_past_its_due_date_is_overdue() -> None:
    ups, listed = _cadence(
        _at("D", dt.date(2026, 11, 20)), activities=(act(date=dt.date(2026, 11, 10)),)
    )
    # due 14 days after the later of the last contact and the stage entry
    due = dt.date(2026, 12, 4)
    assert ups == {"JH001": FollowUp(dt.date(2026, 11, 10), due, 0, 10, None, 14)}
    assert listed == []
    ups, listed = _cadence(
        _at("C", dt.date(2026, 11, 1)), activities=(act(date=dt.date(2026, 11, 20)),)
    )
    assert (ups["JH001"].due, ups["JH001"].overdue) == (dt.date(2026, 11, 27), 3)
    assert listed == [("JH001", "overdue", "逾期 3 天未联系: 今天联系")]


def test_a_contact_due_today() -> None:
    _, listed = _cadence(
        _at("A", dt.date(2026, 11, 20)), activities=(act(date=dt.date(2026, 11, 27)),)
    )
    assert listed == [("JH001", "due", "今天应联系")]


def test_stalled_over_the_plan_or_past_the_planned_advance() -> None:
    _, listed = _cadence(
        _at("D", dt.date(2026, 11, 1)), activities=(act(date=dt.date(2026, 11, 29)),)
    )
    assert listed == [
        ("JH001", "stalled", "在 D 停留 29 天 (计划 14 天): 核实需求, 约到有影响力的人")
    ]
    _, listed = _cadence(
        _at("D", dt.date(2026, 11, 25), planned_advance=dt.date(2026, 11, 28)),
        cfg=settings(general={"language": "en"}),
    )
    assert listed == [
        ("JH001", "stalled", "planned advance 2026-11-28 has passed: move it or re-plan")
    ]


def test_won_customers_get_a_monthly_revisit_and_an_upsell_prompt() -> None:
    won = _at("成交", dt.date(2026, 8, 1), signed="是")
    ups, listed = _cadence(won, activities=(act(date=dt.date(2026, 10, 20)),))
    assert ups["JH001"].overdue == 11
    assert listed == [
        ("JH001", "overdue", "回访逾期 11 天: 今天致电"),
        ("JH001", "upsell", "成交 121 天: 挖掘二次需求, 适时二次营销"),
    ]
    # another open opportunity on the customer: that is the second sale already
    again = _at("D", dt.date(2026, 11, 25), opportunity_id="JH002")
    _, listed = _cadence(won, again, activities=(act(date=dt.date(2026, 10, 31)),))
    assert listed == [("JH001", "due", "每月回访: 今天致电回访, 及时解决问题")]


def test_lost_and_unclassified_opportunities_have_no_follow_up() -> None:
    ups, listed = _cadence(
        _at("丢单", dt.date(2026, 9, 1), lost_reason="预算"),
        opp(opportunity_id="JH002", stage=None),
    )
    assert (ups, listed) == ({}, [])


def _days(today: str, **customer: Any) -> list[tuple[Any, ...]]:
    pool = [{"customer_id": "KH001", "name": "甲", "region": "华东", "owner": "张三", **customer}]
    won = _at("成交", dt.date(2026, 11, 1), signed="是")
    ctx = context_of(book_of(pool=pool, opportunities=[won]), pool_log=SEEN, today=today)
    d = decide(ctx)
    return [
        (i.days_ahead, rendered(i.reason, ctx.lang))
        for i in d.reminders.today
        if i.urgency == "important-day"
    ]


def test_important_days_of_won_customers_within_the_lookahead() -> None:
    assert _days("2026-11-30", contact="王总", contact_birthday="12月3日", anniversary="12-20") == [
        (3, "12-03 王总生日: 发短信或致电问候")
    ]
    assert _days("2026-09-28", anniversary="9月30日") == [
        (2, "09-30 厂庆日: 发短信或致电问候"),
        (3, "10-01 国庆节: 发短信或致电问候"),
    ]


def test_a_customer_without_a_won_opportunity_gets_no_greetings() -> None:
    pool = [
        {"customer_id": "KH001", "region": "华东", "owner": "张三", "contact_birthday": "12月1日"}
    ]
    ctx = context_of(book_of(pool=pool, opportunities=[_at("A", TODAY)]), pool_log=SEEN)
    assert [i.urgency for i in decide(ctx).reminders.today] == []
    assert decide(ctx).counts["important_days"] == 0
