"""The change set: what a run writes into the workbook, as plain data (decide, then write)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

#: A value the engine writes into a cell. None clears the cell's value.
CellValue = str | int | float | bool | dt.date | dt.datetime | None

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True, slots=True)
class CellWrite:
    """One engine-owned cell to set. Rows and columns are 1-based, as Excel numbers them."""

    sheet: str
    row: int
    column: int
    value: CellValue


@dataclass(frozen=True, slots=True)
class NewColumn:
    """An engine column missing from a sheet: its header goes in `header_row` at `column`."""

    sheet: str
    column: int
    header: str
    header_row: int = 1
    number_format: str | None = None
    width: float | None = None


@dataclass(frozen=True, slots=True)
class ListValidation:
    """A dropdown: cells in `sqref` (e.g. "D2:D1048576") accept the list `formula`.

    `formula` is either a quoted literal list ('"D,C,B,A,成交,丢单"') or a range
    ("销售团队!$A$2:$A$1000"), exactly as it goes into <formula1>.
    """

    sqref: str
    formula: str
    allow_blank: bool = True
    error_style: Literal["stop", "warning"] = "stop"  # stop: refuse others; warning: ask


@dataclass(frozen=True, slots=True)
class SheetContent:
    """A whole sheet owned by the engine (or added by `init --into`), replaced or created whole."""

    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[CellValue, ...], ...] = ()
    number_formats: tuple[str | None, ...] = ()  # per column; dates default to DATE_FORMAT
    widths: tuple[float | None, ...] = ()  # per column, in Excel character units
    freeze_header: bool = True
    validations: tuple[ListValidation, ...] = ()


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Everything one run writes. `engine_columns` lists, per sheet, the 1-based columns the
    engine owns; the writer refuses any cell write outside them (and into formula cells)."""

    cells: tuple[CellWrite, ...] = ()
    new_columns: tuple[NewColumn, ...] = ()
    sheets: tuple[SheetContent, ...] = ()
    engine_columns: Mapping[str, frozenset[int]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.cells or self.new_columns or self.sheets)
