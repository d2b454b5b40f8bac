"""The report's context, typed: the frozen figures every renderer reads (the HTML and Excel
templates, the e-mail's text, the JSON), and their JSON form.

A figure is read by attribute (`layer.count`, in Jinja `{{ layer.count }}`) or, where the name
is in a variable, by name (`flow[metric]`, `layer.get("amount")`): `Figure` gives every figure
a read-only lookup by its field names, nothing else. A field named after a Python keyword is
spelt with a trailing underscore (`Conversion.from_`) and keeps the keyword as its name in the
templates and the JSON (`c.from`). README's "The weekly report" lists every key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import keyword
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, ClassVar, Generic, Self, TypeVar

from funnel_sync.model import Stage

#: The funnel's layers from the top: the pool reserve, then the classes.
LAYER_KEYS = ("pool", "D", "C", "B", "A", "won")
OPEN_STAGES = (Stage.D, Stage.C, Stage.B, Stage.A)
FLOW_STAGES = (Stage.D, Stage.C, Stage.B, Stage.A, Stage.WON)
TREND_WEEKS = 8
LIST_LIMIT = 100  # items per list and scope; the totals are always given


_KEYS: dict[type[Any], dict[str, str]] = {}


def keys(cls: type[Any]) -> dict[str, str]:
    """A figure class's names (as templates and the JSON spell them) → its attributes: its
    fields in order, then its DERIVED properties."""
    out = _KEYS.get(cls)
    if out is None:
        out = {}
        for f in dataclasses.fields(cls):
            word = f.name[:-1]
            out[word if f.name.endswith("_") and keyword.iskeyword(word) else f.name] = f.name
        for name in getattr(cls, "DERIVED", ()):
            out[name] = name
        _KEYS[cls] = out
    return out


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """The fields of a figure class, in order (its constructor's arguments)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def _keyword_names(cls: type[Any]) -> type[Any]:
    """`from_` also read as `from` (Jinja's `c.from`)."""
    for name, attr in keys(cls).items():
        if name != attr:
            setattr(cls, name, property(attrgetter(attr)))
    return cls


class Figure:
    """The base of the frozen figures: a read-only lookup by name besides the attributes."""

    __slots__ = ()

    def __getitem__(self, name: str) -> Any:
        attr = keys(type(self)).get(name)
        if attr is None:
            raise KeyError(name)
        return getattr(self, attr)

    def get(self, name: str, default: Any = None) -> Any:
        attr = keys(type(self)).get(name)
        return default if attr is None else getattr(self, attr)


T = TypeVar("T", bound=Figure)


@dataclass(frozen=True, slots=True)
class Period(Figure):
    """The 7 days ending on the report date and their ISO week label (of the middle day)."""

    DERIVED: ClassVar[tuple[str, ...]] = ("label",)

    start: dt.date
    end: dt.date
    year: int
    week: int

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @classmethod
    def ending(cls, day: dt.date) -> Period:
        iso = (day - dt.timedelta(days=3)).isocalendar()
        return cls(day - dt.timedelta(days=6), day, iso.year, iso.week)


# ---- a scope's figures ----


@dataclass(frozen=True, slots=True)
class Layer(Figure):
    """One layer of the funnel: `amount`/`weighted` are None for the pool reserve; `width` is
    the bar's width in percent of the largest layer."""

    key: str
    code: str
    label: str
    count: int
    amount: float | None
    weighted: float | None
    width: float


@dataclass(frozen=True, slots=True)
class Funnel(Figure):
    """The layers by key (`funnel.A.count`)."""

    pool: Layer
    D: Layer
    C: Layer
    B: Layer
    A: Layer
    won: Layer


@dataclass(frozen=True, slots=True)
class Totals(Figure):
    """The open opportunities (D to A): how many, their amount and weighted amount."""

    count: int
    amount: float
    weighted: float


@dataclass(frozen=True, slots=True)
class Flow(Figure):
    """A layer's moves this week, last week (`_prev`) and the difference (`_delta`)."""

    key: str
    code: str
    label: str
    entered: int
    entered_prev: int
    entered_delta: int
    advanced: int
    advanced_prev: int
    advanced_delta: int
    fell_back: int
    fell_back_prev: int
    fell_back_delta: int
    lost: int
    lost_prev: int
    lost_delta: int


@_keyword_names
@dataclass(frozen=True, slots=True)
class Conversion(Figure):
    """From one class to the next over the trailing window: advanced / (advanced + lost)."""

    from_: str
    to: str
    advanced: int
    lost: int
    rate: float | None
    rate_pct: float | None


@dataclass(frozen=True, slots=True)
class StageDays(Figure):
    """Days in a class: the plan, the open opportunities' average, the completed stays'."""

    key: str
    code: str
    label: str
    target: int | None
    avg_current: float | None
    avg_done: float | None
    done: int
    stalled: int


@dataclass(frozen=True, slots=True)
class Plan(Figure):
    """A class's planned advance dates (计划进阶日) against the report date."""

    key: str
    code: str
    count: int
    with_plan: int
    past_due: int
    due_next_week: int
    no_plan: int
    avg_days_late: float | None


@dataclass(frozen=True, slots=True)
class TrendWeek(Figure):
    """One of the trend's 8 weeks, oldest first."""

    label: str
    start: dt.date
    end: dt.date
    new: int
    advanced: int
    won: int
    won_amount: float
    lost: int


@dataclass(frozen=True, slots=True)
class Pipeline(Figure):
    """The weighted open pipeline against the quota (a region has none) and the phase's
    coverage target (a rep's only); the team's counts its reps meeting theirs."""

    weighted: float
    open_amount: float
    quota: float | None
    won_ytd: float
    coverage: float | None
    coverage_pct: float | None
    target_pct: float | None
    met: bool | None
    reps_met: int | None = None
    reps_with_target: int | None = None


@dataclass(frozen=True, slots=True)
class Alert(Figure):
    """A thin layer: below its phase goal (`kind` goal) or below what the quota needs
    (`kind` needed)."""

    rep: str
    layer: str
    kind: str
    kind_label: str
    count: int
    target: int
    gap: int
    message: str
    action: str


@dataclass(frozen=True, slots=True)
class ScorecardItem(Figure):
    """One line of the roadmap scorecard: a weekly standard or a phase goal."""

    rep: str
    phase_label: str
    kind: str
    kind_label: str
    label: str
    target: float
    actual: float
    unit: str
    met: bool


@dataclass(frozen=True, slots=True)
class Scorecard(Figure):
    items: tuple[ScorecardItem, ...]
    met: int
    total: int


@dataclass(frozen=True, slots=True)
class LayerSizes(Figure):
    """How many opportunities each open layer needs for the remaining quota (None: unknown)."""

    A: int | None
    B: int | None
    C: int | None
    D: int | None


@dataclass(frozen=True, slots=True)
class LayerRates(Figure):
    """The conversion rates the needed sizes were worked out with."""

    D: float | None
    C: float | None
    B: float | None
    A: float | None


# ---- the lists: a total and the first LIST_LIMIT items ----


@dataclass(frozen=True, slots=True)
class Listing(Figure, Generic[T]):
    total: int
    items: tuple[T, ...]


@dataclass(frozen=True, slots=True)
class Stalled(Figure):
    opportunity_id: str
    customer_id: str | None
    customer: str | None
    rep: str | None
    code: str
    amount: float | None
    entered: dt.date | None
    age: float | None
    target: float | None
    planned: dt.date | None
    why: str


@dataclass(frozen=True, slots=True)
class Overdue(Figure):
    opportunity_id: str
    customer_id: str | None
    customer: str | None
    contact: str | None
    phone: str | None
    rep: str | None
    code: str
    amount: float | None
    last_contact: dt.date | None
    due: dt.date | None
    overdue: float | None


@dataclass(frozen=True, slots=True)
class ImportantDay(Figure):
    date: dt.date
    what: str
    customer_id: str
    name: str | None
    phone: str | None
    rep: str | None


@dataclass(frozen=True, slots=True)
class PoolEvent(Figure):
    date: dt.date
    customer_id: str | None
    customer: str | None
    action: str
    action_label: str
    rep: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class RejectedMove(Figure):
    date: dt.date
    opportunity_id: str | None
    rep: str | None
    from_code: str
    to_code: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class PoolActivity(Listing[PoolEvent]):
    """The week's pool log: counts per action; the items list recycles, rejected claims,
    transfers and reverts."""

    claims: int
    releases: int
    recycles: int
    claims_rejected: int
    transfers: int
    reverts: int


@dataclass(frozen=True, slots=True)
class Holiday(Figure):
    date: dt.date
    name: str


# ---- the scopes ----


@dataclass(frozen=True, slots=True)
class Scope(Figure):
    """The figures of the team, a region or a rep (`kind`)."""

    kind: str
    name: str
    funnel: Funnel
    layers: tuple[Layer, ...]
    open: Totals
    flow: tuple[Flow, ...]
    conversion: tuple[Conversion, ...]
    rates_from: str
    moves: int
    days: tuple[StageDays, ...]
    plan: tuple[Plan, ...]
    trend: tuple[TrendWeek, ...]
    won_ytd: float
    won_qtd: float
    pipeline: Pipeline
    alerts: tuple[Alert, ...]
    pool_activity: PoolActivity
    rejected_moves: Listing[RejectedMove]
    stalled: Listing[Stalled]
    overdue: Listing[Overdue]
    important_days: Listing[ImportantDay]

    @classmethod
    def of(cls, scope: Scope, **more: Any) -> Self:
        """`scope`'s figures with `more` (a team's, region's or rep's own) added or replaced."""
        fields = {f.name: getattr(scope, f.name) for f in dataclasses.fields(Scope)}
        return cls(**(fields | more))


@dataclass(frozen=True, slots=True)
class TeamScope(Scope):
    quota: float


@dataclass(frozen=True, slots=True)
class RegionScope(Scope):
    reps: tuple[str, ...]  # the reps covering the region (not those of every region)


@dataclass(frozen=True, slots=True)
class RepScope(Scope):
    phase: str
    phase_label: str
    regions: str  # "*" for every region, else the region names joined by ","
    email: str | None
    quota: float
    remaining: float
    avg_won: float | None
    deals_needed: int | None
    needed: LayerSizes
    needed_rates: LayerRates
    scorecard: Scorecard


# ---- the context of one report ----


@dataclass(frozen=True, slots=True)
class ReportContext(Mapping[str, Any]):
    """What a template sees (besides `t`, its labels): the team's report (`for_rep` None), or
    one rep's, whose `team` is that rep's scope and whose lists hold only the rep's rows. A
    mapping of its names, so that `template.render(**context)` works."""

    lang: str
    today: dt.date
    period: Period
    currency: str
    trailing_days: int
    for_rep: str | None
    team: TeamScope | RepScope
    regions: tuple[RegionScope, ...]
    reps: tuple[RepScope, ...]
    alerts: tuple[Alert, ...]
    scorecard: tuple[ScorecardItem, ...]
    stalled: tuple[Stalled, ...]
    overdue: tuple[Overdue, ...]
    important_days: tuple[ImportantDay, ...]
    holidays: tuple[Holiday, ...]
    pool_activity: tuple[PoolEvent, ...]
    rejected_moves: tuple[RejectedMove, ...]

    def __getitem__(self, name: str) -> Any:
        if name not in keys(type(self)):
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(keys(type(self)))

    def __len__(self) -> int:
        return len(keys(type(self)))


def jsonable(value: Any) -> Any:
    """A figure (or the context) as JSON values: objects by their names, tuples as lists,
    dates as ISO strings, NaN as null."""
    if isinstance(value, Figure | ReportContext):
        return {name: jsonable(getattr(value, attr)) for name, attr in keys(type(value)).items()}
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if value is None or isinstance(value, str | int):
        return value
    raise TypeError(f"not a figure: {type(value).__name__}")
