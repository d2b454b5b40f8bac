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
from funnel_sync.model import ActivityKind, Rep, Stage
from funnel_sync.texts import text

if TYPE_CHECKING:
    from funnel_sync.funnel.measures import Measures
    from funnel_sync.funnel.tables import Tables

# The weekly work standards: config key → (the 跟进记录 kind it counts, measure); each is
# labelled funnel.standard.<config key> in the catalogue
STANDARDS = {
    "profiles_per_week": (ActivityKind.PROFILE.value, "count"),
    "prospecting_hours_per_week": (ActivityKind.PROSPECTING.value, "hours"),
    "visit_hours_per_week": (ActivityKind.VISIT.value, "hours"),
    "visits_per_week": (ActivityKind.VISIT.value, "count"),
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
    lang = m.lang
    kind_labels = {k: text(f"funnel.scorecard_kind.{k}", lang) for k in ("standard", "goal")}

    def add(kind: str, label: str, target: float, actual: float, unit: str = "") -> None:
        kind_label = kind_labels[kind]
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

    for key, (activity, measure) in STANDARDS.items():
        if key not in settings:
            continue
        table = tb.work["count" if measure == "count" else "hours"]
        label = text(f"funnel.standard.{key}", lang)
        add("standard", label, settings[key], _num(table.get((rep.name, activity), 0)))
    counts = layer_counts(scope)
    for goal in settings.get("goals", []):
        stage = Stage.from_key(goal["class"])
        have = sum(n for s, n in counts.items() if s >= stage)
        what = (
            text("funnel.goal.won", lang)
            if stage is Stage.WON
            else text("funnel.goal.or_better", lang, c=stage.code)
        )
        add("goal", f"{goal['label']} ({what})", goal["at_least"], have)
    if quota > 0:
        pct = settings.get("pipeline_coverage_pct")
        if pct is not None:
            add(
                "goal",
                text("funnel.goal.coverage", lang),
                pct,
                100 * scope.open.weighted / quota,
                "%",
            )
        pct = settings.get("quarter_target_pct")
        if pct is not None:
            add(
                "goal",
                text("funnel.goal.quarter", lang),
                pct,
                100 * scope.won_qtd / (quota / 4),
                "%",
            )
        pct = settings.get("annual_target_pct")
        if pct is not None:
            add("goal", text("funnel.goal.annual", lang), pct, 100 * scope.won_ytd / quota, "%")
    met = sum(1 for i in items if i.met)
    return Scorecard(tuple(items), met, len(items))
