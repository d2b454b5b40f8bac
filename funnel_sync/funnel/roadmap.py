"""The success roadmap (成功路线图): a rep's phase by tenure, the phase's settings, and the
scorecard of the week's work standards and the phase goals."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from funnel_sync.config import PHASES, Config
from funnel_sync.funnel.context import FLOW_STAGES, Scope, Scorecard, ScorecardItem
from funnel_sync.funnel.plain import _num
from funnel_sync.model import Rep, Stage

if TYPE_CHECKING:
    from funnel_sync.funnel.measures import Measures
    from funnel_sync.funnel.tables import Tables

PHASE_LABELS = {
    "training": ("培训期", "training"),
    "months_0_3": ("定额 0–3 个月", "months 0–3"),
    "months_3_6": ("定额 3–6 个月", "months 3–6"),
    "months_6_9": ("定额 6–9 个月", "months 6–9"),
    "months_9_plus": ("定额 9 个月以上", "months 9+"),
}
# The weekly work standards: config key → (activity kind, measure, zh, en)
STANDARDS = {
    "profiles_per_week": (
        "资料收集",
        "count",
        "每周收集客户资料 (家)",
        "profiles collected / week",
    ),
    "prospecting_hours_per_week": (
        "寻找商机",
        "hours",
        "每周寻找商机 (小时)",
        "prospecting hours / week",
    ),
    "visit_hours_per_week": ("拜访", "hours", "每周拜访 (小时)", "visit hours / week"),
    "visits_per_week": ("拜访", "count", "每周拜访 (次)", "visits / week"),
}


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def rep_phase(rep: Rep, cfg: Config, today: dt.date) -> str:
    """The roadmap phase: training until 培训期结束 (or start + training_months), then by months
    counted from the end of training."""
    if rep.start_date is None and rep.training_end is None:
        return "months_9_plus"
    end = rep.training_end
    if end is None:
        assert rep.start_date is not None
        end = _add_months(rep.start_date, cfg.roadmap.training_months)
    if today < end:
        return "training"
    for months, phase in ((3, "months_0_3"), (6, "months_3_6"), (9, "months_6_9")):
        if today < _add_months(end, months):
            return phase
    return "months_9_plus"


def phase_settings(cfg: Config, phase: str) -> dict[str, Any]:
    assert phase in PHASES
    settings: dict[str, Any] = getattr(cfg.roadmap, phase)
    return settings


def layer_counts(scope: Scope) -> dict[Stage, int]:
    """The scope's count at each class D to 成交."""
    return {s: scope.funnel[s.key].count for s in FLOW_STAGES}


def scorecard(
    m: Measures,
    rep: Rep,
    scope: Scope,
    phase_label: str,
    settings: Mapping[str, Any],
    tb: Tables,
    quota: float,
) -> Scorecard:
    """The rep's roadmap scorecard: the week's work standards from 跟进记录 and the phase
    goals (layer counts, coverage, won this quarter and year against the quota), met or not."""
    items: list[ScorecardItem] = []

    def add(kind: str, label: str, target: float, actual: float, unit: str = "") -> None:
        kind_label = (
            m.t("每周工作标准", "weekly standard")
            if kind == "standard"
            else m.t("阶段目标", "phase goal")
        )
        items.append(
            ScorecardItem(
                rep.name,
                phase_label,
                kind,
                kind_label,
                label,
                target,
                round(actual, 2),
                unit,
                actual >= target,
            )
        )

    for key, (activity, measure, zh, en) in STANDARDS.items():
        if key not in settings:
            continue
        table = tb.work["count" if measure == "count" else "hours"]
        add("standard", m.t(zh, en), settings[key], _num(table.get((rep.name, activity), 0)))
    counts = layer_counts(scope)
    for goal in settings.get("goals", []):
        stage = Stage.from_key(goal["class"])
        have = sum(n for s, n in counts.items() if s >= stage)
        what = (
            m.t("成交", "won")
            if stage is Stage.WON
            else m.t("{c} 及以上", "{c} or better", c=stage.code)
        )
        add("goal", f"{goal['label']} ({what})", goal["at_least"], have)
    if quota > 0:
        pct = settings.get("pipeline_coverage_pct")
        if pct is not None:
            add(
                "goal",
                m.t("加权管道 / 年度定额 (%)", "weighted pipeline / annual quota (%)"),
                pct,
                100 * scope.open.weighted / quota,
                "%",
            )
        pct = settings.get("quarter_target_pct")
        if pct is not None:
            add(
                "goal",
                m.t("本季度成交 / 季度定额 (%)", "won this quarter / quarter quota (%)"),
                pct,
                100 * scope.won_qtd / (quota / 4),
                "%",
            )
        pct = settings.get("annual_target_pct")
        if pct is not None:
            add(
                "goal",
                m.t("本年成交 / 年度定额 (%)", "won this year / annual quota (%)"),
                pct,
                100 * scope.won_ytd / quota,
                "%",
            )
    met = sum(1 for i in items if i.met)
    return Scorecard(tuple(items), met, len(items))
