"""Write safety: fingerprints, lock files, read-only checks, atomic replace, rotating backups."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import glob
import hashlib
import os
import re
import shutil
import stat
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import DiskFull, UnsupportedWorkbook, WorkbookChanged, WorkbookLocked, WorkbookReadOnly

_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
TEMP_PREFIX = ".~funnel_sync."


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Identity of a workbook file's content at one moment."""

    size: int
    mtime_ns: int
    sha256: str


def fingerprint(path: Path) -> Fingerprint:
    st = os.stat(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return Fingerprint(st.st_size, st.st_mtime_ns, digest.hexdigest())


def _excel_owner(data: bytes) -> str | None:
    """The user name in an Office owner file (UTF-16 copy at offset 55, else the 8-bit one)."""
    if len(data) >= 57:
        n = int.from_bytes(data[55:57], "little")
        if 0 < n <= 256 and len(data) >= 57 + 2 * n:
            with contextlib.suppress(UnicodeDecodeError):
                name = data[57 : 57 + 2 * n].decode("utf-16-le").strip()
                if name:
                    return name
    if data:
        n = data[0]
        raw = data[1 : 1 + n]
        for codec in ("utf-8", "cp1252", "latin-1"):
            with contextlib.suppress(UnicodeDecodeError):
                return raw.decode(codec).strip() or None
    return None


def _libreoffice_owner(data: bytes) -> str | None:
    """Holder in a LibreOffice lock file: 'name,sysuser,host,time,url;' with backslash escapes."""
    text = data.decode("utf-8", errors="replace")
    fields = [unescaped.replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")
              for unescaped in re.split(r"(?<!\\)[,;]", text)]  # fmt: skip
    for f in fields[:2]:
        if f.strip():
            return f.strip()
    return None


def owner_files(path: Path) -> list[Path]:
    """Lock files beside `path` that say someone has it open.

    Excel names its owner file '~$' + the full file name (Word drops up to two leading characters
    of long names; accept that spelling too, as network shares sometimes see Word-style names).
    LibreOffice writes '.~lock.' + name + '#'.
    """
    name = path.name
    folded = name.casefold()
    found = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    for entry in entries:
        e = entry.name
        ef = e.casefold()
        if ef.startswith("~$"):
            rest = ef[2:]
            if rest and folded.endswith(rest) and len(rest) >= len(folded) - 2:
                found.append(Path(entry.path))
        elif ef == f".~lock.{folded}#":
            found.append(Path(entry.path))
    return found


def check_locked(path: Path) -> None:
    """Raise WorkbookLocked when Excel or LibreOffice has the workbook open."""
    for lock in owner_files(path):
        try:
            data = lock.read_bytes()[:4096]
        except OSError:
            data = b""
        holder = _excel_owner(data) if lock.name.startswith("~$") else _libreoffice_owner(data)
        raise WorkbookLocked(path, holder, lock)


def check_writable(path: Path) -> None:
    """Raise WorkbookReadOnly when the file or its folder cannot be written.

    Mode bits are checked explicitly: a process running as root passes os.access() even for a
    file everyone else sees as read-only, and the team expects read-only to mean read-only.
    """
    st = os.stat(path)
    if st.st_mode & 0o222 == 0:
        raise WorkbookReadOnly(path, "the file is read-only")
    if not os.access(path, os.W_OK):
        raise WorkbookReadOnly(path, "no permission to write the file")
    folder = path.parent
    dst = os.stat(folder)
    if dst.st_mode & 0o222 == 0 or not os.access(folder, os.W_OK | os.X_OK):
        raise WorkbookReadOnly(path, "the folder is read-only")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open directories; its rename is durable enough there.
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


BACKUP_RE = r"\.(\d{8}-\d{6}-\d{6})"


def make_backup(path: Path, backup_dir: Path, keep: int) -> Path | None:
    """Copy `path` into `backup_dir` as NAME.YYYYMMDD-HHMMSS-ffffff.EXT; keep the newest `keep`."""
    if keep <= 0:
        return None
    backup_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now()
    while True:
        target = backup_dir / f"{path.stem}.{now:%Y%m%d-%H%M%S-%f}{path.suffix}"
        if not target.exists():
            break
        now += dt.timedelta(microseconds=1)
    tmp = backup_dir / f"{TEMP_PREFIX}{target.name}.tmp"
    try:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        shutil.copystat(path, tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    pattern = re.compile(re.escape(path.stem) + BACKUP_RE + re.escape(path.suffix) + "$")
    backups = sorted(p for p in backup_dir.iterdir() if pattern.match(p.name))
    for old in backups[:-keep]:
        with contextlib.suppress(OSError):
            old.unlink()
    return target


def temp_path(path: Path) -> Path:
    return path.parent / f"{TEMP_PREFIX}{path.name}.{os.getpid()}.tmp"


STALE_TEMP_SECONDS = 3600  # a temp file this old whose writer is gone is a crash's leftover


def remove_stale_temps(path: Path, now: float | None = None) -> list[Path]:
    """Delete temp files a killed run left beside the workbook: older than an hour and, on
    POSIX, written by a process that no longer exists (never the workbook itself)."""
    removed = []
    now = time.time() if now is None else now
    for leftover in path.parent.glob(f"{glob.escape(TEMP_PREFIX + path.name)}.*.tmp"):
        pid = leftover.name[len(TEMP_PREFIX + path.name) + 1 : -len(".tmp")]
        try:
            if not pid.isdigit() or now - leftover.stat().st_mtime < STALE_TEMP_SECONDS:
                continue
            if os.name == "posix" and _alive(int(pid)):
                continue
            leftover.unlink()
        except OSError:
            continue
        removed.append(leftover)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but belongs to someone else
    return True


def _os_error(path: Path, err: OSError) -> Exception:
    if err.errno in _NO_SPACE:
        return DiskFull(path)
    if isinstance(err, PermissionError) or err.errno == errno.EROFS:
        return WorkbookReadOnly(path, err.strerror or "permission denied")
    return err


def atomic_replace(
    path: Path,
    write: Callable[[BinaryIO], None],
    *,
    expected: Fingerprint | None,
    backups: int,
    backup_dir: Path | None,
) -> Path | None:
    """Write a new version of `path` through `write`, then swap it in atomically.

    The new file is written beside the original (same file system, so the rename is atomic),
    synced, checked as a zip, given the original's permissions; just before the swap the original
    is checked against `expected` and for lock files again, then backed up. Any failure removes the
    temporary file and leaves the original as it was. Returns the backup's path.
    """
    check_locked(path)
    check_writable(path)
    remove_stale_temps(path)
    tmp = temp_path(path)
    try:
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600
            )
        except OSError as err:
            raise _os_error(path, err) from err
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
        except OSError as err:
            raise _os_error(path, err) from err
        with zipfile.ZipFile(tmp) as zf:
            bad = zf.testzip()
        if bad is not None:
            raise UnsupportedWorkbook(path, f"the new file failed its check at {bad}")
        st = os.stat(path)
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        if hasattr(os, "chown"):
            with contextlib.suppress(OSError):
                os.chown(tmp, st.st_uid, st.st_gid)
        if expected is not None and fingerprint(path) != expected:
            raise WorkbookChanged(path)
        check_locked(path)
        try:
            backup = make_backup(
                path, backup_dir or path.parent / ".funnel_sync" / "backups", backups
            )
            os.replace(tmp, path)
        except OSError as err:
            raise _os_error(path, err) from err
        _fsync_dir(path.parent)
        return backup
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
