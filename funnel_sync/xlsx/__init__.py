"""Lossless writing into a team's existing Excel workbook (no openpyxl save, raw zip copy)."""

from .errors import (
    DiskFull,
    InvalidChange,
    SheetNotFound,
    UnsupportedWorkbook,
    WorkbookChanged,
    WorkbookLocked,
    WorkbookReadOnly,
    WriteError,
)
from .safety import Fingerprint, check_locked, check_writable, fingerprint
from .writer import CellChange, Refusal, WriteResult, apply_changes, plan_changes

__all__ = [
    "CellChange",
    "DiskFull",
    "Fingerprint",
    "InvalidChange",
    "Refusal",
    "SheetNotFound",
    "UnsupportedWorkbook",
    "WorkbookChanged",
    "WorkbookLocked",
    "WorkbookReadOnly",
    "WriteError",
    "WriteResult",
    "apply_changes",
    "check_locked",
    "check_writable",
    "fingerprint",
    "plan_changes",
]
