"""The weekly funnel snapshot: one pandas aggregation of the book that feeds every report.

Everything is computed once, for the team, each region and each rep, by grouping the same
DataFrames on a scope column (`team`, `region`, `rep`), so 100,000 opportunities cost a few
group-bys rather than a Python loop per row. The result is plain data (dicts of numbers, dates
and text): the HTML template, the Excel template and the e-mail all read the same values.

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
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from funnel_sync.config import PHASES, Config
from funnel_sync.days import Days
from funnel_sync.logs import POOL_ACTIONS, log_day, pool_action, stage_result
from funnel_sync.model import Activity, ActivityKind, Customer, Opportunity, Rep, Stage
from funnel_sync.parse import parse_stage, parse_text
from funnel_sync.read import Book
from funnel_sync.rules.cadence import FollowUp, Touches, follow_up_rule
from funnel_sync.rules.occasions import customer_days, what
from funnel_sync.schema import POOL_LOG, STAGE_LOG

#: The scope columns every frame has: the whole team, the region, the rep.
SCOPES = ("team", "region", "rep")
#: The funnel's layers from the top: the pool reserve, then the classes.
LAYER_KEYS = ("pool", "D", "C", "B", "A", "won")
OPEN_STAGES = (Stage.D, Stage.C, Stage.B, Stage.A)
FLOW_STAGES = (Stage.D, Stage.C, Stage.B, Stage.A, Stage.WON)
TREND_WEEKS = 8
LIST_LIMIT = 100  # items per list and scope; the totals are always given

LAYER_LABELS = {
    "pool": ("储备客户", "Pool reserve"),
    "D": ("D 识别", "D general"),
    "C": ("C 目标", "C target"),
    "B": ("B 重点跟进", "B key follow-up"),
    "A": ("A 订单跟进", "A order follow-up"),
    "won": ("成交", "Won"),
}
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
# What the seed prescribes when a layer is thin: work the layer above it.
ACTIONS = {
    Stage.D: ("从公共资源库领取客户, 补充 D 层", "claim customers from the pool to refill D"),
    Stage.C: ("推进 D 层: 核实需求, 约到关键人", "work layer D: verify needs, reach influencers"),
    Stage.B: ("推进 C 层: 推动报价", "work layer C: get to a quote"),
    Stage.A: ("推进 B 层: 明确决策和预算, 发送合同", "work layer B: decision, budget, contract"),
    Stage.WON: ("推进 A 层: 跟进合同和回款", "work layer A: chase contracts and payment"),
}


def _t(lang: str, pair: tuple[str, str]) -> str:
    return pair[0] if lang == "zh" else pair[1]


# ---- the period ----


@dataclass(frozen=True)
class Period:
    """The 7 days ending on the report date and their ISO week label (of the middle day)."""

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "year": self.year,
            "week": self.week,
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


# ---- the book as DataFrames ----


@dataclass(frozen=True)
class _Coded:
    """A column as numbers into its converted distinct values: row i holds values[codes[i]]."""

    codes: npt.NDArray[np.intp]
    values: npt.NDArray[np.object_]

    def column(self) -> list[Any]:
        return list(self.values[self.codes].tolist())

    def dates(self) -> pd.Series:
        """The column as datetime64[ns] (its values are dates or None)."""
        days = _dates(pd.Series(self.values, dtype=object)).to_numpy()
        return pd.Series(days[self.codes])


def _coded(values: Sequence[Any] | npt.NDArray[np.object_], convert: Any) -> _Coded:
    """`convert` applied once per distinct value (log columns repeat a few values): pandas
    numbers the distinct values in C (as a set would: equal values share a number). Missing
    values (None, NaN, NaT), which pandas leaves unnumbered, are converted one by one."""
    array = values if isinstance(values, np.ndarray) else np.fromiter(values, object, len(values))
    codes, distinct = pd.factorize(array)
    results = list(map(convert, distinct))
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        codes[missing] = np.arange(len(results), len(results) + missing.size)
        results.extend(map(convert, array[missing]))
    return _Coded(codes.astype(np.intp, copy=False), np.fromiter(results, object, len(results)))


def _mapped(values: Sequence[Any] | npt.NDArray[np.object_], convert: Any) -> list[Any]:
    """`convert` applied to each value, once per distinct value."""
    return _coded(values, convert).column()


def _same(value: Any) -> Any:
    return value


def _stage_int(value: object) -> int:
    stage = parse_stage(value)
    return int(stage) if isinstance(stage, Stage) else -1


_DATE_TYPES = frozenset({dt.date, type(None)})


def _dates(values: Sequence[dt.date | None] | pd.Series) -> pd.Series:
    """Dates as datetime64[ns] (one unit, so row-wise max() compares them; a Series keeps its
    index)."""
    if not isinstance(values, pd.Series) and len(values):
        coded = _coded(values, _same)  # a column of dates repeats a few hundred days
        if set(map(type, coded.values)) <= _DATE_TYPES:
            return coded.dates()
    raw = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    return pd.Series(pd.to_datetime(raw, errors="coerce")).astype("datetime64[ns]")


def _field(rows: Sequence[tuple[Any, ...]], of: type[Any], name: str) -> list[Any]:
    """One field of every row (NamedTuples of class `of`), read in C."""
    return list(map(itemgetter(of._fields.index(name)), rows))


def _index(values: pd.Series) -> pd.Index:
    """A column of unique keys (IDs) as an Index to look rows up in (see _positions)."""
    index: pd.Index = pd.Index(values.to_numpy(dtype=object), dtype=object)
    return index


def _positions(keys: pd.Series | npt.NDArray[np.object_], index: pd.Index) -> npt.NDArray[np.intp]:
    """The row of `index` holding each key, -1 where none does."""
    array = keys.to_numpy(dtype=object) if isinstance(keys, pd.Series) else keys
    return np.asarray(index.get_indexer(pd.Index(array, dtype=object)), dtype=np.intp)


def _taken(values: pd.Series, rows: npt.NDArray[np.intp], missing: Any = None) -> npt.NDArray[Any]:
    """values at `rows` (positions from _positions), `missing` where the row is -1."""
    array = values.to_numpy()
    padded = np.concatenate([array, np.array([missing], dtype=array.dtype)])
    return padded[rows]  # -1 takes the padding


def _objects(values: list[Any]) -> pd.Series:
    """Text columns as object dtype even when empty (an empty list becomes float64, which
    pandas then refuses to merge with the other frames' text keys)."""
    return pd.Series(values, dtype=object)


def _log_columns(book: Book, key: str, fields: Sequence[str]) -> dict[str, npt.NDArray[np.object_]]:
    rows = book.engine_rows.get(key, [])
    layout = book.layouts.get(key)
    shortest = min(map(len, rows), default=0)
    out: dict[str, npt.NDArray[np.object_]] = {}
    for i, f in enumerate(fields):
        col = (layout.columns.get(f) if layout is not None else i + 1) or 0
        if col and col <= shortest:  # every row has the cell
            cells: Iterable[Any] = map(itemgetter(col - 1), rows)
        else:
            cells = (r[col - 1] if col and col - 1 < len(r) else None for r in rows)
        out[f] = np.fromiter(cells, object, len(rows))
    return out


@dataclass
class Frames:
    """The book as DataFrames with the scope columns `team`, `region` and `rep`."""

    customers: pd.DataFrame
    opps: pd.DataFrame
    acts: pd.DataFrame
    slog: pd.DataFrame
    plog: pd.DataFrame
    cust_ids: pd.Index  # customers' and opportunities' IDs by row, to look rows up in
    opp_ids: pd.Index
    activities: Sequence[Activity]  # the rows of acts
    opportunities: Sequence[Opportunity]  # the book's, at the positions in opps["pos"]

    def activity_frame(self, which: npt.NDArray[np.intp]) -> pd.DataFrame:
        """The activities at rows `which` of acts: the columns read only for some rows."""
        rows = list(map(self.activities.__getitem__, which.tolist()))
        return pd.DataFrame(
            {
                "rep": _objects(_field(rows, Activity, "rep")),
                "customer_id": _objects(_field(rows, Activity, "customer_id")),
                "kind": _objects(_kinds(_field(rows, Activity, "kind"))),
                "hours": pd.Series(_field(rows, Activity, "hours"), dtype="float64"),
            }
        )


def _stage_or_none(value: Stage | None) -> int:
    return int(value) if value is not None else -1


def _kinds(kinds: list[Any]) -> list[Any]:
    """Activity kinds as their values; looked up by identity (Enum hashing is slow Python)."""
    value_of: dict[int, str | None] = {id(k): k.value for k in ActivityKind}
    value_of[id(None)] = None
    try:
        return list(map(value_of.__getitem__, map(id, kinds)))
    except KeyError:  # not a member: convert each distinct value
        return _mapped(kinds, lambda k: k.value if k is not None else None)


def _scopes(df: pd.DataFrame) -> None:
    """The scope columns as categories: every group-by on them reuses one set of codes."""
    df["team"] = pd.Categorical.from_codes(np.zeros(len(df), dtype=np.int8), pd.Index(["team"]))
    for col in ("region", "rep"):
        df[col] = df[col].astype("category")


@dataclass
class LedgerFrames:
    """The part of Frames that needs no log: the report builds it while the logs load."""

    customers: pd.DataFrame
    opps: pd.DataFrame
    acts: pd.DataFrame
    cust_ids: pd.Index
    opp_ids: pd.Index
    activities: Sequence[Activity]
    opportunities: Sequence[Opportunity]


def ledger_frames(book: Book) -> LedgerFrames:
    customers = book.customers
    cust = pd.DataFrame(
        {
            "customer_id": _field(customers, Customer, "customer_id"),
            "name": _field(customers, Customer, "name"),
            "region": _field(customers, Customer, "region"),
            "owner": _field(customers, Customer, "owner"),
            "contact": _field(customers, Customer, "contact"),
            "phone": _field(customers, Customer, "phone"),
            "birthday": _field(customers, Customer, "contact_birthday"),
            "anniversary": _field(customers, Customer, "anniversary"),
        },
        dtype=object,
    ).drop_duplicates("customer_id", keep="first")
    cust["team"] = "team"

    ops = book.opportunities
    # the confirmed class, else the typed one, else -1
    confirmed = _mapped(_field(ops, Opportunity, "confirmed_stage"), _stage_or_none)
    typed = _mapped(_field(ops, Opportunity, "stage"), _stage_or_none)
    cls = np.where(np.array(confirmed, dtype="int64") >= 0, confirmed, typed)
    opps = pd.DataFrame(
        {
            "opportunity_id": _objects(_field(ops, Opportunity, "opportunity_id")),
            "customer_id": _objects(_field(ops, Opportunity, "customer_id")),
            "rep": _objects(_field(ops, Opportunity, "owner")),
            "cls": pd.Series(cls, dtype="int64"),
            "amount": pd.Series(_field(ops, Opportunity, "amount"), dtype="float64"),
            "row": pd.Series(
                list(map(attrgetter("row"), _field(ops, Opportunity, "source"))), dtype="int64"
            ),
            "pos": pd.Series(np.arange(len(ops)), dtype="int64"),  # in book.opportunities
        }
    )
    opps["entered"] = _dates(_field(ops, Opportunity, "stage_entered_on"))
    opps["planned"] = _dates(_field(ops, Opportunity, "planned_advance"))
    opps = opps[(opps["opportunity_id"] != "") & (opps["cls"] >= 0)]
    opps = opps.drop_duplicates("opportunity_id", keep="first").reset_index(drop=True)
    cust_ids, opp_ids = _index(cust["customer_id"]), _index(opps["opportunity_id"])
    # the opportunity's customer: a row of cust (-1 when not there)
    opps["cust_row"] = _positions(opps["customer_id"], cust_ids)
    opps["region"] = pd.Series(_taken(cust["region"], opps["cust_row"].to_numpy()), dtype=object)

    # activities: the columns every row is read for; the rest comes from the rows read
    # (activity_frame), the report reading those of one week
    acts_src = book.activities
    acts = pd.DataFrame(
        {
            "date": _dates(_field(acts_src, Activity, "date")),
            "opportunity_id": _objects(_field(acts_src, Activity, "opportunity_id")),
        }
    )
    return LedgerFrames(cust, opps, acts, cust_ids, opp_ids, acts_src, ops)


def frames(book: Book, ledger: LedgerFrames | None = None) -> Frames:
    """`ledger`: ledger_frames(book), if made already."""
    ledger = ledger or ledger_frames(book)
    cust, opps, cust_ids, opp_ids = ledger.customers, ledger.opps, ledger.cust_ids, ledger.opp_ids
    fields = [c.field for c in STAGE_LOG.columns]
    raw = _log_columns(book, STAGE_LOG.key, fields)
    ids = _coded(raw["opportunity_id"], parse_text)
    slog = pd.DataFrame(
        {
            "date": _coded(raw["time"], log_day).dates(),
            "opportunity_id": ids.column(),
            "frm": pd.Series(_mapped(raw["from_stage"], _stage_int), dtype="int64"),
            "to": pd.Series(_mapped(raw["to_stage"], _stage_int), dtype="int64"),
            "result": _mapped(raw["result"], stage_result),
            "reason": _mapped(raw["reason"], parse_text),
            "rep": _mapped(raw["owner"], parse_text),
        }
    )
    # the row's opportunity (looked up once per distinct ID), and a number per ID: the
    # opportunity's row, or a number after those for an ID not among them (-1: no ID)
    known = _positions(ids.values, opp_ids)
    numbers = known.copy()
    unknown = np.flatnonzero(known < 0)
    if unknown.size:
        extra = pd.factorize(ids.values[unknown])[0]
        numbers[unknown] = np.where(extra >= 0, extra + len(opp_ids), -1)
    rows = known[ids.codes]
    slog["opp"] = numbers[ids.codes]
    slog["order"] = np.arange(len(slog))
    slog["ok"] = slog["result"].isin(("adopted", "accepted")) & (slog["to"] >= 0)
    kept = slog["result"].notna() & slog["date"].notna()
    slog = slog[kept].reset_index(drop=True)
    rows = rows[kept.to_numpy()]
    # its rep where the row names none, its region, its amount
    no_rep = slog["rep"].isna().to_numpy()
    if no_rep.any():
        slog["rep"] = slog["rep"].fillna(
            pd.Series(_taken(opps["rep"], rows[no_rep]), index=slog.index[no_rep], dtype=object)
        )
    slog["region"] = pd.Series(_taken(opps["region"], rows), dtype=object)
    slog["amount"] = _taken(opps["amount"], rows, np.nan)

    fields = [c.field for c in POOL_LOG.columns]
    raw = _log_columns(book, POOL_LOG.key, fields)
    plog = pd.DataFrame(
        {
            "date": _coded(raw["time"], log_day).dates(),
            "customer_id": _mapped(raw["customer_id"], parse_text),
            "action": _mapped(raw["action"], pool_action),
            "rep": _mapped(raw["rep"], parse_text),
            "reason": _mapped(raw["reason"], parse_text),
            "old_value": _mapped(raw["old_value"], parse_text),
        }
    )
    plog["rep"] = plog["rep"].fillna(plog["old_value"])
    plog = plog[plog["action"].notna() & plog["date"].notna()].reset_index(drop=True)
    rows = _positions(plog["customer_id"], cust_ids)
    plog["region"] = pd.Series(_taken(cust["region"], rows), dtype=object)
    plog["customer"] = pd.Series(_taken(cust["name"], rows), dtype=object)
    for df in (opps, slog, plog):
        _scopes(df)
    return Frames(
        cust,
        opps,
        ledger.acts,
        slog,
        plog,
        cust_ids,
        opp_ids,
        ledger.activities,
        ledger.opportunities,
    )


# ---- small conversions into plain Python values ----


def _num(value: Any) -> float:
    v = float(value) if value is not None else 0.0
    return 0.0 if math.isnan(v) else v


def _int(value: Any) -> int:
    return int(_num(value))


def _maybe(value: Any, digits: int = 1) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) else round(v, digits)


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as Python values; NaN/NaT as None."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return None if math.isnan(f) else f
    if isinstance(value, np.bool_):
        return bool(value)
    return value


