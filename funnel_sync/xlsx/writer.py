"""apply_changes / plan_changes: write a change set into a workbook, copying every other byte."""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import posixpath
import queue
import re
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..gcpause import gc_paused
from ..plan import CellValue, CellWrite, ChangeSet, NewColumn, SheetContent
from . import _engine
from ._package import STYLES_CT, WORKSHEET_CT, Package, rels_path
from ._sheet import SheetEditor, SheetFormatError, SheetPlan, Target
from ._styles import StyleBook
from ._tables import extend_table
from ._values import Wanted, want
from ._xml import MAIN_NS, attrs, escape_attr
from ._zip import RawZipWriter, ZipTooLarge
from .errors import InvalidChange, SheetNotFound, UnsupportedWorkbook
from .safety import Fingerprint, atomic_replace, fingerprint

MAX_ROW = 1_048_576
MAX_COL = 16_384
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
# Value types whose equal values are stored alike (not float: 0.0 == -0.0), so want() is shared.
_SHARED_WANT = frozenset([str, int, bool, dt.date, dt.datetime, type(None)])


@dataclass(frozen=True, slots=True)
class CellChange:
    """A cell whose value changes (or would change, in a dry run)."""

    sheet: str
    row: int
    column: int
    old: CellValue
    new: CellValue


@dataclass(frozen=True, slots=True)
class Refusal:
    """A requested write the writer did not make, and why."""

    write: CellWrite
    reason: str


@dataclass(frozen=True, slots=True)
class WriteResult:
    path: Path
    changes: tuple[CellChange, ...] = ()
    refused: tuple[Refusal, ...] = ()
    columns_added: tuple[NewColumn, ...] = ()
    tables_extended: tuple[str, ...] = ()
    sheets_created: tuple[str, ...] = ()
    sheets_replaced: tuple[str, ...] = ()
    written: bool = False
    backup: Path | None = None
    fingerprint: Fingerprint | None = None  # of the file after writing

    @property
    def changes_anything(self) -> bool:
        return bool(
            self.changes or self.columns_added or self.sheets_created or self.sheets_replaced
        )


@dataclass(slots=True)
class _Blob:
    """A part's new content, compressed as it was produced."""

    chunks: list[bytes] = field(default_factory=list)
    crc: int = 0
    size: int = 0


@dataclass(slots=True)
class _Work:
    replaced: dict[str, _Blob | list[bytes]] = field(default_factory=dict)  # part -> new bytes
    added: list[tuple[str, bytes]] = field(default_factory=list)


def plan_changes(
    path: Path, changes: ChangeSet, *, header_rows: Mapping[str, int] | None = None
) -> WriteResult:
    """What `apply_changes` would do, without writing anything."""
    path = Path(path)
    with _open(path) as zf:
        result, _ = _compute_checked(path, zf, changes, header_rows or {}, keep_output=False)
    return result


def apply_changes(
    path: Path,
    changes: ChangeSet,
    *,
    expected: Fingerprint | None,
    backups: int = 7,
    backup_dir: Path | None = None,
    header_rows: Mapping[str, int] | None = None,
) -> WriteResult:
    """Write `changes` into the workbook at `path`, keeping every other part byte for byte.

    Nothing is written when every value is already in place. `expected` is the fingerprint taken
    when the workbook was read; a different file on disk raises WorkbookChanged. `header_rows`
    (sheet -> row) says which row holds a sheet's headers (default: a NewColumn's header_row,
    else 1), so new cells never copy a header's style.
    """
    path = Path(path)
    with _open(path) as zf:
        result, work = _compute_checked(path, zf, changes, header_rows or {}, keep_output=True)
        if not result.changes_anything:
            return result
        infos = zf.infolist()
        comment = zf.comment
        with open(path, "rb") as src:

            def write(out: BinaryIO) -> None:
                _assemble(out, src, infos, work, comment)

            try:
                backup = atomic_replace(
                    path, write, expected=expected, backups=backups, backup_dir=backup_dir
                )
            except ZipTooLarge as err:
                raise UnsupportedWorkbook(path, "workbook larger than 4 GB") from err
    return _with(result, written=True, backup=backup, fingerprint=fingerprint(path))


def _with(result: WriteResult, **kw: object) -> WriteResult:
    values = {name: getattr(result, name) for name in WriteResult.__dataclass_fields__}
    values.update(kw)
    return WriteResult(**values)


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError) as err:
        raise UnsupportedWorkbook(path, f"not a readable .xlsx/.xlsm file: {err}") from err


