"""A new, empty ledger: every sheet and header, dropdowns, frozen headers, widths, date formats."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from funnel_sync.config import Config
from funnel_sync.model import ActivityKind, Stage
from funnel_sync.plan import DATE_FORMAT, DATETIME_FORMAT, ListValidation
from funnel_sync.schema import ACTIVITIES, OPPORTUNITIES, POOL, REPS, SHEETS, Kind, Sheet
from funnel_sync.texts import text

LAST_ROW = 1_048_576
REP_ROWS = 500  # the owner dropdown lists the Reps sheet's first 500 names
ZIP_EPOCH = (2020, 1, 1, 0, 0, 0)

USER_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
ENGINE_HEADER_FILL = PatternFill("solid", fgColor="E7E6E6")


def yes_no(cfg: Config) -> tuple[str, str]:
    return text("ledger.yes", cfg.lang), text("ledger.no", cfg.lang)


def stage_choices(cfg: Config) -> list[str]:
    """The class dropdown: the codes the team writes (成交, 丢单), or config.toml's ASCII keys
    in English (won, lost) — the model's two vocabularies, not texts."""
    order = (Stage.D, Stage.C, Stage.B, Stage.A, Stage.WON, Stage.LOST)
    return [s.code if cfg.lang == "zh" else s.key for s in order]


def kind_choices(cfg: Config) -> list[str]:
    return [k.value if cfg.lang == "zh" else k.english for k in ActivityKind]


def build_ledger(cfg: Config) -> openpyxl.Workbook:
    """The empty ledger as an openpyxl workbook (new files only: never the team's own)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for spec in SHEETS:
        ws = wb.create_sheet(cfg.sheet_title(spec))
        for index, col in enumerate(spec.columns, 1):
            cell = ws.cell(row=1, column=index, value=cfg.header(spec, col.field))
            cell.font = Font(bold=True, italic=col.is_engine)
            cell.fill = ENGINE_HEADER_FILL if col.is_engine else USER_HEADER_FILL
            cell.alignment = Alignment(vertical="center", wrap_text=False)
            letter = get_column_letter(index)
            ws.column_dimensions[letter].width = max(col.width, _display_width(cell.value) + 2)
            if col.kind in (Kind.DATE, Kind.MONTH_DAY):
                ws.column_dimensions[letter].number_format = DATE_FORMAT
            elif col.kind is Kind.DATETIME:
                ws.column_dimensions[letter].number_format = DATETIME_FORMAT
            elif col.kind is Kind.AMOUNT:
                ws.column_dimensions[letter].number_format = "#,##0"
        ws.freeze_panes = "B2" if spec in (POOL, OPPORTUNITIES) else "A2"
        if not spec.engine:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(spec.columns))}1"
        _add_dropdowns(ws, spec, cfg)
    wb.properties.creator = "funnel_sync"
    return wb


def dropdowns(spec: Sheet, cfg: Config) -> list[ListValidation]:
    """The sheet's dropdowns: class, activity kind, yes/no, and owner from the Reps sheet."""
    yes, no = yes_no(cfg)
    reps_title = cfg.sheet_title(REPS)
    name_col = get_column_letter(REPS.columns.index(REPS.column("name")) + 1)
    owner_list = f"'{reps_title}'!${name_col}$2:${name_col}${REP_ROWS + 1}"
    lists: dict[str, list[str]] = {}
    for index, col in enumerate(spec.columns, 1):
        if col.is_engine:
            continue
        letter = get_column_letter(index)
        formula = None
        if col.kind is Kind.BOOL:
            formula = f'"{yes},{no}"'
        elif col.kind is Kind.STAGE:
            formula = f'"{",".join(stage_choices(cfg))}"'
        elif col.kind is Kind.KIND:
            formula = f'"{",".join(kind_choices(cfg))}"'
        elif col.field in ("owner", "rep") and spec in (POOL, OPPORTUNITIES, ACTIVITIES):
            formula = owner_list
        if formula is not None:
            lists.setdefault(formula, []).append(f"{letter}2:{letter}{LAST_ROW}")
    # An owner may be blank or 释放 (release): a warning, not a hard stop, so typing it works.
    return [
        ListValidation(
            " ".join(refs), formula, True, "warning" if formula == owner_list else "stop"
        )
        for formula, refs in lists.items()
    ]


def _add_dropdowns(ws: Any, spec: Sheet, cfg: Config) -> None:
    for v in dropdowns(spec, cfg):
        dv = DataValidation(
            type="list",
            formula1=v.formula,
            allow_blank=v.allow_blank,
            showErrorMessage=True,
            errorStyle=v.error_style,
        )
        dv.sqref = v.sqref
        ws.add_data_validation(dv)


def _display_width(text: object) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(text or ""))


def saved(wb: openpyxl.Workbook, when: dt.datetime) -> bytes:
    """The workbook saved with `when` as its document times (openpyxl stamps the save time as
    `modified`; the same input must give the same bytes)."""
    wb.properties.created = when
    raw = io.BytesIO()
    wb.save(raw)
    with zipfile.ZipFile(raw) as archive:
        core = archive.read("docProps/core.xml").decode("utf-8")
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    core = re.sub(r"(<dcterms:modified[^>]*>)[^<]*", rf"\g<1>{stamp}", core)
    return repack(raw.getvalue(), {"docProps/core.xml": core.encode("utf-8")})


def workbook_bytes(wb: openpyxl.Workbook, when: dt.datetime) -> bytes:
    """Save deterministically: fixed document times and zip entry times."""
    return saved(wb, when)


def repack(package: bytes, replace: dict[str, bytes]) -> bytes:
    """The zip `package` with some parts replaced, every entry stamped with one fixed time."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(package)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = replace.get(info.filename, src.read(info.filename))
            entry = zipfile.ZipInfo(info.filename, ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, data, compresslevel=6)
    return out.getvalue()


def write_new_file(path: Path, data: bytes) -> None:
    """Create `path` atomically; refuse to overwrite an existing file."""
    if path.exists():
        raise FileExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".~funnel_sync.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        # link() fails if the target appeared meanwhile: never clobber a file created by someone
        os.link(tmp, path)
    finally:
        os.unlink(tmp)


def create_ledger(path: Path, cfg: Config, when: dt.datetime | None = None) -> None:
    write_new_file(path, workbook_bytes(build_ledger(cfg), when or dt.datetime(2020, 1, 1)))
