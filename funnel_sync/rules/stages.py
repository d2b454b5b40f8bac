"""Classification and stage moves: adopt, accept with evidence, reject and log (SPEC §4)."""

from __future__ import annotations

from funnel_sync.checks import judge_move
from funnel_sync.logs import STAGE_RESULTS, label
from funnel_sync.model import Opportunity, Stage
from funnel_sync.problems import CATALOGUE
from funnel_sync.rules import Context, Outcome
from funnel_sync.schema import OPPORTUNITIES

KEY = OPPORTUNITIES.key


def stage_moves(ctx: Context, out: Outcome) -> None:
    """Each opportunity counts at its last confirmed class; a typed change moves it only when
    the evidence is there. The first sight of an opportunity adopts what the team typed, unless
    that breaks a rule too (丢单 without a reason): then it counts nowhere until fixed."""
    for o in ctx.opportunities:
        confirmed, entered = o.confirmed_stage, o.stage_entered_on
        typed = o.stage
        if typed is not None and typed is not confirmed:
            verdict = judge_move(o, ctx.cfg)
            if verdict is None or CATALOGUE[verdict[0]].severity != "error":
                if confirmed is None:
                    _log(ctx, out, o, None, typed, "adopted", _adopt_reason(ctx))
                    out.counts["adopted"] += 1
                    entered = entered or ctx.today
                else:
                    _log(ctx, out, o, confirmed, typed, "accepted", _why(ctx, o, confirmed))
                    out.counts["moves_accepted"] += 1
                    entered = ctx.today
                confirmed = typed
            else:
                out.counts["moves_rejected"] += 1
                # logged once per attempt, so a re-sync (or the next night) does not repeat it
                if ctx.stage_state.last_rejected.get(o.opportunity_id) != typed.code:
                    code, params = verdict
                    message = ctx.problem(OPPORTUNITIES, o.source.row, "stage", code, **params)
                    _log(ctx, out, o, confirmed, typed, "rejected", message.message)
        row = o.source.row
        if confirmed is None:  # blank, unreadable or refused on first sight: not in the funnel
            out.cells[(KEY, "confirmed_stage")][row] = None
            out.cells[(KEY, "stage_entered_on")][row] = None
            continue
        out.confirmed[o.opportunity_id] = confirmed
        out.entered[o.opportunity_id] = entered or ctx.today
        out.cells[(KEY, "confirmed_stage")][row] = confirmed.code
        out.cells[(KEY, "stage_entered_on")][row] = entered or ctx.today


def _log(
    ctx: Context,
    out: Outcome,
    o: Opportunity,
    frm: Stage | None,
    to: Stage,
    result: str,
    reason: str,
) -> None:
    out.stage_log.append(
        [
            ctx.stamp(),
            o.opportunity_id,
            frm.code if frm is not None else "",
            to.code,
            label(STAGE_RESULTS, result, ctx.lang),
            reason,
            o.owner or "",
        ]
    )


def _adopt_reason(ctx: Context) -> str:
    if ctx.first_sync:
        return ctx.text("首次同步: 按现状接收", "first sync: adopted as found")
    return ctx.text("新机会: 按填写的分类接收", "new opportunity: adopted as typed")


def _why(ctx: Context, o: Opportunity, frm: Stage) -> str:
    to = o.stage
    assert to is not None
    if to is Stage.LOST:
        return ctx.text("丢单: {r}", "lost: {r}", r=o.lost_reason or "")
    if frm is Stage.WON:
        return ctx.text("成交退回 A: {n}", "won back to A: {n}", n=o.notes or "")
    if frm is Stage.LOST:
        return ctx.text("重新打开, 证据齐全", "reopened with evidence")
    if to < frm:
        return ctx.text("退回 {to}", "moved back to {to}", to=to.code)
    return ctx.text("证据齐全", "evidence present")
