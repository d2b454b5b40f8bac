"""The Excel report: fill templates/report.xlsx (or any workbook following its conventions)
through the lossless writer, so everything the manager put in the template survives.

Conventions (also in the template's 说明 README sheet and in README.md):
- a cell whose text holds `{{ … }}` is rendered with the report's Jinja context; a cell that is
  exactly one `{{ expression }}` receives the typed value (number, date, …) so its number format
  applies, any other text is rendered as text;
- a row with a cell starting `{%row LIST as NAME%}` repeats for each item of LIST: the first item
  fills the row itself, the following ones the rows below (which must be empty in the template);
  the rest of the marker cell is that cell's own expression; an empty list clears the row;
- sheets whose name starts with 说明 or README are left alone.
Every rendered string is written as an inline string: text starting with =, +, -, @, tab or CR
stays text and never becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import jinja2
import jinja2.sandbox
import numpy as np
import python_calamine as calamine

from funnel_sync import xlsx
from funnel_sync.plan import CellValue, CellWrite, ChangeSet
from funnel_sync.problems import column_letter
from funnel_sync.report import ReportError, jinja_globals
from funnel_sync.report.html import FILTERS

MARKER = re.compile(r"^\s*\{%-?\s*row\s+(?P<items>.+?)\s+as\s+(?P<name>[A-Za-z_]\w*)\s*-?%\}")
SINGLE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.S)
SKIPPED_SHEETS = ("说明", "readme")


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Cell templates come from a workbook anyone may edit: a sandbox, no HTML escaping.
    One for all renders, so the cells' compiled expressions are reused (see _compiled)."""
    env = jinja2.sandbox.SandboxedEnvironment(
        autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=False
    )
    env.filters.update(FILTERS)
    return env


@dataclass(frozen=True)
class _Cell:
    column: int
    render: Callable[[dict[str, Any]], CellValue]
    expr: str | None = None  # the expression of a cell that is exactly one {{ expression }}


def _batch(env: jinja2.Environment, cells: list[_Cell]) -> Callable[..., Any] | None:
    """One expression listing the values of the row's single-expression cells: a row costs
    one Jinja call instead of one per cell (each call sets up a new template context)."""
    exprs = [cell.expr for cell in cells if cell.expr is not None]
    if len(exprs) < 2:
        return None
    try:
        return _expression(env, "[" + ", ".join(f"({e})" for e in exprs) + "]")
    except jinja2.TemplateSyntaxError:
        return None


def _typed(value: Any) -> CellValue:
    """A rendered expression as a value the writer can store."""
    kind = type(value)
    if kind is str or kind is int or kind is dt.date:  # the common cases, as they are
        return cast(CellValue, value)
    if value is None or isinstance(value, jinja2.Undefined):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, int | str | dt.date):
        return value
    return str(value)


@functools.lru_cache(maxsize=4096)
def _expression(env: jinja2.Environment, source: str) -> Callable[..., Any]:
    """`source` compiled as an expression, once per environment (a report per rep renders
    the same cells again and again)."""
    return env.compile_expression(source, undefined_to_none=False)


@functools.lru_cache(maxsize=4096)
def _compiled(env: jinja2.Environment, text: str) -> Callable[[dict[str, Any]], CellValue]:
    single = SINGLE.match(text)
    if single is not None:
        expr = _expression(env, single.group("expr"))
        return lambda ctx: _typed(expr(**ctx))
    template = env.from_string(text)

    def render(ctx: dict[str, Any]) -> CellValue:
        out = template.render(**ctx)
        return out if out != "" else None

    return render


def _compile(env: jinja2.Environment, text: str, where: str) -> Callable[[dict[str, Any]], Any]:
    try:
        return _compiled(env, text)
    except jinja2.TemplateSyntaxError as e:
        raise ReportError(f"{where}: {e.message}: {text!r}") from None


