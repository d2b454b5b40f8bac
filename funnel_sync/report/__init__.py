"""The weekly report: read the book, build the snapshot once, render HTML and Excel from
templates/ for the team and, on request, for each rep."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnel_sync.config import Config
from funnel_sync.gcpause import gc_paused
from funnel_sync.model import Rep
from funnel_sync.read import reading
from funnel_sync.schema import POOL_LOG, STAGE_LOG
from funnel_sync.texts import strings, text

if TYPE_CHECKING:
    from funnel_sync.funnel import Snapshot

#: The templates shipped with funnel_sync (a checkout's templates/ folder).
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
HTML_TEMPLATE = "report.html.j2"
XLSX_TEMPLATE = "report.xlsx"

Progress = Callable[[str], None]
LOG_SHEETS = frozenset({STAGE_LOG.key, POOL_LOG.key})


class ReportError(Exception):
    """The report cannot be made (unknown rep, missing or broken template): a clear message."""


def labels(lang: str) -> dict[str, str]:
    """The words of the report in `lang` (the catalogue's report.* texts, unfilled); templates
    reach them as {{ t.funnel }}."""
    return strings("report", lang)


@dataclass
class ReportResult:
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    reps: tuple[Rep, ...] = ()  # the Reps sheet as read, for the mail's addresses


def week_stem(snapshot: Snapshot, rep: str | None = None) -> str:
    stem = f"funnel-report-{snapshot.period.label}"
    if rep is not None:
        safe = re.sub(r'[\\/:*?"<>|\s\x00-\x1f]+', "_", rep).strip("._") or "rep"
        stem += f"-{safe}"
    return stem


@gc_paused()  # millions of long-lived objects: see gcpause.py
def make_report(
    path: Path,
    cfg: Config,
    today: dt.date,
    out_dir: Path,
    *,
    lang: str | None = None,
    reps: Sequence[str] = (),
    per_rep: bool = False,
    team: bool = True,
    templates: Path | None = None,
    progress: Progress | None = None,
    with_json: bool = False,
) -> ReportResult:
    """Read the workbook at `path` and write DIR/funnel-report-YYYY-Www.html and .xlsx (and
    one pair per rep asked for); `with_json`: a .json of the same figures beside each.
    Raises read.WorkbookError, ReportError, OSError."""

    lang = lang or cfg.lang
    if lang != cfg.lang:
        cfg = dataclasses.replace(cfg, general=dataclasses.replace(cfg.general, language=lang))
    folder = templates or TEMPLATES
    result = ReportResult()

    def step(name: str) -> float:
        if progress:
            progress(name)
        return time.perf_counter()

    start = step("read")
    # not Today: the report never uses it; pandas is imported while the activities load,
    # and the ledger's frames are built while the logs load
    with reading(path, cfg, engine_sheets=LOG_SHEETS, idle=_import_renderers) as sheets:
        from funnel_sync.funnel import build_snapshot, ledger_frames

        ledger = ledger_frames(sheets.ledger())
        book = sheets.book()
    result.timings["read"] = time.perf_counter() - start

    result.reps = book.reps
    start = step("aggregate")
    snapshot = build_snapshot(book, cfg, today, lang=lang, ledger=ledger)
    result.snapshot = snapshot
    result.timings["aggregate"] = time.perf_counter() - start
    known = [r.name for r in snapshot.reps]
    for name in reps:
        if name not in known:
            some = f" ({', '.join(known[:10])}…)" if known else ""
            raise ReportError(text("report_error.unknown_rep", lang, name=name, known=some))
    targets: list[str | None] = [None] if team else []
    targets += list(dict.fromkeys([*reps, *(known if per_rep else [])]))
    out_dir.mkdir(parents=True, exist_ok=True)
    start = step("render")
    from funnel_sync.report.data import write_json
    from funnel_sync.report.excel import render_excel
    from funnel_sync.report.html import render_html

    template_xlsx = folder / XLSX_TEMPLATE
    for rep in targets:
        context = snapshot.context(rep)
        stem = week_stem(snapshot, rep)
        html_path = out_dir / f"{stem}.html"
        # the HTML is the e-mail body: shorter lists keep it under Gmail's ~100 KB clipping
        html_context = {**context, "html_rows": cfg.report.html_rows}
        html_path.write_text(render_html(html_context, folder), encoding="utf-8")
        result.files.append(html_path)
        xlsx_path = out_dir / f"{stem}.xlsx"
        render_excel(template_xlsx, xlsx_path, context)
        result.files.append(xlsx_path)
        if with_json:
            json_path = out_dir / f"{stem}.json"
            write_json(context, json_path)
            result.files.append(json_path)
    result.timings["render"] = time.perf_counter() - start
    return result


def _import_renderers() -> None:
    """What aggregating and rendering need (pandas, jinja2, openpyxl): a third of a second of
    imports, done while the sheets are still loading."""
    import funnel_sync.funnel
    import funnel_sync.report.excel
    import funnel_sync.report.html  # noqa: F401


def jinja_globals(context: Mapping[str, Any]) -> dict[str, Any]:
    """What every template sees besides the snapshot: the labels of its language."""
    return {**context, "t": labels(str(context.get("lang", "zh")))}
