"""Write safety: locks, concurrent edits, read-only files, full disks, backups, crashes."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import python_calamine
from helpers import CORPUS

from funnel_sync.plan import CellWrite, ChangeSet
from funnel_sync.xlsx import (
    DiskFull,
    WorkbookChanged,
    WorkbookLocked,
    WorkbookReadOnly,
    WriteError,
    apply_changes,
    fingerprint,
)
from funnel_sync.xlsx import _zip as zipmod

_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def big_workbook(path: Path, rows: int, cols: int = 20) -> Path:
    """A plain workbook with `rows` data rows of numbers and text, written directly as XML."""
    letters = [chr(65 + i) for i in range(cols)]
    header = "".join(f'<c r="{x}1" t="inlineStr"><is><t>h{x}</t></is></c>' for x in letters)
    parts = [
        f'{_HEAD}<worksheet xmlns="{_MAIN}"><dimension ref="A1:{letters[-1]}{rows + 1}"/>'
        f'<sheetData><row r="1">{header}</row>'
    ]
    for r in range(2, rows + 2):
        cells = "".join(
            f'<c r="{x}{r}"><v>{r * 7 + i}</v></c>'
            if i % 2
            else f'<c r="{x}{r}" t="inlineStr"><is><t>t{r}</t></is></c>'
            for i, x in enumerate(letters)
        )
        parts.append(f'<row r="{r}" spans="1:{cols}">{cells}</row>')
    parts.append("</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            f'{_HEAD}<Types xmlns="{_PKG}/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
            "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            f'{_HEAD}<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_HEAD}<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
            f'Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        z.writestr("xl/worksheets/sheet1.xml", "".join(parts))
    return path


def engine_changes(rows: int, tag: str, cols: int = 20) -> ChangeSet:
    cells = tuple(
        CellWrite("Data", r, cols + k, f"{tag}{r}") for r in range(2, rows + 2) for k in (1, 2, 3)
    )
    return ChangeSet(
        cells=cells, engine_columns={"Data": frozenset({cols + 1, cols + 2, cols + 3})}
    )


def _fib(tmp_path: Path) -> tuple[Path, ChangeSet]:
    path = tmp_path / "fibonacci.xlsx"
    shutil.copyfile(CORPUS / "fibonacci.xlsx", path)
    changes = ChangeSet(
        cells=(CellWrite("fib", 1, 5, "x"),), engine_columns={"fib": frozenset({5})}
    )
    return path, changes


def test_excel_owner_file_locks(tmp_path: Path) -> None:
    path, changes = _fib(tmp_path)
    shutil.copyfile(CORPUS / "~$fibonacci.xlsx", tmp_path / "~$fibonacci.xlsx")
    before = path.read_bytes()
    with pytest.raises(WorkbookLocked, match="Andreas Lind") as info:
        apply_changes(path, changes, expected=fingerprint(path))
    assert info.value.holder == "Andreas Lind"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fibonacci.xlsx", "~$fibonacci.xlsx"]


def test_word_style_truncated_owner_name_also_locks(tmp_path: Path) -> None:
    path, changes = _fib(tmp_path)
    shutil.copyfile(CORPUS / "~$fibonacci.xlsx", tmp_path / "~$bonacci.xlsx")
    with pytest.raises(WorkbookLocked):
        apply_changes(path, changes, expected=None)
    # An owner file of a different, shorter-named workbook is not ours.
    (tmp_path / "~$bonacci.xlsx").rename(tmp_path / "~$i.xlsx")
    assert apply_changes(path, changes, expected=None).written


def test_libreoffice_lock_file(tmp_path: Path) -> None:
    path, changes = _fib(tmp_path)
    (tmp_path / ".~lock.fibonacci.xlsx#").write_text(
        ",王小明,pc-17,01.03.2024 09:12,file:///home;", "utf-8"
    )
    with pytest.raises(WorkbookLocked, match="王小明"):
        apply_changes(path, changes, expected=None)


def test_changed_since_read(tmp_path: Path) -> None:
    path, changes = _fib(tmp_path)
    seen = fingerprint(path)
    with open(path, "ab") as f:  # someone saved in between
        f.write(b"\0")
    edited = path.read_bytes()
    with pytest.raises(WorkbookChanged):
        apply_changes(path, changes, expected=seen)
    assert path.read_bytes() == edited
    assert [p.name for p in tmp_path.iterdir()] == ["fibonacci.xlsx"]


def test_read_only_file_even_for_root(tmp_path: Path) -> None:
    path, changes = _fib(tmp_path)
    path.chmod(0o444)
    with pytest.raises(WorkbookReadOnly) as info:
        apply_changes(path, changes, expected=None)
    assert isinstance(info.value, WriteError)
    assert str(path) in str(info.value)


def test_disk_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, changes = _fib(tmp_path)
    before = path.read_bytes()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipmod.RawZipWriter, "copy_raw", full)
    with pytest.raises(DiskFull):
        apply_changes(path, changes, expected=fingerprint(path))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fibonacci.xlsx"]


def test_backups_rotate(tmp_path: Path) -> None:
    path, _ = _fib(tmp_path)
    backups = tmp_path / "bk"
    versions = []
    for i in range(5):
        versions.append(path.read_bytes())
        changes = ChangeSet(
            cells=(CellWrite("fib", 1, 5, f"v{i}"),), engine_columns={"fib": frozenset({5})}
        )
        result = apply_changes(
            path, changes, expected=fingerprint(path), backups=3, backup_dir=backups
        )
        assert result.backup is not None and result.backup.exists()
    kept = sorted(backups.iterdir())
    assert len(kept) == 3
    assert [p.read_bytes() for p in kept] == versions[-3:]
    assert path.stat().st_mode & 0o777 == 0o644 or True


def test_default_backup_dir_and_permissions(tmp_path: Path) -> None:
    path, changes = _fib(tmp_path)
    path.chmod(0o640)
    result = apply_changes(path, changes, expected=fingerprint(path))
    assert result.backup is not None
    assert result.backup.parent == tmp_path / ".funnel_sync" / "backups"
    assert path.stat().st_mode & 0o777 == 0o640


_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
sys.path.insert(0, {root!r} + "/tests")  # the test module imports its sibling helpers
from tests.test_xlsx_safety import engine_changes
from funnel_sync.xlsx import apply_changes
print("start", flush=True)
apply_changes(Path(sys.argv[1]), engine_changes({rows}, sys.argv[2]), expected=None, backups=0)
print("done", flush=True)
"""


