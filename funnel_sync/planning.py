"""The plan of one sync: the rules' decisions laid out as the change set (only the engine
cells that differ, the log rows appended, the Today sheet) for the writer (decide, then write)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from itertools import repeat
from typing import Any

from funnel_sync.config import Config
from funnel_sync.parse import parse_date
from funnel_sync.plan import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    CellValue,
    CellWrite,
    ChangeSet,
    NewColumn,
    SheetContent,
)
from funnel_sync.problems import Problem
from funnel_sync.read import Book
from funnel_sync.rules import Context, Outcome, TodayItem
from funnel_sync.schema import OPPORTUNITIES, POOL, POOL_LOG, STAGE_LOG, TODAY, Kind, Sheet


def today_sheet(ctx: Context, out: Outcome) -> list[tuple[CellValue, ...]]:
    """Per rep (in the Reps sheet's order), most urgent first, numbered from 1."""
    order = {r.name: i for i, r in enumerate(ctx.book.reps)}
    by_rep: dict[str, list[TodayItem]] = defaultdict(list)
    for item in out.today:
        if item.rep in ctx.reps:
            by_rep[item.rep].append(item)
    rows: list[tuple[CellValue, ...]] = []
    for rep in sorted(by_rep, key=lambda r: order.get(r, len(order))):
        for n, item in enumerate(sorted(by_rep[rep], key=TodayItem.sort_key), 1):
            c = item.customer
            rows.append(
                (
                    rep,
                    n,
                    item.stage.code if item.stage is not None else "",
                    c.customer_id if c else "",
                    c.name if c else "",
                    c.contact if c else "",
                    c.phone if c else "",
                    item.opportunity_id or "",
                    item.reason,
                )
            )
    return rows


def plan(
    book: Book,
    cfg: Config,
    out: Outcome,
    problems: Sequence[Problem],
    today_rows: list[tuple[CellValue, ...]],
) -> ChangeSet:
    """Decide the writes: only engine cells whose value differs, new engine columns where the
    sheet lacks them, new log rows appended, the Today sheet replaced."""
    checks = _check_texts(book, problems, cfg.lang)
    cells: list[CellWrite] = []
    new_columns: list[NewColumn] = []
    sheets: list[SheetContent] = []
    engine_columns: dict[str, frozenset[int]] = {}
    for spec in (POOL, OPPORTUNITIES):
        layout = book.layouts.get(spec.key)
        if layout is None:
            continue
        columns = dict(layout.columns)
        next_col = layout.width + 1
        for col in spec.columns:
            if col.is_engine and col.field not in columns:
                fmt = DATE_FORMAT if col.kind is Kind.DATE else None
                new_columns.append(
                    NewColumn(
                        layout.name,
                        next_col,
                        cfg.header(spec, col.field),
                        layout.header_row,
                        fmt,
                        col.width,
                    )
                )
                columns[col.field] = next_col
                next_col += 1
        owned = {columns[c.field] for c in spec.columns if c.is_engine}
        if spec is POOL and out.owner_writes:
            owned.add(columns["owner"])  # recycle and revert: documented rules, logged
        engine_columns[layout.name] = frozenset(owned)
        current = book.engine_cells.get(spec.key, {})
        rows = book.row_numbers.get(spec.key, [])
        for col in spec.columns:
            if not col.is_engine:
                continue
            column = columns[col.field]
            # the new values a column at a time, looked up by C loops (a million cells at 100k)
            values: list[CellValue]
            if col.field == "reminder":
                notes = map(out.reminders.get, zip(repeat(spec.key), rows))
                values = [("; ".join(n) if n else None) for n in notes]
            elif col.field == "check":
                values = list(map(checks.get, zip(repeat(layout.name), rows)))
            else:
                values = list(map(out.cells[(spec.key, col.field)].get, rows))
            now = current.get(col.field) or [None] * len(rows)
            number = col.kind is Kind.INT
            for row, old, value in zip(rows, now, values, strict=True):
                # _same's answer without the call for the common cases: blank, or equal values
                # of one type (a whole number is read back as a float)
                if value is None:
                    if old is None or old == "":
                        continue
                elif old == value and (
                    old.__class__ is value.__class__
                    or (number and old.__class__ is float and value.__class__ is int)
                ):
                    continue
                if not _same(old, value, col.kind, book.date1904):
                    cells.append(CellWrite(layout.name, row, column, value))
            for row in book.stale_rows.get(spec.key, []):  # cleared rows keep no old reminders
                cells.append(CellWrite(layout.name, row, column, None))
        if spec is POOL:
            for row, owner in sorted(out.owner_writes.items()):
                cells.append(CellWrite(layout.name, row, columns["owner"], owner))
    for spec, new_rows in ((STAGE_LOG, out.stage_log), (POOL_LOG, out.pool_log)):
        layout = book.layouts.get(spec.key)
        if layout is None:
            sheets.append(_sheet(spec, cfg, [tuple(r) for r in new_rows]))
            continue
        engine_columns[layout.name] = frozenset(range(1, max(layout.width, len(spec.columns)) + 1))
        for k, values in enumerate(new_rows):
            row = layout.height + 1 + k
            for field_name, value in zip((c.field for c in spec.columns), values, strict=True):
                log_column = layout.columns.get(field_name)
                if log_column is not None:
                    cells.append(CellWrite(layout.name, row, log_column, value))
    if not _today_unchanged(book, cfg, today_rows):
        sheets.append(_sheet(TODAY, cfg, today_rows))
    return ChangeSet(tuple(cells), tuple(new_columns), tuple(sheets), engine_columns)


def _today_unchanged(book: Book, cfg: Config, rows: list[tuple[CellValue, ...]]) -> bool:
    """The Today sheet as read already holds exactly these rows (under the same headers): then
    it is not sent to the writer at all, which saves re-parsing it on every idempotent sync."""
    layout = book.layouts.get(TODAY.key)
    current = book.engine_rows.get(TODAY.key)
    if layout is None or current is None:
        return False
    headers = [c.field for c in TODAY.columns]
    if [layout.columns.get(f) for f in headers] != list(range(1, len(headers) + 1)):
        return False
    if layout.name != cfg.sheet_title(TODAY):
        return False
    width = len(headers)
    if layout.width > width:
        for r in current:
            beside = r[width:]
            if beside.count("") + beside.count(None) != len(beside):
                return False  # something else was typed beside the list
    # list.count and == run in C: 62k rows at 100k opportunities
    present = [r[:width] for r in current if r.count("") + r.count(None) != len(r)]
    if len(present) != len(rows):
        return False
    for k, r in enumerate(present):
        if len(r) < width:
            present[k] = r + [""] * (width - len(r))
    wanted = [list(map(_cell, r)) if None in r else list(r) for r in rows]
    return present == wanted


def _cell(value: object) -> object:
    """A value as calamine reads it back: blank is "", whole numbers are floats."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    return value


def _sheet(spec: Sheet, cfg: Config, rows: list[tuple[CellValue, ...]]) -> SheetContent:
    formats = tuple(
        DATETIME_FORMAT if c.kind is Kind.DATETIME else DATE_FORMAT if c.kind is Kind.DATE else None
        for c in spec.columns
    )
    return SheetContent(
        cfg.sheet_title(spec),
        tuple(cfg.header(spec, c.field) for c in spec.columns),
        tuple(rows),
        formats,
        tuple(float(c.width) for c in spec.columns),
    )


def _check_texts(book: Book, problems: Sequence[Problem], lang: str) -> dict[tuple[str, int], str]:
    """The 校验 text of each row: its problems' messages, errors first."""
    grouped: dict[tuple[str, int], list[Problem]] = defaultdict(list)
    for p in problems:
        if p.row is not None:
            grouped[(p.sheet, p.row)].append(p)
    mark = {"error": "✗ ", "warning": "⚠ "}
    texts = {}
    for key, items in grouped.items():
        items.sort(key=lambda p: p.severity != "error")
        texts[key] = "; ".join(mark[p.severity] + p.message for p in items)
    return texts


def _same(old: Any, new: CellValue, kind: Kind, date1904: bool) -> bool:
    """Whether the cell already holds `new` (as Excel would show it)."""
    if old is None or old == "":
        return new is None or new == ""
    if new is None or new == "":
        return False
    if kind in (Kind.DATE, Kind.DATETIME):
        parsed = parse_date(old, date1904=date1904)
        return isinstance(parsed, dt.date) and isinstance(new, dt.date) and parsed == new
    if kind is Kind.INT:
        return isinstance(old, int | float) and isinstance(new, int | float) and old == new
    return isinstance(old, str) and old == str(new)