def _assemble(
    out: BinaryIO, src: BinaryIO, infos: list[zipfile.ZipInfo], work: _Work, comment: bytes
) -> None:
    writer = RawZipWriter(out)
    for info in infos:
        new = work.replaced.get(info.filename)
        if new is None:
            writer.copy_raw(src, info)
        elif isinstance(new, _Blob):
            writer.write_deflated(info.filename, new.chunks, new.crc, new.size, template=info)
        else:
            writer.write(info.filename, new, template=info)
    for name, data in work.added:
        writer.write(name, [data])
    writer.close(comment)


class _ReadAhead:
    """`read(n)` of a stream, called on a worker thread ahead of the caller, so that inflating
    a part overlaps editing it. Returns what the stream's read would (n bytes until the end);
    errors come out of `read` where they would have. Use as a context manager: leaving it
    stops the worker, before the stream may be closed.
    """

    def __init__(self, read: Callable[[int], bytes], depth: int = 2) -> None:
        self._read = read
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._size = 0
        self._left = b""
        self._ended = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _ReadAhead:
        return self

    def __exit__(self, kind: object, err: object, tb: object) -> None:
        self._stop.set()
        thread = self._thread
        while thread is not None and thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)  # unblock a put
        self._thread = None

    def read(self, size: int) -> bytes:
        if self._thread is None and not self._ended:
            self._size = size  # the worker reads in the caller's first size
            self._thread = threading.Thread(target=self._work, name="xlsx-inflate", daemon=True)
            self._thread.start()
        data = self._left
        while len(data) < size and not self._ended:
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._ended = True
                self._left = data
                raise item
            if not item:
                self._ended = True
            data += item
        self._left = data[size:]
        return data[:size]

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._read(self._size)
            except BaseException as err:  # handed to the caller's read()
                self._queue.put(err)
                return
            self._queue.put(data)
            if not data:
                return


class _Deflater:
    """Deflates parts (raw deflate, level 6) on a worker thread, in order, while the next part
    is still being produced: zlib releases the GIL while it works, so compressing overlaps the
    editing. The bytes are those one compressobj fed the same chunks gives. At most `limit`
    bytes wait (beyond one chunk). Use as a context manager; `blob()` results are complete once
    the block has ended without an exception.
    """

    def __init__(self, limit: int = 32 << 20) -> None:
        self._items: collections.deque[tuple[_Blob, Any, bytes | None] | None] = collections.deque()
        self._waiting = 0  # bytes queued or being deflated
        self._limit = limit
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="xlsx-deflate", daemon=True)

    def __enter__(self) -> _Deflater:
        self._thread.start()
        return self

    def __exit__(self, kind: object, err: object, tb: object) -> None:
        self._put(None, 0)
        self._thread.join()
        if err is None and self._error is not None:
            raise self._error

    def blob(self, chunks: Iterable[bytes]) -> _Blob:
        """Queue every chunk of one part; the returned blob fills in as they are deflated."""
        blob = _Blob()
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        for chunk in chunks:
            self._put((blob, comp, chunk), len(chunk))
        self._put((blob, comp, None), 0)
        return blob

    def _put(self, item: tuple[_Blob, Any, bytes | None] | None, size: int) -> None:
        with self._cond:
            while self._waiting and self._waiting + size > self._limit:
                self._cond.wait()
            self._items.append(item)
            self._waiting += size
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._items:
                    self._cond.wait()
                item = self._items.popleft()
            if item is None:
                return
            blob, comp, chunk = item
            if self._error is None:
                try:
                    if chunk is None:
                        blob.chunks.append(comp.flush())
                    else:
                        blob.crc = zlib.crc32(chunk, blob.crc)
                        blob.size += len(chunk)
                        data = comp.compress(chunk)
                        if data:
                            blob.chunks.append(data)
                except BaseException as err:  # re-raised by __exit__
                    self._error = err
            if chunk:
                with self._cond:
                    self._waiting -= len(chunk)
                    self._cond.notify_all()


