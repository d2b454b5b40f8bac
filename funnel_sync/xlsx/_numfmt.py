"""openpyxl's knowledge of number formats, imported on first use: a sync with nothing to
write never imports openpyxl (and numpy under it), a sixth of a second of its start."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=512)
def is_date_format(fmt: str | None) -> bool:
    """Whether the number format shows a date (openpyxl's rule; a workbook has a few)."""
    from openpyxl.styles.numbers import is_date_format as openpyxl_is_date_format

    return bool(openpyxl_is_date_format(fmt))


def builtin_formats() -> dict[int, str]:
    """Excel's built-in number formats by id."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS

    return BUILTIN_FORMATS