_PLAIN_TYPES = frozenset({str, int, bool, type(None)})


def _column(series: pd.Series) -> list[Any]:
    """A column as plain Python values: dates as dates, NaN/NaT as None, numpy as Python."""
    if pd.api.types.is_datetime64_any_dtype(series):
        # datetime64[D] → object gives datetime.date (and None for NaT) in C
        return list(series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(object))
    if pd.api.types.is_float_dtype(series):
        return [None if v != v else v for v in series.tolist()]
    values = series.tolist()
    if set(map(type, values)) <= _PLAIN_TYPES:  # _plain would return each value as it is
        return values
    return [_plain(v) for v in values]


def _records(df: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    cols = [_column(df[c]) for c in columns]
    return [dict(zip(columns, values, strict=True)) for values in zip(*cols, strict=True)]


def _grouped(series: pd.Series) -> dict[Any, Any]:
    return {k: _plain(v) for k, v in series.to_dict().items()}


def _counts(df: pd.DataFrame, key: str, by: str | None = None) -> dict[Any, int]:
    """`df.groupby([key, by]).size()` (or by `key` alone) as a dict of its non-zero counts,
    counted with numpy: `key` is a categorical scope column, `by` a column of integers."""
    column = df[key]
    if not isinstance(column.dtype, pd.CategoricalDtype) or (
        by is not None and df[by].dtype.kind not in "iu"
    ):
        keys = key if by is None else [key, by]
        return _grouped(df.groupby(keys, observed=True).size())
    codes = column.cat.codes.to_numpy().astype(np.intp)
    names = column.cat.categories.tolist()
    if by is None:
        counts = np.bincount(codes[codes >= 0], minlength=len(names))
        return {names[c]: n for c, n in enumerate(counts.tolist()) if n}
    values = df[by].to_numpy()[codes >= 0]
    codes = codes[codes >= 0]
    if not len(codes):
        return {}
    low = int(values.min())
    span = int(values.max()) - low + 1
    counts = np.bincount(codes * span + (values - low), minlength=len(names) * span)
    found = np.flatnonzero(counts).tolist()
    return {(names[i // span], low + i % span): int(counts[i]) for i in found}


def _lists(
    df: pd.DataFrame, key: str, columns: Sequence[str], limit: int
) -> tuple[dict[Any, int], dict[Any, list[dict[str, Any]]]]:
    """Per scope value: the total and the first `limit` rows (df already sorted)."""
    totals = _counts(df, key)
    head = df.groupby(key, observed=True, sort=False).head(limit)
    items: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for k, record in zip(head[key].tolist(), _records(head, columns), strict=True):
        items[k].append(record)
    return totals, items


def stage_code(value: int | None) -> str:
    return Stage(value).code if value is not None and value >= 0 else ""


#: stage_code(i) at index i + 1, for i from -1 (no class) to the last Stage
_STAGE_CODE_TABLE = np.array([stage_code(i) for i in range(-1, max(Stage) + 1)], dtype=object)


def _stage_codes(values: pd.Series) -> pd.Series:
    """stage_code of an int column of classes (-1 for none), by table lookup."""
    return pd.Series(_STAGE_CODE_TABLE[values.to_numpy() + 1], index=values.index, dtype=object)


# ---- the aggregation per scope column ----


@dataclass
class _Tables:
    """Aggregates keyed by (scope value, …) for one scope column."""

    counts: dict[Any, Any]
    amounts: dict[Any, Any]
    weighted: dict[Any, Any]
    flow: dict[Any, Any]
    flow_prev: dict[Any, Any]
    rates: dict[Any, Any]
    moves: dict[Any, Any]
    days_now: dict[Any, Any]
    days_done: dict[Any, Any]
    done_n: dict[Any, Any]
    stalled_n: dict[Any, Any]
    plans: dict[Any, Any]
    late: dict[Any, Any]
    work: dict[Any, Any]
    won_ytd: dict[Any, Any]
    won_qtd: dict[Any, Any]
    won_avg: dict[Any, Any]
    won_n: dict[Any, Any]
    trend: dict[Any, Any]
    rejected_n: dict[Any, int]
    pool_n: dict[Any, Any]
    lists: dict[str, tuple[dict[Any, int], dict[Any, list[dict[str, Any]]]]]


def _follow_ups(f: Frames, cfg: Config, days: Days) -> pd.DataFrame:
    """The cadence's verdict (rules/cadence.py) on each opportunity of `f.opps`, as the sync
    writes it into 销售机会: last contact, due date, overdue days, days in stage, why stalled
    (lost opportunities: blank). An opportunity never synced enters its class today, as the
    sync's adoption would have it."""
    follow_up, today = follow_up_rule(cfg, days), days.today
    opps = list(map(f.opportunities.__getitem__, f.opps["pos"].tolist()))
    lasts = Touches.of(f.activities, today).last_contacts(opps)
    results: list[FollowUp | None] = []
    for o, cls, last in zip(opps, f.opps["cls"].tolist(), lasts, strict=True):
        stage = Stage(cls)
        if stage is Stage.LOST:
            results.append(None)
            continue
        entered = o.stage_entered_on or today
        results.append(follow_up(stage, entered, last, o.planned_advance))
    blank = FollowUp(None, None, None, None, None, None)  # type: ignore[arg-type]
    rows = [r or blank for r in results]
    return pd.DataFrame(
        {
            "last": _dates([r.last for r in rows]),
            "due": _dates([r.due for r in rows]),
            "overdue": pd.Series([r.overdue for r in rows], dtype="float64"),
            "in_stage": pd.Series([r.in_stage for r in rows], dtype="float64"),
            "stall": pd.Series([r.stall for r in rows], dtype=object),
        },
        index=f.opps.index,
    )


class _Builder:
    def __init__(
        self,
        book: Book,
        cfg: Config,
        today: dt.date,
        lang: str,
        limit: int,
        ledger: LedgerFrames | None = None,
    ) -> None:
        self.book, self.cfg, self.today, self.lang, self.limit = book, cfg, today, lang, limit
        self.period = Period.ending(today)
        # the trend's weeks, oldest first: w weeks before the report's
        self.trend_weeks = [
            (w, Period.ending(today - dt.timedelta(days=7 * w)))
            for w in range(TREND_WEEKS - 1, -1, -1)
        ]
        self.f = frames(book, ledger)
        self.ts = pd.Timestamp(today)
        self.days = Days(cfg, today)
        self.prob = {int(Stage.from_key(k)): v for k, v in cfg.stages.probability.items()}
        self.target = {int(Stage.from_key(k)): v for k, v in cfg.stages.target_days.items()}
        self._prepare()

    def t(self, zh: str, en: str, **params: Any) -> str:
        return (zh if self.lang == "zh" else en).format(**params)

    def money(self, amount: float) -> str:
        return f"{self.cfg.report.currency}{amount:,.0f}"

    # ---- per-row columns, computed once and vectorised ----

    def _prepare(self) -> None:
        f, ts = self.f, self.ts
        o = f.opps
        o["weighted"] = o["amount"].fillna(0) * o["cls"].map(self.prob).fillna(0) / 100
        o["open"] = o["cls"].between(int(Stage.D), int(Stage.A))
        # the contact cadence and days in stage: the sync's own rule (rules/cadence.py)
        o["target"] = o["cls"].map(self.target)
        follow = _follow_ups(self.f, self.cfg, self.days)
        o["age"] = follow["in_stage"]
        o["stalled"] = o["open"] & follow["stall"].notna()
        o["why"] = (
            follow["stall"]
            .map(
                {
                    "over-target": self.t("超过计划天数", "over the planned days"),
                    "plan-passed": self.t("计划进阶日已过", "planned advance passed"),
                }
            )
            .fillna("")
        )
        o["last_contact"] = follow["last"]
        o["due"] = follow["due"]
        o["overdue"] = follow["overdue"]
        o["is_overdue"] = (o["cls"] >= int(Stage.D)) & o["overdue"].gt(0)
        o["code"] = o["cls"].map({int(st): st.code for st in Stage})
        o["won_year"] = (o["cls"] == int(Stage.WON)) & (o["entered"].dt.year == ts.year)
        quarter = (ts.month - 1) // 3
        o["won_quarter"] = o["won_year"] & ((o["entered"].dt.month - 1) // 3 == quarter)
        # the log: moves classified once
        s = f.slog
        ok, frm, to = s["ok"], s["frm"], s["to"]
        s["advanced"] = ok & (frm >= int(Stage.D)) & (to > frm)
        s["fell_back"] = ok & (frm >= int(Stage.D)) & (to >= int(Stage.D)) & (to < frm)
        s["lost"] = ok & (frm >= int(Stage.D)) & (to == int(Stage.LOST))
        s["move"] = ok & (frm >= int(Stage.D))
        s["age"] = (ts - s["date"]).dt.days
        s["from_code"] = _stage_codes(s["frm"])
        s["to_code"] = _stage_codes(s["to"])
        # stays: from a row entering a class to the next accepted row of the same opportunity
        moves = s.loc[ok, ["opp", "date", "order", "to", *SCOPES]]
        if not moves["date"].is_monotonic_increasing:  # the log is kept in time order
            moves = moves.sort_values(["date", "order"], kind="stable")
        # the row order within each opportunity is (date, order): shift gives the next move
        nxt = moves.groupby("opp", sort=False)["date"].shift(-1).where(moves["opp"] >= 0)
        stays = moves.assign(days=(nxt - moves["date"]).dt.days, ended=(ts - nxt).dt.days)
        stays = stays[
            stays["days"].notna()
            & stays["to"].between(int(Stage.D), int(Stage.A))
            & stays["ended"].between(0, self.cfg.report.trailing_days - 1)
        ]
        if self.days.working:  # days in stage are counted as the sync counts them
            left = nxt[stays.index]
            stays = stays.assign(
                days=[
                    float(self.days.between(a.date(), b.date()))
                    for a, b in zip(stays["date"], left, strict=True)
                ]
            )
        self.stays = stays
        p = f.plog
        p["age"] = (ts - p["date"]).dt.days
        a = f.acts
        a["age"] = (ts - a["date"]).dt.days
        self.events = self._events()
        cust = f.customers[["customer_id", "name", "phone"]]
        self.named_events = self.events.merge(cust, on="customer_id")
        self._subsets()

    def _events(self) -> pd.DataFrame:
        """Birthdays and anniversaries of customers with a won opportunity, next 7 days."""
        o = self.f.opps
        wanted = set(o.loc[o["cls"] == int(Stage.WON), "customer_id"])
        first = self.today + dt.timedelta(days=1)
        last = self.today + dt.timedelta(days=7)
        events: list[tuple[str, dt.date, str]] = []
        for c in self.book.customers:  # the first row of a duplicated ID counts
            if c.customer_id in wanted:
                wanted.discard(c.customer_id)
                events.extend(
                    (c.customer_id, e.day, what(e, self.lang))
                    for e in customer_days(c, first, last)
                )
        return pd.DataFrame(events, columns=["customer_id", "date", "what"])

    # ---- aggregates for one scope column ----

    def _subsets(self) -> None:
        """The rows each aggregate reads, filtered and sorted once for the three scopes, with
        the columns it reads."""
        f, ts = self.f, self.ts
        o, s, a, p = f.opps, f.slog, f.acts, f.plog
        keys = list(SCOPES)
        cust = f.customers
        self.live = o.loc[o["cls"] >= int(Stage.D), [*keys, "cls", "amount", "weighted"]]
        moves = s[[*keys, "ok", "frm", "to", "advanced", "fell_back", "lost", "move", "amount"]]
        age = s["age"]
        self.week_flow = self._flow_rows(moves[age.between(0, 6)])
        self.prev_flow = self._flow_rows(moves[age.between(7, 13)])
        trailing = moves[age.between(0, self.cfg.report.trailing_days - 1)]
        self.trailing_advanced = trailing[trailing["advanced"]]
        self.trailing_lost = trailing[trailing["lost"]]
        self.trailing_moves = trailing[trailing["move"]]
        trend_rows = moves[age.between(0, 7 * TREND_WEEKS - 1)]
        trend_rows = trend_rows.assign(w=age[trend_rows.index] // 7)
        won_rows = trend_rows[trend_rows["ok"] & (trend_rows["to"] == int(Stage.WON))]
        self.trend_rows = {
            "new": trend_rows[trend_rows["ok"] & (trend_rows["frm"] < int(Stage.D))],
            "advanced": trend_rows[trend_rows["advanced"]],
            "won": won_rows,
            "lost": trend_rows[trend_rows["lost"]],
        }
        rejected = s.loc[
            age.between(0, 6) & (s["result"] == "rejected"),
            [*keys, "date", "opportunity_id", "from_code", "to_code", "reason"],
        ]
        self.rejected = rejected.sort_values("date", ascending=False)

        opened = o.loc[o["open"], [*keys, "cls", "age", "planned"]]
        self.opened = opened
        self.plan_rows = {
            "with_plan": opened[opened["planned"].notna()],
            "past_due": opened[opened["planned"] < ts],
            "due_next_week": opened[
                (opened["planned"] > ts) & (opened["planned"] <= ts + pd.Timedelta(days=7))
            ],
            "no_plan": opened[opened["planned"].isna()],
        }
        late = self.plan_rows["past_due"]
        self.late = late.assign(days_late=(ts - late["planned"]).dt.days)
        listed = [*keys, "cls", "opportunity_id", "customer_id", "cust_row", "code", "amount"]
        stalled = o.loc[
            o["open"] & o["stalled"], [*listed, "entered", "age", "target", "planned", "why"]
        ].sort_values(["cls", "age"], ascending=[False, False], kind="stable")
        self.stalled = stalled.assign(customer=self._customer(stalled, "name"))
        overdue = o.loc[o["is_overdue"], [*listed, "last_contact", "due", "overdue"]].assign(
            won=lambda d: d["cls"] == int(Stage.WON)
        )
        overdue = overdue.sort_values(
            ["won", "cls", "overdue"], ascending=[True, False, False], kind="stable"
        )
        self.overdue = overdue.assign(
            customer=self._customer(overdue, "name"),
            contact=self._customer(overdue, "contact"),
            phone=self._customer(overdue, "phone"),
        )
        won = o.loc[o["cls"] == int(Stage.WON), [*keys, "customer_id", "amount"]]
        self.won = won
        self.won_year = o.loc[o["won_year"], [*keys, "amount"]]
        self.won_quarter = o.loc[o["won_quarter"], [*keys, "amount"]]

        wk_acts = f.activity_frame(np.flatnonzero(a["age"].between(0, 6).to_numpy()))
        rows = _positions(wk_acts["customer_id"], f.cust_ids)
        wk_acts = wk_acts.assign(region=_taken(cust["region"], rows))
        _scopes(wk_acts)
        self.wk_acts = wk_acts

        pool_week = p[p["age"].between(0, 6)]
        self.pool_week = pool_week
        pool_items = pool_week[
            pool_week["action"].isin(("recycle", "claim-rejected", "transfer", "revert"))
        ].sort_values("date", ascending=False)
        self.pool_items = pool_items.assign(
            action_label=pool_items["action"].map(lambda c: _t(self.lang, POOL_ACTIONS[c]))
        )

    def _customer(self, opps: pd.DataFrame, column: str) -> pd.Series:
        """A column of the opportunities' customers (None where the customer is unknown)."""
        cust_rows = opps["cust_row"].to_numpy()
        return pd.Series(_taken(self.f.customers[column], cust_rows), opps.index, dtype=object)

    @staticmethod
    def _flow_rows(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
        ok = rows[rows["ok"]]
        return {
            "entered": ok[ok["to"] >= int(Stage.D)],
            "advanced": rows[rows["advanced"]],
            "fell_back": rows[rows["fell_back"]],
            "lost": rows[rows["lost"]],
        }

    def tables(self, key: str) -> _Tables:
        lim = self.limit
        g = self.live.groupby([key, "cls"], observed=True)
        trend_won = self.trend_rows["won"]
        trend = {
            "new": _counts(self.trend_rows["new"], key, "w"),
            "advanced": _counts(self.trend_rows["advanced"], key, "w"),
            "won": _counts(trend_won, key, "w"),
            "won_amount": _grouped(trend_won.groupby([key, "w"], observed=True)["amount"].sum()),
            "lost": _counts(self.trend_rows["lost"], key, "w"),
        }
        late = self.late
        late_days = late.groupby([key, "cls"], observed=True)["days_late"].mean()
        wk_acts = self.wk_acts.groupby([key, "kind"], observed=True)
        return _Tables(
            counts=_counts(self.live, key, "cls"),
            amounts=_grouped(g["amount"].sum()),
            weighted=_grouped(g["weighted"].sum()),
            flow=self._flow(self.week_flow, key),
            flow_prev=self._flow(self.prev_flow, key),
            rates={
                "advanced": _counts(self.trailing_advanced, key, "frm"),
                "lost": _counts(self.trailing_lost, key, "frm"),
            },
            moves=_counts(self.trailing_moves, key),
            days_now=_grouped(self.opened.groupby([key, "cls"], observed=True)["age"].mean()),
            days_done=_grouped(self.stays.groupby([key, "to"], observed=True)["days"].mean()),
            done_n=_counts(self.stays, key, "to"),
            stalled_n=_counts(self.stalled, key, "cls"),
            plans={m: _counts(rows, key, "cls") for m, rows in self.plan_rows.items()},
            late=_grouped(late_days),
            work={
                "count": _grouped(wk_acts.size()),
                "hours": _grouped(wk_acts["hours"].sum()),
            },
            won_ytd=_grouped(self.won_year.groupby(key, observed=True)["amount"].sum()),
            won_qtd=_grouped(self.won_quarter.groupby(key, observed=True)["amount"].sum()),
            won_avg=_grouped(self.won.groupby(key, observed=True)["amount"].mean()),
            won_n=_counts(self.won, key),
            trend=trend,
            rejected_n=_counts(self.rejected, key),
            pool_n=_counts(self.pool_week, key, "action"),
            lists={
                "stalled": _lists(
                    self.stalled,
                    key,
                    (
                        "opportunity_id",
                        "customer_id",
                        "customer",
                        "rep",
                        "code",
                        "amount",
                        "entered",
                        "age",
                        "target",
                        "planned",
                        "why",
                    ),
                    lim,
                ),
                "overdue": _lists(
                    self.overdue,
                    key,
                    (
                        "opportunity_id",
                        "customer_id",
                        "customer",
                        "contact",
                        "phone",
                        "rep",
                        "code",
                        "amount",
                        "last_contact",
                        "due",
                        "overdue",
                    ),
                    lim,
                ),
                "rejected": _lists(
                    self.rejected,
                    key,
                    ("date", "opportunity_id", "rep", "from_code", "to_code", "reason"),
                    lim,
                ),
                "pool": _lists(
                    self.pool_items,
                    key,
                    ("date", "customer_id", "customer", "action", "action_label", "rep", "reason"),
                    lim,
                ),
                "days": self._important_days(key),
            },
        )

    @staticmethod
    def _flow(rows: Mapping[str, pd.DataFrame], key: str) -> dict[Any, Any]:
        return {
            "entered": _counts(rows["entered"], key, "to"),
            "advanced": _counts(rows["advanced"], key, "frm"),
            "fell_back": _counts(rows["fell_back"], key, "frm"),
            "lost": _counts(rows["lost"], key, "frm"),
        }

    def _important_days(self, key: str) -> tuple[dict[Any, int], dict[Any, list[dict[str, Any]]]]:
        """Birthdays and company anniversaries of won customers in the 7 days after the date."""
        cols = list(dict.fromkeys([key, "customer_id", "rep"]))
        won = self.won[cols].drop_duplicates([key, "customer_id"])
        # inner merges keep the left rows' order: naming the events first changes nothing
        ev = self.named_events.merge(won, on="customer_id")
        ev = ev.sort_values(["date", "customer_id"], kind="stable")
        return _lists(ev, key, ("date", "what", "customer_id", "name", "phone", "rep"), self.limit)

    # ---- one scope as plain data ----

    def scope(self, kind: str, name: str, tb: _Tables, pool: int) -> dict[str, Any]:
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
                    "code": "储备" if key == "pool" and self.lang == "zh" else key,
                    "label": _t(self.lang, LAYER_LABELS[key]),
                    "count": count,
                    "amount": amount,
                    "weighted": weighted,
                    "width": round(100 * count / maximum, 1) if maximum else 0.0,
                }
            )
        for layer in layers:
            if layer["key"] == "won":
                layer["code"] = Stage.WON.code if self.lang == "zh" else "won"
        open_layers = [x for x in layers if x["key"] in ("D", "C", "B", "A")]
        flow = []
        for s in FLOW_STAGES:
            row: dict[str, Any] = {"key": s.key, "code": s.code, "label": self._label(s)}
            for metric in ("entered", "advanced", "fell_back", "lost"):
                now = _int(tb.flow[metric].get((k, int(s)), 0))
                before = _int(tb.flow_prev[metric].get((k, int(s)), 0))
                row[metric] = now
                row[f"{metric}_prev"] = before
                row[f"{metric}_delta"] = now - before
            flow.append(row)
        rates = self._rates(tb, k)
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
                "label": self._label(s),
                "target": self.target.get(int(s)),
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
        for w, per in self.trend_weeks:
            trend.append(
                {
                    "label": f"W{per.week:02d}",
                    "start": per.start,
                    "end": per.end,
                    **{m: _num(tb.trend[m].get((k, w), 0)) for m in tb.trend},
                }
            )
        for week in trend:
            for m in ("new", "advanced", "won", "lost"):
                week[m] = int(week[m])
        weighted_open = round(sum(x["weighted"] for x in open_layers), 2)
        pool_counts = {
            a: _int(tb.pool_n.get((k, a), 0))
            for a in ("claim", "release", "recycle", "claim-rejected", "transfer", "revert")
        }
        totals, items = tb.lists["pool"]
        rej_totals, rej_items = tb.lists["rejected"]
        out: dict[str, Any] = {
            "kind": kind,
            "name": name if kind != "team" else self.t("全团队", "whole team"),
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

    def _label(self, s: Stage) -> str:
        return _t(self.lang, LAYER_LABELS[s.key])

    def _rates(self, tb: _Tables, k: Any) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for s in OPEN_STAGES:
            adv = _int(tb.rates["advanced"].get((k, int(s)), 0))
            lost = _int(tb.rates["lost"].get((k, int(s)), 0))
            out[s.key] = adv / (adv + lost) if adv + lost else None
        return out

    # ---- the rep's own figures: phase, quota, needed layers, alerts, scorecard ----

    def rep_extras(
        self, rep: Rep, scope: dict[str, Any], tb: _Tables, team: dict[str, Any], team_tb: _Tables
    ) -> None:
        cfg, lang = self.cfg, self.lang
        phase = rep_phase(rep, cfg, self.today)
        settings = phase_settings(cfg, phase)
        quota = _num(rep.annual_quota) if rep.annual_quota else 0.0
        enough = scope["moves"] >= cfg.report.min_history
        rates = self._rates(tb, rep.name) if enough else self._rates(team_tb, "team")
        if enough:  # the rep's own rate where the rep has one, else the team's
            team_rates = self._rates(team_tb, "team")
            rates = {s: r if r is not None else team_rates[s] for s, r in rates.items()}
        avg_won = _maybe(tb.won_avg.get(rep.name), 2) if enough else None
        if avg_won is None or avg_won <= 0:
            avg_won = _maybe(team_tb.won_avg.get("team"), 2)
        if avg_won is None or avg_won <= 0:
            open_amounts = self.f.opps.loc[self.f.opps["open"], "amount"]
            avg_won = _maybe(open_amounts.mean(), 2)
        remaining = max(0.0, quota - scope["won_ytd"])
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
        scope.update(
            {
                "phase": phase,
                "phase_label": _t(lang, PHASE_LABELS[phase]),
                "regions": "*" if rep.all_regions else ",".join(sorted(rep.regions)),
                "email": rep.email,
                "quota": quota,
                "remaining": round(remaining, 2),
                "avg_won": avg_won,
                "rates_from": "own" if enough else "team",
                "deals_needed": None if deals is None else math.ceil(deals - 1e-9),
                "needed": needed,
                "needed_rates": {s: None if r is None else round(r, 4) for s, r in rates.items()},
            }
        )
        coverage = scope["open"]["weighted"] / quota if quota else None
        target = settings.get("pipeline_coverage_pct")
        scope["pipeline"] = {
            "weighted": scope["open"]["weighted"],
            "open_amount": scope["open"]["amount"],
            "quota": quota,
            "won_ytd": scope["won_ytd"],
            "coverage": None if coverage is None else round(coverage, 4),
            "coverage_pct": None if coverage is None else round(100 * coverage, 1),
            "target_pct": target,
            "met": None if target is None or coverage is None else 100 * coverage >= target,
        }
        scope["alerts"] = self._alerts(rep, scope, settings)
        scope["scorecard"] = self._scorecard(rep, scope, settings, tb, quota)

    def _alerts(
        self, rep: Rep, scope: dict[str, Any], settings: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        counts = {s: scope["funnel"][s.key]["count"] for s in FLOW_STAGES}
        alerts: list[dict[str, Any]] = []
        for goal in settings.get("goals", []):
            stage = Stage.from_key(goal["class"])
            have = sum(n for s, n in counts.items() if s >= stage)
            if have < goal["at_least"]:
                layer = (
                    stage.code
                    if stage is Stage.WON
                    else self.t("{c} 层及以上", "{c} or better", c=stage.code)
                )
                message = self.t(
                    "{layer}只有 {n} 个, 目标 ≥ {goal} ({label}): 补充",
                    "{layer}: only {n}, goal ≥ {goal} ({label}): replenish",
                    layer=layer if self.lang == "en" else layer + " ",
                    n=have,
                    goal=goal["at_least"],
                    label=goal["label"],
                )
                alerts.append(self._alert(rep, stage, "goal", have, goal["at_least"], message))
        for key in ("A", "B", "C", "D"):
            need = scope["needed"][key]
            stage = Stage.from_key(key)
            if need is not None and counts[stage] < need:
                message = self.t(
                    "{c} 层只有 {n} 个, 需要 ≈ {need} 个 (到年底还需成交 {money}): 补充",
                    "layer {c}: only {n}, needs ≈ {need} (to close {money} by year end): replenish",
                    c=key,
                    n=counts[stage],
                    need=need,
                    money=self.money(scope["remaining"]),
                )
                alerts.append(self._alert(rep, stage, "needed", counts[stage], need, message))
        return alerts

    def _alert(
        self, rep: Rep, stage: Stage, kind: str, have: int, want: int, message: str
    ) -> dict[str, Any]:
        return {
            "rep": rep.name,
            "layer": stage.code,
            "kind": kind,
            "kind_label": self.t("阶段目标", "phase goal")
            if kind == "goal"
            else self.t("定额所需", "quota needs"),
            "count": have,
            "target": want,
            "gap": want - have,
            "message": message,
            "action": _t(self.lang, ACTIONS[stage]),
        }

    def _scorecard(
        self,
        rep: Rep,
        scope: dict[str, Any],
        settings: Mapping[str, Any],
        tb: _Tables,
        quota: float,
    ) -> dict[str, Any]:
        items: list[dict[str, Any]] = []

        def add(kind: str, label: str, target: float, actual: float, unit: str = "") -> None:
            items.append(
                {
                    "rep": rep.name,
                    "phase_label": scope["phase_label"],
                    "kind": kind,
                    "kind_label": self.t("每周工作标准", "weekly standard")
                    if kind == "standard"
                    else self.t("阶段目标", "phase goal"),
                    "label": label,
                    "target": target,
                    "actual": round(actual, 2),
                    "unit": unit,
                    "met": actual >= target,
                }
            )

        for key, (activity, measure, zh, en) in STANDARDS.items():
            if key not in settings:
                continue
            table = tb.work["count" if measure == "count" else "hours"]
            add("standard", self.t(zh, en), settings[key], _num(table.get((rep.name, activity), 0)))
        counts = {s: scope["funnel"][s.key]["count"] for s in FLOW_STAGES}
        for goal in settings.get("goals", []):
            stage = Stage.from_key(goal["class"])
            have = sum(n for s, n in counts.items() if s >= stage)
            what = (
                self.t("成交", "won")
                if stage is Stage.WON
                else self.t("{c} 及以上", "{c} or better", c=stage.code)
            )
            add("goal", f"{goal['label']} ({what})", goal["at_least"], have)
        if quota > 0:
            pct = settings.get("pipeline_coverage_pct")
            if pct is not None:
                add(
                    "goal",
                    self.t("加权管道 / 年度定额 (%)", "weighted pipeline / annual quota (%)"),
                    pct,
                    100 * scope["open"]["weighted"] / quota,
                    "%",
                )
            pct = settings.get("quarter_target_pct")
            if pct is not None:
                add(
                    "goal",
                    self.t("本季度成交 / 季度定额 (%)", "won this quarter / quarter quota (%)"),
                    pct,
                    100 * scope["won_qtd"] / (quota / 4),
                    "%",
                )
            pct = settings.get("annual_target_pct")
            if pct is not None:
                add(
                    "goal",
                    self.t("本年成交 / 年度定额 (%)", "won this year / annual quota (%)"),
                    pct,
                    100 * scope["won_ytd"] / quota,
                    "%",
                )
        met = sum(1 for i in items if i["met"])
        return {"items": items, "met": met, "total": len(items)}


# ---- the snapshot ----


@dataclass(frozen=True)
class Snapshot:
    """The report's figures for the team, each region and each rep, as plain data."""

    lang: str
    today: dt.date
    period: Period
    currency: str
    team: dict[str, Any]
    regions: tuple[dict[str, Any], ...]
    reps: tuple[dict[str, Any], ...]
    holidays: tuple[dict[str, Any], ...]
    trailing_days: int = 90

    def rep(self, name: str) -> dict[str, Any]:
        for r in self.reps:
            if r["name"] == name:
                return r
        raise KeyError(name)

    def context(self, rep: str | None = None) -> dict[str, Any]:
        """The Jinja context: the team report, or one rep's (then `team` is that rep's scope,
        and the lists hold only that rep's rows)."""
        reps = [self.rep(rep)] if rep is not None else list(self.reps)
        main = reps[0] if rep is not None else self.team
        alerts = [a for r in reps for a in r["alerts"]]
        scorecard = [i for r in reps for i in r["scorecard"]["items"]]
        return {
            "lang": self.lang,
            "today": self.today,
            "period": self.period.as_dict(),
            "currency": self.currency,
            "trailing_days": self.trailing_days,
            "for_rep": rep,
            "team": main,
            "regions": [] if rep is not None else list(self.regions),
            "reps": reps,
            "alerts": alerts,
            "scorecard": scorecard,
            "stalled": main["stalled"]["items"],
            "overdue": main["overdue"]["items"],
            "important_days": main["important_days"]["items"],
            "holidays": list(self.holidays),
            "pool_activity": main["pool_activity"]["items"],
            "rejected_moves": main["rejected_moves"]["items"],
        }


def report_reps(book: Book) -> list[Rep]:
    """The reps a report covers: every rep except managers who own no opportunity."""
    owners = {o.owner for o in book.opportunities}
    seen: set[str] = set()
    out = []
    for r in book.reps:
        if r.name and r.name not in seen and (not r.manager or r.name in owners):
            seen.add(r.name)
            out.append(r)
    return out


def build_snapshot(
    book: Book,
    cfg: Config,
    today: dt.date,
    *,
    lang: str | None = None,
    limit: int = LIST_LIMIT,
    ledger: LedgerFrames | None = None,
) -> Snapshot:
    """Aggregate the book once for the report dated `today` (the last day of its week).
    `ledger`: ledger_frames(book), if made already (while the logs loaded)."""
    lang = lang or cfg.lang
    b = _Builder(book, cfg, today, lang, limit, ledger)
    cust = b.f.customers
    unowned = cust[cust["owner"].isna()]
    pool_by_region = {
        k: int(v) for k, v in unowned.groupby("region").size().to_dict().items() if k is not None
    }
    team_tb = b.tables("team")
    team = b.scope("team", "team", team_tb, len(unowned))
    region_tb = b.tables("region")
    regions = sorted({r for r in cust["region"].tolist() if isinstance(r, str)})
    region_scopes = [b.scope("region", r, region_tb, pool_by_region.get(r, 0)) for r in regions]
    rep_tb = b.tables("rep")
    rep_scopes = []
    for rep in report_reps(book):
        pool = (
            len(unowned) if rep.all_regions else sum(pool_by_region.get(r, 0) for r in rep.regions)
        )
        scope = b.scope("rep", rep.name, rep_tb, pool)
        b.rep_extras(rep, scope, rep_tb, team, team_tb)
        rep_scopes.append(scope)
    _team_totals(team, region_scopes, rep_scopes, book)
    holidays = tuple(
        {"date": day, "name": name}
        for day, name in Days(cfg, today).holidays_within(7)
        if day > today
    )
    return Snapshot(
        lang,
        today,
        b.period,
        cfg.report.currency,
        team,
        tuple(region_scopes),
        tuple(rep_scopes),
        holidays,
        cfg.report.trailing_days,
    )


def _team_totals(
    team: dict[str, Any],
    regions: Iterable[dict[str, Any]],
    reps: Sequence[dict[str, Any]],
    book: Book,
) -> None:
    """Team and region views: quota and coverage from their reps, the reps' alerts."""
    quota = sum(r["quota"] for r in reps)
    coverage = team["open"]["weighted"] / quota if quota else None
    team["quota"] = quota
    team["pipeline"] = {
        "weighted": team["open"]["weighted"],
        "open_amount": team["open"]["amount"],
        "quota": quota,
        "won_ytd": team["won_ytd"],
        "coverage": None if coverage is None else round(coverage, 4),
        "coverage_pct": None if coverage is None else round(100 * coverage, 1),
        "target_pct": None,
        "met": None,
        "reps_met": sum(1 for r in reps if r["pipeline"]["met"]),
        "reps_with_target": sum(1 for r in reps if r["pipeline"]["met"] is not None),
    }
    team["alerts"] = [a for r in reps for a in r["alerts"]]
    covers = {r.name: (r.all_regions, r.regions) for r in book.reps}
    for region in regions:
        members = [
            r
            for r in reps
            if (lambda c: c is not None and not c[0] and region["name"] in c[1])(
                covers.get(r["name"])
            )
        ]
        region["reps"] = [r["name"] for r in members]
        region["alerts"] = [a for r in members for a in r["alerts"]]
        region["pipeline"] = {
            "weighted": region["open"]["weighted"],
            "open_amount": region["open"]["amount"],
            "quota": None,
            "won_ytd": region["won_ytd"],
            "coverage": None,
            "coverage_pct": None,
            "target_pct": None,
            "met": None,
        }
