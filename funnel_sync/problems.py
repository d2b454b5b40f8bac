"""Problems as values: the code catalogue, message templates per language, text and JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from funnel_sync.texts import TEXTS, Text, counted, text

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the workbook, located as Excel shows it (row from 1, column letter)."""

    sheet: str
    row: int | None
    column: str | None
    field: str | None
    code: str
    severity: Severity
    message: str

    @property
    def location(self) -> str:
        """`销售机会!F12`, `销售机会!12`, `销售机会!F1` or just the sheet name."""
        if self.row is None and self.column is None:
            return self.sheet
        return f"{self.sheet}!{self.column or ''}{self.row or ''}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Template:
    """A problem code's default severity and its message (texts.TEXTS["problem.<code>"])."""

    severity: Severity
    text: Text

    @property
    def zh(self) -> str:
        return self.text.zh

    @property
    def en(self) -> str:
        return self.text.en


#: Every problem code funnel_sync reports, with its default severity; the messages are in
#: funnel_sync/texts.py under `problem.<code>`. Placeholders: {value} what the cell holds,
#: {header} the column header, and code-specific ones.
SEVERITIES: dict[str, Severity] = {
    # the shape of the workbook
    "sheet-missing": "error",
    "header-missing": "error",
    "header-duplicate": "error",
    "header-blank-row": "error",
    "merged-cells": "warning",
    "row-empty": "warning",
    "rows-empty": "warning",
    # cell values
    "value-missing": "error",
    "cell-error": "error",
    "cell-formula": "warning",
    "date-unreadable": "error",
    "date-impossible": "error",
    "date-far-future": "warning",
    "date-future": "warning",
    "class-unknown": "error",
    "bool-unreadable": "error",
    "amount-unreadable": "error",
    "amount-negative": "error",
    "amount-zero": "warning",
    "number-unreadable": "error",
    "kind-unknown": "error",
    "email-invalid": "warning",
    # references between rows
    "id-duplicate": "error",
    "customer-unknown": "error",
    "opportunity-unknown": "error",
    "opportunity-customer-mismatch": "warning",
    "rep-unknown": "error",
    "rep-name-variant": "warning",
    # the funnel discipline (checked by `check` and enforced by `sync`)
    "stage-evidence-missing": "error",
    "stage-skip": "error",
    "stage-unverified": "warning",
    "lost-without-reason": "error",
    "won-is-final": "error",
    # the public pool (enforced by `sync`)
    "claim-unknown-rep": "error",
    "claim-outside-region": "error",
    "claim-over-cap": "error",
    "claim-over-daily-limit": "error",
    "claim-cooldown": "error",
    "claim-no-region": "error",
    "transfer-flagged": "warning",
    "owner-cleared": "warning",
    "owner-reverted": "warning",
}

CATALOGUE: dict[str, Template] = {
    code: Template(severity, TEXTS[f"problem.{code}"]) for code, severity in SEVERITIES.items()
}


def make(
    code: str,
    *,
    lang: str,
    sheet: str,
    row: int | None = None,
    column: str | None = None,
    field: str | None = None,
    severity: Severity | None = None,
    **params: Any,
) -> Problem:
    """Build a Problem from the catalogue; the one place messages are rendered."""
    template = CATALOGUE[code]
    message = template.text.of(lang).format_map(_Defaults(params, sheet=sheet))
    return Problem(sheet, row, column, field, code, severity or template.severity, message)


class _Defaults(dict[str, object]):
    """Placeholders a call did not fill render as empty text, never as a KeyError."""

    def __init__(self, params: dict[str, object], **extra: object) -> None:
        super().__init__(extra)
        self.update(params)

    def __missing__(self, key: str) -> str:
        return ""


def sort_key(p: Problem) -> tuple[str, int, int, str]:
    return (p.sheet, p.row or 0, column_index(p.column) if p.column else 0, p.code)


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """A → 1, AA → 27."""
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def count(problems: Iterable[Problem]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = warnings = 0
    for p in problems:
        if p.severity == "error":
            errors += 1
        else:
            warnings += 1
    return errors, warnings


def format_text(problems: Sequence[Problem], *, lang: str) -> str:
    """Compiler-style lines, `销售机会!F12: error: message [code]`, then the counts."""
    word = {
        "error": text("problems.severity.error", lang),
        "warning": text("problems.severity.warning", lang),
    }
    lines = [f"{p.location}: {word[p.severity]}: {p.message} [{p.code}]" for p in problems]
    errors, warnings = count(problems)
    lines.append(
        text(
            "problems.total",
            lang,
            errors=counted("problems.errors", lang, errors),
            warnings=counted("problems.warnings", lang, warnings),
        )
    )
    return "\n".join(lines)


def format_json(problems: Sequence[Problem]) -> str:
    return json.dumps([p.as_dict() for p in problems], ensure_ascii=False, indent=2)
