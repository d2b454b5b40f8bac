"""Reminders: contact cadence, overdue and stalled opportunities, won customers' care (SPEC §4).

The cadence itself (due dates, overdue days, days in stage, stalled) is rules/cadence.py and the
important days rules/occasions.py, which the report calls too; this module turns their verdicts
into the 提醒 notes and the Today items."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from operator import attrgetter

from funnel_sync.model import Customer, Opportunity, Stage
from funnel_sync.rules.cadence import FollowUp, follow_up_rule
from funnel_sync.rules.context import Context
from funnel_sync.rules.decisions import Cadence, PoolDecisions, Reminders, StageDecisions, TodayItem
from funnel_sync.rules.occasions import customer_days, what
from funnel_sync.schema import OPPORTUNITIES, POOL
from funnel_sync.texts import Said, say

OPPS, CUSTOMERS = OPPORTUNITIES.key, POOL.key

DUE = say("reminder.contact_due")
REVISIT = say("reminder.revisit_due")
#: What the seed prescribes to move an opportunity of each open class to the next.
ADVICE = {
    Stage.D: say("reminder.advice.d"),
    Stage.C: say("reminder.advice.c"),
    Stage.B: say("reminder.advice.b"),
    Stage.A: say("reminder.advice.a"),
}


def contact_cadence(ctx: Context, stages: StageDecisions) -> Cadence:
    """The follow-up of every opportunity counted at an open or won class (rules/cadence.py:
    the report lists the same), and the notes and Today items it calls for."""
    follow_up = follow_up_rule(ctx.cfg, ctx.days)
    today = ctx.today
    confirmed, entered_on, customer_of = stages.confirmed, stages.entered, ctx.customers.get
    follow_ups: dict[str, FollowUp] = {}
    notes: dict[tuple[str, int], list[Said]] = {}
    items: list[TodayItem] = []
    counts: Counter[str] = Counter()
    overdue, stalled = 0, 0
    opps = ctx.opportunities
    ids = list(map(attrgetter("opportunity_id"), opps))
    columns = zip(opps, map(confirmed.get, ids), ctx.touches.last_contacts(opps), strict=True)
    for o, stage, last in columns:
        if stage is None or stage is Stage.LOST:
            continue
        oid, entered = o.opportunity_id, entered_on[o.opportunity_id]
        f = follow_up(stage, entered, last, o.planned_advance)
        follow_ups[oid] = f
        owner = o.owner or ""
        customer = customer_of(o.customer_id or "")
        if stage is Stage.WON:
            _won(ctx, stages, o, customer, f, entered, notes, items, counts)
            continue
        row_notes: list[Said] = []
        late = f.overdue
        if late:
            note = say("reminder.contact_overdue", days=late)
            row_notes.append(note)
            items.append(TodayItem(owner, stage, "overdue", late, customer, oid, note))
            overdue += 1
        elif f.due == today:
            row_notes.append(DUE)
            items.append(TodayItem(owner, stage, "due", 0, customer, oid, DUE))
        if f.stall is not None:
            if f.stall == "over-target":
                note = say(
                    "reminder.stalled",
                    stage=stage.code,
                    days=f.in_stage,
                    target=f.target,
                    advice=ADVICE[stage],
                )
            else:
                note = say("reminder.plan_passed", day=o.planned_advance)
            row_notes.append(note)
            items.append(TodayItem(owner, stage, "stalled", 0, customer, oid, note))
            stalled += 1
        if row_notes:
            notes[(OPPS, o.source.row)] = row_notes
    counts.update(overdue=overdue, stalled=stalled)
    return Cadence(follow_ups, Reminders(notes, items, counts))


def _won(
    ctx: Context,
    stages: StageDecisions,
    o: Opportunity,
    customer: Customer | None,
    f: FollowUp,
    won_on: dt.date,
    notes: dict[tuple[str, int], list[Said]],
    items: list[TodayItem],
    counts: Counter[str],
) -> None:
    """A monthly revisit when it is due, and an upsell prompt a while after the win."""
    row_notes: list[Said] = []
    owner, oid = o.owner or "", o.opportunity_id
    if f.due <= ctx.today:
        note = say("reminder.revisit_overdue", days=f.overdue) if f.overdue else REVISIT
        row_notes.append(note)
        urgency = "overdue" if f.overdue else "due"
        items.append(TodayItem(owner, Stage.WON, urgency, f.overdue, customer, oid, note))
        counts["revisits"] += 1
    since = ctx.days.between(won_on, ctx.today)
    has_open = any(
        stages.confirmed.get(x.opportunity_id, Stage.LOST).is_open
        for x in ctx.by_customer.get(o.customer_id or "", ())
    )
    if since >= ctx.cfg.reminders.upsell_after_days and not has_open:
        note = say("reminder.upsell", days=since)
        row_notes.append(note)
        items.append(TodayItem(owner, Stage.WON, "upsell", 0, customer, oid, note))
        counts["upsells"] += 1
    if row_notes:
        notes[(OPPS, o.source.row)] = row_notes


def important_days(ctx: Context, stages: StageDecisions, pool: PoolDecisions) -> Reminders:
    """Birthdays, company anniversaries and public holidays ahead (rules/occasions.py), for
    won customers: a greeting for their owner."""
    ahead = ctx.cfg.reminders.lookahead_days
    holidays = ctx.days.holidays_within(ahead)
    last = ctx.today + dt.timedelta(days=ahead)
    confirmed = stages.confirmed.get
    notes: dict[tuple[str, int], list[Said]] = {}
    items: list[TodayItem] = []
    for cid, c in ctx.customers.items():
        if cid not in stages.won_customers:  # most customers: no won opportunity to look for
            continue
        won = [o for o in ctx.by_customer.get(cid, ()) if confirmed(o.opportunity_id) is Stage.WON]
        owner = pool.owners.get(cid) or won[0].owner or ""
        # named here, in the run's language (occasions.what, the report's too): two events
        # of one day are listed in the order of their names
        events = [(e.day, what(e, ctx.lang)) for e in customer_days(c, ctx.today, last)]
        events.extend(holidays)
        row_notes: list[Said] = []
        for day, name in sorted(events):
            note = say("reminder.important_day", day=day, what=name)
            row_notes.append(note)
            ahead_by = (day - ctx.today).days
            items.append(TodayItem(owner, Stage.WON, "important-day", 0, c, None, note, ahead_by))
        if row_notes:
            notes[(CUSTOMERS, c.source.row)] = row_notes
    return Reminders(notes, items, Counter(important_days=len(items)))