def check_sheet_names(path: Path, sheets: tuple[SheetContent, ...]) -> None:
    """Engine sheets must have names Excel accepts, each given once (both backends)."""
    seen: set[str] = set()
    for content in sheets:
        problem = _valid_sheet_name(content.name)
        if problem is not None:
            raise InvalidChange(path, f"{content.name!r}: {problem}")
        if content.name.casefold() in seen:
            raise InvalidChange(path, f"sheet {content.name!r} given twice")
        seen.add(content.name.casefold())


def _valid_sheet_name(name: str) -> str | None:
    if not name or len(name) > 31:
        return "sheet names have 1 to 31 characters"
    if _BAD_SHEET_CHARS.search(name):
        return "sheet names cannot contain [ ] : * ? / \\"
    if name.startswith("'") or name.endswith("'"):
        return "sheet names cannot start or end with an apostrophe"
    if name.casefold() == "history":
        return "'History' is reserved by Excel"
    return None


def _compute_checked(
    path: Path,
    zf: zipfile.ZipFile,
    changes: ChangeSet,
    header_rows: Mapping[str, int],
    *,
    keep_output: bool,
) -> tuple[WriteResult, _Work]:
    try:
        with gc_paused():  # hundreds of thousands of small objects; see gcpause.py
            return _compute(path, zf, changes, header_rows, keep_output=keep_output)
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise UnsupportedWorkbook(path, f"damaged zip archive: {err}") from err


def _grow(box: list[int], row: int, col: int) -> None:
    """Widen [min row, min col, max row, max col] (empty: none yet) to hold the cell."""
    if not box:
        box += (row, col, row, col)
        return
    box[0], box[1] = min(box[0], row), min(box[1], col)
    box[2], box[3] = max(box[2], row), max(box[3], col)


