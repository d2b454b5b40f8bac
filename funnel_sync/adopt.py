"""`init --into`: add the ledger's sheets and columns to a workbook the team already has."""

from __future__ import annotations

from pathlib import Path

from funnel_sync import runlock, xlsx
from funnel_sync.config import Config
from funnel_sync.init import dropdowns
from funnel_sync.plan import DATE_FORMAT, DATETIME_FORMAT, ChangeSet, NewColumn, SheetContent
from funnel_sync.read import check_file, read_book
from funnel_sync.schema import SHEETS, Kind, Sheet
from funnel_sync.xlsx import live


def _format(kind: Kind) -> str | None:
    if kind in (Kind.DATE, Kind.MONTH_DAY):
        return DATE_FORMAT
    if kind is Kind.DATETIME:
        return DATETIME_FORMAT
    if kind is Kind.AMOUNT:
        return "#,##0"
    return None


def adoption_changes(path: Path, cfg: Config, *, checked: bool = False) -> ChangeSet:
    """Sheets the ledger lacks are created (headers, dropdowns, frozen header, widths);
    ledger sheets the team already has get only their missing columns, at the right end."""
    book = read_book(path, cfg, engine_sheets=True, checked=checked)
    sheets: list[SheetContent] = []
    columns: list[NewColumn] = []
    existing = {key: layout for key, layout in book.layouts.items()}
    for spec in SHEETS:
        layout = existing.get(spec.key)
        if layout is None:
            if _has_sheet_named(book.sheet_names, cfg.sheet_title(spec)):
                continue  # a sheet of that name exists but holds something else: leave it
            sheets.append(_new_sheet(spec, cfg))
            continue
        next_col = layout.width + 1
        for col in spec.columns:
            if col.field not in layout.columns:
                columns.append(
                    NewColumn(
                        layout.name,
                        next_col,
                        cfg.header(spec, col.field),
                        layout.header_row,
                        _format(col.kind),
                        float(col.width),
                    )
                )
                next_col += 1
    return ChangeSet((), tuple(columns), tuple(sheets), {})


def _has_sheet_named(names: tuple[str, ...], title: str) -> bool:
    return any(n.casefold() == title.casefold() for n in names)


def _new_sheet(spec: Sheet, cfg: Config) -> SheetContent:
    return SheetContent(
        cfg.sheet_title(spec),
        tuple(cfg.header(spec, c.field) for c in spec.columns),
        (),
        tuple(_format(c.kind) for c in spec.columns),
        tuple(float(c.width) for c in spec.columns),
        True,
        tuple(dropdowns(spec, cfg)),
    )


@runlock.exclusive  # not while a sync (or another init --into) writes the same workbook
def adopt_workbook(path: Path, cfg: Config, *, dry_run: bool = False) -> xlsx.WriteResult:
    check_file(path, cfg)  # a missing or unusable file: a clear WorkbookError first
    before = xlsx.fingerprint(path)
    changes = adoption_changes(path, cfg, checked=True)
    if dry_run:
        return xlsx.plan_changes(path, changes)
    # writer backend (file or a running Excel): xlsx/live.py; the file backend still refuses a
    # locked workbook first
    return live.apply(
        path, changes, backend=cfg.writer.backend, expected=before, backups=cfg.writer.backups
    )
