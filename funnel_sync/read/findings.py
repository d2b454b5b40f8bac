"""The problems met reading one workbook, located as the team sees them."""

from __future__ import annotations

from typing import Any

from funnel_sync.problems import Problem, column_letter, make


class Findings:
    """The problems met reading one workbook, in the order met."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.problems: list[Problem] = []

    def add(
        self,
        code: str,
        sheet: str,
        row: int | None = None,
        column: int | None = None,
        field: str | None = None,
        **params: Any,
    ) -> None:
        """A problem at this sheet's row and column (1-based index, shown as its letter)."""
        letter = column_letter(column) if column else None
        self.problems.append(
            make(code, lang=self.lang, sheet=sheet, row=row, column=letter, field=field, **params)
        )