def _compute(
    path: Path,
    zf: zipfile.ZipFile,
    changes: ChangeSet,
    header_rows: Mapping[str, int],
    *,
    keep_output: bool,
) -> tuple[WriteResult, _Work]:
    try:
        pkg = Package(zf)
    except (ValueError, KeyError) as err:
        raise UnsupportedWorkbook(path, str(err)) from err
    styles_data = (
        pkg.read(pkg.styles_part) if pkg.styles_part and pkg.has(pkg.styles_part) else None
    )
    try:
        styles = StyleBook(styles_data)
    except ValueError as err:
        raise UnsupportedWorkbook(path, str(err)) from err
    work = _Work()
    refused: list[Refusal] = []
    changed: list[CellChange] = []
    columns_added: list[NewColumn] = []
    tables_extended: list[str] = []

    # Group writes by sheet and row; refuse what the change set does not allow.
    plans: dict[str, SheetPlan] = {}

    by_request: dict[str, SheetPlan] = {}

    def plan_for(sheet: str) -> SheetPlan:
        known = by_request.get(sheet)
        if known is not None:
            return known
        entry = pkg.sheet(sheet)
        if (
            entry is None
            or entry.part is None
            or not pkg.has(entry.part)
            or entry.kind != "worksheet"
        ):
            raise SheetNotFound(path, sheet)
        if entry.name not in plans:
            header_row = header_rows.get(sheet) or min(
                (nc.header_row for nc in changes.new_columns if nc.sheet == sheet), default=1
            )
            plans[entry.name] = SheetPlan(entry.name, {}, [], header_row, None)
        by_request[sheet] = plans[entry.name]
        return plans[entry.name]

    boxes: dict[str, list[int]] = {}  # plan name -> [min row, min col, max row, max col]

    def add_target(plan: SheetPlan, target: Target) -> None:
        w = target.write
        row, col = w.row, w.column
        cells = plan.targets.get(row)
        if cells is None:
            cells = plan.targets[row] = {}
        cells[col] = target
        if target.want.kind is not None:
            _grow(boxes.setdefault(plan.name, []), row, col)

    date1904 = pkg.date1904

    for nc in changes.new_columns:
        plan = plan_for(nc.sheet)
        cw = CellWrite(nc.sheet, nc.header_row, nc.column, nc.header)
        if not (1 <= nc.header_row <= MAX_ROW and 1 <= nc.column <= MAX_COL):
            refused.append(Refusal(cw, "cell outside the sheet"))
            continue
        w = want(nc.header, date1904)
        if isinstance(w, str):
            refused.append(Refusal(cw, w))
            continue
        plan.new_columns.append(nc)
        add_target(plan, Target(cw, w, header_for=nc))

    # The same checks for each cell write, add_target inline: this loop sees every write.
    # want() is computed once per distinct value (of types whose equal values store alike).
    wanted: dict[tuple[type, CellValue], Wanted | str] = {}
    engines: dict[str, tuple[SheetPlan, frozenset[int], list[int]]] = {}
    plan = SheetPlan("", {}, [], 1, None)
    engine: frozenset[int] = frozenset()
    box: list[int] = []
    sheet: str | None = None
    for cw in changes.cells:
        if cw.sheet != sheet:
            sheet = cw.sheet
            known = engines.get(sheet)
            if known is None:
                plan = plan_for(sheet)
                found_engine = changes.engine_columns.get(sheet)
                if found_engine is None:
                    found_engine = changes.engine_columns.get(plan.name, frozenset())
                known = engines[sheet] = (plan, found_engine, boxes.setdefault(plan.name, []))
            plan, engine, box = known
        row, col, value = cw.row, cw.column, cw.value
        if not (1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
            refused.append(Refusal(cw, "cell outside the sheet"))
            continue
        if col not in engine:
            refused.append(Refusal(cw, "column is not an engine column"))
            continue
        if plan.new_columns:
            existing = plan.targets.get(row, {}).get(col)
            if existing is not None and existing.header_for is not None:
                refused.append(Refusal(cw, "cell is the header of a new column"))
                continue
        kind = type(value)
        if kind in _SHARED_WANT:
            shared = wanted.get((kind, value))
            if shared is None:
                shared = wanted[(kind, value)] = want(value, date1904)
            w = shared
        else:
            w = want(value, date1904)
        if isinstance(w, str):
            refused.append(Refusal(cw, w))
            continue
        cells = plan.targets.get(row)
        if cells is None:
            cells = plan.targets[row] = {}
        cells[col] = Target(cw, w)
        if w.kind is not None:
            _grow(box, row, col)
    for name, b in boxes.items():
        if b:
            plans[name].add_box = (b[0], b[1], b[2], b[3])

    sst_removed = 0
    with contextlib.ExitStack() as stack:
        deflater = stack.enter_context(_Deflater()) if keep_output else None
        for name, plan in plans.items():
            entry = pkg.sheet(name)
            assert entry is not None and entry.part is not None
            editor = SheetEditor(plan, styles, pkg.shared_strings, pkg.date1904)
            info = pkg.info(entry.part)
            try:
                with zf.open(info) as stream, _ReadAhead(stream.read) as reader:
                    output = editor.run(reader.read)
                    if deflater is not None:
                        blob = deflater.blob(output)
                    else:
                        for _ in output:
                            pass
            except (SheetFormatError, re.error) as err:
                raise UnsupportedWorkbook(path, f"sheet {name!r}: {err}") from err
            out = editor.outcome
            refused.extend(Refusal(w, reason) for w, reason in out.refusals)
            changed.extend(
                CellChange(name, t.write.row, t.write.column, old, t.write.value)
                for t, old in out.changes
            )
            columns_added.extend(out.headers_written)
            if out.changed:
                sst_removed += out.sst_removed
                if keep_output:
                    work.replaced[info.filename] = blob
                tables_extended.extend(_tables(pkg, entry.part, out.headers_written, work))

        created, replaced = _engine_sheets(path, pkg, changes.sheets, styles, work, deflater)

    if sst_removed and pkg.sst_part and pkg.has(pkg.sst_part):
        data = pkg.read(pkg.sst_part)
        m = re.search(rb"<(?:[\w.-]+:)?sst\b([^>]*)>", data)
        if m is not None:
            count = re.search(rb'(\scount\s*=\s*["\'])([0-9]+)', m.group(1))
            if count is not None:
                new = str(max(0, int(count.group(2)) - sst_removed)).encode()
                start = m.start(1) + count.start(2)
                work.replaced[pkg.real_name(pkg.sst_part)] = [
                    data[:start] + new + data[m.start(1) + count.end(2) :]
                ]

    if styles.changed:
        if styles.created:
            _add_styles_part(pkg, styles.render(), work)
        else:
            assert pkg.styles_part is not None
            work.replaced[pkg.real_name(pkg.styles_part)] = [styles.render()]

    result = WriteResult(
        path=path,
        changes=tuple(changed),
        refused=tuple(refused),
        columns_added=tuple(columns_added),
        tables_extended=tuple(tables_extended),
        sheets_created=tuple(created),
        sheets_replaced=tuple(replaced),
    )
    return result, work


def _tables(pkg: Package, sheet_part: str, added: list[NewColumn], work: _Work) -> list[str]:
    names: list[str] = []
    if not added:
        return names
    parts = [
        r.target
        for r in pkg.relationships(sheet_part)
        if r.type.endswith("/table") and not r.external
    ]
    for part in parts:
        if not pkg.has(part):
            continue
        xml = pkg.read(part)
        grown = False
        for nc in sorted(added, key=lambda n: n.column):
            ext = extend_table(xml, nc)
            if ext is not None:
                xml, table_name = ext
                grown = True
                if table_name not in names:
                    names.append(table_name)
        if grown:
            work.replaced[pkg.real_name(part)] = [xml]
    return names


def _main_ns(pkg: Package) -> str:
    return (MAIN_NS[1] if pkg.strict else MAIN_NS[0]).decode()


def _engine_sheets(
    path: Path,
    pkg: Package,
    sheets: tuple[SheetContent, ...],
    styles: StyleBook,
    work: _Work,
    deflater: _Deflater | None = None,
) -> tuple[list[str], list[str]]:
    created: list[str] = []
    replaced: list[str] = []
    new_entries: list[tuple[str, str]] = []  # (sheet name, part)
    taken = {n.lower() for n in pkg.zf.namelist()}
    check_sheet_names(path, sheets)
    for content in sheets:
        entry = pkg.sheet(content.name)
        if entry is not None:
            if entry.kind != "worksheet" or entry.part is None or not pkg.has(entry.part):
                raise InvalidChange(path, f"{content.name!r} exists and is not a worksheet")
            xml = pkg.read(entry.part)
            if _engine.same_content(xml, content, pkg.shared_strings, styles, pkg.date1904):
                continue
            try:
                new = _engine.replace_sheet(xml, content, styles, pkg.date1904)
            except ValueError as err:
                raise UnsupportedWorkbook(path, f"sheet {content.name!r}: {err}") from err
            name = pkg.real_name(entry.part)
            if deflater is not None and pkg.info(entry.part).compress_type == zipfile.ZIP_DEFLATED:
                # What RawZipWriter.write would make of [new], deflated on the worker thread.
                work.replaced[name] = deflater.blob([new])
            else:
                work.replaced[name] = [new]
            replaced.append(entry.name)
            continue
        folder = posixpath.dirname(pkg.workbook_part)
        n = 1
        while posixpath.join(folder, f"worksheets/sheet{n}.xml").lower() in taken:
            n += 1
        part = posixpath.join(folder, f"worksheets/sheet{n}.xml")
        taken.add(part.lower())
        data = _engine.new_sheet(content, styles, pkg.date1904, _main_ns(pkg), pkg.rel_ns)
        work.added.append((part, data))
        new_entries.append((content.name, part))
        created.append(content.name)
    if new_entries:
        _register_sheets(pkg, new_entries, work)
    return created, replaced


def _insert_before_close(data: bytes, element: bytes, items: bytes) -> bytes:
    matches = list(re.finditer(rb"</(?:[\w.-]+:)?" + element + rb"\s*>", data))
    if not matches:
        raise ValueError(f"no </{element.decode()}>")
    at = matches[-1].start()
    return data[:at] + items + data[at:]


def _prefix_of(data: bytes, element: bytes) -> bytes:
    m = re.search(rb"<([\w.-]+:)?" + element + rb"\b", data)
    return (m.group(1) or b"") if m else b""


def _new_rel_ids(existing: Iterable[str], n: int) -> list[str]:
    used = set(existing)
    out: list[str] = []
    k = 1
    while len(out) < n:
        rid = f"rId{k}"
        if rid not in used:
            out.append(rid)
            used.add(rid)
        k += 1
    return out


def _rels_xml(pkg: Package, part: str, new: list[tuple[str, str, str]]) -> tuple[str, bytes]:
    """(rels part name, its bytes with relationships (id, type, target) appended)."""
    name = pkg.real_name(rels_path(part))
    items = b"".join(
        b'<Relationship Id="' + escape_attr(i) + b'" Type="' + escape_attr(t) + b'" Target="'
        + escape_attr(target) + b'"/>'
        for i, t, target in new
    )  # fmt: skip
    if pkg.has(name):
        data = pkg.read(name)
        p = _prefix_of(data, b"Relationships")
        if p:
            items = items.replace(b"<Relationship ", b"<" + p + b"Relationship ")
        return name, _insert_before_close(data, b"Relationships", items)
    return name, (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + items + b"</Relationships>"
    )  # fmt: skip


def _content_types(pkg: Package, overrides: list[tuple[str, str]], work: _Work) -> None:
    name = pkg.real_name("[Content_Types].xml")
    current = work.replaced.get(name)
    assert not isinstance(current, _Blob)
    data = b"".join(current) if current is not None else pkg.read(name)
    p = _prefix_of(data, b"Types")
    items = b"".join(
        b"<"
        + p
        + b'Override PartName="/'
        + escape_attr(part)
        + b'" ContentType="'
        + ct.encode()
        + b'"/>'
        for part, ct in overrides
    )
    work.replaced[name] = [_insert_before_close(data, b"Types", items)]


def _set_part(pkg: Package, work: _Work, name: str, data: bytes) -> None:
    if pkg.has(name):
        work.replaced[pkg.real_name(name)] = [data]
    else:
        work.added.append((name, data))


def _rel_type(pkg: Package, kind: str) -> str:
    return f"{pkg.rel_ns}/{kind}"


def _register_sheets(pkg: Package, entries: list[tuple[str, str]], work: _Work) -> None:
    wb = pkg.workbook_xml
    rids = _new_rel_ids((r.id for r in pkg.workbook_rels), len(entries))
    folder = posixpath.dirname(pkg.workbook_part)
    rel_items = [
        (rid, _rel_type(pkg, "worksheet"), posixpath.relpath(part, folder or "."))
        for rid, (_, part) in zip(rids, entries, strict=True)
    ]
    rels_name, rels_data = _rels_xml(pkg, pkg.workbook_part, rel_items)
    _set_part(pkg, work, rels_name, rels_data)
    root = re.search(rb"<([\w.-]+:)?workbook\b([^>]*)>", wb)
    assert root is not None
    p = _prefix_of(wb, b"sheets")
    r_prefix = None
    for k, v in attrs(root.group(2)).items():
        if k.startswith(b"xmlns:") and v.decode() == pkg.rel_ns:
            r_prefix = k[6:]
    next_id = max([0, *(s.sheet_id for s in pkg.sheets)]) + 1
    items = b""
    for i, (rid, (name, _)) in enumerate(zip(rids, entries, strict=True)):
        ns = b""
        rp = r_prefix
        if rp is None:
            rp = b"r"
            ns = b' xmlns:r="' + pkg.rel_ns.encode() + b'"'
        sheet_id = str(next_id + i).encode()
        items += (
            b"<" + p + b'sheet name="' + escape_attr(name) + b'" sheetId="' + sheet_id
            + b'"' + ns + b" " + rp + b':id="' + rid.encode() + b'"/>'
        )  # fmt: skip
    work.replaced[pkg.real_name(pkg.workbook_part)] = [_insert_before_close(wb, b"sheets", items)]
    _content_types(pkg, [(part, WORKSHEET_CT) for _, part in entries], work)


def _add_styles_part(pkg: Package, data: bytes, work: _Work) -> None:
    folder = posixpath.dirname(pkg.workbook_part)
    part = posixpath.join(folder, "styles.xml")
    rid = _new_rel_ids((r.id for r in pkg.workbook_rels), 1)[0]
    name = pkg.real_name(rels_path(pkg.workbook_part))
    if name in work.replaced:
        parts = work.replaced[name]
        assert not isinstance(parts, _Blob)
        current = b"".join(parts)
        items = (
            b'<Relationship Id="' + rid.encode() + b'" Type="' + _rel_type(pkg, "styles").encode()
            + b'" Target="styles.xml"/>'
        )  # fmt: skip
        # A new sheet may have taken rId already: pick the next free one in the updated part.
        used = set(re.findall(rb'Id="([^"]+)"', current))
        k = 1
        while f"rId{k}".encode() in used:
            k += 1
        items = items.replace(rid.encode(), f"rId{k}".encode())
        work.replaced[name] = [_insert_before_close(current, b"Relationships", items)]
    else:
        rels_name, rels_data = _rels_xml(
            pkg, pkg.workbook_part, [(rid, _rel_type(pkg, "styles"), "styles.xml")]
        )
        _set_part(pkg, work, rels_name, rels_data)
    _set_part(pkg, work, part, data)
    _content_types(pkg, [(part, STYLES_CT)], work)