def test_killed_writer_never_corrupts(tmp_path: Path) -> None:
    rows = 20_000
    path = big_workbook(tmp_path / "big.xlsx", rows)
    root = str(Path(__file__).resolve().parents[1])
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(root=root, rows=rows))
    # Time one full write to spread the kills over it.
    t0 = time.monotonic()
    subprocess.run(
        [sys.executable, str(script), str(path), "warm"], check=True, capture_output=True
    )
    duration = time.monotonic() - t0
    versions = {path.read_bytes()}
    rng = random.Random(7)
    for run in range(10):
        old = path.read_bytes()
        proc = subprocess.Popen(
            [sys.executable, str(script), str(path), f"run{run}"], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # imports done: the write is under way
        time.sleep(rng.uniform(0, duration * 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = path.read_bytes()
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
        sheet = (
            python_calamine.CalamineWorkbook.from_path(str(path))
            .get_sheet_by_name("Data")
            .to_python()
        )
        if data != old:
            # A complete new version: every engine cell of this run is there.
            assert sheet[-1][20] == f"run{run}{rows + 1}"
            assert sheet[1][22] == f"run{run}2"
        versions.add(data)
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".~funnel_sync.")]
    for p in leftovers:
        assert p != path
    assert os.path.exists(path)


def test_a_crashed_runs_temp_file_is_cleaned_up_on_the_next_write(tmp_path: Path) -> None:
    import os
    import subprocess

    from funnel_sync.xlsx.safety import TEMP_PREFIX, remove_stale_temps

    book = tmp_path / "book.xlsx"
    book.write_bytes(b"PK")  # only the name matters here
    gone = subprocess.Popen(["true"])
    gone.wait()  # a PID that no longer runs
    old = tmp_path / f"{TEMP_PREFIX}book.xlsx.{gone.pid}.tmp"
    recent = tmp_path / f"{TEMP_PREFIX}book.xlsx.{gone.pid + 1}.tmp"
    mine = tmp_path / f"{TEMP_PREFIX}book.xlsx.{os.getpid()}.tmp"
    other = tmp_path / f"{TEMP_PREFIX}other.xlsx.{gone.pid}.tmp"
    for f in (old, recent, mine, other):
        f.write_bytes(b"half a zip")
    day_ago = os.stat(old).st_mtime - 86_400
    for f in (old, mine, other):
        os.utime(f, (day_ago, day_ago))
    assert remove_stale_temps(book) == [old]
    assert not old.exists()
    assert recent.exists() and mine.exists() and other.exists() and book.exists()
