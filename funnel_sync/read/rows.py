"""The typed rows of each ledger sheet, built from its parsed columns: customers, opportunities,
activities and reps, each carrying its Source (sheet, row)."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from funnel_sync.config import Config
from funnel_sync.model import Activity, Customer, Evidence, Opportunity, Rep, Source
from funnel_sync.read.columns import Table
from funnel_sync.read.findings import Findings
from funnel_sync.read.layout import SheetLayout
from funnel_sync.schema import ACTIVITIES, OPPORTUNITIES, POOL, REPS, match_key

RELEASE_WORDS = frozenset({"释放", "release", "released", "公共", "公海"})
_T = TypeVar("_T", bound=tuple[Any, ...])


def customers(
    table: Table, layout: SheetLayout, cfg: Config, said: Findings
) -> tuple[Customer, ...]:
    numbers, v, sheet = table.numbers, table.columns, layout.name
    out = []
    for k, (row, owner) in enumerate(zip(numbers, v["owner"], strict=True)):
        released = owner is not None and match_key(owner) in RELEASE_WORDS
        out.append(
            Customer(
                Source(sheet, row),
                v["customer_id"][k] or "",
                v["name"][k],
                v["region"][k],
                None if released else owner,
                v["industry"][k],
                v["contact"][k],
                v["phone"][k],
                v["contact_birthday"][k],
                v["anniversary"][k],
                v["lead_source"][k],
                bool(v["locked"][k]),
                released,
                v["claimed_on"][k],
                v["released_on"][k],
            )
        )
    return tuple(out)


def opportunities(
    table: Table, layout: SheetLayout, cfg: Config, said: Findings
) -> tuple[Opportunity, ...]:
    numbers, v = table.numbers, table.columns
    amounts = v["amount"]
    for k, amount in enumerate(amounts):
        if amount is not None and amount < 0:
            said.add(
                "amount-negative",
                layout.name,
                numbers[k],
                layout.columns["amount"],
                "amount",
                header=cfg.header(OPPORTUNITIES, "amount"),
                value=_number_text(amount),
            )
            amounts[k] = None
    evidence = list(map(_make(Evidence), zip(*(map(bool, v[f]) for f in _EVIDENCE), strict=True)))
    ids = [x or "" for x in v["opportunity_id"]]
    return tuple(
        map(
            _make(Opportunity),
            zip(
                _sources(layout.name, numbers),
                ids,
                v["customer_id"],
                v["owner"],
                v["stage"],
                amounts,
                v["expected_close"],
                v["next_step"],
                v["planned_advance"],
                evidence,
                v["lost_reason"],
                v["notes"],
                v["confirmed_stage"],
                v["stage_entered_on"],
                strict=True,
            ),
        )
    )


def activities(
    table: Table, layout: SheetLayout, cfg: Config, said: Findings
) -> tuple[Activity, ...]:
    v = table.columns
    return tuple(
        map(
            _make(Activity),
            zip(
                _sources(layout.name, table.numbers),
                v["date"],
                v["rep"],
                v["customer_id"],
                v["opportunity_id"],
                v["kind"],
                v["hours"],
                v["notes"],
                strict=True,
            ),
        )
    )


def reps(table: Table, layout: SheetLayout, cfg: Config, said: Findings) -> tuple[Rep, ...]:
    v = table.columns
    out = []
    for k, row in enumerate(table.numbers):
        regions: tuple[frozenset[str], bool] = v["regions"][k] or (frozenset(), False)
        out.append(
            Rep(
                Source(layout.name, row),
                v["name"][k] or "",
                v["email"][k],
                regions[0],
                regions[1],
                v["start_date"][k],
                v["annual_quota"][k],
                bool(v["manager"][k]),
                v["training_end"][k],
            )
        )
    return tuple(out)


#: The typed rows of each ledger sheet, by sheet key.
BUILDERS: dict[str, Callable[[Table, SheetLayout, Config, Findings], tuple[Any, ...]]] = {
    POOL.key: customers,
    OPPORTUNITIES.key: opportunities,
    ACTIVITIES.key: activities,
    REPS.key: reps,
}

_EVIDENCE = Evidence._fields


def _make(cls: type[_T]) -> Callable[[Iterable[Any]], _T]:
    """cls from a tuple of all its fields, without a Python-level call per row: the named
    tuple's own __new__ is Python code, tuple.__new__ is C (and zip gives every field)."""
    return functools.partial(tuple.__new__, cls)


def _sources(sheet: str, numbers: list[int]) -> Iterator[Source]:
    return map(_make(Source), zip(itertools.repeat(sheet), numbers))


def _number_text(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
