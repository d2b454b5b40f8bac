"""One scope of the snapshot (the team, a region or a rep) assembled from its aggregates: the
funnel's layers, the week's flow, conversion, days in stage, planned dates, the trend, the pool
activity and the lists."""

from __future__ import annotations

from typing import Any

from funnel_sync.funnel.context import (
    FLOW_STAGES,
    LAYER_KEYS,
    OPEN_STAGES,
    Conversion,
    Flow,
    Funnel,
    Layer,
    Pipeline,
    Plan,
    PoolActivity,
    Scope,
    StageDays,
    Totals,
    TrendWeek,
)
from funnel_sync.funnel.measures import Measures, _t
from funnel_sync.funnel.plain import _int, _maybe, _num
from funnel_sync.funnel.tables import Tables, _rates
from funnel_sync.model import Stage

LAYER_LABELS = {
    "pool": ("储备客户", "Pool reserve"),
    "D": ("D 识别", "D general"),
    "C": ("C 目标", "C target"),
    "B": ("B 重点跟进", "B key follow-up"),
    "A": ("A 订单跟进", "A order follow-up"),
    "won": ("成交", "Won"),
}


def scope(m: Measures, kind: str, name: str, tb: Tables, pool: int) -> Scope:
    """One scope (the team, a region or a rep): `pool` is its pool reserve. Its pipeline has
    no quota and it has no alerts yet: a team's and a rep's are added from their reps' (see
    quota.py)."""
    k = name if kind != "team" else "team"
    layers = _layers(m, tb, k, pool)
    open_layers = [x for x in layers if x.key in ("D", "C", "B", "A")]
    totals = Totals(
        sum(x.count for x in open_layers),
        round(sum(x.amount for x in open_layers if x.amount is not None), 2),
        round(sum(x.weighted for x in open_layers if x.weighted is not None), 2),
    )
    won_ytd = round(_num(tb.won_ytd.get(k, 0)), 2)
    return Scope(
        kind=kind,
        name=name if kind != "team" else m.t("全团队", "whole team"),
        funnel=Funnel(*layers),
        layers=layers,
        open=totals,
        flow=tuple(_flow(m, tb, k, s) for s in FLOW_STAGES),
        conversion=_conversion(tb, k),
        rates_from="own",
        moves=_int(tb.moves.get(k, 0)),
        days=tuple(
            StageDays(
                s.key,
                s.code,
                _label(m, s),
                m.target.get(int(s)),
                _maybe(tb.days_now.get((k, int(s)))),
                _maybe(tb.days_done.get((k, int(s)))),
                _int(tb.done_n.get((k, int(s)), 0)),
                _int(tb.stalled_n.get((k, int(s)), 0)),
            )
            for s in OPEN_STAGES
        ),
        plan=tuple(
            Plan(
                s.key,
                s.code,
                _int(tb.counts.get((k, int(s)), 0)),
                **{what: _int(tb.plans[what].get((k, int(s)), 0)) for what in tb.plans},
                avg_days_late=_maybe(tb.late.get((k, int(s)))),
            )
            for s in OPEN_STAGES
        ),
        trend=tuple(
            TrendWeek(
                f"W{per.week:02d}",
                per.start,
                per.end,
                new=int(_num(tb.trend["new"].get((k, w), 0))),
                advanced=int(_num(tb.trend["advanced"].get((k, w), 0))),
                won=int(_num(tb.trend["won"].get((k, w), 0))),
                won_amount=_num(tb.trend["won_amount"].get((k, w), 0)),
                lost=int(_num(tb.trend["lost"].get((k, w), 0))),
            )
            for w, per in m.trend_weeks
        ),
        won_ytd=won_ytd,
        won_qtd=round(_num(tb.won_qtd.get(k, 0)), 2),
        pipeline=Pipeline(totals.weighted, totals.amount, None, won_ytd, None, None, None, None),
        alerts=(),
        pool_activity=_pool_activity(tb, k),
        rejected_moves=tb.rejected.listing(k),
        stalled=tb.stalled.listing(k),
        overdue=tb.overdue.listing(k),
        important_days=tb.days.listing(k),
    )


def _layers(m: Measures, tb: Tables, k: Any, pool: int) -> tuple[Layer, ...]:
    """The pool reserve and the classes D to 成交, each bar's width against the largest."""
    maximum = max([pool, *(int(tb.counts.get((k, int(s)), 0)) for s in FLOW_STAGES)], default=0)
    layers = []
    for key in LAYER_KEYS:
        amount: float | None
        weighted: float | None
        if key == "pool":
            count, amount, weighted = pool, None, None
            code = "储备" if m.lang == "zh" else key
        else:
            c = int(Stage.from_key(key))
            count = _int(tb.counts.get((k, c), 0))
            amount = round(_num(tb.amounts.get((k, c), 0)), 2)
            weighted = round(_num(tb.weighted.get((k, c), 0)), 2)
            code = Stage.WON.code if key == "won" and m.lang == "zh" else key
        width = round(100 * count / maximum, 1) if maximum else 0.0
        layers.append(
            Layer(key, code, _t(m.lang, LAYER_LABELS[key]), count, amount, weighted, width)
        )
    return tuple(layers)


def _flow(m: Measures, tb: Tables, k: Any, s: Stage) -> Flow:
    """A layer's moves this week against last week's."""
    counts: dict[str, int] = {}
    for metric in ("entered", "advanced", "fell_back", "lost"):
        now = _int(tb.flow[metric].get((k, int(s)), 0))
        before = _int(tb.flow_prev[metric].get((k, int(s)), 0))
        counts[metric] = now
        counts[f"{metric}_prev"] = before
        counts[f"{metric}_delta"] = now - before
    return Flow(s.key, s.code, _label(m, s), **counts)


def _conversion(tb: Tables, k: Any) -> tuple[Conversion, ...]:
    rates = _rates(tb, k)
    out = []
    for s in OPEN_STAGES:
        rate = rates[s.key]
        out.append(
            Conversion(
                s.code,
                Stage(int(s) + 1).code,
                _int(tb.rates["advanced"].get((k, int(s)), 0)),
                _int(tb.rates["lost"].get((k, int(s)), 0)),
                rate,
                None if rate is None else round(100 * rate, 1),
            )
        )
    return tuple(out)


def _pool_activity(tb: Tables, k: Any) -> PoolActivity:
    """The week's pool log by action; the listed items are those needing a look."""
    n = {
        a: _int(tb.pool_n.get((k, a), 0))
        for a in ("claim", "release", "recycle", "claim-rejected", "transfer", "revert")
    }
    listed = tb.pool.listing(k)
    return PoolActivity(
        listed.total,
        listed.items,
        claims=n["claim"],
        releases=n["release"],
        recycles=n["recycle"],
        claims_rejected=n["claim-rejected"],
        transfers=n["transfer"],
        reverts=n["revert"],
    )


def _label(m: Measures, s: Stage) -> str:
    return _t(m.lang, LAYER_LABELS[s.key])
