"""The book as DataFrames: customers, opportunities, activities and the two logs, each with the
scope columns `team`, `region` and `rep` the aggregation groups on.

Columns are converted once per distinct value (log columns repeat a few values), looked up by
index rather than merged, and the scope columns are categories, so that 100,000 opportunities
and their logs cost a few vectorised passes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from funnel_sync.logs import log_day, pool_action, stage_result
from funnel_sync.model import Activity, ActivityKind, Customer, Opportunity, Stage
from funnel_sync.parse import parse_stage, parse_text
from funnel_sync.read import Book
from funnel_sync.schema import POOL_LOG, STAGE_LOG

#: The scope columns every frame has: the whole team, the region, the rep.
SCOPES = ("team", "region", "rep")


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
