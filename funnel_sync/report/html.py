"""The HTML report: one self-contained, e-mail-safe page rendered from templates/report.html.j2."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from funnel_sync.report import HTML_TEMPLATE, ReportError, jinja_globals


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_money(value: Any, currency: str = "¥") -> str:
    if _missing(value):
        return "—"
    return f"{currency}{float(value):,.0f}"


def fmt_num(value: Any, digits: int = 0) -> str:
    if _missing(value):
        return "—"
    if isinstance(value, bool):
        return str(value)
    return f"{float(value):,.{digits}f}"


def fmt_pct(value: Any, digits: int = 1) -> str:
    """A percentage given in percent (45.0 → "45.0%")."""
    if _missing(value):
        return "—"
    return f"{float(value):.{digits}f}%"


def fmt_delta(value: Any) -> str:
    if _missing(value) or value == 0:
        return "±0"
    return f"+{value:,}" if value > 0 else f"−{-value:,}"


def fmt_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "—" if _missing(value) else str(value)


def clamp(value: Any, low: float = 0, high: float = 100) -> float:
    if _missing(value):
        return low
    return max(low, min(high, float(value)))


FILTERS = {
    "money": fmt_money,
    "num": fmt_num,
    "pct": fmt_pct,
    "delta": fmt_delta,
    "date": fmt_date,
    "clamp": clamp,
}


@functools.lru_cache(maxsize=8)
def environment(folder: Path) -> jinja2.Environment:
    """The Jinja environment of the HTML templates: autoescape on, undefined names fail.

    One per folder, kept: it keeps its compiled templates, so a report per rep compiles the
    template once (Jinja still reloads a template whose file changed)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render_html(context: Mapping[str, Any], folder: Path, name: str = HTML_TEMPLATE) -> str:
    env = environment(folder)
    try:
        template = env.get_template(name)
        return template.render(**jinja_globals(context))
    except jinja2.TemplateNotFound as e:
        raise ReportError(f"{folder / name}: template not found ({e.name})") from None
    except jinja2.TemplateSyntaxError as e:
        raise ReportError(f"{e.filename or name}:{e.lineno}: {e.message}") from None
    except jinja2.UndefinedError as e:
        raise ReportError(f"{folder / name}: {e.message}") from None
