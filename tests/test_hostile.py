"""Messy, shared and hostile workbooks: one catalogue of bad inputs, and formula/HTML injection.

Every case builds a bad workbook in tmp_path, runs `check` or `sync`, and asserts the exit code,
the message and where it points; and that nothing the team wrote is lost: after `check` the
file is byte for byte what it was; after a refused `sync` too, with no temporary file left;
after a `sync` that wrote, only engine-owned cells differ (log sheets only grow) and the backup
in .funnel_sync/backups/ holds the original bytes.

Proven elsewhere and not repeated here (the catalogue adds what they do not show):
- test_check.py: each data problem at its exact cell through `check`. The catalogue runs those
  inputs through `sync`: the same problem is reported and only engine cells change.
- test_corpus_read.py: `check` on every corpus file never crashes; encrypted, XML bomb,
  truncated, OLE2 .xls, CSV, empty, .ods and non-workbook zips refused with their messages.
  The catalogue refuses them in `sync` (nothing written, no backup, no temporary file).
- test_xlsx_safety.py: the writer's refusals at the apply_changes level (owner and lock files,
  changed, read-only, disk full) and test_killed_writer_never_corrupts: a writer killed with
  SIGKILL at random instants leaves the old file or the new one, never a broken one (the
  crash mid-write). The catalogue goes through the command line and run_sync instead.
- test_report_html.py: the team report escapes <script> and =HYPERLINK(...) in HTML and keeps
  them as text in Excel; render_excel keeps =, +, -, @, tab and CR text as text.

E-mail (header injection through a customer name with CR/LF) belongs to funnel_sync/mail.py's
own tests.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
from helpers import (
    CORPUS,
    POOL_OK,
    REPS_OK,
    TODAY,
    act,
    edit_ledger,
    flat,
    opp,
    patch_cell,
    run_cli,
    sheet_part,
    write_ledger,
)
from openpyxl.workbook.workbook import Workbook

from funnel_sync import sync as sync_mod
from funnel_sync.config import Config
from funnel_sync.read import read_book
from funnel_sync.runlock import lock_path
from funnel_sync.xlsx import _zip as zipmod
from funnel_sync.xlsx import safety

D = dt.date
POOL_S, OPPS_S, ACTS_S, REPS_S, TODAY_S = (
    "公共资源库",
    "销售机会",
    "跟进记录",
    "销售团队",
    "今日提醒",
)
LOG_SHEETS = ("阶段日志", "资源库日志", "StageLog", "PoolLog")
ROOT = Path(__file__).resolve().parents[1]

Loc = tuple[str, int | None, str | None, str]  # (sheet, row, column, code)
Build = Callable[[Path], Path]  # folder → the workbook it made there
Setup = Callable[[Path, pytest.MonkeyPatch], None]  # workbook → (lock files, patches, chmod)
After = Callable[[Path, Path, pytest.MonkeyPatch], None]  # (original copy, workbook, patches)


@dataclass(frozen=True)
class Outcome:
    code: int
    problems: list[dict[str, Any]]
    text: str  # stderr, or for a subprocess its whole output
    seconds: float = 0.0
    rss_mb: float = 0.0
    written: bool = False  # sync: the workbook was written


Runner = Callable[["Case", Path, Path], Outcome]


@dataclass(frozen=True)
class Case:
    """One bad input: how to make it, what to run, what must come out.

    `files`: "same" (byte for byte), "engine" (only engine cells changed; the backup holds the
    original) or "other" (the `after` check says). `says`: fragments of the one stderr line
    (exit 2) or of the problems' messages. `located`: problems that must be among those reported.
    """

    build: Build
    command: str
    exit: int
    says: tuple[str, ...] = ()
    located: tuple[Loc, ...] = ()
    files: str = "same"
    config: str = ""
    setup: Setup | None = None
    after: After | None = None
    run: Runner | None = None
    seconds: float | None = None  # the command must finish within
    rss_mb: float | None = None  # and peak at most this resident memory (subprocess runs)


# ------------------------------------------------------------------------------ builders


def ledger(name: str = "book.xlsx", **rows: Any) -> Build:
    """A ledger (valid team and customers unless given) written by openpyxl."""

    def build(folder: Path) -> Path:
        given = {"pool": POOL_OK, "reps": REPS_OK, **rows}
        return write_ledger(folder / name, **given)

    return build


def then(build: Build, *changes: Callable[[Path], object]) -> Build:
    def changed(folder: Path) -> Path:
        path = build(folder)
        for change in changes:
            change(path)
        return path

    return changed


def edit(change: Callable[[Workbook], object]) -> Callable[[Path], object]:
    def run(wb: Workbook) -> None:
        change(wb)

    return lambda path: edit_ledger(path, run)


def patch(sheet: str, ref: str, cell_xml: str) -> Callable[[Path], object]:
    return lambda path: patch_cell(path, sheet, ref, cell_xml)


def corpus(name: str, as_name: str = "book.xlsx") -> Build:
    def build(folder: Path) -> Path:
        if not CORPUS.is_dir():
            pytest.skip("corpus not present")
        target = folder / as_name
        shutil.copyfile(CORPUS / name, target)
        target.chmod(0o644)
        return target

    return build


def raw(name: str, data: bytes) -> Build:
    def build(folder: Path) -> Path:
        target = folder / name
        target.write_bytes(data)
        return target

    return build


def replace_part(path: Path, part: str, data: bytes) -> None:
    """Rewrite the zip with `part` holding `data` (added when missing; the rest as it was)."""
    with zipfile.ZipFile(path) as z:
        items = [(info, z.read(info.filename)) for info in z.infolist()]
    tmp = path.with_suffix(".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for info, old in items:
            z.writestr(info, data if info.filename == part else old)
        if part not in {info.filename for info, _ in items}:
            z.writestr(part, data)
    os.replace(tmp, path)


def sheet_xml(path: Path, sheet: str, change: Callable[[bytes], bytes]) -> None:
    part = sheet_part(path, sheet)
    with zipfile.ZipFile(path) as z:
        old = z.read(part)
    replace_part(path, part, change(old))


def cells(sheet: str, **values: str) -> Callable[[Workbook], object]:
    """Type values into cells by reference: cells(POOL_S, P1="客户名称")."""

    def change(wb: Workbook) -> None:
        for ref, value in values.items():
            wb[sheet][ref] = value

    return change


def hide_rows(*rows: int) -> Callable[[Workbook], object]:
    def change(wb: Workbook) -> None:
        for r in rows:
            wb[OPPS_S].row_dimensions[r].hidden = True

    return change


def filtered_view(wb: Workbook) -> None:
    """The team filtered 销售机会 to owner 张三: a filter on C, the other rows hidden."""
    ws = wb[OPPS_S]
    ws.auto_filter.ref = f"A1:X{ws.max_row}"
    ws.auto_filter.add_filter_column(2, ["张三"])
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 3).value != "张三":
            ws.row_dimensions[r].hidden = True


def move_column(sheet: str, source: int, before: int) -> Callable[[Workbook], object]:
    """Cut a whole column (header and data) and insert it before another, as in Excel."""

    def change(wb: Workbook) -> None:
        ws = wb[sheet]
        values = [ws.cell(r, source).value for r in range(1, ws.max_row + 1)]
        ws.delete_cols(source)
        target = before if before < source else before - 1
        ws.insert_cols(target)
        for r, v in enumerate(values, 1):
            ws.cell(r, target).value = v

    return change


def team_columns(sheet: str, count: int, at: int | None = None) -> Callable[[Workbook], object]:
    """The team's own columns, each with a header and a value in every data row."""

    def change(wb: Workbook) -> None:
        ws = wb[sheet]
        rows = ws.max_row
        start = at or ws.max_column + 1
        if at is not None:
            ws.insert_cols(at, count)
        for k in range(count):
            ws.cell(1, start + k).value = f"自定义{k + 1}"
            for r in range(2, rows + 1):
                ws.cell(r, start + k).value = f"v{r}-{k}"

    return change


