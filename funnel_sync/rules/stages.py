"""Classification and stage moves: adopt, accept with evidence, reject and log (SPEC §4)."""

from __future__ import annotations

from funnel_sync.checks import judge_move
from funnel_sync.logs import STAGE_RESULTS, label
from funnel_sync.model import Opportunity, Stage
from funnel_sync.rules import Context, Outcome
from funnel_sync.schema import OPPORTUNITIES

KEY = OPPORTUNITIES.key


def stage_moves(ctx: Context, out: Outcome) -> None:
    """Each opportunity counts at its last confirmed class; a typed change moves it only when
    the evidence is there. The first sight of an opportunity adopts what the team typed."""
    for o in ctx.opportunities:
        confirmed, entered = o.confirmed_stage, o.stage_entered_on
        if confirmed is None:
            if o.stage is None:
                continue  # unreadable or blank class: reported by the reader
            confirmed, entered = o.stage, entered or ctx.today
            _log(ctx, out, o, None, o.stage, "adopted", _adopt_reason(ctx))
            out.counts["adopted"] += 1
        elif o.stage is not None and o.stage is not confirmed:
            verdict = judge_move(o, ctx.cfg)
            if verdict is None:
                _log(ctx, out, o, confirmed, o.stage, "accepted", _why(ctx, o, confirmed))
                confirmed, entered = o.stage, ctx.today
                out.counts["moves_accepted"] += 1
            else:
                out.counts["moves_rejected"] += 1
                # logged once per attempt, so a re-sync (or the next night) does not repeat it
                if ctx.stage_state.last_rejected.get(o.opportunity_id) != o.stage.code:
                    code, params = verdict
                    message = ctx.problem(OPPORTUNITIES, o.source.row, "stage", code, **params)
                    _log(ctx, out, o, confirmed, o.stage, "rejected", message.message)
        out.confirmed[o.opportunity_id] = confirmed
        out.entered[o.opportunity_id] = entered or ctx.today
        row = o.source.row
        out.cells[(KEY, row, "confirmed_stage")] = confirmed.code
        out.cells[(KEY, row, "stage_entered_on")] = entered or ctx.today


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
            frm.code if frm else "",
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
