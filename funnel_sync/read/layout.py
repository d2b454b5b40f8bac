"""Where each ledger sheet lies in this workbook: the sheet by its name, the header row and the
column of each field, and which rows below it are data (formulas, error values and merged cells
in them said)."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from funnel_sync import parse
from funnel_sync.config import Config
from funnel_sync.parse import BLANK_CHARS
from funnel_sync.problems import column_letter
from funnel_sync.read.findings import Findings
from funnel_sync.schema import Sheet, match_key
from funnel_sync.texts import text

HEADER_SEARCH_ROWS = 10  # headers below a title block are still found

#: A sheet's merged ranges as python-calamine gives them: ((row, col), (row, col)), 0-based.
Merged = list[tuple[tuple[int, int], tuple[int, int]]]


@dataclass(frozen=True, slots=True)
class SheetLayout:
    """Where a ledger sheet sits in this workbook: its real name, header row, column per field."""

    spec: Sheet
    name: str  # the sheet name as in the file
    header_row: int  # 1-based
    columns: dict[str, int]  # field → 1-based column index
    width: int  # used columns
    height: int  # used rows (last row number)

    def letter(self, field: str) -> str | None:
        index = self.columns.get(field)
        return column_letter(index) if index else None


@dataclass(frozen=True, slots=True)
class DataRows:
    """Which rows below a ledger sheet's header are data."""

    numbers: list[int]  # the data rows (1-based), in order
    errors: set[tuple[int, int]]  # (row, column) of error cells in team columns, said already
    stale: list[int]  # rows cleared by the team where only engine text is left: not data


def find_sheet(cfg: Config, names: Sequence[str], spec: Sheet) -> str | None:
    """The name in the file of the sheet `spec` (its configured title first, then its names)."""
    wanted = [cfg.sheets[spec.key]] if spec.key in cfg.sheets else []
    wanted += list(spec.names())
    keys = {match_key(w) for w in wanted}
    for name in names:
        if match_key(name) in keys:
            return name
    return None


def sheet_missing(cfg: Config, names: Sequence[str], spec: Sheet, said: Findings) -> None:
    title = cfg.sheet_title(spec)
    close = difflib.get_close_matches(title, names, n=1, cutoff=0.4)
    if close:
        hint = text("hint.sheet_like", cfg.lang, name=close[0])
    else:
        hint = text("hint.sheet_add", cfg.lang)
    said.add("sheet-missing", title, hint=hint)


def sheet_layout(
    cfg: Config, spec: Sheet, name: str, data: list[list[Any]], said: Findings
) -> SheetLayout | None:
    """The sheet's layout, or None when it has no usable header row."""
    header_index, mapping = find_header(cfg, spec, data)
    header_row = header_index + 1
    if not data or not any(_blank(v) is False for v in data[header_index]):
        if not spec.engine:
            said.add("header-blank-row", name, 1)
            for col in spec.columns:
                if col.required:
                    said.add(
                        "header-missing",
                        name,
                        1,
                        field=col.field,
                        header=cfg.header(spec, col.field),
                        hint="",
                    )
        return None
    header = data[header_index]
    columns: dict[str, int] = {}
    for index, field_name in mapping.items():
        if field_name in columns:
            said.add(
                "header-duplicate",
                name,
                header_row,
                index + 1,
                field_name,
                header=parse.parse_text(header[index]),
                other=column_letter(columns[field_name]),
            )
            continue
        columns[field_name] = index + 1
    unmatched = [
        parse.parse_text(header[i]) or ""
        for i in range(len(header))
        if i not in mapping and not _blank(header[i])
    ]
    for col in spec.columns:
        if col.required and col.field not in columns:
            wanted = cfg.header(spec, col.field)
            close = difflib.get_close_matches(wanted, unmatched, n=1, cutoff=0.5)
            hint = ""
            if close:
                hint = text("hint.header_like", cfg.lang, name=close[0], sheet_key=spec.key)
            said.add("header-missing", name, header_row, field=col.field, header=wanted, hint=hint)
    width = max(map(len, data), default=0)
    return SheetLayout(spec, name, header_row, columns, width, _last_row(data))


def find_header(cfg: Config, spec: Sheet, data: list[list[Any]]) -> tuple[int, dict[int, str]]:
    """The header row (0-based) among the first rows and its column → field mapping."""
    names: dict[str, str] = {}
    for col in spec.columns:
        for n in col.names():
            names.setdefault(match_key(n), col.field)
    for f, header in cfg.headers.get(spec.key, {}).items():
        names[match_key(header)] = f
    best, best_map = 0, dict[int, str]()
    for i, row in enumerate(data[:HEADER_SEARCH_ROWS]):
        mapping: dict[int, str] = {}
        for j, value in enumerate(row):
            if isinstance(value, str) and value.strip():
                found = names.get(match_key(value))
                if found is not None:
                    mapping[j] = found
        if len(mapping) > len(best_map):
            best, best_map = i, mapping
    return best, best_map


