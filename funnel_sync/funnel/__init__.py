"""The weekly funnel snapshot: one pandas aggregation of the book that feeds every report.

Everything is computed once, for the team, each region and each rep, by grouping the same
DataFrames on a scope column (`team`, `region`, `rep`), so 100,000 opportunities cost a few
group-bys rather than a Python loop per row. The result is frozen, typed figures of plain
numbers, dates and text (context.py): the HTML template, the Excel template, the e-mail and
the JSON all read the same values.

Definitions (the README's "The weekly report" section says the same for users):

- period: the 7 days ending on the report date; labelled with the ISO week that holds most of
  those days (the middle day), so a Monday report covers the week that just ended.
- class: each opportunity counts at its confirmed class (确认分类), the typed class when it was
  never synced; the first row of a duplicated ID counts.
- flows (StageLog, results 首次接收/接收 — adopted/accepted): entered X = rows with to = X;
  advanced = from X to a higher class; fell back = from X to a lower open class; lost = X → 丢单.
- conversion X → next over the trailing window: advanced / (advanced + lost) of the moves out
  of X; a rep with fewer than `report.min_history` moves in the window uses the team's rates.
- needed layer sizes: deals = remaining quota / average won amount; A = deals / rate(A→成交),
  B = A / rate(B→A), … rounded up.
- coverage: weighted open pipeline (amount × class probability) / annual quota.

The package, in the order the snapshot is built:

- frames.py    the book as DataFrames with the scope columns
- measures.py  per-row measures (days in stage, stalled, last contact, overdue, moves, stays,
               important days) and the rows each aggregate reads
- tables.py    the aggregates per scope column (counts, sums, rates, lists)
- figures.py   one scope assembled from its aggregates
- roadmap.py   the phase, the work standards and phase goals, the scorecard
- quota.py     the layer sizes the quota needs, coverage, the thin-layer alerts
- snapshot.py  build_snapshot, Snapshot and the context of one report
- context.py   the typed figures and the report's context, and their JSON form
- plain.py     numpy and pandas values as Python's
"""

from funnel_sync.funnel.context import (
    FLOW_STAGES,
    LAYER_KEYS,
    LIST_LIMIT,
    OPEN_STAGES,
    TREND_WEEKS,
    Listing,
    Period,
    RegionScope,
    ReportContext,
    RepScope,
    Scope,
    TeamScope,
    jsonable,
)
from funnel_sync.funnel.figures import LAYER_LABELS
from funnel_sync.funnel.frames import SCOPES, Frames, LedgerFrames, frames, ledger_frames
from funnel_sync.funnel.plain import stage_code
from funnel_sync.funnel.quota import ACTIONS
from funnel_sync.funnel.roadmap import PHASE_LABELS, STANDARDS, phase_settings, rep_phase
from funnel_sync.funnel.snapshot import Snapshot, build_snapshot, report_reps

__all__ = [
    "ACTIONS",
    "FLOW_STAGES",
    "LAYER_KEYS",
    "LAYER_LABELS",
    "LIST_LIMIT",
    "OPEN_STAGES",
    "PHASE_LABELS",
    "SCOPES",
    "STANDARDS",
    "TREND_WEEKS",
    "Frames",
    "LedgerFrames",
    "Listing",
    "Period",
    "RegionScope",
    "RepScope",
    "ReportContext",
    "Scope",
    "Snapshot",
    "TeamScope",
    "build_snapshot",
    "frames",
    "jsonable",
    "ledger_frames",
    "phase_settings",
    "rep_phase",
    "report_reps",
    "stage_code",
]
