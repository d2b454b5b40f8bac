"""The plan of one sync: the rules' decisions laid out as the change set (only the engine
cells that differ, the log rows appended, the Today sheet) for the writer (decide, then write)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import islice, repeat
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from funnel_sync.config import Config
from funnel_sync.logs import POOL_ACTIONS, STAGE_RESULTS
from funnel_sync.model import Stage
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
from funnel_sync.rules import Context, Decisions, TodayItem
from funnel_sync.rules.decisions import PoolEntry, StageEntry
from funnel_sync.schema import OPPORTUNITIES, POOL, POOL_LOG, STAGE_LOG, TODAY, Kind, Sheet
from funnel_sync.texts import Said, text

OPPS, CUSTOMERS = OPPORTUNITIES.key, POOL.key


def today_sheet(
    ctx: Context, decisions: Decisions, texts: Mapping[int, str] | None = None
) -> list[tuple[CellValue, ...]]:
    """Per rep (in the Reps sheet's order), most urgent first, numbered from 1. `texts`: the
    notes already rendered, by identity (the Today items' notes are the 提醒 cells' too)."""
    lang, known = ctx.lang, (texts or {}).get
    order = {r.name: i for i, r in enumerate(ctx.book.reps)}
    by_rep: dict[str, list[TodayItem]] = defaultdict(list)
    for item in decisions.reminders.today:
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
                    known(id(item.reason)) or item.reason.render(lang),
                )
            )
    return rows


def engine_values(ctx: Context, decisions: Decisions) -> dict[str, EngineColumns]:
    """The engine cells the decisions call for, by sheet key: the rows of the first row of
    each ID, and per field the values in that order. The rules decide per customer and per
    opportunity; the plan lays that out on the sheet's rows (a duplicate's row stays blank)."""
    stages, pool, today = decisions.stages, decisions.pool, ctx.today
    opps = ctx.opportunities
    ids = list(map(attrgetter("opportunity_id"), opps))
    # the follow-ups of the opportunities at an open or won class (rules/cadence.py)
    ups = list(map(decisions.follow_ups.get, ids))
    opportunity_values: dict[str, list[CellValue]] = {
        "confirmed_stage": list(map(_CODES.get, map(stages.confirmed.get, ids))),
        "stage_entered_on": list(map(stages.entered.get, ids)),
        "days_in_stage": [f.in_stage if f is not None else None for f in ups],
        "last_contact": [f.last if f is not None else None for f in ups],
        "next_contact_due": [f.due if f is not None else None for f in ups],
        "overdue_days": [(f.overdue or None) if f is not None else None for f in ups],
    }
    # the pool: 领取日期 and 释放日期 as read, but today's claims, transfers, releases, recycles
    customers = list(ctx.customers.values())
    claimed, released = pool.claimed, pool.released
    pool_values: dict[str, list[CellValue]] = {
        "claimed_on": [today if c.customer_id in claimed else c.claimed_on for c in customers],
        "released_on": [today if c.customer_id in released else c.released_on for c in customers],
    }
    return {
        OPPS: EngineColumns([o.source.row for o in opps], opportunity_values),
        CUSTOMERS: EngineColumns([c.source.row for c in customers], pool_values),
    }


class EngineColumns(NamedTuple):
    rows: list[int]  # the first row of each ID, in sheet order
    values: dict[str, list[CellValue]]  # field → a value per row


def _aligner(first: list[int], rows: list[int]) -> Callable[[list[CellValue]], list[CellValue]]:
    """Lays a column of values for the rows `first` out on all the sheet's `rows` (None on
    the others) by one C loop per column, not a dict per column (100k rows each)."""
    if first == rows:
        return list
    at = dict(zip(first, range(len(first)), strict=True))
    blank = len(first)  # the index of the None added at the column's end
    where = list(map(at.get, rows, repeat(blank)))
    if len(where) < 2:  # itemgetter of one index gives the value, not a tuple
        return lambda column: [[*column, None][i] for i in where]
    pick = itemgetter(*where)
    return lambda column: list(pick([*column, None]))


_CODES: dict[Stage | None, str] = {stage: stage.code for stage in Stage}


def plan(ctx: Context, book: Book, decisions: Decisions, problems: Sequence[Problem]) -> ChangeSet:
    """Decide the writes: only engine cells whose value differs, new engine columns where the
    sheet lacks them, new log rows appended, the Today sheet replaced. `book`: as read with
    its engine sheets (what the cells hold now)."""
    cfg, lang = ctx.cfg, ctx.lang
    checks = _check_texts(book, problems, cfg.lang)
    engine = engine_values(ctx, decisions)
    reminders, texts = _reminder_texts(decisions.reminders.notes, lang)
    today_rows = today_sheet(ctx, decisions, texts)
    owner_writes = decisions.pool.owner_writes
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
        if spec is POOL and owner_writes:
            owned.add(columns["owner"])  # recycle and revert: documented rules, logged
        engine_columns[layout.name] = frozenset(owned)
        current = book.engine_cells.get(spec.key, {})
        rows = book.row_numbers.get(spec.key, [])
        decided = engine[spec.key]
        aligned = _aligner(decided.rows, rows)
        for col in spec.columns:
            if not col.is_engine:
                continue
            column = columns[col.field]
            # the new values a column at a time, looked up by C loops (a million cells at 100k)
            values: list[CellValue]
            if col.field == "reminder":
                values = list(map(reminders.get, zip(repeat(spec.key), rows)))
            elif col.field == "check":
                values = list(map(checks.get, zip(repeat(layout.name), rows)))
            else:
                values = aligned(decided.values[col.field])
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
            for row, owner in sorted(owner_writes.items()):
                cells.append(CellWrite(layout.name, row, columns["owner"], owner))
    logs = (
        (STAGE_LOG, _stage_log(ctx, decisions.stages.log)),
        (POOL_LOG, _pool_log(ctx, decisions.pool.log)),
    )
    for spec, new_rows in logs:
        layout = book.layouts.get(spec.key)
        if layout is None:
            sheets.append(_sheet(spec, cfg, new_rows))
            continue
        engine_columns[layout.name] = frozenset(range(1, max(layout.width, len(spec.columns)) + 1))
        for k, log_row in enumerate(new_rows):
            row = layout.height + 1 + k
            for field_name, value in zip((c.field for c in spec.columns), log_row, strict=True):
                log_column = layout.columns.get(field_name)
                if log_column is not None:
                    cells.append(CellWrite(layout.name, row, log_column, value))
    if not _today_unchanged(book, cfg, today_rows):
        sheets.append(_sheet(TODAY, cfg, today_rows))
    return ChangeSet(tuple(cells), tuple(new_columns), tuple(sheets), engine_columns)


def _rendered(texts: Iterable[Said | str], lang: str) -> list[str]:
    """The rules' texts in `lang`: a Said rendered, a str (a problem's message) as it is."""
    return [t if isinstance(t, str) else t.render(lang) for t in texts]


def _reminder_texts(
    notes: Mapping[tuple[str, int], Sequence[Said]], lang: str
) -> tuple[dict[tuple[str, int], CellValue], dict[int, str]]:
    """Each row's 提醒 text, and each note's text by identity for the Today list (its items'
    notes are the same objects): rendered once, in the order they were made."""
    rows = list(notes.values())
    flat = [note for row in rows for note in row]
    texts = _rendered(flat, lang)
    each = iter(texts)
    joined = [
        None if not row else next(each) if len(row) == 1 else "; ".join(islice(each, len(row)))
        for row in rows
    ]
    return dict(zip(notes, joined, strict=True)), dict(zip(map(id, flat), texts, strict=True))


def _stage_log(ctx: Context, entries: Sequence[StageEntry]) -> list[tuple[CellValue, ...]]:
    """StageLog rows: time, opportunity, from, to, result, reason, owner (100k on a first
    sync of the benchmark's largest)."""
    results = {code: text(f"log.stage.{code}", ctx.lang) for code in STAGE_RESULTS}
    reasons = _rendered(map(attrgetter("reason"), entries), ctx.lang)
    now = ctx.now
    return [
        (
            now,
            e.opportunity_id,
            e.frm.code if e.frm is not None else "",
            e.to.code,
            results[e.result],
            reason,
            e.owner,
        )
        for e, reason in zip(entries, reasons, strict=True)
    ]


def _pool_log(ctx: Context, entries: Sequence[PoolEntry]) -> list[tuple[CellValue, ...]]:
    """PoolLog rows: time, customer, action, rep, reason, old value."""
    actions = {code: text(f"log.pool.{code}", ctx.lang) for code in POOL_ACTIONS}
    reasons = _rendered(map(attrgetter("reason"), entries), ctx.lang)
    now = ctx.now
    return [
        (now, e.customer_id, actions[e.action], e.rep or "", reason, e.old or "")
        for e, reason in zip(entries, reasons, strict=True)
    ]


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
