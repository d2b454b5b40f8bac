"""What a rep's quota asks of the funnel: the layer sizes the remaining quota needs (through
the conversion rates and the average deal), the weighted pipeline's coverage of the quota, and
the thin-layer alerts (a layer below its phase goal or below the size it needs)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from funnel_sync.funnel.context import (
    Alert,
    LayerRates,
    LayerSizes,
    Pipeline,
    RegionScope,
    RepScope,
    Scope,
    TeamScope,
)
from funnel_sync.funnel.measures import Measures, _t
from funnel_sync.funnel.plain import _maybe, _num
from funnel_sync.funnel.roadmap import (
    PHASE_LABELS,
    layer_counts,
    phase_settings,
    rep_phase,
    scorecard,
)
from funnel_sync.funnel.tables import Tables, _rates
from funnel_sync.model import Rep, Stage
from funnel_sync.read import Book

# What the seed prescribes when a layer is thin: work the layer above it.
ACTIONS = {
    Stage.D: ("从公共资源库领取客户, 补充 D 层", "claim customers from the pool to refill D"),
    Stage.C: ("推进 D 层: 核实需求, 约到关键人", "work layer D: verify needs, reach influencers"),
    Stage.B: ("推进 C 层: 推动报价", "work layer C: get to a quote"),
    Stage.A: ("推进 B 层: 明确决策和预算, 发送合同", "work layer B: decision, budget, contract"),
    Stage.WON: ("推进 A 层: 跟进合同和回款", "work layer A: chase contracts and payment"),
}


def rep_scope(m: Measures, rep: Rep, scope: Scope, tb: Tables, team_tb: Tables) -> RepScope:
    """The rep's scope with the rep's own figures: phase, quota, the layer sizes the
    remaining quota needs, coverage, the thin-layer alerts and the scorecard."""
    cfg, lang = m.cfg, m.lang
    phase = rep_phase(rep, cfg, m.today)
    phase_label = _t(lang, PHASE_LABELS[phase])
    settings = phase_settings(cfg, phase)
    quota = _num(rep.annual_quota) if rep.annual_quota else 0.0
    enough = scope.moves >= cfg.report.min_history
    rates = _rates(tb, rep.name) if enough else _rates(team_tb, "team")
    if enough:  # the rep's own rate where the rep has one, else the team's
        team_rates = _rates(team_tb, "team")
        rates = {s: r if r is not None else team_rates[s] for s, r in rates.items()}
    avg_won = _maybe(tb.won_avg.get(rep.name), 2) if enough else None
    if avg_won is None or avg_won <= 0:
        avg_won = _maybe(team_tb.won_avg.get("team"), 2)
    if avg_won is None or avg_won <= 0:
        open_amounts = m.f.opps.loc[m.f.opps["open"], "amount"]
        avg_won = _maybe(open_amounts.mean(), 2)
    remaining = max(0.0, quota - scope.won_ytd)
    needed: dict[str, int | None] = dict.fromkeys(("A", "B", "C", "D"))
    deals: float | None = None
    if quota > 0 and avg_won:
        deals = remaining / avg_won
        chain: float | None = deals
        for s in (Stage.A, Stage.B, Stage.C, Stage.D):
            r = rates[s.key]
            if chain is None or not r:
                chain = None
            else:
                chain = chain / r
                needed[s.key] = math.ceil(chain - 1e-9)
    coverage = scope.open.weighted / quota if quota else None
    target = settings.get("pipeline_coverage_pct")
    pipeline = Pipeline(
        weighted=scope.open.weighted,
        open_amount=scope.open.amount,
        quota=quota,
        won_ytd=scope.won_ytd,
        coverage=None if coverage is None else round(coverage, 4),
        coverage_pct=None if coverage is None else round(100 * coverage, 1),
        target_pct=target,
        met=None if target is None or coverage is None else 100 * coverage >= target,
    )
    sizes = LayerSizes(**needed)
    return RepScope.of(
        scope,
        rates_from="own" if enough else "team",
        pipeline=pipeline,
        alerts=_alerts(m, rep, scope, settings, sizes, round(remaining, 2)),
        phase=phase,
        phase_label=phase_label,
        regions="*" if rep.all_regions else ",".join(sorted(rep.regions)),
        email=rep.email,
        quota=quota,
        remaining=round(remaining, 2),
        avg_won=avg_won,
        deals_needed=None if deals is None else math.ceil(deals - 1e-9),
        needed=sizes,
        needed_rates=LayerRates(
            **{s: None if r is None else round(r, 4) for s, r in rates.items()}
        ),
        scorecard=scorecard(m, rep, scope, phase_label, settings, tb, quota),
    )


def _alerts(
    m: Measures,
    rep: Rep,
    scope: Scope,
    settings: Mapping[str, Any],
    needed: LayerSizes,
    remaining: float,
) -> tuple[Alert, ...]:
    """The layers below their phase goal, then those below the size the quota needs."""
    counts = layer_counts(scope)
    alerts: list[Alert] = []
    for goal in settings.get("goals", []):
        stage = Stage.from_key(goal["class"])
        have = sum(n for s, n in counts.items() if s >= stage)
        if have < goal["at_least"]:
            layer = (
                stage.code
                if stage is Stage.WON
                else m.t("{c} 层及以上", "{c} or better", c=stage.code)
            )
            message = m.t(
                "{layer}只有 {n} 个, 目标 ≥ {goal} ({label}): 补充",
                "{layer}: only {n}, goal ≥ {goal} ({label}): replenish",
                layer=layer if m.lang == "en" else layer + " ",
                n=have,
                goal=goal["at_least"],
                label=goal["label"],
            )
            alerts.append(_alert(m, rep, stage, "goal", have, goal["at_least"], message))
    for key in ("A", "B", "C", "D"):
        need = needed[key]
        stage = Stage.from_key(key)
        if need is not None and counts[stage] < need:
            message = m.t(
                "{c} 层只有 {n} 个, 需要 ≈ {need} 个 (到年底还需成交 {money}): 补充",
                "layer {c}: only {n}, needs ≈ {need} (to close {money} by year end): replenish",
                c=key,
                n=counts[stage],
                need=need,
                money=m.money(remaining),
            )
            alerts.append(_alert(m, rep, stage, "needed", counts[stage], need, message))
    return tuple(alerts)


def _alert(
    m: Measures, rep: Rep, stage: Stage, kind: str, have: int, want: int, message: str
) -> Alert:
    return Alert(
        rep=rep.name,
        layer=stage.code,
        kind=kind,
        kind_label=m.t("阶段目标", "phase goal")
        if kind == "goal"
        else m.t("定额所需", "quota needs"),
        count=have,
        target=want,
        gap=want - have,
        message=message,
        action=_t(m.lang, ACTIONS[stage]),
    )


def team_totals(
    team: Scope, regions: Iterable[Scope], reps: Sequence[RepScope], book: Book
) -> tuple[TeamScope, list[RegionScope]]:
    """The team's and the regions' views: the team's quota and coverage from its reps, and
    the alerts of the reps of each (a rep covering every region counts for the team only)."""
    quota = sum(r.quota for r in reps)
    coverage = team.open.weighted / quota if quota else None
    pipeline = Pipeline(
        weighted=team.open.weighted,
        open_amount=team.open.amount,
        quota=quota,
        won_ytd=team.won_ytd,
        coverage=None if coverage is None else round(coverage, 4),
        coverage_pct=None if coverage is None else round(100 * coverage, 1),
        target_pct=None,
        met=None,
        reps_met=sum(1 for r in reps if r.pipeline.met),
        reps_with_target=sum(1 for r in reps if r.pipeline.met is not None),
    )
    team_scope = TeamScope.of(
        team, quota=quota, pipeline=pipeline, alerts=tuple(a for r in reps for a in r.alerts)
    )
    covers = {r.name: (r.all_regions, r.regions) for r in book.reps}
    region_scopes = []
    for region in regions:
        members = [
            r
            for r in reps
            if (lambda c: c is not None and not c[0] and region.name in c[1])(covers.get(r.name))
        ]
        region_scopes.append(
            RegionScope.of(
                region,
                reps=tuple(r.name for r in members),
                alerts=tuple(a for r in members for a in r.alerts),
            )
        )
    return team_scope, region_scopes
