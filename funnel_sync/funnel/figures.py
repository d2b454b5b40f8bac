"""One scope of the snapshot (the team, a region or a rep) assembled from its aggregates: the
funnel's layers, the week's flow, conversion, days in stage, planned dates, the trend, the pool
activity and the lists."""

from __future__ import annotations

from typing import Any

from funnel_sync.funnel.context import FLOW_STAGES, LAYER_KEYS, OPEN_STAGES
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


def scope(m: Measures, kind: str, name: str, tb: Tables, pool: int) -> dict[str, Any]:
    """One scope (the team, a region or a rep) as plain data: `pool` is its pool reserve."""
    k = name if kind != "team" else "team"
    layers: list[dict[str, Any]] = []
    maximum = max([pool, *(int(tb.counts.get((k, int(s)), 0)) for s in FLOW_STAGES)], default=0)
    for key in LAYER_KEYS:
        if key == "pool":
            count, amount, weighted = pool, None, None
        else:
            c = int(Stage.from_key(key))
            count = _int(tb.counts.get((k, c), 0))
            amount = round(_num(tb.amounts.get((k, c), 0)), 2)
            weighted = round(_num(tb.weighted.get((k, c), 0)), 2)
        layers.append(
            {
                "key": key,
                "code": "储备" if key == "pool" and m.lang == "zh" else key,
                "label": _t(m.lang, LAYER_LABELS[key]),
                "count": count,
                "amount": amount,
                "weighted": weighted,
                "width": round(100 * count / maximum, 1) if maximum else 0.0,
            }
        )
    for layer in layers:
        if layer["key"] == "won":
            layer["code"] = Stage.WON.code if m.lang == "zh" else "won"
    open_layers = [x for x in layers if x["key"] in ("D", "C", "B", "A")]
    flow = []
    for s in FLOW_STAGES:
        row: dict[str, Any] = {"key": s.key, "code": s.code, "label": _label(m, s)}
        for metric in ("entered", "advanced", "fell_back", "lost"):
            now = _int(tb.flow[metric].get((k, int(s)), 0))
            before = _int(tb.flow_prev[metric].get((k, int(s)), 0))
            row[metric] = now
            row[f"{metric}_prev"] = before
            row[f"{metric}_delta"] = now - before
        flow.append(row)
    rates = _rates(tb, k)
    conversion = []
    for s in OPEN_STAGES:
        rate = rates[s.key]
        conversion.append(
            {
                "from": s.code,
                "to": Stage(int(s) + 1).code,
                "advanced": _int(tb.rates["advanced"].get((k, int(s)), 0)),
                "lost": _int(tb.rates["lost"].get((k, int(s)), 0)),
                "rate": rate,
                "rate_pct": None if rate is None else round(100 * rate, 1),
            }
        )
    days = [
        {
            "key": s.key,
            "code": s.code,
            "label": _label(m, s),
            "target": m.target.get(int(s)),
            "avg_current": _maybe(tb.days_now.get((k, int(s)))),
            "avg_done": _maybe(tb.days_done.get((k, int(s)))),
            "done": _int(tb.done_n.get((k, int(s)), 0)),
            "stalled": _int(tb.stalled_n.get((k, int(s)), 0)),
        }
        for s in OPEN_STAGES
    ]
    plan = [
        {
            "key": s.key,
            "code": s.code,
            "count": _int(tb.counts.get((k, int(s)), 0)),
            **{m: _int(tb.plans[m].get((k, int(s)), 0)) for m in tb.plans},
            "avg_days_late": _maybe(tb.late.get((k, int(s)))),
        }
        for s in OPEN_STAGES
    ]
    trend: list[dict[str, Any]] = []
    for w, per in m.trend_weeks:
        trend.append(
            {
                "label": f"W{per.week:02d}",
                "start": per.start,
                "end": per.end,
                **{what: _num(tb.trend[what].get((k, w), 0)) for what in tb.trend},
            }
        )
    for week in trend:
        for what in ("new", "advanced", "won", "lost"):
            week[what] = int(week[what])
    weighted_open = round(sum(x["weighted"] for x in open_layers), 2)
    pool_counts = {
        a: _int(tb.pool_n.get((k, a), 0))
        for a in ("claim", "release", "recycle", "claim-rejected", "transfer", "revert")
    }
    totals, items = tb.lists["pool"]
    rej_totals, rej_items = tb.lists["rejected"]
    out: dict[str, Any] = {
        "kind": kind,
        "name": name if kind != "team" else m.t("全团队", "whole team"),
        "funnel": {x["key"]: x for x in layers},
        "layers": layers,
        "open": {
            "count": sum(x["count"] for x in open_layers),
            "amount": round(sum(x["amount"] for x in open_layers), 2),
            "weighted": weighted_open,
        },
        "flow": flow,
        "conversion": conversion,
        "rates_from": "own",
        "moves": _int(tb.moves.get(k, 0)),
        "days": days,
        "plan": plan,
        "trend": trend,
        "won_ytd": round(_num(tb.won_ytd.get(k, 0)), 2),
        "won_qtd": round(_num(tb.won_qtd.get(k, 0)), 2),
        "pool_activity": {
            "claims": pool_counts["claim"],
            "releases": pool_counts["release"],
            "recycles": pool_counts["recycle"],
            "claims_rejected": pool_counts["claim-rejected"],
            "transfers": pool_counts["transfer"],
            "reverts": pool_counts["revert"],
            "total": totals.get(k, 0),
            "items": items.get(k, []),
        },
        "rejected_moves": {"total": rej_totals.get(k, 0), "items": rej_items.get(k, [])},
    }
    for name_ in ("stalled", "overdue", "days"):
        t_, i_ = tb.lists[name_]
        out["important_days" if name_ == "days" else name_] = {
            "total": t_.get(k, 0),
            "items": i_.get(k, []),
        }
    return out


def _label(m: Measures, s: Stage) -> str:
    return _t(m.lang, LAYER_LABELS[s.key])