def empty_workbook(folder: Path) -> Path:
    path = folder / "book.xlsx"
    openpyxl.Workbook().save(path)
    return path


def ods(folder: Path) -> Path:
    path = folder / "book.ods"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", "<manifest:manifest/>")
        z.writestr("content.xml", "<office:document-content/>")
    return path


def truncated(folder: Path) -> Path:
    path = ledger()(folder)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def corrupted(folder: Path) -> Path:
    """Bytes in the middle of the 销售机会 part flipped: the zip directory is intact."""
    path = ledger(opportunities=[opp(notes="x" * 4000)])(folder)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(sheet_part(path, OPPS_S))
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack(
        "<HH", data[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_len + extra_len
    for k in range(start + info.compress_size // 3, start + info.compress_size // 3 + 16):
        data[k] ^= 0x55
    path.write_bytes(bytes(data))
    return path


def padded_doctype(sheet_body: bytes) -> bytes:
    """An entity-expansion bomb behind 4 KB of comment, where a check of the first bytes of a
    part does not look."""
    head, _, rest = sheet_body.partition(b"?>")
    lol = b"".join(
        b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">'
        % ((i,) + (i - 1,) * 10)
        for i in range(1, 9)
    )
    return (
        head
        + b"?><!--"
        + b" " * 4096
        + b'--><!DOCTYPE worksheet [<!ENTITY l0 "lol">'
        + lol
        + b"]>"
        + rest.replace(
            b"<sheetData>",
            b'<sheetData><row r="99"><c r="A99" t="inlineStr"><is><t>&l8;</t></is></c></row>',
            1,
        )
    )


def prefixed(xml: bytes) -> bytes:
    """The same sheet with its elements in a namespace prefix (<x:row>, <x:c>): valid, and
    what some non-Excel writers produce."""
    xml = re.sub(rb"<(/?)([A-Za-z]\w*)", rb"<\1x:\2", xml)
    return xml.replace(b'xmlns="', b'xmlns:x="')


def without_refs(folder: Path) -> Path:
    """A hand-made sheet whose rows and cells carry no r attributes (optional in the format):
    1,048,575 empty rows, then a row of 16,384 cells. 20 KB on disk."""
    path = ledger()(folder)
    body = b"<row/>" * 1_048_575 + b"<row>" + b"<c/>" * 16_383 + b'<c t="inlineStr"><is><t>x</t>'
    body += b"</is></c></row>"
    sheet_xml(
        path,
        ACTS_S,
        lambda xml: re.sub(
            rb"<sheetData>.*</sheetData>|<sheetData/>",
            lambda m: b"<sheetData>" + body + b"</sheetData>",
            xml,
            flags=re.S,
        ),
    )
    return path


# ---- zip bombs: parts compressed ~700:1, streamed (nothing of gigabytes is ever in memory) ----


def _raw_zip(path: Path, entries: Sequence[tuple[str, Sequence[bytes], int, int]]) -> None:
    """A zip written field by field: (name, deflated pieces, crc, declared size) per entry, so
    that a part's declared size can be anything (zipfile computes it from the data)."""
    central = []
    with open(path, "wb") as f:
        for name, pieces, crc, size in entries:
            offset, raw_name = f.tell(), name.encode()
            csize = sum(len(p) for p in pieces)
            fields = (8, 0, 0x21, crc, csize, size, len(raw_name))
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, *fields, 0) + raw_name)
            for piece in pieces:
                f.write(piece)
            central.append(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, *fields, 0, 0, 0, 0, 0, offset
                )
                + raw_name
            )
        start = f.tell()
        for record in central:
            f.write(record)
        end = struct.pack(
            "<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), f.tell() - start, start, 0
        )
        f.write(end)


