"""Classification and stage moves: adopt, accept with evidence, reject and log (SPEC §4)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from funnel_sync.checks import judge_move
from funnel_sync.model import Opportunity, Stage
from funnel_sync.problems import CATALOGUE
from funnel_sync.rules.context import Context
from funnel_sync.rules.decisions import StageDecisions, StageEntry
from funnel_sync.schema import OPPORTUNITIES
from funnel_sync.texts import Said, say


def stage_moves(ctx: Context) -> StageDecisions:
    """Each opportunity counts at its last confirmed class; a typed change moves it only when
    the evidence is there. The first sight of an opportunity adopts what the team typed, unless
    that breaks a rule too (丢单 without a reason): then it counts nowhere until fixed."""
    counted: dict[str, Stage] = {}
    entered_on: dict[str, dt.date] = {}
    won: set[str] = set()
    log: list[StageEntry] = []
    counts: Counter[str] = Counter()
    adopted = say("log.reason.first_sync" if ctx.first_sync else "log.reason.new_opportunity")
    for o in ctx.opportunities:
        confirmed, entered = o.confirmed_stage, o.stage_entered_on
        typed, oid = o.stage, o.opportunity_id
        if typed is not None and typed is not confirmed:
            verdict = judge_move(o, ctx.cfg)
            if verdict is None or CATALOGUE[verdict[0]].severity != "error":
                if confirmed is None:
                    log.append(StageEntry(oid, None, typed, "adopted", adopted, o.owner or ""))
                    counts["adopted"] += 1
                    entered = entered or ctx.today
                else:
                    why = _why(o, confirmed, typed)
                    log.append(StageEntry(oid, confirmed, typed, "accepted", why, o.owner or ""))
                    counts["moves_accepted"] += 1
                    entered = ctx.today
                confirmed = typed
            else:
                counts["moves_rejected"] += 1
                # logged once per attempt, so a re-sync (or the next night) does not repeat it
                if ctx.stage_state.last_rejected.get(oid) != typed.code:
                    code, params = verdict
                    message = ctx.problem(OPPORTUNITIES, o.source.row, "stage", code, **params)
                    log.append(
                        StageEntry(
                            oid, confirmed, typed, "rejected", message.message, o.owner or ""
                        )
                    )
        if confirmed is None:  # blank, unreadable or refused on first sight: not in the funnel
            continue
        counted[oid] = confirmed
        entered_on[oid] = entered or ctx.today
        if confirmed is Stage.WON and o.customer_id:
            won.add(o.customer_id)
    return StageDecisions(counted, entered_on, frozenset(won), log, counts)


def _why(o: Opportunity, frm: Stage, to: Stage) -> Said:
    if to is Stage.LOST:
        return say("log.reason.lost", reason=o.lost_reason or "")
    if frm is Stage.WON:
        return say("log.reason.won_back", notes=o.notes or "")
    if frm is Stage.LOST:
        return say("log.reason.reopened")
    if to < frm:
        return say("log.reason.moved_back", to=to.code)
    return say("log.reason.evidence")
