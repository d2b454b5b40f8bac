"""Errors the lossless workbook writer raises; each carries a one-line message for the user."""

from __future__ import annotations

from pathlib import Path


class WriteError(Exception):
    """The workbook was not written; `str(err)` is a one-line message naming the file."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"{message}: {self.path}")


class WorkbookLocked(WriteError):
    """The workbook is open in Excel or LibreOffice (an owner/lock file sits beside it)."""

    def __init__(self, path: Path | str, holder: str | None, lock_file: Path | None = None) -> None:
        self.holder = holder
        self.lock_file = lock_file
        who = f"by {holder}" if holder else "by another user"
        hint = (
            f" (lock file {lock_file.name}; delete it if nobody has the file open)"
            if lock_file
            else ""
        )
        super().__init__(path, f"workbook is open {who}, not written{hint}")


class WorkbookChanged(WriteError):
    """The workbook changed on disk since it was read; writing would lose someone's edits."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(path, "workbook was changed by someone during the sync, not written")


class WorkbookReadOnly(WriteError):
    """The workbook file or its folder cannot be written."""

    def __init__(self, path: Path | str, detail: str = "read-only") -> None:
        super().__init__(path, f"workbook cannot be written ({detail})")


class DiskFull(WriteError):
    """No space left on the device; the original workbook was left untouched."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(path, "disk is full, workbook not written (original untouched)")


class SheetNotFound(WriteError):
    """The change set names a sheet the workbook does not have."""

    def __init__(self, path: Path | str, sheet: str) -> None:
        self.sheet = sheet
        super().__init__(path, f"workbook has no sheet named {sheet!r}")


class UnsupportedWorkbook(WriteError):
    """The workbook uses a structure this writer refuses to edit rather than risk corrupting."""

    def __init__(self, path: Path | str, detail: str) -> None:
        super().__init__(path, f"cannot edit workbook safely ({detail})")


class InvalidChange(WriteError):
    """The change set itself is malformed (e.g. an illegal sheet name)."""

    def __init__(self, path: Path | str, detail: str) -> None:
        super().__init__(path, f"invalid change: {detail}")