def _is_template(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _blank(value: object) -> bool:
    return value is None or value == ""


def _static(value: object) -> CellValue:
    if isinstance(value, bool | int | float | str | dt.date):
        return value
    return None


def plan_sheet(
    env: jinja2.Environment, sheet: str, rows: list[list[Any]], context: dict[str, Any]
) -> list[CellWrite]:
    """The cell writes that fill one template sheet."""
    writes: list[CellWrite] = []
    claimed: dict[int, int] = {}  # row filled by a list → the marker row that fills it

    def where(r: int, c: int) -> str:
        return f"{sheet}!{column_letter(c)}{r}"

    def run(fn: Callable[[dict[str, Any]], CellValue], ctx: dict[str, Any], r: int, c: int) -> Any:
        try:
            return fn(ctx)
        except ReportError:
            raise
        except Exception as e:  # a broken expression names its cell
            raise ReportError(f"{where(r, c)}: {type(e).__name__}: {e}") from None

    def render_row(
        cells: list[_Cell], batch: Callable[..., Any] | None, ctx: dict[str, Any], r: int
    ) -> list[CellValue]:
        batched: Iterator[CellValue] | None = None
        if batch is not None:
            try:
                batched = iter([_typed(v) for v in batch(**ctx)])
            except Exception:  # a broken cell: render them one by one, which names it
                batched = None
        return [
            next(batched)
            if batched is not None and cell.expr is not None
            else run(cell.render, ctx, r, cell.column)
            for cell in cells
        ]

    for index, values in enumerate(rows):
        r = index + 1
        if not any(_is_template(v) for v in values):
            continue
        marker = None
        cells: list[_Cell] = []
        statics: list[tuple[int, CellValue]] = []
        for ci, value in enumerate(values):
            c = ci + 1
            if not _is_template(value):
                if not _blank(value):
                    statics.append((c, _static(value)))
                continue
            assert isinstance(value, str)
            text = value
            m = MARKER.match(text)
            if m is not None:
                if marker is not None:
                    raise ReportError(f"{where(r, c)}: a second {{%row%}} marker in one row")
                marker = (m.group("items"), m.group("name"), c)
                text = text[m.end() :]
                if not text.strip():
                    cells.append(_Cell(c, lambda ctx: None))
                    continue
            single = SINGLE.match(text)
            expr = single.group("expr") if single is not None else None
            cells.append(_Cell(c, _compile(env, text, where(r, c)), expr))
        batch = _batch(env, cells)
        if marker is None:
            for cell, value in zip(cells, render_row(cells, batch, context, r), strict=True):
                writes.append(CellWrite(sheet, r, cell.column, value))
            continue
        items_expr, name, mc = marker
        try:
            found: Any = _expression(env, items_expr)(**context)
            items = list(found)
        except Exception as e:
            raise ReportError(f"{where(r, mc)}: {{%row {items_expr} …%}}: {e}") from None
        for k, item in enumerate(items):
            row = r + k
            if k > 0:
                below = rows[row - 1] if row - 1 < len(rows) else []
                if row in claimed or any(not _blank(v) for v in below):
                    raise ReportError(
                        f"{where(r, mc)}: the list {items_expr!r} has {len(items)} items and "
                        f"would overwrite row {row}: leave empty rows below the marker row or "
                        f"move the list to its own sheet"
                    )
                claimed[row] = r
                for c, value in statics:
                    writes.append(CellWrite(sheet, row, c, value))
            ctx = {**context, name: item, "index": k + 1}
            for cell, value in zip(cells, render_row(cells, batch, ctx, row), strict=True):
                writes.append(CellWrite(sheet, row, cell.column, value))
        if not items:
            writes.extend(CellWrite(sheet, r, cell.column, None) for cell in cells)
    return writes


def template_sheets(path: Path) -> Iterable[tuple[str, list[list[Any]]]]:
    """Each sheet to render with its cell values (calamine: fast, any workbook)."""
    try:
        book = calamine.CalamineWorkbook.from_path(str(path))
    except Exception as e:
        raise ReportError(f"{path}: cannot read the Excel template: {e}") from None
    for name in book.sheet_names:
        if name.strip().lower().startswith(SKIPPED_SHEETS):
            continue
        try:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception:  # a chart sheet or an unreadable part: nothing to render there
            continue
        yield name, rows


def render_excel(template: Path, out: Path, context: Mapping[str, Any]) -> xlsx.WriteResult:
    """Copy the template to `out` and fill its Jinja cells in one change set."""
    if not template.is_file():
        raise ReportError(f"{template}: Excel template not found")
    env = environment()
    ctx = jinja_globals(context)
    writes: list[CellWrite] = []
    for sheet, rows in template_sheets(template):
        writes.extend(plan_sheet(env, sheet, rows, ctx))
    columns: dict[str, set[int]] = {}
    for w in writes:
        columns.setdefault(w.sheet, set()).add(w.column)
    changes = ChangeSet(
        cells=tuple(writes),
        engine_columns={s: frozenset(range(1, max(cols) + 1)) for s, cols in columns.items()},
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, out)
    try:
        result = xlsx.apply_changes(out, changes, expected=None, backups=0)
    except xlsx.WriteError as e:
        raise ReportError(str(e)) from None
    refused = [r for r in result.refused if "formula" not in r.reason]
    if refused:
        first = refused[0]
        raise ReportError(
            f"{first.write.sheet}!{column_letter(first.write.column)}{first.write.row}: "
            f"{first.reason}"
        )
    return result
