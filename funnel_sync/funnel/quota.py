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
from funnel_sync.funnel.measures import Measures
from funnel_sync.funnel.plain import _maybe, _num
from funnel_sync.funnel.roadmap import layer_counts, phase_settings, rep_phase, scorecard
from funnel_sync.funnel.tables import Tables, _rates
from funnel_sync.model import Rep, Stage
from funnel_sync.read import Book
from funnel_sync.texts import text


def rep_scope(m: Measures, rep: Rep, scope: Scope, tb: Tables, team_tb: Tables) -> RepScope:
    """The rep's scope with the rep's own figures: phase, quota, the layer sizes the
    remaining quota needs, coverage, the thin-layer alerts and the scorecard."""
    cfg, lang = m.cfg, m.lang
    phase = rep_phase(rep, cfg, m.today)
    phase_label = text(f"funnel.phase.{phase}", lang)
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
    pipeline = _pipeline(scope, quota, settings.get("pipeline_coverage_pct"))
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
                else text("funnel.alert.or_better", m.lang, c=stage.code)
            )
            message = text(
                "funnel.alert.goal",
                m.lang,
                layer=layer,
                n=have,
                goal=goal["at_least"],
                label=goal["label"],
            )
            alerts.append(_alert(m, rep, stage, "goal", have, goal["at_least"], message))
    for key in ("A", "B", "C", "D"):
        need = needed[key]
        stage = Stage.from_key(key)
        if need is not None and counts[stage] < need:
            message = text(
                "funnel.alert.needed",
                m.lang,
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
        kind_label=text(f"funnel.alert_kind.{kind}", m.lang),
        count=have,
        target=want,
        gap=want - have,
        message=message,
        # what the seed prescribes when a layer is thin: work the layer above it
        action=text(f"funnel.action.{stage.key.lower()}", m.lang),
    )


def _pipeline(
    scope: Scope,
    quota: float,
    target: float | None,
    *,
    reps_met: int | None = None,
    reps_with_target: int | None = None,
) -> Pipeline:
    """The weighted open pipeline of `scope` against `quota` and a coverage target (%)."""
    coverage = scope.open.weighted / quota if quota else None
    return Pipeline(
        weighted=scope.open.weighted,
        open_amount=scope.open.amount,
        quota=quota,
        won_ytd=scope.won_ytd,
        coverage=None if coverage is None else round(coverage, 4),
        coverage_pct=None if coverage is None else round(100 * coverage, 1),
        target_pct=target,
        met=None if target is None or coverage is None else 100 * coverage >= target,
        reps_met=reps_met,
        reps_with_target=reps_with_target,
    )


def team_totals(
    team: Scope, regions: Iterable[Scope], reps: Sequence[RepScope], book: Book
) -> tuple[TeamScope, list[RegionScope]]:
    """The team's and the regions' views: the team's quota and coverage from its reps, and
    the alerts of the reps of each (a rep covering every region counts for the team only)."""
    quota = sum(r.quota for r in reps)
    pipeline = _pipeline(
        team,
        quota,
        None,
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
