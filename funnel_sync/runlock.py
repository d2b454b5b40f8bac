"""One sync at a time per workbook: an exclusive, non-blocking lock file beside it.

`.funnel_sync/NAME.lock` (NAME: the workbook's file name) is locked with `fcntl.flock` on POSIX
and `msvcrt.locking` on Windows for the whole read → write of a sync, and holds the holder's PID,
host and start time so that a second sync can say who runs. The lock belongs to the open file,
not to the file's existence: the operating system drops it when the holder exits, even when it
is killed, so a crashed run never leaves a stale lock behind (the file itself stays, unlocked).
The lock is advisory and holds between processes that use it, on one machine, and across
machines only where the file system passes locks on (NFS does; SMB shares usually do; synced
folders such as OneDrive or Dropbox do not).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from funnel_sync.xlsx.errors import DiskFull, WorkbookReadOnly, WriteError

LOCK_DIR = ".funnel_sync"
#: Windows locks byte ranges, and a locked range cannot be read by anyone else: lock one byte
#: far past the holder's note so that a refused second sync can still read who holds it.
_WIN_LOCK_OFFSET = 1 << 20

P = ParamSpec("P")
R = TypeVar("R")


class SyncRunning(WriteError):
    """Another sync of the same workbook holds its run lock; nothing was read or written."""

    def __init__(self, path: Path | str, holder: str) -> None:
        self.holder = holder
        who = f" ({holder})" if holder else ""
        super().__init__(path, f"another sync of this workbook is running{who}, not started")


def lock_path(workbook: Path) -> Path:
    """Where the run lock of `workbook` lives: `.funnel_sync/NAME.lock` beside it."""
    return workbook.parent / LOCK_DIR / f"{workbook.name}.lock"


@contextlib.contextmanager
def hold(workbook: Path) -> Iterator[Path | None]:
    """Hold the run lock of `workbook` for the duration of the block; raise SyncRunning when
    another process holds it. Yields the lock file's path (None when `workbook` is not a file:
    reading it will fail with the clear message, and there is nothing to protect)."""
    workbook = Path(os.path.abspath(workbook))
    if not workbook.is_file():
        yield None
        return
    path = lock_path(workbook)
    fd = _open(workbook, path)
    try:
        if not _try_lock(fd):
            raise SyncRunning(workbook, _holder(path))
        try:
            _write_note(fd)
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # the next reader finds no stale holder
            _unlock(fd)
    finally:
        os.close(fd)


def exclusive(
    func: Callable[Concatenate[Path, P], R],
) -> Callable[Concatenate[Path, P], R]:
    """Decorate `func(path, ...)` to run holding `path`'s run lock; a dry run (`dry_run=True`)
    writes nothing and takes no lock."""

    @functools.wraps(func)
    def wrapper(path: Path, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs.get("dry_run"):
            return func(path, *args, **kwargs)
        with hold(path):
            return func(path, *args, **kwargs)

    return wrapper


def _open(workbook: Path, path: Path) -> int:
    folder = path.parent
    try:
        if not folder.is_dir():
            # mode bits, not os.access: root passes access() in a folder the team made
            # read-only, and read-only is meant to hold for the sync too (see safety.py)
            if os.stat(workbook.parent).st_mode & 0o222 == 0:
                raise WorkbookReadOnly(workbook, "the folder is read-only")
            folder.mkdir(exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOINHERIT", 0)
        return os.open(path, flags, 0o644)
    except OSError as err:
        if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise DiskFull(workbook) from err
        detail = f"cannot create the run lock {path}: {err.strerror or err}"
        raise WorkbookReadOnly(workbook, detail) from err


# chosen once, at import: the platform does not change while running (tests pretend it does)
if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as err:
            if err.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


def _write_note(fd: int) -> None:
    """PID, host and start time of the holder, for the message of a refused second sync."""
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    note = f"pid {os.getpid()} on {socket.gethostname()}, started {started}\n"
    with contextlib.suppress(OSError):  # a full disk must not stop the sync holding the lock
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, note.encode("utf-8"))


def _holder(path: Path) -> str:
    """The holder's note; a holder that has just taken the lock may not have written it yet."""
    for _ in range(25):
        try:
            with open(path, "rb") as f:
                note = f.read(512).decode("utf-8", "replace").strip()
        except OSError:
            return ""
        if note:
            return note
        time.sleep(0.01)
    return ""
