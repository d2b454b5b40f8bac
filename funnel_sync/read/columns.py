"""A ledger sheet's data rows parsed a column at a time, by each column's kind: one cached parser
call per cell, unreadable and missing values said where they are."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from funnel_sync import parse
from funnel_sync.config import Config
from funnel_sync.parse import BLANK_CHARS, Invalid
from funnel_sync.read.findings import Findings
from funnel_sync.read.layout import DataRows, SheetLayout
from funnel_sync.schema import Kind

NAME_FIELDS = frozenset({"owner", "rep"})  # cells that name a rep of the Reps sheet


@dataclass(frozen=True, slots=True)
class Table:
    """One sheet's data rows, parsed: per field the column of values (None where blank or
    unreadable), and what the engine needs of the cells as they were."""

    numbers: list[int]  # the data rows' numbers
    columns: dict[str, list[Any]]  # every field of the sheet, in or not in the file
    engine_cells: dict[str, list[Any]]  # the engine columns' cells as they are now
    # (sheet key, row, field, text as typed) of rep names typed with surrounding spaces
    untrimmed: list[tuple[str, int, str, str]]


def parse_columns(
    cfg: Config,
    date1904: bool,
    layout: SheetLayout,
    data: list[list[Any]],
    rows: DataRows,
    said: Findings,
) -> Table:
    """The data rows of the sheet, per field its parsed column.

    Parsing column by column keeps the per-cell cost to one cached parser call."""
    spec = layout.spec
    numbers, errors = rows.numbers, rows.errors
    # one transpose in C instead of a Python loop per column
    if numbers and numbers[-1] - numbers[0] == len(numbers) - 1:  # no rows left out
        chosen: Iterable[list[Any]] = data[numbers[0] - 1 : numbers[-1]]
    else:
        chosen = (data[r - 1] for r in numbers)
    transposed = list(itertools.zip_longest(*chosen, fillvalue=""))
    columns: dict[str, list[Any]] = {}
    engine_cells: dict[str, list[Any]] = {}
    untrimmed: list[tuple[str, int, str, str]] = []
    for f, col_index in layout.columns.items():
        col = spec.column(f)
        raw = transposed[col_index - 1] if col_index <= len(transposed) else [""] * len(numbers)
        values = parse.parse_column(parser(cfg, date1904, col.kind), raw)
        if col.is_engine:
            engine_cells[f] = list(raw)
        if f in NAME_FIELDS and any(
            v.__class__ is str and v and v != v.strip(BLANK_CHARS) for v in set(raw)
        ):
            untrimmed.extend(
                (spec.key, numbers[k], f, v)
                for k, v in enumerate(raw)
                if v.__class__ is str and v and v != v.strip(BLANK_CHARS)
            )
        kinds = set(map(type, values))
        if Invalid not in kinds and not (col.required and type(None) in kinds):
            columns[f] = values
            continue
        for k, v in enumerate(values):
            if v.__class__ is Invalid:
                said.add(
                    v.code,
                    layout.name,
                    numbers[k],
                    col_index,
                    f,
                    header=cfg.header(spec, col.field),
                    value=v.text,
                )
                values[k] = None
            elif v is None and col.required and (numbers[k], col_index) not in errors:
                said.add(
                    "value-missing",
                    layout.name,
                    numbers[k],
                    col_index,
                    f,
                    header=cfg.header(spec, col.field),
                )
        columns[f] = values
    none = [None] * len(numbers)
    for col in spec.columns:
        columns.setdefault(col.field, none)
    return Table(numbers, columns, engine_cells, untrimmed)


def parser(cfg: Config, date1904: bool, kind: Kind) -> Callable[[object], Any]:
    """The parser of a column of this kind, in this workbook (its date order and system)."""
    order = cfg.general.date_order
    if kind in (Kind.DATE, Kind.DATETIME):
        return functools.partial(parse.parse_date, order=order, date1904=date1904)
    if kind is Kind.MONTH_DAY:
        return functools.partial(parse.parse_month_day, order=order, date1904=date1904)
    if kind is Kind.INT:
        return _parse_int
    return _PARSERS[kind]


def _parse_int(value: object) -> int | Invalid | None:
    parsed = parse.parse_amount(value)
    if parsed is None or type(parsed) is Invalid:
        return parsed
    assert isinstance(parsed, float)
    return round(parsed)


_PARSERS: dict[Kind, Callable[[object], Any]] = {
    Kind.TEXT: parse.parse_text,
    Kind.STAGE: parse.parse_stage,
    Kind.BOOL: parse.parse_bool,
    Kind.AMOUNT: parse.parse_amount,
    Kind.HOURS: parse.parse_hours,
    Kind.KIND: parse.parse_kind,
    Kind.REGIONS: parse.parse_regions,
}
