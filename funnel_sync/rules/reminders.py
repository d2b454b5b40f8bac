"""Reminders: contact cadence, overdue and stalled opportunities, won customers' care (SPEC §4)."""

from __future__ import annotations

import datetime as dt
from operator import attrgetter

from funnel_sync.model import Customer, Opportunity, Stage
from funnel_sync.rules import Context, Outcome, TodayItem, won_customers
from funnel_sync.rules.cadence import follow_up_rule
from funnel_sync.rules.occasions import customer_days, what
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
    """last_contact, next_contact_due, overdue_days, days_in_stage (rules/cadence.py: the
    report lists the same), and the reminder texts and Today items they call for."""
    follow_up = follow_up_rule(ctx.cfg, ctx.days)
    advice = {stage: zh if ctx.lang == "zh" else en for stage, (zh, en) in ADVICE.items()}
    today = ctx.today
    in_stage_cells = out.cells[(OPPS, "days_in_stage")]
    last_cells = out.cells[(OPPS, "last_contact")]
    due_cells = out.cells[(OPPS, "next_contact_due")]
    overdue_cells = out.cells[(OPPS, "overdue_days")]
    entered_on = out.entered
    customer_of, today_list, reminders = ctx.customers.get, out.today, out.reminders
    due_text = ctx.text("今天应联系", "contact due today")
    overdue_note = ctx.template("逾期 {n} 天未联系: 今天联系", "{n} days overdue: contact today")
    stalled_note = ctx.template(
        "在 {s} 停留 {n} 天 (计划 {t} 天): {a}", "{n} days in {s} (plan {t}): {a}"
    )
    passed_note = ctx.template(
        "计划进阶日 {d} 已过: 推进或更新计划", "planned advance {d} has passed: move it or re-plan"
    )
    overdue, stalled = 0, 0
    opps = ctx.opportunities
    ids = list(map(attrgetter("opportunity_id"), opps))
    columns = zip(opps, map(out.confirmed.get, ids), ctx.touches.last_contacts(opps), strict=True)
    for o, stage, last in columns:
        row = o.source.row
        if stage is None or stage is Stage.LOST:
            in_stage_cells[row] = last_cells[row] = due_cells[row] = overdue_cells[row] = None
            continue
        entered = entered_on[o.opportunity_id]
        f = follow_up(stage, entered, last, o.planned_advance)
        late = f.overdue
        in_stage_cells[row] = f.in_stage
        last_cells[row] = last
        due_cells[row] = f.due
        overdue_cells[row] = late or None
        owner = o.owner or ""
        customer = customer_of(o.customer_id or "")
        if stage is Stage.WON:
            _won(ctx, out, o, customer, f.due, late, entered)
            continue
        notes: list[str] = []  # joined to the row's other reminders only if any
        if late:
            text = overdue_note(n=late)
            notes.append(text)
            today_list.append(
                TodayItem(owner, stage, "overdue", late, customer, o.opportunity_id, text)
            )
            overdue += 1
        elif f.due == today:
            notes.append(due_text)
            today_list.append(
                TodayItem(owner, stage, "due", 0, customer, o.opportunity_id, due_text)
            )
        if f.stall is not None:
            if f.stall == "over-target":
                text = stalled_note(s=stage.code, n=f.in_stage, t=f.target, a=advice[stage])
            else:
                assert o.planned_advance is not None
                text = passed_note(d=o.planned_advance.isoformat())
            notes.append(text)
            today_list.append(
                TodayItem(owner, stage, "stalled", 0, customer, o.opportunity_id, text)
            )
            stalled += 1
        if notes:
            reminders[(OPPS, row)].extend(notes)
    for key, n in (("overdue", overdue), ("stalled", stalled)):
        if n:
            out.counts[key] += n


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
    last = ctx.today + dt.timedelta(days=ahead)
    confirmed, with_won = out.confirmed.get, won_customers(ctx, out)
    for cid, c in ctx.customers.items():
        if cid not in with_won:  # most customers: no won opportunity to look for
            continue
        won = [o for o in ctx.by_customer.get(cid, ()) if confirmed(o.opportunity_id) is Stage.WON]
        owner = out.owners.get(cid) or won[0].owner or ""
        events = [(e.day, what(e, ctx.lang)) for e in customer_days(c, ctx.today, last)]
        events.extend(holidays)
        for day, text_of_day in sorted(events):
            text = ctx.text(
                "{d} {w}: 发短信或致电问候",
                "{d} {w}: send greetings",
                d=day.strftime("%m-%d"),
                w=text_of_day,
            )
            out.reminders[(CUSTOMERS, c.source.row)].append(text)
            out.today.append(
                TodayItem(
                    owner, Stage.WON, "important-day", 0, c, None, text, (day - ctx.today).days
                )
            )
            out.counts["important_days"] += 1