def zip_bomb(gigabytes: float, declared: int | None = None, filler: bytes = b"<row/>") -> Build:
    """A ledger whose 跟进记录 sheet inflates to `gigabytes` of `filler` (a few MB on disk).
    `declared`: the size the zip claims instead of the true one (a forged header)."""

    def build(folder: Path) -> Path:
        path = ledger()(folder)
        bomb_part = sheet_part(path, ACTS_S)
        head = (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="'
            b'http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        )
        chunk, tail = filler * ((16 << 20) // len(filler)), b"</sheetData></worksheet>"
        repeats = int(gigabytes * 1e9) // len(chunk)
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
        # after a full flush the compressor starts afresh: the same chunk, the same bytes
        block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
        last = deflate.compress(tail) + deflate.flush()
        if declared is None:
            size, crc = len(head) + repeats * len(chunk) + len(tail), zlib.crc32(head)
            for _ in range(repeats):
                crc = zlib.crc32(chunk, crc)
            crc = zlib.crc32(tail, crc)
        else:  # a checksum of just the declared bytes, so that the lie holds up to them
            size, crc = (
                declared,
                zlib.crc32((head + chunk * (declared // len(chunk) + 1))[:declared]),
            )
        entries = []
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.filename == bomb_part:
                    entries.append((bomb_part, [first, *[block] * repeats, last], crc, size))
                    continue
                data = z.read(info.filename)
                squeeze = zlib.compressobj(6, zlib.DEFLATED, -15)
                packed = squeeze.compress(data) + squeeze.flush()
                entries.append((info.filename, [packed], zlib.crc32(data), len(data)))
        _raw_zip(path, entries)
        return path

    return build


# ------------------------------------------------------------------------------ setups


OWNER_FILE = "~$fibonacci.xlsx"  # Excel's owner file, saved by "Andreas Lind" (corpus)


def open_in_excel(path: Path, _: pytest.MonkeyPatch) -> None:
    if not CORPUS.is_dir():
        pytest.skip("corpus not present")
    shutil.copyfile(CORPUS / OWNER_FILE, path.parent / f"~${path.name}")


def open_in_libreoffice(path: Path, _: pytest.MonkeyPatch) -> None:
    (path.parent / f".~lock.{path.name}#").write_text(
        ",王小明,pc-17,01.03.2024 09:12,file:///home/wang;", "utf-8"
    )


def read_only_file(path: Path, _: pytest.MonkeyPatch) -> None:
    path.chmod(0o444)


def read_only_folder(path: Path, _: pytest.MonkeyPatch) -> None:
    path.parent.chmod(0o555)


TEAMMATE = "teammate.xlsx"  # beside the share folder, not in it


def replaced_while_planning(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A teammate saves the workbook (with a new customer) while the sync plans its writes."""
    teammate = write_ledger(
        path.parent.parent / TEAMMATE,
        pool=[*POOL_OK, {"customer_id": "KH004", "name": "丁公司", "region": "华南"}],
        reps=REPS_OK,
    )
    real_plan = sync_mod.plan

    def plan_then_replace(*args: Any, **kwargs: Any) -> Any:
        changes = real_plan(*args, **kwargs)
        shutil.copyfile(teammate, path)  # Excel's save: a new file under the same name
        return changes

    monkeypatch.setattr(sync_mod, "plan", plan_then_replace)


def the_teammates_version_kept(_: Path, path: Path, __: pytest.MonkeyPatch) -> None:
    assert path.read_bytes() == (path.parent.parent / TEAMMATE).read_bytes()
    assert not (path.parent / ".funnel_sync" / "backups").exists()


def _disk_full(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def disk_full_writing(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temporary new workbook cannot be written (see test_xlsx_safety.test_disk_full for
    the writer alone)."""
    monkeypatch.setattr(zipmod.RawZipWriter, "copy_raw", _disk_full)


def disk_full_backing_up(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new workbook is written, then the backup copy runs out of space halfway."""

    def half_then_full(src: Any, dst: Any, length: int = 0) -> None:
        dst.write(src.read(100))
        _disk_full()

    monkeypatch.setattr(shutil, "copyfileobj", half_then_full)  # what make_backup copies with


def no_backup_left(_: Path, path: Path, __: pytest.MonkeyPatch) -> None:
    backups = path.parent / ".funnel_sync" / "backups"
    assert not backups.exists() or list(backups.iterdir()) == []


def interrupted_writing(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or the service manager stopping the job) in the middle of the write."""

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(zipmod.RawZipWriter, "copy_raw", interrupt)


def lock_released_and_next_sync_writes(_: Path, path: Path, mp: pytest.MonkeyPatch) -> None:
    mp.undo()
    code, out, err = run_cli("sync", str(path), "--today", TODAY, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["summary"]["written"]


def killed_earlier(path: Path, _: pytest.MonkeyPatch) -> None:
    """What a run killed mid-write leaves: its half-written temporary file and its lock file
    (no longer locked: the system dropped the lock with the process)."""
    lock = lock_path(path)
    lock.parent.mkdir(exist_ok=True)
    lock.write_text("pid 999999 on elsewhere, started 2026-11-30T02:00:00+08:00\n", "utf-8")
    half = path.read_bytes()[: path.stat().st_size // 2]
    (path.parent / f"{safety.TEMP_PREFIX}{path.name}.999999.tmp").write_bytes(half)


def hidden_rows_kept(_: Path, path: Path, __: pytest.MonkeyPatch) -> None:
    ws = openpyxl.load_workbook(path)[OPPS_S]
    assert ws.row_dimensions[3].hidden and not ws.row_dimensions[2].hidden


def filter_kept(_: Path, path: Path, __: pytest.MonkeyPatch) -> None:
    ws = openpyxl.load_workbook(path)[OPPS_S]
    assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A1:")
    assert [c.col_id for c in ws.auto_filter.filterColumn] == [2]
    assert ws.row_dimensions[3].hidden


def merge_kept(_: Path, path: Path, __: pytest.MonkeyPatch) -> None:
    ws = openpyxl.load_workbook(path)[OPPS_S]
    assert [str(r) for r in ws.merged_cells.ranges] == ["G2:G3"]


def formula_kept(sheet: str, ref: str, formula: str) -> After:
    def check(_: Path, path: Path, __: pytest.MonkeyPatch) -> None:
        assert openpyxl.load_workbook(path)[sheet][ref].value == formula

    return check


def error_cell_kept(sheet: str, ref: str, error: str) -> After:
    def check(_: Path, path: Path, __: pytest.MonkeyPatch) -> None:
        with zipfile.ZipFile(path) as z:
            xml = z.read(sheet_part(path, sheet)).decode()
        assert re.search(rf'<c r="{ref}"[^>]*t="e"[^>]*>.*?<v>{re.escape(error)}</v>', xml)

    return check


def engine_dates_written_right(_: Path, path: Path, __: pytest.MonkeyPatch) -> None:
    """JH001's last contact (2026-11-20) and next contact (D: 14 days later) in its engine
    cells, wherever its header row and columns are; in a 1904 workbook written in the 1904
    system (misread as 1900 they would land in 2030)."""
    ws = openpyxl.load_workbook(path)[OPPS_S]
    rows = list(ws.iter_rows(values_only=True))
    top = next(i for i, r in enumerate(rows) if "下次联系" in r)
    header = rows[top]
    row = next(r for r in rows[top + 1 :] if r[header.index("机会编号")] == "JH001")
    assert row[header.index("最近联系")] == dt.datetime(2026, 11, 20)
    assert row[header.index("下次联系")] == dt.datetime(2026, 12, 4)


def team_cell(sheet: str, ref: str, value: object) -> After:
    def check(_: Path, path: Path, __: pytest.MonkeyPatch) -> None:
        assert openpyxl.load_workbook(path)[sheet][ref].value == value

    return check


# ------------------------------------------------------------------------------ runners


def in_process(case: Case, path: Path, config: Path) -> Outcome:
    """The command line in this process, JSON output."""
    start = time.monotonic()
    code, out, err = run_cli(
        case.command, str(path), "--format", "json", "--today", TODAY, "--config", str(config)
    )
    seconds = time.monotonic() - start
    problems: list[dict[str, Any]] = []
    written = False
    if out.strip():
        payload = json.loads(out)
        if isinstance(payload, list):
            problems = payload
        else:
            problems, written = payload["problems"], payload["summary"]["written"]
    return Outcome(code, problems, err, seconds, written=written)


_LINE = re.compile(
    r"^(?P<sheet>[^!\n]+?)(?:!(?P<col>[A-Z]*)(?P<row>\d*))?: \S+: (?P<msg>.*) \[(?P<code>[\w-]+)\]$"
)


#: Runs its arguments as a child and prints the child's peak RSS. The launcher itself is small:
#: Linux charges a process that execs with the memory it had before (here the forked pytest),
#: so pytest cannot measure the command's own peak directly.
_MEASURED = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
scale = 1 if sys.platform == "darwin" else 1024
print(f"\\npeak-rss-bytes {usage.ru_maxrss * scale}", file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def in_subprocess(case: Case, path: Path, config: Path) -> Outcome:
    """`python -m funnel_sync` in a child process (text output): wall time and peak RSS."""
    if not hasattr(os, "wait4"):
        pytest.skip("needs os.wait4 (POSIX)")
    command = [sys.executable, "-m", "funnel_sync", case.command, str(path), "--today", TODAY]
    with tempfile.TemporaryDirectory() as cwd, tempfile.TemporaryFile() as out:
        start = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", _MEASURED, *command, "--config", str(config)],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=out,
            timeout=300,
        )
        seconds = time.monotonic() - start
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    text, _, peak = text.rpartition("\npeak-rss-bytes ")
    problems = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            problems.append(
                {
                    "sheet": m["sheet"],
                    "row": int(m["row"]) if m["row"] else None,
                    "column": m["col"] or None,
                    "code": m["code"],
                    "message": m["msg"],
                }
            )
    return Outcome(result.returncode, problems, text, seconds, int(peak) / 2**20)


#: `funnel-sync ARGS` once GO exists: both processes import first, then start on one signal.
_ON_SIGNAL = """
import sys, time
from pathlib import Path
import funnel_sync.cli, funnel_sync.sync
print("ready", flush=True)
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.001)
sys.argv = ["funnel-sync", *sys.argv[2:]]
funnel_sync.cli.main()
"""


def two_at_once(case: Case, path: Path, config: Path) -> Outcome:
    """Two `funnel-sync sync` processes started together on the same workbook: exactly one
    writes; the other exits 2 at once, naming the one that runs."""
    with tempfile.TemporaryDirectory() as cwd:
        go = Path(cwd) / "go"
        args = ["sync", str(path), "--today", TODAY, "--config", str(config)]
        children = [
            subprocess.Popen(
                [sys.executable, "-c", _ON_SIGNAL, str(go), *args],
                cwd=cwd,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        go.touch()
        results = [(c, *c.communicate(timeout=120)) for c in children]
    assert sorted(c.returncode for c, _, _ in results) in ([0, 2], [1, 2]), results
    winner = next(c for c, _, _ in results if c.returncode != 2)
    _, out, err = next(r for r in results if r[0].returncode == 2)
    assert out == "", out
    assert f"pid {winner.pid} " in err  # who holds the lock, for the one refused
    backups = list((path.parent / ".funnel_sync" / "backups").iterdir())
    assert len(backups) == 1  # one write, one backup
    return Outcome(2, [], err, written=True)


def demo_book(opportunities: int) -> Build:
    def build(folder: Path) -> Path:
        path = folder / "book.xlsx"
        code, _, err = run_cli(
            "demo", str(path), "--opportunities", str(opportunities), "--today", TODAY
        )
        assert code == 0, err
        return path

    return build


# ------------------------------------------------------------------------------ the catalogue

EN = '[general]\nlanguage = "en"\n'
OPP_WITH_ACTIVITY: dict[str, Any] = {
    "opportunities": [opp(confirmed_stage="D", stage_entered_on=D(2026, 11, 1))],
    "activities": [act(opportunity_id="JH001")],
}


def case(
    name: str,
    build: Build,
    command: str,
    exit: int,
    *says: str,
    at: Sequence[Loc] = (),
    files: str | None = None,
    xfail: str | None = None,
    **options: Any,
) -> Any:
    """A catalogue entry: `says` are fragments of the message, `at` problems that must be
    reported; a sync that runs (exit 0/1) may change engine cells only, a refused one nothing."""
    files = files or ("engine" if command == "sync" and exit != 2 else "same")
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    entry = Case(build, command, exit, says, tuple(at), files, **options)
    return pytest.param(entry, id=name, marks=marks)


CASES = [
    # ---- the shape of the workbook (test_check.py proves each through `check`)
    case(
        "missing-sheet",
        then(ledger(opportunities=[opp()]), edit(lambda wb: wb.remove(wb[REPS_S]))),
        "sync",
        1,
        "缺少工作表「销售团队」",
        at=[(REPS_S, None, None, "sheet-missing")],
    ),
    case(
        "renamed-header",
        then(ledger(), edit(lambda wb: wb[POOL_S].cell(1, 1, "客户编码"))),
        "sync",
        1,
        "客户编号",
        "是否是「客户编码」",
        at=[(POOL_S, 1, None, "header-missing")],
    ),
    case(
        "duplicated-header",
        then(ledger(), edit(cells(POOL_S, P1="客户名称", P2="别的名字"))),
        "sync",
        1,
        "与 B 列重复",
        at=[(POOL_S, 1, "P", "header-duplicate")],
        after=team_cell(POOL_S, "P2", "别的名字"),
    ),
    case(
        "moved-header",
        then(ledger(**OPP_WITH_ACTIVITY), edit(move_column(OPPS_S, 2, 8))),
        "sync",
        0,
        after=engine_dates_written_right,
    ),
    case(
        "headers-below-a-title-block",
        then(ledger(**OPP_WITH_ACTIVITY), edit(lambda wb: wb[OPPS_S].insert_rows(1, 2))),
        "sync",
        0,
        after=engine_dates_written_right,
    ),
    case(
        "extra-column",
        then(ledger(**OPP_WITH_ACTIVITY), edit(team_columns(OPPS_S, 1, at=3))),
        "sync",
        0,
        after=team_cell(OPPS_S, "C2", "v2-0"),
    ),
    case(
        "duplicate-ids",
        ledger(
            pool=[*POOL_OK, {"customer_id": "KH001", "name": "甲公司二", "region": "华东"}],
            opportunities=[opp(), opp(amount=1)],
        ),
        "sync",
        1,
        "第 2 行",
        at=[(POOL_S, 5, "A", "id-duplicate"), (OPPS_S, 3, "A", "id-duplicate")],
    ),
    case(
        "merged-cells-across-data",
        then(
            ledger(opportunities=[opp(next_step="约拜访"), opp(opportunity_id="JH002")]),
            edit(lambda wb: wb[OPPS_S].merge_cells("G2:G3")),
        ),
        "sync",
        0,
        "G2:G3",
        at=[(OPPS_S, 2, "G", "merged-cells")],
        after=merge_kept,
    ),
    case(
        "hidden-rows",
        then(
            ledger(opportunities=[opp(), opp(opportunity_id="JH002", stage="?")]),
            edit(hide_rows(3)),
        ),
        "sync",
        1,
        "?",
        at=[(OPPS_S, 3, "D", "class-unknown")],
        after=hidden_rows_kept,
    ),
    case(
        "filtered-view",
        then(
            ledger(
                opportunities=[
                    opp(),
                    opp(opportunity_id="JH002", owner="李四", customer_id="KH002", amount="十万"),
                ]
            ),
            edit(filtered_view),
        ),
        "sync",
        1,
        "十万",
        at=[(OPPS_S, 3, "E", "amount-unreadable")],
        after=filter_kept,
    ),
    case(
        "200-columns",
        then(ledger(opportunities=[opp()]), edit(team_columns(POOL_S, 185))),
        "sync",
        0,
        after=team_cell(POOL_S, "GR4", "v4-184"),
    ),
    case(
        "empty-workbook",
        empty_workbook,
        "sync",
        1,
        "缺少工作表",
        at=[(s, None, None, "sheet-missing") for s in (POOL_S, OPPS_S, ACTS_S, REPS_S)],
    ),
    case("only-headers", ledger(pool=(), reps=()), "sync", 0),
    # ---- values as people type them (test_check.py: the same through `check`)
    case(
        "dates-as-text-unknown-formats",
        ledger(
            activities=[act(date="5 Mar 2024"), act(date="03-05-24"), act(date="2024-3-5 下午")]
        ),
        "sync",
        1,
        "5 Mar 2024",
        "03-05-24",
        "2024-3-5 下午",
        at=[(ACTS_S, r, "A", "date-unreadable") for r in (2, 3, 4)],
    ),
    case(
        "1904-date-system",
        lambda folder: write_ledger(
            folder / "book.xlsx", pool=POOL_OK, reps=REPS_OK, date1904=True, **OPP_WITH_ACTIVITY
        ),
        "sync",
        0,
        after=engine_dates_written_right,
    ),
    case(
        "formula-in-input-cell",
        then(
            ledger(opportunities=[opp(amount="=1000*2")]),
            patch(OPPS_S, "E2", '<c r="E2"><f>1000*2</f><v>2000</v></c>'),
        ),
        "sync",
        0,
        "2000",
        at=[(OPPS_S, 2, "E", "cell-formula")],
        after=formula_kept(OPPS_S, "E2", "=1000*2"),
    ),
    case(
        "REF-error-in-input-cell",
        then(
            ledger(opportunities=[opp()]),
            patch(OPPS_S, "E2", '<c r="E2" t="e"><f>#REF!*2</f><v>#REF!</v></c>'),
        ),
        "sync",
        1,
        "#REF!",
        at=[(OPPS_S, 2, "E", "cell-error")],
        after=error_cell_kept(OPPS_S, "E2", "#REF!"),
    ),
    case(
        "NA-error-in-input-cell",
        then(
            ledger(pool=[*POOL_OK, {"customer_id": "KH004", "name": "x", "region": "华东"}]),
            patch(POOL_S, "B5", '<c r="B5" t="e"><f>VLOOKUP(A5,X!A:B,2,0)</f><v>#N/A</v></c>'),
        ),
        "sync",
        1,
        "#N/A",
        at=[(POOL_S, 5, "B", "cell-error")],
        after=error_cell_kept(POOL_S, "B5", "#N/A"),
    ),
    *(
        case(
            f"class-{name}",
            ledger(opportunities=[opp(stage=typed)]),
            "sync",
            0,
            f"分类 {code} 缺少证据",
            at=[(OPPS_S, 2, "D", "stage-unverified")],
            after=team_cell(OPPS_S, "D2", typed),
        )
        for typed, code, name in (
            ("Ｂ", "B", "full-width-B"),
            ("b类", "B", "b-with-suffix"),
            ("B ", "B", "trailing-space"),
            ("won", "成交", "won"),
        )
    ),
    case(
        "class-question-mark",
        ledger(opportunities=[opp(stage="?")]),
        "sync",
        1,
        "?",
        at=[(OPPS_S, 2, "D", "class-unknown")],
    ),
    case(
        "amount-1,2,3",
        ledger(opportunities=[opp(amount="1,2,3")]),
        "sync",
        1,
        "1,2,3",
        "12万",
        at=[(OPPS_S, 2, "E", "amount-unreadable")],
    ),
    case(
        "amount-chinese-numerals",
        ledger(opportunities=[opp(amount="十万")]),
        "sync",
        1,
        "十万",
        at=[(OPPS_S, 2, "E", "amount-unreadable")],
    ),
    case(
        "amount-negative",
        ledger(opportunities=[opp(amount=-5000)]),
        "sync",
        1,
        "-5,000",
        at=[(OPPS_S, 2, "E", "amount-negative")],
    ),
    case(
        "owner-trailing-space",
        ledger(opportunities=[opp(owner="张三 ")]),
        "sync",
        0,
        "张三",
        at=[(OPPS_S, 2, "C", "rep-name-variant")],
        after=team_cell(OPPS_S, "C2", "张三 "),
    ),
    case(
        "owner-full-width-letters",
        ledger(
            reps=[*REPS_OK, {"name": "Alice", "regions": "华东", "start_date": D(2025, 1, 2)}],
            opportunities=[opp(owner="ＡＬＩＣＥ")],
        ),
        "sync",
        0,
        "「Alice」",
        at=[(OPPS_S, 2, "C", "rep-name-variant")],
        after=team_cell(OPPS_S, "C2", "ＡＬＩＣＥ"),
    ),
    case(
        "rep-on-two-rows",
        ledger(reps=[*REPS_OK, dict(REPS_OK[0], email="zs2@example.com")]),
        "sync",
        1,
        "第 2 行",
        at=[(REPS_S, 5, "A", "id-duplicate")],
    ),
    case(
        "opportunity-without-customer",
        ledger(opportunities=[opp(customer_id=None)]),
        "sync",
        1,
        "「客户编号」不能为空",
        at=[(OPPS_S, 2, "B", "value-missing")],
    ),
    # ---- size: rows, columns, bombs
    case(
        # read, not refused: a cell Excel allows, its problems located (see the report)
        "value-in-row-1048576",
        then(ledger(), edit(cells(ACTS_S, A1048576="2026-11-20"))),
        "check",
        1,
        at=[(ACTS_S, 1_048_576, "C", "value-missing")],
        run=in_subprocess,
        seconds=60,
    ),
    case(
        "row-1048576-beyond-max_rows",
        then(ledger(), edit(cells(ACTS_S, A1048576="2026-11-20"))),
        "sync",
        2,
        "跟进记录",
        "1048576",
        "limits.max_rows",
        "Ctrl+End",
        config="[limits]\nmax_rows = 100000\n",
        seconds=5,
    ),
    case(
        # calamine would allocate A1:XFD1048576 (512 GB) and abort the process
        "stray-cell-in-XFD1048576",
        then(ledger(), edit(cells(ACTS_S, XFD1048576="x"))),
        "sync",
        2,
        "跟进记录",
        "XFD1048576",
        "limits.max_unpacked_mb",
        "Ctrl+End",
        seconds=5,
    ),
    case(
        "stray-cell-in-XFD1048576-prefixed-xml",
        then(
            ledger(),
            edit(cells(ACTS_S, XFD1048576="x")),
            lambda p: sheet_xml(p, ACTS_S, prefixed),
        ),
        "check",
        2,
        "XFD1048576",
        seconds=5,
    ),
    case(
        "zip-bomb",
        zip_bomb(3.0),
        "sync",
        2,
        "2048 MB",
        "zip 炸弹",
        run=in_subprocess,
        seconds=10,
        rss_mb=500,
    ),
    case(
        "zip-bomb-forged-small-size",
        zip_bomb(3.0, declared=64 << 10),
        "sync",
        2,
        "xl/worksheets/",
        "zip 炸弹",
        run=in_subprocess,
        seconds=10,
        rss_mb=500,
    ),
    case(
        "zip-bomb-forged-plausible-size",
        zip_bomb(3.0, declared=8 << 20, filler=b" "),  # blanks: no rows to count
        "check",
        2,
        "declared uncompressed size",
        run=in_subprocess,
        seconds=10,
        rss_mb=500,
    ),
    case(
        "file-beyond-max_file_mb",
        then(ledger(), lambda p: replace_part(p, "xl/media/noise.bin", os.urandom(1_200_000))),
        "sync",
        2,
        "limits.max_file_mb",
        config="[limits]\nmax_file_mb = 1\n",
    ),
    case(
        "xls",
        raw("book.xls", bytes.fromhex("D0CF11E0A1B11AE1") + bytes(4096)),
        "sync",
        2,
        ".xls",
        "另存为 .xlsx",
    ),
    case("ods", ods, "sync", 2, ".ods"),
    case(
        "csv-renamed-to-xlsx",
        raw("book.xlsx", "客户编号,客户名称,区域\nKH001,甲公司,华东\n".encode()),
        "sync",
        2,
        "CSV",
    ),
    case("truncated", truncated, "sync", 2, "损坏"),
    case("corrupted-bytes-inside", corrupted, "check", 2, "损坏"),
    case(
        "malformed-sheet-xml",
        then(ledger(), lambda p: sheet_xml(p, POOL_S, lambda x: x[: len(x) // 2])),
        "check",
        2,
        "无法读取",
    ),
    case(
        # calamine would count 1,048,576 rows × 16,384 columns here, and panic or run out
        "cells-without-references",
        without_refs,
        "check",
        2,
        "跟进记录",
        "XFD1048576",
        seconds=5,
    ),
    case("xml-bomb", corpus("54764.xlsx"), "sync", 2, "DOCTYPE", "XML 炸弹"),
    case(
        "xml-bomb-behind-a-long-comment",
        then(ledger(), lambda p: sheet_xml(p, POOL_S, padded_doctype)),
        "check",
        2,
        "DOCTYPE",
        "XML 炸弹",
        seconds=5,
    ),
    case("password-protected", corpus("protected_passtika.xlsx"), "sync", 2, "密码"),
    case(
        "password-protected-agile-english",
        corpus("pass_protected.xlsx"),
        "check",
        2,
        "password",
        "encrypted",
        config=EN,
    ),
    # ---- where the file lives: shared, open, read-only, replaced, full, crashed, concurrent
    case("read-only-file", ledger(), "sync", 2, "read-only", setup=read_only_file),
    case("read-only-file-can-be-checked", ledger(), "check", 0, setup=read_only_file),
    case("read-only-folder", ledger(), "sync", 2, "read-only", setup=read_only_folder),
    case(
        "open-in-excel",
        ledger(),
        "sync",
        2,
        "open by Andreas Lind",
        "~$book.xlsx",
        setup=open_in_excel,
    ),
    case(
        "open-in-libreoffice",
        ledger(),
        "sync",
        2,
        "open by 王小明",
        ".~lock.book.xlsx#",
        setup=open_in_libreoffice,
    ),
    case("open-in-excel-can-be-checked", ledger(), "check", 0, setup=open_in_excel),
    case(
        "replaced-during-the-sync",
        ledger(**OPP_WITH_ACTIVITY),
        "sync",
        2,
        "changed by someone during the sync",
        files="other",
        setup=replaced_while_planning,
        after=the_teammates_version_kept,
    ),
    case(
        "disk-full-writing",
        ledger(**OPP_WITH_ACTIVITY),
        "sync",
        2,
        "disk is full",
        "original untouched",
        setup=disk_full_writing,
        after=no_backup_left,
    ),
    case(
        "disk-full-making-the-backup",
        ledger(**OPP_WITH_ACTIVITY),
        "sync",
        2,
        "disk is full",
        setup=disk_full_backing_up,
        after=no_backup_left,
    ),
    case(
        # 130, as shells report an interrupt; not 1, which would mean "data problems found"
        "interrupted-mid-write",
        ledger(**OPP_WITH_ACTIVITY),
        "sync",
        130,
        "interrupted; the workbook was not changed",
        files="same",
        setup=interrupted_writing,
        after=lock_released_and_next_sync_writes,
    ),
    case(
        # the kill itself: test_xlsx_safety.py::test_killed_writer_never_corrupts
        "after-a-crash-mid-write",
        ledger(**OPP_WITH_ACTIVITY),
        "sync",
        0,
        setup=killed_earlier,
    ),
    case(
        "two-syncs-at-once",
        demo_book(500),
        "sync",
        2,
        "another sync of this workbook is running",
        files="engine",
        run=two_at_once,
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_catalogue(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "share"
    folder.mkdir()
    path = case.build(folder)
    original = tmp_path / "original" / path.name
    original.parent.mkdir()
    shutil.copyfile(path, original)
    config = tmp_path / "config.toml"
    config.write_text(case.config, "utf-8")
    if case.setup:
        case.setup(path, monkeypatch)
    before = _listing(folder)
    try:
        outcome = (case.run or in_process)(case, path, config)
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)

    assert "Traceback" not in outcome.text, outcome.text[-3000:]
    assert outcome.code == case.exit, (outcome.code, outcome.text[-2000:], outcome.problems[:5])
    if case.exit == 2:
        lines = [line for line in outcome.text.splitlines() if line.startswith("funnel-sync: ")]
        assert len(lines) == 1, outcome.text
        said = lines[0]
        assert path.name in said
    else:
        said = "\n".join(p["message"] for p in outcome.problems) + outcome.text
    for fragment in case.says:
        assert fragment in said, (fragment, said[-2000:])
    found = flat(outcome.problems) if outcome.problems else []
    for loc in case.located:
        assert loc in found, (loc, found[:20])
    if case.seconds is not None:
        assert outcome.seconds < case.seconds, outcome.seconds
    if case.rss_mb is not None:
        assert 0 < outcome.rss_mb < case.rss_mb, outcome.rss_mb

    # nothing the team wrote is lost, nothing is left behind
    if case.files == "same" or case.command == "check":
        assert path.read_bytes() == original.read_bytes()
    elif case.files == "engine" and outcome.written:
        assert_only_engine_cells_changed(original, path)
        backups = sorted((folder / ".funnel_sync" / "backups").iterdir())
        assert backups and backups[-1].read_bytes() == original.read_bytes()
    elif case.files == "engine":
        assert path.read_bytes() == original.read_bytes()
    added = _listing(folder) - before
    allowed = {".funnel_sync", f".funnel_sync/{path.name}.lock", ".funnel_sync/backups"}
    if case.command == "check":
        assert added == set()
    else:
        assert {a for a in added if not a.startswith(".funnel_sync/backups/")} <= allowed, added
    if case.after:
        case.after(original, path, monkeypatch)


def _listing(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


# ---- engine-owned cells: the engine columns of the ledger sheets, and the engine sheets


def _engine_columns(path: Path) -> dict[str, set[int] | None]:
    """Sheet name → its engine columns (1-based); None for a sheet the engine owns whole."""
    book = read_book(path, Config(), engine_sheets=True)
    owned: dict[str, set[int] | None] = {}
    for layout in book.layouts.values():
        if layout.spec.engine:
            owned[layout.name] = None
        else:
            owned[layout.name] = {
                i for f, i in layout.columns.items() if layout.spec.column(f).is_engine
            }
    return owned


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's values, formulas as their text (=…), as openpyxl reads them."""
    wb = openpyxl.load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def assert_only_engine_cells_changed(before: Path, after: Path) -> None:
    """Only engine columns and engine sheets changed, logs only grew; an owner the engine
    cleared or restored (recycle, revert: SPEC §4) is in the new PoolLog rows with its old
    value."""
    old, new = _cells(before), _cells(after)
    assert list(new)[: len(old)] == list(old)  # every sheet kept, in order; new ones follow
    owned = _engine_columns(before)
    for name, columns in _engine_columns(after).items():
        owned[name] = None if columns is None else (owned.get(name) or set()) | columns
    logged = _owner_rewrites(before, old, new)
    pool = read_book(before, Config()).layouts.get("pool")
    for name, rows in old.items():
        engine = owned.get(name, set())
        if engine is None:
            if name in LOG_SHEETS:  # logs only grow
                assert new[name][: len(rows)] == rows, name
            continue
        width = max((len(r) for r in rows + new[name]), default=0)
        for r in range(max(len(rows), len(new[name]))):
            was = rows[r] if r < len(rows) else ()
            now = new[name][r] if r < len(new[name]) else ()
            for c in range(width):
                a = was[c] if c < len(was) else None
                b = now[c] if c < len(now) else None
                if c + 1 in engine or a == b:
                    continue
                if pool and name == pool.name and c + 1 == pool.columns.get("owner"):
                    customer = was[pool.columns["customer_id"] - 1]
                    if (customer, a) in logged:
                        continue
                cell = f"{name}!{openpyxl.utils.get_column_letter(c + 1)}{r + 1}"
                raise AssertionError(f"{cell}: {a!r} → {b!r}")


def _owner_rewrites(
    before: Path, old: dict[str, list[tuple[Any, ...]]], new: dict[str, list[tuple[Any, ...]]]
) -> set[tuple[Any, Any]]:
    """(customer, old owner) of every PoolLog row the sync appended."""
    for name in ("资源库日志", "PoolLog"):
        if name in new:
            rows = new[name][len(old.get(name, [])) or 1 :]
            header = new[name][0]
            cid, value = header.index("客户编号"), header.index("原值")
            return {(row[cid], row[value]) for row in rows}
    return set()


# ------------------------------------------------------------------------------ injection

#: Text a spreadsheet or a mail client could take for something to run, as customer names.
INJECTIONS = (
    '=HYPERLINK("http://x","y")',
    "+1-2",
    "-cmd",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "<script>alert(1)</script>",
)
#: How the engine reads each name: surrounding whitespace, a tab or CR included, is trimmed.
READ_AS = {text: text.strip() for text in INJECTIONS}
PHONE, CONTACT = "+86 138 0013 8000", "@张总"


def injection_ledger(path: Path) -> Path:
    """One customer per injection, each with an overdue D opportunity of 张三 (so its name is on
    the Today list and in the report's overdue table), a phone starting with + and a contact
    with @. Typed as text, as in Excel (a CR as Excel stores it: _x000D_)."""
    pool, opportunities, activities = [], [], []
    for k, _ in enumerate(INJECTIONS, 1):
        cid, oid = f"KH{k:03}", f"JH{k:03}"
        pool.append(
            {
                "customer_id": cid,
                "name": "?",
                "region": "华东",
                "owner": "张三",
                "contact": CONTACT,
                "phone": PHONE,
            }
        )
        opportunities.append(
            opp(
                opportunity_id=oid,
                customer_id=cid,
                confirmed_stage="D",
                stage_entered_on=D(2026, 10, 1),
            )
        )
        activities.append(act(customer_id=cid, opportunity_id=oid, date=D(2026, 11, 1)))
    activities.append(act(customer_id="KH001", date=D(2026, 10, 30)))  # customer-level
    write_ledger(path, pool=pool, opportunities=opportunities, activities=activities, reps=REPS_OK)
    for row, text in enumerate(INJECTIONS, 2):
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        escaped = escaped.replace("\r", "_x000D_")
        xml = f'<c r="B{row}" t="inlineStr"><is><t xml:space="preserve">{escaped}</t></is></c>'
        patch_cell(path, POOL_S, f"B{row}", xml)
    return path


def _no_formula_holds(path: Path, *needles: str) -> None:
    with zipfile.ZipFile(path) as z:
        formulas = [
            f
            for name in z.namelist()
            if name.startswith("xl/worksheets/")
            for f in re.findall(r"<(?:\w+:)?f\b[^>]*>([^<]*)<", z.read(name).decode("utf-8"))
        ]
    assert not [f for f in formulas if any(n in f for n in needles)], formulas


def test_injection_text_reaches_the_today_sheet_as_text(tmp_path: Path) -> None:
    path = injection_ledger(tmp_path / "book.xlsx")
    code, _, err = run_cli("sync", str(path), "--today", TODAY, "--format", "json")
    assert code == 0, err
    ws = openpyxl.load_workbook(path)[TODAY_S]
    rows = list(ws.iter_rows(min_row=2))
    header = [c.value for c in ws[1]]
    cid, name, contact, phone = (
        header.index(h) for h in ("客户编号", "客户名称", "联系人", "电话")
    )
    names = {r[cid].value: r[name] for r in rows}
    for k, text in enumerate(INJECTIONS, 1):
        cell = names[f"KH{k:03}"]
        assert (cell.value, cell.data_type) == (READ_AS[text], "s"), text
    for r in rows:
        assert (r[phone].value, r[phone].data_type) == (PHONE, "s")
        assert (r[contact].value, r[contact].data_type) == (CONTACT, "s")
    _no_formula_holds(path, "HYPERLINK", "cmd", "SUM(A1)", "1-2", "138", "张总")
    with zipfile.ZipFile(path) as z:
        assert "<f" not in z.read(sheet_part(path, TODAY_S)).decode()
    # the team's cells keep what was typed, tab and CR included
    pool = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(POOL_S)
    assert [row[1] for row in pool.to_python()[1:]] == list(INJECTIONS)


def test_injection_text_in_the_report_stays_text(tmp_path: Path) -> None:
    """Every injection end to end through `funnel-sync report` (test_report_html covers <script>
    and =HYPERLINK in its own workbook, and render_excel alone for the other prefixes)."""
    path = injection_ledger(tmp_path / "book.xlsx")
    out = tmp_path / "out"
    code, _, err = run_cli("report", str(path), "--out", str(out), "--today", TODAY)
    assert code == 0, err
    page = (out / "funnel-report-2026-W48.html").read_text("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page.lower()
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in page
    for text in ("+1-2", "-cmd", "@SUM(A1)", PHONE):
        assert f">{text}<" in page, text
    report = out / "funnel-report-2026-W48.xlsx"
    found: dict[object, str] = {}
    for ws in openpyxl.load_workbook(report).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in READ_AS.values() or cell.value == PHONE:
                    found[cell.value] = cell.data_type
    assert found == {v: "s" for v in [*READ_AS.values(), PHONE]}
    _no_formula_holds(report, "HYPERLINK", "cmd", "SUM(A1)", "1-2", "138")


# ------------------------------------------------------------------------------ the run lock


def test_run_lock_is_held_for_the_sync_and_released_after(tmp_path: Path) -> None:
    """The lock file is taken during the sync (another holder is refused), released after a
    refusal and after success; a dry run takes none."""
    from funnel_sync.runlock import SyncRunning, hold

    path = ledger(**OPP_WITH_ACTIVITY)(tmp_path)
    with hold(path) as lock:
        assert lock == tmp_path / ".funnel_sync" / "book.xlsx.lock"
        assert f"pid {os.getpid()} " in lock.read_text("utf-8")
        with pytest.raises(SyncRunning, match=f"pid {os.getpid()} "), hold(path):
            pass  # pragma: no cover
        code, _, err = run_cli("sync", str(path), "--today", TODAY)
        assert code == 2 and "another sync of this workbook is running" in err
        code, _, err = run_cli("sync", str(path), "--today", TODAY, "--dry-run")
        assert code == 0, err
    assert lock.read_text("utf-8") == ""  # released: no stale holder named
    code, _, err = run_cli("sync", str(path), "--today", TODAY)
    assert code == 0, err
    with hold(path):
        pass
    with hold(tmp_path / "missing.xlsx") as none:
        assert none is None
    assert not (tmp_path / ".funnel_sync" / "missing.xlsx.lock").exists()


def test_run_lock_survives_a_killed_holder(tmp_path: Path) -> None:
    """A holder killed with SIGKILL leaves its lock file, but the system dropped the lock."""
    if sys.platform == "win32":
        pytest.skip("POSIX signals")
    path = ledger()(tmp_path)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from funnel_sync.runlock import hold\n"
            "with hold(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    code, _, err = run_cli("sync", str(path), "--today", TODAY)
    assert code == 2 and f"pid {child.pid} " in err
    child.kill()
    child.wait()
    assert f"pid {child.pid} " in lock_path(path).read_text("utf-8")  # stale text, no lock
    code, _, err = run_cli("sync", str(path), "--today", TODAY)
    assert code == 0, err