def check_cells(
    layout: SheetLayout,
    data: list[list[Any]],
    merged: Merged,
    flagged: dict[tuple[int, int], str | None],
    said: Findings,
) -> DataRows:
    """Formulas and error values in input columns; merged cells and empty rows in the data."""
    input_columns = {i: f for f, i in layout.columns.items() if not layout.spec.column(f).is_engine}
    errors: set[tuple[int, int]] = set()
    for (row, col), error in sorted(flagged.items()):
        if row <= layout.header_row or col not in input_columns:
            continue
        f = input_columns[col]
        if error is not None:
            # calamine reads an error cell as blank: report the error, not a blank
            said.add("cell-error", layout.name, row, col, f, value=error)
            errors.add((row, col))
            continue
        value = data[row - 1][col - 1] if row - 1 < len(data) else ""
        said.add("cell-formula", layout.name, row, col, f, value=parse.parse_text(value) or '""')
    for (r0, c0), (r1, c1) in merged:
        if r1 + 1 > layout.header_row and (r1 > r0 or c1 > c0):
            ref = f"{column_letter(c0 + 1)}{r0 + 1}:{column_letter(c1 + 1)}{r1 + 1}"
            said.add("merged-cells", layout.name, r0 + 1, c0 + 1, range=ref)
    numbers: list[int] = []
    stale: list[int] = []
    user = [i - 1 for f, i in layout.columns.items() if not layout.spec.column(f).is_engine]
    engine_only = len(user) < len(layout.columns)
    blank_from: int | None = None  # a run of empty rows is one warning, not one per row
    probe = user[0] if user else -1  # a team column, most often the ID: the fast path
    if _all_filled(data[layout.header_row : layout.height], probe):
        # every row has that column filled: all of them are data (C loops, 400k rows)
        return DataRows(list(range(layout.header_row + 1, layout.height + 1)), errors, stale)
    for index in range(layout.header_row, layout.height):
        cells = data[index]
        v = cells[probe] if 0 <= probe < len(cells) else None
        if v is not None and (v.__class__ is not str or v.strip(BLANK_CHARS)):
            if blank_from is not None:
                _empty_rows(said, layout.name, blank_from, index)
                blank_from = None
            numbers.append(index + 1)  # a value in a team column: data
            continue
        if _is_blank_row(cells):
            if blank_from is None:
                blank_from = index + 1
            continue
        if blank_from is not None:
            _empty_rows(said, layout.name, blank_from, index)
            blank_from = None
        if engine_only and all(i >= len(cells) or _blank(cells[i]) for i in user):
            # cleared by the team; only old reminder/check text stays: not data
            stale.append(index + 1)
        else:
            numbers.append(index + 1)
    return DataRows(numbers, errors, stale)


def _empty_rows(said: Findings, sheet: str, first: int, last: int) -> None:
    if first == last:
        said.add("row-empty", sheet, first)
    else:
        said.add("rows-empty", sheet, first, first=first, last=last, n=last - first + 1)


def _all_filled(rows: list[list[Any]], column: int) -> bool:
    """Whether every row has a value in `column` (0-based), blank text not counting."""
    if column < 0 or not rows or min(map(len, rows)) <= column:
        return False
    values = list(map(itemgetter(column), rows))
    types = set(map(type, values))
    texts = values if types == {str} else [v for v in values if v.__class__ is str]
    return type(None) not in types and all(map(str.strip, texts, itertools.repeat(BLANK_CHARS)))


def _blank(value: object) -> bool:
    # the parsers' notion of blank: zero-width marks pasted from chat apps are blank too
    return value is None or value == "" or (isinstance(value, str) and not value.strip(BLANK_CHARS))


def _is_blank_row(row: list[Any]) -> bool:
    # calamine pads with "": count() runs in C; other rows stop at their first real value
    if row.count("") == len(row):
        return True
    for v in row:
        if v is not None and v != "" and not (isinstance(v, str) and not v.strip(BLANK_CHARS)):
            return False
    return True


def _last_row(data: Sequence[list[Any]]) -> int:
    for index in range(len(data) - 1, -1, -1):
        if not _is_blank_row(data[index]):
            return index + 1
    return 0
