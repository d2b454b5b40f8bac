"""Reminders: contact cadence, overdue and stalled opportunities, won customers' care (SPEC §4)."""

from __future__ import annotations

import datetime as dt

from funnel_sync.model import Customer, Opportunity, Stage
from funnel_sync.rules import Context, Outcome, TodayItem
from funnel_sync.schema import OPPORTUNITIES, POOL

OPPS, CUSTOMERS = OPPORTUNITIES.key, POOL.key

# What the seed prescribes to move an opportunity to the next layer.
ADVICE = {
    Stage.D: ("核实需求, 约到有影响力的人", "verify the need and reach someone of influence"),
    Stage.C: ("发送行业资讯和活动, 推动报价", "share industry news and offers; get to a quote"),
    Stage.B: (
        "明确决策流程和预算, 发送方案",
        "pin down decision makers and budget; send the proposal",
    ),
    Stage.A: ("跟进合同和回款", "chase the contract and the payment"),
}


def contact_cadence(ctx: Context, out: Outcome) -> None:
    """last_contact, next_contact_due, overdue_days, days_in_stage, and the reminder text."""
    # looked up once, not per opportunity (100k of them at the benchmark's largest size)
    cadences = {stage: ctx.cfg.cadence(stage) or 30 for stage in Stage}
    add, between, today, cells = ctx.days.add, ctx.days.between, ctx.today, out.cells
    for o in ctx.opportunities:
        stage = out.confirmed.get(o.opportunity_id)
        row = o.source.row
        if stage is None or stage is Stage.LOST:
            for f in ("days_in_stage", "last_contact", "next_contact_due", "overdue_days"):
                cells[(OPPS, row, f)] = None
            continue
        entered = out.entered[o.opportunity_id]
        last = _last_contact(ctx, o)
        due = add(max(last, entered) if last else entered, cadences[stage])
        overdue = max(0, between(due, today))
        in_stage = max(0, between(entered, today))
        cells[(OPPS, row, "days_in_stage")] = in_stage
        cells[(OPPS, row, "last_contact")] = last
        cells[(OPPS, row, "next_contact_due")] = due
        cells[(OPPS, row, "overdue_days")] = overdue or None
        owner = o.owner or ""
        customer = ctx.customers.get(o.customer_id or "")
        if stage is Stage.WON:
            _won(ctx, out, o, customer, due, overdue, entered)
            continue
        notes: list[str] = []  # joined to the row's other reminders only if any
        if overdue:
            text = ctx.text(
                "逾期 {n} 天未联系: 今天联系", "{n} days overdue: contact today", n=overdue
            )
            notes.append(text)
            out.today.append(
                TodayItem(owner, stage, "overdue", overdue, customer, o.opportunity_id, text)
            )
            out.counts["overdue"] += 1
        elif due == ctx.today:
            text = ctx.text("今天应联系", "contact due today")
            notes.append(text)
            out.today.append(TodayItem(owner, stage, "due", 0, customer, o.opportunity_id, text))
        target = ctx.cfg.stages.target_days.get(stage.key)
        zh, en = ADVICE[stage]
        if target is not None and in_stage > target:
            text = ctx.text(
                "在 {s} 停留 {n} 天 (计划 {t} 天): {a}",
                "{n} days in {s} (plan {t}): {a}",
                s=stage.code,
                n=in_stage,
                t=target,
                a=zh if ctx.lang == "zh" else en,
            )
            notes.append(text)
            out.today.append(
                TodayItem(owner, stage, "stalled", 0, customer, o.opportunity_id, text)
            )
            out.counts["stalled"] += 1
        elif o.planned_advance is not None and o.planned_advance < ctx.today:
            text = ctx.text(
                "计划进阶日 {d} 已过: 推进或更新计划",
                "planned advance {d} has passed: move it or re-plan",
                d=o.planned_advance.isoformat(),
            )
            notes.append(text)
            out.today.append(
                TodayItem(owner, stage, "stalled", 0, customer, o.opportunity_id, text)
            )
            out.counts["stalled"] += 1
        if notes:
            out.reminders[(OPPS, row)].extend(notes)


def _last_contact(ctx: Context, o: Opportunity) -> dt.date | None:
    own = ctx.last_touch.get(o.opportunity_id)
    shared = ctx.customer_any_touch.get(o.customer_id) if o.customer_id else None
    if own is None or shared is None:
        return own if shared is None else shared
    return max(own, shared)


def _won(
    ctx: Context,
    out: Outcome,
    o: Opportunity,
    customer: Customer | None,
    due: dt.date,
    overdue: int,
    won_on: dt.date,
) -> None:
    notes = out.reminders[(OPPS, o.source.row)]
    owner = o.owner or ""
    if due <= ctx.today:
        text = ctx.text("每月回访: 今天致电回访, 及时解决问题", "monthly revisit: call today")
        if overdue:
            text = ctx.text(
                "回访逾期 {n} 天: 今天致电", "revisit {n} days overdue: call today", n=overdue
            )
        notes.append(text)
        out.today.append(
            TodayItem(
                owner,
                Stage.WON,
                "overdue" if overdue else "due",
                overdue,
                customer,
                o.opportunity_id,
                text,
            )
        )
        out.counts["revisits"] += 1
    since = ctx.days.between(won_on, ctx.today)
    has_open = any(
        out.confirmed.get(x.opportunity_id, Stage.LOST).is_open
        for x in ctx.by_customer.get(o.customer_id or "", ())
    )
    if since >= ctx.cfg.reminders.upsell_after_days and not has_open:
        text = ctx.text(
            "成交 {n} 天: 挖掘二次需求, 适时二次营销",
            "won {n} days ago: look for a second sale",
            n=since,
        )
        notes.append(text)
        out.today.append(TodayItem(owner, Stage.WON, "upsell", 0, customer, o.opportunity_id, text))
        out.counts["upsells"] += 1


def important_days(ctx: Context, out: Outcome) -> None:
    """Birthdays, company anniversaries and public holidays ahead, for won customers."""
    ahead = ctx.cfg.reminders.lookahead_days
    holidays = ctx.days.holidays_within(ahead)
    for cid, c in ctx.customers.items():
        won = [
            o
            for o in ctx.by_customer.get(cid, ())
            if out.confirmed.get(o.opportunity_id) is Stage.WON
        ]
        if not won:
            continue
        owner = out.owners.get(cid) or won[0].owner or ""
        events: list[tuple[dt.date, str]] = []
        if c.contact_birthday is not None:
            day = c.contact_birthday.next_on_or_after(ctx.today)
            events.append(
                (
                    day,
                    ctx.text(
                        "{who}生日",
                        "{who}'s birthday",
                        who=c.contact or ctx.text("联系人", "contact"),
                    ),
                )
            )
        if c.anniversary is not None:
            day = c.anniversary.next_on_or_after(ctx.today)
            events.append((day, ctx.text("厂庆日", "company anniversary")))
        events.extend(holidays)
        for day, what in sorted(events):
            if (day - ctx.today).days > ahead:
                continue
            text = ctx.text(
                "{d} {w}: 发短信或致电问候",
                "{d} {w}: send greetings",
                d=day.strftime("%m-%d"),
                w=what,
            )
            out.reminders[(CUSTOMERS, c.source.row)].append(text)
            out.today.append(
                TodayItem(
                    owner, Stage.WON, "important-day", 0, c, None, text, (day - ctx.today).days
                )
            )
            out.counts["important_days"] += 1
