"""Workbook → typed rows and located problems (python-calamine for the values)."""

from __future__ import annotations

import difflib
import functools
import itertools
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar, cast

import python_calamine as calamine

from funnel_sync import parse
from funnel_sync.config import Config
from funnel_sync.model import Activity, Customer, Evidence, Opportunity, Rep, Source
from funnel_sync.parse import BLANK_CHARS, Invalid
from funnel_sync.problems import Problem, column_letter, make
from funnel_sync.schema import (
    ACTIVITIES,
    OPPORTUNITIES,
    POOL,
    POOL_LOG,
    REPS,
    SHEETS,
    STAGE_LOG,
    TODAY,
    Kind,
    Sheet,
    match_key,
)

RELEASE_WORDS = frozenset({"释放", "release", "released", "公共", "公海"})
NAME_FIELDS = frozenset({"owner", "rep"})  # cells that name a rep of the Reps sheet
HEADER_SEARCH_ROWS = 10  # headers below a title block are still found
_T = TypeVar("_T", bound=tuple[Any, ...])


class WorkbookError(Exception):
    """The file cannot be used as a ledger at all (exit code 2); the message says why and what
    to do."""


@dataclass(frozen=True, slots=True)
class SheetLayout:
    """Where a ledger sheet sits in this workbook: its real name, header row, column per field."""

    spec: Sheet
    name: str  # the sheet name as in the file
    header_row: int  # 1-based
    columns: dict[str, int]  # field → 1-based column index
    width: int  # used columns
    height: int  # used rows (last row number)

    def letter(self, field: str) -> str | None:
        index = self.columns.get(field)
        return column_letter(index) if index else None


@dataclass(frozen=True)
class Book:
    """The parsed ledger: typed rows, where each sheet lies, and the problems met reading it."""

    path: Path
    customers: tuple[Customer, ...]
    opportunities: tuple[Opportunity, ...]
    activities: tuple[Activity, ...]
    reps: tuple[Rep, ...]
    layouts: dict[str, SheetLayout]  # by sheet key
    sheet_names: tuple[str, ...]  # every sheet of the file, in order
    date1904: bool
    problems: tuple[Problem, ...] = ()
    engine_rows: dict[str, list[list[Any]]] = field(default_factory=dict)  # raw engine sheets
    # (sheet key, row, field, text as typed) of rep names typed with surrounding spaces
    untrimmed: tuple[tuple[str, int, str, str], ...] = ()
    # per sheet key: the data rows' numbers, and the engine columns' cells as they are now
    row_numbers: dict[str, list[int]] = field(default_factory=dict)
    engine_cells: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    stale_rows: dict[str, list[int]] = field(default_factory=dict)  # only engine text left


def read_book(
    path: Path,
    cfg: Config,
    *,
    engine_sheets: bool | frozenset[str] = False,
    checked: bool = False,
) -> Book:
    """Read a ledger. Unusable files raise WorkbookError; everything else becomes Problems.
    `engine_sheets`: read the engine's sheets too (logs, Today), or those of these keys.
    `checked`: the caller has just run check_file. Each sheet's cell range is checked here,
    in the same pass over its XML that finds formulas, before python-calamine loads it."""
    with reading(path, cfg, engine_sheets=engine_sheets, checked=checked) as sheets:
        return sheets.book()


@contextmanager
def reading(
    path: Path,
    cfg: Config,
    *,
    engine_sheets: bool | frozenset[str] = False,
    checked: bool = False,
    idle: Callable[[], object] | None = None,
) -> Iterator[Reading]:
    """A workbook being read, for a caller with work to do on part of it before it needs the
    rest: python-calamine loads the sheets in _LOAD_ORDER on a worker thread, and what the
    caller does in between runs while the next ones load. In order, each waiting only for its
    own sheets: Reading.ledger(without=...) (the sync validates all but the activities),
    Reading.ledger(), Reading.book(keys) (the logs), Reading.book() (everything asked for).
    `idle`: run once, the first time this thread would otherwise wait for a sheet to load (the
    report imports pandas there: a third of a second that costs nothing then)."""
    if not checked:
        check_file(path, cfg)
    try:
        workbook = calamine.CalamineWorkbook.from_path(str(path))
    except calamine.PasswordError:
        raise WorkbookError(_msg(cfg, path, "encrypted")) from None
    except (calamine.CalamineError, calamine.XmlError, calamine.ZipError) as e:
        raise WorkbookError(_msg(cfg, path, "unreadable", detail=_short(e))) from None
    except Exception as e:  # calamine raises bare errors for some malformed parts
        raise WorkbookError(_msg(cfg, path, "unreadable", detail=_short(e))) from None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="funnel-sync-read")
    try:
        with zipfile.ZipFile(path) as archive:
            yield Reading(path, workbook, archive, cfg, pool, engine_sheets, idle)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: The order the sheets load in: the activities, the largest, after the small team sheet, so
#: that everything but them can be worked on while they load (see Reading.ledger).
_LOAD_ORDER = (POOL, OPPORTUNITIES, REPS, ACTIVITIES, STAGE_LOG, POOL_LOG, TODAY)
assert sorted(_LOAD_ORDER, key=SHEETS.index) == list(SHEETS)

# ---- the file itself ----


def check_file(path: Path, cfg: Config) -> None:
    """Refuse, with a clear message, what is not an .xlsx/.xlsm package we can read safely.

    Everything here is bounded before python-calamine sees the file: the size on disk, the
    declared unpacked size, each part's compression ratio and sizes, and a DOCTYPE anywhere in
    an XML part's prolog. The cell range of each sheet read is checked by read_book, right
    before it is loaded (calamine allocates every cell of A1:last-cell: one stray value in
    XFD1048576 would ask for 512 GB and abort the process)."""
    if not path.exists():
        raise WorkbookError(_msg(cfg, path, "missing"))
    if path.is_dir():
        raise WorkbookError(_msg(cfg, path, "directory"))
    size = path.stat().st_size
    if size > cfg.limits.max_file_mb * 1024 * 1024:
        raise WorkbookError(_msg(cfg, path, "too-big", mb=cfg.limits.max_file_mb))
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as e:
        raise WorkbookError(_msg(cfg, path, "unreadable", detail=e.strerror or str(e))) from None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        data = path.read_bytes()
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise WorkbookError(_msg(cfg, path, "encrypted"))
        raise WorkbookError(_msg(cfg, path, "xls"))
    if not head.startswith(b"PK"):
        kind = "empty" if size == 0 else "not-zip"
        raise WorkbookError(_msg(cfg, path, kind))
    limit = cfg.limits.max_unpacked_mb * 1024 * 1024
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
            # sizes first: nothing is unpacked before the declared total is known to be sane
            if sum(i.file_size for i in infos) > limit:
                raise WorkbookError(_msg(cfg, path, "bomb", mb=cfg.limits.max_unpacked_mb))
            if "mimetype" in names:
                with archive.open("mimetype") as part:
                    if b"opendocument" in part.read(256):
                        raise WorkbookError(_msg(cfg, path, "ods"))
            if "xl/workbook.xml" not in names:
                raise WorkbookError(_msg(cfg, path, "not-xlsx"))
            for info in infos:
                # an XML part "compressed" to much more than it holds: its sizes are forged
                # (a good deflate never grows data; even a naive one by at most an eighth)
                xml = info.filename.endswith((".xml", ".rels"))
                if xml and info.compress_size > info.file_size + info.file_size // 4 + 1024:
                    raise WorkbookError(_msg(cfg, path, "forged", part=info.filename))
                if (
                    info.compress_size
                    and info.file_size / info.compress_size > 1000
                    and info.file_size > 100 * 1024 * 1024
                ):
                    raise WorkbookError(_msg(cfg, path, "bomb", mb=cfg.limits.max_unpacked_mb))
            for info in infos:
                if info.filename.endswith((".xml", ".rels")) and _declares_doctype(archive, info):
                    raise WorkbookError(_msg(cfg, path, "doctype", part=info.filename))
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise WorkbookError(_msg(cfg, path, "truncated")) from None
    except (RuntimeError, NotImplementedError) as e:  # an encrypted or exotic zip entry
        raise WorkbookError(_msg(cfg, path, "unreadable", detail=_short(e))) from None


#: What reading one cell of a sheet's range costs: calamine's cell (32 bytes) and the pointer in
#: the row list python-calamine hands over; the sum over the ledger sheets must stay within
#: limits.max_unpacked_mb.
_BYTES_PER_CELL = 40
_ROOT_PREFIX = re.compile(rb"<([\w.-]+:)?worksheet\b")


@dataclass(frozen=True)
class _RangePatterns:
    """Tag patterns for a worksheet whose elements carry `prefix` (b"" or b"x:"). Tags only:
    text cannot hold a "<", so nothing typed into a cell looks like a row or a cell here."""

    row: re.Pattern[bytes]  # a row element, with its number if it has one
    # [k]: in one pass, cells with r first (Excel's, LibreOffice's and openpyxl's order) in
    # a column AA… (group 1) or in a one-letter column right of column k (group 2; none for
    # k = 26), and any other cell (group 3: no r, or r not first)
    notable: tuple[re.Pattern[bytes], ...]
    # the slow way, r anywhere in the tag, for chunks with such other cells
    cell: re.Pattern[bytes]  # any cell
    cell_ref: re.Pattern[bytes]  # a cell's column and row


@functools.lru_cache(maxsize=8)
def _range_patterns(prefix: bytes) -> _RangePatterns:
    c, row = re.escape(b"<" + prefix + b"c"), re.escape(b"<" + prefix + b"row")
    return _RangePatterns(
        row=re.compile(row + rb'\b(?:[^>]*?\br="([0-9]{1,9})")?'),
        notable=tuple(
            re.compile(
                c + rb' r="(?:([A-Z]{2,3})|(' + beyond + rb"))[0-9]|" + c + rb'([>/]|\s(?!r="))'
            )
            for beyond in [b"[" + bytes([65 + k]) + b"-Z]" for k in range(26)] + [b"(?!)"]
        ),
        cell=re.compile(c + rb"[\s>/]"),
        cell_ref=re.compile(c + rb'\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,9})"'),
    )


@dataclass(frozen=True, slots=True)
class _SheetScan:
    """What one pass over a worksheet's XML tells before python-calamine loads it."""

    last_row: int  # the last row and column used: calamine allocates A1 to there
    last_col: int
    formulas: dict[tuple[int, int], str | None]  # (row, column) → error text or None


def _scan_sheet(archive: zipfile.ZipFile, part: str, formulas: bool) -> _SheetScan:
    """The sheet's used range and (with `formulas`) its formula and error cells, in one pass.

    A byte scan, a small part of the time reading the sheet takes: the numbers of the row
    elements, the cells in columns beyond the rightmost seen so far; rows or cells without
    numbers (allowed, never written by Excel) count as many rows or columns as there are
    elements. Chunks end after a whole row where one ends, so that the formula scan sees whole
    cells; where a row is longer than a chunk the formula scan reads the part again whole."""
    last_row, last_col, elements, tail = 0, 0, 0, b""
    row_end, patterns = b"</row>", _range_patterns(b"")
    found: dict[tuple[int, int], str | None] = {}
    whole = False  # the formula scan must read the whole part instead
    with archive.open(part) as stream:
        first = True
        while block := stream.read(1 << 20):
            chunk = tail + block
            if first and (root := _ROOT_PREFIX.search(chunk)) and root.group(1):
                prefix = root.group(1)
                row_end = b"</" + prefix + b"row>"
                patterns = _range_patterns(prefix)
            first = False
            # whole tags only (whole rows where one ends): the rest goes to the next chunk
            cut = chunk.rfind(row_end)
            if cut >= 0:
                cut += len(row_end)
            else:
                cut = chunk.rfind(b">") + 1
                whole = True
            chunk, tail = chunk[:cut], chunk[cut:]
            if len(tail) > 1 << 20:
                tail, whole = tail[-(1 << 20) :], True
            if formulas and not whole:
                found.update(scan_formulas(chunk))
            rows = patterns.row.findall(chunk)
            elements += len(rows)
            if b"" in rows:  # rows without numbers: the cells say, else the count
                rows = [r for _, r in patterns.cell_ref.findall(chunk)]
                last_row = max(last_row, elements)
            last_row = max(last_row, max(map(int, rows), default=0))
            notable = patterns.notable[min(last_col, 26)].findall(chunk)
            if any(other for _, _, other in notable):  # the slow way, for this chunk
                refs = patterns.cell_ref.findall(chunk)
                columns = {letters for letters, _ in refs}
                last_row = max(last_row, max((int(r) for _, r in refs), default=0))
                cells = len(patterns.cell.findall(chunk))
                if cells > len(refs):  # cells without numbers: as many columns as cells
                    last_col = max(last_col, cells)
            else:
                columns = {wide or narrow for wide, narrow, _ in notable}
            last_col = max(last_col, max(map(_col_index, columns), default=0))
    if formulas and whole:
        # in blocks: one read() of a whole part inflates as much as the deflate stream holds,
        # whatever the size the zip declares (a forged one is how a bomb gets this far)
        with archive.open(part) as stream:
            found = scan_formulas(b"".join(iter(functools.partial(stream.read, 1 << 20), b"")))
    return _SheetScan(last_row, last_col, found)


_FILE_MESSAGES = {
    "missing": ("找不到文件: 请检查路径", "file not found: check the path"),
    "directory": ("这是一个文件夹, 不是工作簿", "this is a folder, not a workbook"),
    "empty": (
        "文件是空的 (0 字节): 从备份恢复或重新保存",
        "the file is empty (0 bytes): restore it from a backup or save it again",
    ),
    "not-zip": (
        "不是 Excel 工作簿 (.xlsx): 可能是改了扩展名的 CSV 或文本; 请在 Excel 中另存为 .xlsx",
        "not an Excel workbook (.xlsx): perhaps a CSV or text file "
        "renamed; open it in Excel and save as .xlsx",
    ),
    "not-xlsx": (
        "是 zip 文件但不是 Excel 工作簿: 请另存为 .xlsx",
        "a zip file but not an Excel workbook: save it as .xlsx",
    ),
    "truncated": (
        "文件已损坏或不完整 (zip 结构无法读取): 从备份恢复",
        "the file is damaged or truncated (its zip structure cannot be read): "
        "restore it from a backup",
    ),
    "xls": (
        "这是旧版 Excel 97-2003 (.xls) 文件: 请在 Excel 中另存为 .xlsx",
        "this is an old Excel 97-2003 (.xls) file: save it as .xlsx in Excel",
    ),
    "ods": (
        "这是 OpenDocument (.ods) 文件: 请另存为 .xlsx",
        "this is an OpenDocument (.ods) file: save it as .xlsx",
    ),
    "encrypted": (
        "工作簿设置了打开密码 (已加密): 请在 Excel 中取消密码后再试",
        "the workbook is password-protected (encrypted): remove the password in "
        "Excel (File › Info › Protect Workbook) and try again",
    ),
    "too-big": (
        "文件超过 {mb} MB 上限 (limits.max_file_mb)",
        "the file is larger than the {mb} MB limit (limits.max_file_mb)",
    ),
    "bomb": (
        "解压后超过 {mb} MB (可能是 zip 炸弹): 已拒绝",
        "it unpacks to more than {mb} MB (a zip bomb?): refused",
    ),
    "unreadable": ("无法读取工作簿: {detail}", "cannot read the workbook: {detail}"),
    "doctype": (
        "{part} 含有 XML 实体声明 (DOCTYPE), Excel 从不这样写; 可能是恶意文件 (XML 炸弹), 已拒绝",
        "{part} declares XML entities (DOCTYPE), which Excel never writes; possibly a "
        "malicious file (XML bomb): refused",
    ),
    "forged": (
        "{part} 的 zip 大小信息不可能成立 (可能是 zip 炸弹或文件已损坏): 已拒绝",
        "{part}: its sizes in the zip cannot be true (a zip bomb, or a damaged file): refused",
    ),
    "rows-beyond": (
        "工作表「{sheet}」的内容一直延伸到第 {last} 行, 超过 {rows} 行上限 (limits.max_rows); "
        "如果那一行是误输入, 请删除它 (在 Excel 中按 Ctrl+End 可定位) 后再试",
        "sheet '{sheet}' has content down to row {last}, beyond the {rows}-row limit "
        "(limits.max_rows); if that row was typed by mistake, delete it (Ctrl+End in Excel "
        "finds it) and try again",
    ),
    "range-too-large": (
        "工作表「{sheet}」的数据区从 A1 延伸到 {cell} ({rows} 行 × {cols} 列), 读取所需内存超过 "
        "{mb} MB 上限 (limits.max_unpacked_mb); 如果 {cell} 附近是误输入, 请删除 (在 Excel 中按 "
        "Ctrl+End 可定位) 后再试",
        "sheet '{sheet}' spans A1:{cell} ({rows} rows × {cols} columns), more than reading it "
        "may use ({mb} MB, limits.max_unpacked_mb); if a cell near {cell} was typed by mistake, "
        "delete it (Ctrl+End in Excel finds it) and try again",
    ),
    "too-many-rows": (
        "工作表「{sheet}」超过 {rows} 行上限 (limits.max_rows)",
        "sheet '{sheet}' has more than {rows} rows (limits.max_rows)",
    ),
}


_PROLOG = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.S)


def _declares_doctype(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Office never writes a DOCTYPE; one in a part is how entity-expansion bombs start.

    Looked for in the whole prolog, which comments or spaces can stretch past any fixed number of
    bytes; a prolog still going on after 64 KB counts as one."""
    with archive.open(info) as part:
        head = part.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", "replace").encode("utf-8")
    head = head.removeprefix(b"\xef\xbb\xbf")
    prolog = _PROLOG.match(head)
    rest = head[prolog.end() :] if prolog else head
    if not rest:
        return len(head) >= 1 << 16
    return rest.startswith(b"<!") or b"<!ENTITY" in head


def _msg(cfg: Config, path: Path, kind: str, **params: object) -> str:
    zh, en = _FILE_MESSAGES[kind]
    return f"{path}: " + (zh if cfg.lang == "zh" else en).format(**params)


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]


def _is_date1904(archive: zipfile.ZipFile) -> bool:
    head = archive.read("xl/workbook.xml")[:4096]
    match = re.search(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=\"(1|true)\"", head)
    return match is not None


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its worksheet part (xl/worksheets/sheet1.xml), from workbook.xml and rels."""
    try:
        workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        return {}
    targets = {}
    for rel in re.finditer(r"<(?:\w+:)?Relationship\b([^>]*)>", rels):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', rel.group(1)))
        if "Id" in attrs and "Target" in attrs:
            target = attrs["Target"]
            target = target.lstrip("/") if target.startswith("/") else "xl/" + target
            targets[attrs["Id"]] = target
    parts = {}
    for sheet in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", workbook):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', sheet.group(1)))
        rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
        if "name" in attrs and rid in targets:
            parts[_unescape(attrs["name"])] = targets[rid]
    return parts


def _unescape(text: str) -> str:
    return (
        text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )


_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]+)(\d+)\"")
_CELL_ERROR_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)<")


_FORMULA_NEXT = (
    frozenset(b">" + bytes([c]) for c in range(256))
    | frozenset(b" " + bytes([c]) for c in range(256))
    | {b"/>"}
)


def scan_formulas(xml: bytes) -> dict[tuple[int, int], str | None]:
    """(row, column) → error text (e.g. "#REF!") or None, for every formula or error cell.

    A byte-level scan: find each `<f` and `t="e"`, then the cell it belongs to, so the cost is
    one pass over the bytes plus a little work per formula cell (python-calamine hides both)."""
    found: dict[tuple[int, int], str | None] = {}
    for needle in (b"<f", b't="e"'):
        start = 0
        while True:
            hit = xml.find(needle, start)
            if hit < 0:
                break
            start = hit + 1
            if needle == b"<f" and xml[hit + 2 : hit + 4] not in _FORMULA_NEXT:
                continue  # <f>, <f ...> and <f/>, not <formula>
            cell_start = max(xml.rfind(b"<c ", 0, hit), xml.rfind(b":c ", 0, hit))
            if cell_start < 0:
                continue
            match = _CELL_REF.match(xml, cell_start if xml[cell_start] == 60 else cell_start - 1)
            if match is None:
                match = _CELL_REF.search(xml, cell_start - 8, hit + 64)
                if match is None:
                    continue
            key = (int(match.group(2)), _col_index(match.group(1)))
            error = None
            end = xml.find(b"</c>", hit)
            cell = xml[cell_start : end if end > 0 else hit + 256]
            if b't="e"' in cell[:200]:
                value = _CELL_ERROR_VALUE.search(cell)
                error = value.group(1).decode("utf-8", "replace") if value else "#ERROR"
            found[key] = error
    return found


_Merged = list[tuple[tuple[int, int], tuple[int, int]]]


def _load_sheet(workbook: Any, name: str) -> tuple[_Merged, list[list[Any]]]:
    """The sheet's merged ranges and rows; calamine's own copy of the cells goes right away."""
    sheet = workbook.get_sheet_by_name(name)
    return getattr(sheet, "merged_cell_ranges", None) or [], sheet.to_python(skip_empty_area=False)


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


# ---- the sheets ----


@dataclass(frozen=True, slots=True)
class _Load:
    """A sheet scanned and queued for loading on the worker thread."""

    spec: Sheet
    name: str
    scan: _SheetScan


class Reading:
    """The sheets of one workbook, loaded on a worker thread (see `reading`) and turned into
    typed rows here as each arrives: the parse of one sheet overlaps the loading of the next."""

    def __init__(
        self,
        path: Path,
        workbook: Any,
        archive: zipfile.ZipFile,
        cfg: Config,
        pool: ThreadPoolExecutor,
        engine_sheets: bool | frozenset[str],
        idle: Callable[[], object] | None = None,
    ) -> None:
        self.path = path
        self.workbook = workbook
        self.archive = archive
        self.parts = _sheet_parts(archive)
        self.present = set(archive.namelist())
        self.cfg = cfg
        self.lang = cfg.lang
        self.date1904 = _is_date1904(archive)
        self.pool = pool
        self.idle = idle
        self.problems: list[Problem] = []
        self.names: tuple[str, ...] = tuple(workbook.sheet_names)
        self.layouts: dict[str, SheetLayout] = {}
        self.rows: dict[str, list[list[Any]]] = {}
        self.error_cells: dict[str, set[tuple[int, int]]] = {}
        self.row_numbers: dict[str, list[int]] = {}
        self.untrimmed: list[tuple[str, int, str, str]] = []
        self.engine_cells: dict[str, dict[str, list[Any]]] = {}
        self.stale_rows: dict[str, list[int]] = {}
        self.typed: dict[str, tuple[Any, ...]] = {}  # sheet key → its typed rows
        self.engine_rows: dict[str, list[list[Any]]] = {}
        self.found: list[tuple[Sheet, str]] = []  # the sheets to read, in loading order
        for spec in sorted(SHEETS, key=_LOAD_ORDER.index):
            name = self.find_sheet(spec)
            if name is None:
                if not spec.engine:
                    self.sheet_missing(spec)
            elif (
                not spec.engine
                or engine_sheets is True
                or (isinstance(engine_sheets, frozenset) and spec.key in engine_sheets)
            ):
                self.found.append((spec, name))
        self.loads: list[_Load] = []
        # by index in loads, until taken (a future holds on to the rows it loaded)
        self.futures: dict[int, Future[tuple[_Merged, list[list[Any]]]]] = {}
        self.taken: set[int] = set()
        self.cells = 0  # the cell ranges queued so far, and the largest
        self.largest = ("", 0, 0)
        self._ledger: Book | None = None

    def ledger(self, without: frozenset[str] = frozenset()) -> Book:
        """The ledger sheets as typed rows (no engine sheets), and the problems found in them.
        `without`: not waiting for the sheets of these keys (their rows are left empty)."""
        if self._ledger is not None:
            return self._ledger
        builders = {
            POOL.key: self.customers,
            OPPORTUNITIES.key: self.opportunities,
            ACTIVITIES.key: self.activities,
            REPS.key: self.reps,
        }
        for index, (spec, _) in enumerate(self.found):
            if not spec.engine and spec.key not in without and self.take(index) is not None:
                self.typed[spec.key] = builders[spec.key]()
        if without:
            return self._book()
        while len(self.loads) < len(self.found):  # the worker goes on with the engine sheets
            self.submit_next()
        self._ledger = self._book()
        return self._ledger

    def _book(self) -> Book:
        return Book(
            self.path,
            cast(tuple[Customer, ...], self.typed.get(POOL.key, ())),
            cast(tuple[Opportunity, ...], self.typed.get(OPPORTUNITIES.key, ())),
            cast(tuple[Activity, ...], self.typed.get(ACTIVITIES.key, ())),
            cast(tuple[Rep, ...], self.typed.get(REPS.key, ())),
            dict(self.layouts),
            self.names,
            self.date1904,
            tuple(self.problems),
            {},
            tuple(self.untrimmed),
            {
                k: self.row_numbers[v.name]
                for k, v in self.layouts.items()
                if v.name in self.row_numbers
            },
            dict(self.engine_cells),
            dict(self.stale_rows),
        )

    def book(self, keys: Iterable[str] | None = None) -> Book:
        """The ledger with the engine sheets read (those of `keys`, or all asked for): a
        caller that needs the logs before Today does not wait for Today. Problems met in
        engine sheets follow the ledger's."""
        ledger, wanted = self.ledger(), None if keys is None else set(keys)
        for index, (spec, _) in enumerate(self.found):
            if not spec.engine or (wanted is not None and spec.key not in wanted):
                continue
            if (data := self.take(index)) is not None:
                self.engine_rows[spec.key] = data[self.layouts[spec.key].header_row :]
        return replace(
            ledger,
            layouts=dict(self.layouts),
            problems=tuple(self.problems),
            engine_rows=dict(self.engine_rows),
        )

    def release(self, keys: Iterable[str]) -> None:
        """Forget the rows of these engine sheets once the caller is done with them (their
        layouts stay): at 100k opportunities the StageLog alone is 240k rows."""
        for key in keys:
            self.engine_rows.pop(key, None)

    def problem(
        self,
        code: str,
        sheet: str,
        row: int | None = None,
        column: int | None = None,
        field: str | None = None,
        **params: Any,
    ) -> None:
        letter = column_letter(column) if column else None
        self.problems.append(
            make(code, lang=self.lang, sheet=sheet, row=row, column=letter, field=field, **params)
        )

    def find_sheet(self, spec: Sheet) -> str | None:
        wanted = [self.cfg.sheets[spec.key]] if spec.key in self.cfg.sheets else []
        wanted += list(spec.names())
        keys = {match_key(w) for w in wanted}
        for name in self.names:
            if match_key(name) in keys:
                return name
        return None

    def submit_next(self) -> None:
        """Scan the next sheet and queue it for loading: a sheet reaching past limits.max_rows,
        or sheets whose cell ranges (A1 to the last cell used) would take more memory than
        limits.max_unpacked_mb allows, are refused before python-calamine allocates them."""
        spec, name = self.found[len(self.loads)]
        budget = self.cfg.limits.max_unpacked_mb * 1024 * 1024 // _BYTES_PER_CELL
        part = self.parts.get(name)
        scan = _SheetScan(0, 0, {})
        if part is not None and part in self.present:
            try:
                scan = _scan_sheet(self.archive, part, formulas=not spec.engine)
            except (zipfile.BadZipFile, zlib.error, EOFError):
                raise WorkbookError(_msg(self.cfg, self.path, "truncated")) from None
            except (RuntimeError, NotImplementedError) as e:  # an exotic zip entry
                detail = _short(e)
                raise WorkbookError(
                    _msg(self.cfg, self.path, "unreadable", detail=detail)
                ) from None
        rows, cols = scan.last_row, scan.last_col
        if rows > self.cfg.limits.max_rows:
            raise WorkbookError(
                _msg(
                    self.cfg,
                    self.path,
                    "rows-beyond",
                    sheet=name,
                    last=rows,
                    rows=self.cfg.limits.max_rows,
                )
            )
        self.cells += rows * cols
        if rows * cols > self.largest[1] * self.largest[2]:
            self.largest = (name, rows, cols)
        if self.cells > budget:
            sheet, rows, cols = self.largest
            raise WorkbookError(
                _msg(
                    self.cfg,
                    self.path,
                    "range-too-large",
                    sheet=sheet,
                    cell=f"{column_letter(cols)}{rows}",
                    rows=rows,
                    cols=cols,
                    mb=self.cfg.limits.max_unpacked_mb,
                )
            )
        self.futures[len(self.loads)] = self.pool.submit(_load_sheet, self.workbook, name)
        self.loads.append(_Load(spec, name, scan))

    def take(self, index: int) -> list[list[Any]] | None:
        """The sheet found[index], loaded, with its layout found and, for a ledger sheet, its
        cells checked; None if it has no usable header (or was taken before)."""
        if index in self.taken:
            return None
        self.taken.add(index)
        # while the sheet is still loading, scan the next ones: the worker never waits for them
        while len(self.loads) <= index or (
            len(self.loads) < len(self.found) and not self.futures[index].done()
        ):
            self.submit_next()
        load = self.loads[index]
        spec, name = load.spec, load.name
        future = self.futures.pop(index)
        if self.idle is not None and not future.done():
            idle, self.idle = self.idle, None
            idle()
        try:
            merged, data = future.result()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # pyo3's PanicException is a BaseException
            raise WorkbookError(
                _msg(self.cfg, self.path, "unreadable", detail=f"{name}: {_short(e)}")
            ) from None
        if len(data) > self.cfg.limits.max_rows:
            raise WorkbookError(
                _msg(
                    self.cfg, self.path, "too-many-rows", sheet=name, rows=self.cfg.limits.max_rows
                )
            )
        layout = self.layout(spec, name, data)
        if layout is None:
            return None
        self.layouts[spec.key] = layout
        if not spec.engine:
            self.rows[spec.key] = data
            self.check_cells(layout, data, merged, load.scan.formulas)
        return data

    def sheet_missing(self, spec: Sheet) -> None:
        title = self.cfg.sheet_title(spec)
        close = difflib.get_close_matches(title, self.names, n=1, cutoff=0.4)
        if close:
            hint = (
                f": 是否是「{close[0]}」? 改名或在 config.toml [sheets] 中映射"
                if self.lang == "zh"
                else f": is it '{close[0]}'? rename it or map it in config.toml [sheets]"
            )
        else:
            hint = (
                ": 用 funnel-sync init --into 添加"
                if self.lang == "zh"
                else ": add it with funnel-sync init --into"
            )
        self.problem("sheet-missing", title, hint=hint)

    def layout(self, spec: Sheet, name: str, data: list[list[Any]]) -> SheetLayout | None:
        header_index, mapping = self.find_header(spec, data)
        header_row = header_index + 1
        if not data or not any(_blank(v) is False for v in data[header_index]):
            if not spec.engine:
                self.problem("header-blank-row", name, 1)
                for col in spec.columns:
                    if col.required:
                        self.problem(
                            "header-missing",
                            name,
                            1,
                            field=col.field,
                            header=self.cfg.header(spec, col.field),
                            hint="",
                        )
            return None
        header = data[header_index]
        columns: dict[str, int] = {}
        for index, field_name in mapping.items():
            if field_name in columns:
                col = spec.column(field_name)
                self.problem(
                    "header-duplicate",
                    name,
                    header_row,
                    index + 1,
                    field_name,
                    header=parse.parse_text(header[index]),
                    other=column_letter(columns[field_name]),
                )
                continue
            columns[field_name] = index + 1
        unmatched = [
            parse.parse_text(header[i]) or ""
            for i in range(len(header))
            if i not in mapping and not _blank(header[i])
        ]
        for col in spec.columns:
            if col.required and col.field not in columns:
                wanted = self.cfg.header(spec, col.field)
                close = difflib.get_close_matches(wanted, unmatched, n=1, cutoff=0.5)
                hint = ""
                if close:
                    hint = (
                        f": 是否是「{close[0]}」? 改名或在 config.toml [headers.{spec.key}] 中映射"
                        if self.lang == "zh"
                        else f": is it '{close[0]}'? rename it or map it in config.toml "
                        f"[headers.{spec.key}]"
                    )
                self.problem(
                    "header-missing", name, header_row, field=col.field, header=wanted, hint=hint
                )
        width = max(map(len, data), default=0)
        return SheetLayout(spec, name, header_row, columns, width, _last_row(data))

    def find_header(self, spec: Sheet, data: list[list[Any]]) -> tuple[int, dict[int, str]]:
        """The header row (0-based) among the first rows and its column → field mapping."""
        names: dict[str, str] = {}
        for col in spec.columns:
            for n in col.names():
                names.setdefault(match_key(n), col.field)
        for f, header in self.cfg.headers.get(spec.key, {}).items():
            names[match_key(header)] = f
        best, best_map = 0, dict[int, str]()
        for i, row in enumerate(data[:HEADER_SEARCH_ROWS]):
            mapping: dict[int, str] = {}
            for j, value in enumerate(row):
                if isinstance(value, str) and value.strip():
                    found = names.get(match_key(value))
                    if found is not None:
                        mapping[j] = found
            if len(mapping) > len(best_map):
                best, best_map = i, mapping
        return best, best_map

    def check_cells(
        self,
        layout: SheetLayout,
        data: list[list[Any]],
        merged: _Merged,
        flagged: dict[tuple[int, int], str | None],
    ) -> None:
        """Formulas and error values in input columns; merged cells and empty rows in the data."""
        input_columns = {
            i: f for f, i in layout.columns.items() if not layout.spec.column(f).is_engine
        }
        errors: set[tuple[int, int]] = set()
        for (row, col), error in sorted(flagged.items()):
            if row <= layout.header_row or col not in input_columns:
                continue
            f = input_columns[col]
            if error is not None:
                # calamine reads an error cell as blank: report the error, not a blank
                self.problem("cell-error", layout.name, row, col, f, value=error)
                errors.add((row, col))
                continue
            value = data[row - 1][col - 1] if row - 1 < len(data) else ""
            self.problem(
                "cell-formula", layout.name, row, col, f, value=parse.parse_text(value) or '""'
            )
        self.error_cells[layout.name] = errors
        for (r0, c0), (r1, c1) in merged:
            if r1 + 1 > layout.header_row and (r1 > r0 or c1 > c0):
                ref = f"{column_letter(c0 + 1)}{r0 + 1}:{column_letter(c1 + 1)}{r1 + 1}"
                self.problem("merged-cells", layout.name, r0 + 1, c0 + 1, range=ref)
        numbers = []
        user = [i - 1 for f, i in layout.columns.items() if not layout.spec.column(f).is_engine]
        engine_only = len(user) < len(layout.columns)
        blank_from: int | None = None  # a run of empty rows is one warning, not one per row
        probe = user[0] if user else -1  # a team column, most often the ID: the fast path
        if _all_filled(data[layout.header_row : layout.height], probe):
            # every row has that column filled: all of them are data (C loops, 400k rows)
            self.row_numbers[layout.name] = list(range(layout.header_row + 1, layout.height + 1))
            return
        for index in range(layout.header_row, layout.height):
            cells = data[index]
            v = cells[probe] if 0 <= probe < len(cells) else None
            if v is not None and (v.__class__ is not str or v.strip(BLANK_CHARS)):
                if blank_from is not None:
                    self._empty_rows(layout.name, blank_from, index)
                    blank_from = None
                numbers.append(index + 1)  # a value in a team column: data
                continue
            if _is_blank_row(cells):
                if blank_from is None:
                    blank_from = index + 1
                continue
            if blank_from is not None:
                self._empty_rows(layout.name, blank_from, index)
                blank_from = None
            if engine_only and all(i >= len(cells) or _blank(cells[i]) for i in user):
                # cleared by the team; only old reminder/check text stays: not data
                self.stale_rows.setdefault(layout.spec.key, []).append(index + 1)
            else:
                numbers.append(index + 1)
        self.row_numbers[layout.name] = numbers

    def _empty_rows(self, sheet: str, first: int, last: int) -> None:
        if first == last:
            self.problem("row-empty", sheet, first)
        else:
            self.problem("rows-empty", sheet, first, first=first, last=last, n=last - first + 1)

    # ---- typed rows per sheet, parsed a column at a time ----

    def table(self, key: str) -> tuple[list[int], dict[str, list[Any]]] | None:
        """Row numbers of the non-empty data rows, and per field the parsed column.

        Parsing column by column keeps the per-cell cost to one cached parser call."""
        layout = self.layouts.get(key)
        data = self.rows.pop(key, None)  # parsed once; the raw rows go
        if layout is None or data is None:
            return None
        spec = layout.spec
        numbers = self.row_numbers[layout.name]
        errors = self.error_cells.get(layout.name, set())
        # one transpose in C instead of a Python loop per column
        if numbers and numbers[-1] - numbers[0] == len(numbers) - 1:  # no rows left out
            rows: Iterable[list[Any]] = data[numbers[0] - 1 : numbers[-1]]
        else:
            rows = (data[r - 1] for r in numbers)
        transposed = list(itertools.zip_longest(*rows, fillvalue=""))
        columns: dict[str, list[Any]] = {}
        for f, col_index in layout.columns.items():
            col = spec.column(f)
            raw = transposed[col_index - 1] if col_index <= len(transposed) else [""] * len(numbers)
            values = parse.parse_column(self.parser(col.kind), raw)
            if col.is_engine:
                self.engine_cells.setdefault(key, {})[f] = list(raw)
            if f in NAME_FIELDS and any(
                v.__class__ is str and v and v != v.strip(BLANK_CHARS) for v in set(raw)
            ):
                self.untrimmed.extend(
                    (spec.key, numbers[k], f, v)
                    for k, v in enumerate(raw)
                    if v.__class__ is str and v and v != v.strip(BLANK_CHARS)
                )
            kinds = set(map(type, values))
            if Invalid not in kinds and not (col.required and type(None) in kinds):
                columns[f] = values
                continue
            for k, v in enumerate(values):
                if v.__class__ is Invalid:
                    self.problem(
                        v.code,
                        layout.name,
                        numbers[k],
                        col_index,
                        f,
                        header=self.cfg.header(spec, col.field),
                        value=v.text,
                    )
                    values[k] = None
                elif v is None and col.required and (numbers[k], col_index) not in errors:
                    self.problem(
                        "value-missing",
                        layout.name,
                        numbers[k],
                        col_index,
                        f,
                        header=self.cfg.header(spec, col.field),
                    )
            columns[f] = values
        none = [None] * len(numbers)
        for col in spec.columns:
            columns.setdefault(col.field, none)
        return numbers, columns

    def parser(self, kind: Kind) -> Callable[[object], Any]:
        order, d1904 = self.cfg.general.date_order, self.date1904
        if kind in (Kind.DATE, Kind.DATETIME):
            return functools.partial(parse.parse_date, order=order, date1904=d1904)
        if kind is Kind.MONTH_DAY:
            return functools.partial(parse.parse_month_day, order=order, date1904=d1904)
        if kind is Kind.INT:
            return _parse_int
        return _PARSERS[kind]

    def customers(self) -> tuple[Customer, ...]:
        table = self.table(POOL.key)
        if table is None:
            return ()
        numbers, v = table
        sheet = self.layouts[POOL.key].name
        out = []
        for k, (row, owner) in enumerate(zip(numbers, v["owner"], strict=True)):
            released = owner is not None and match_key(owner) in RELEASE_WORDS
            out.append(
                Customer(
                    Source(sheet, row),
                    v["customer_id"][k] or "",
                    v["name"][k],
                    v["region"][k],
                    None if released else owner,
                    v["industry"][k],
                    v["contact"][k],
                    v["phone"][k],
                    v["contact_birthday"][k],
                    v["anniversary"][k],
                    v["lead_source"][k],
                    bool(v["locked"][k]),
                    released,
                    v["claimed_on"][k],
                    v["released_on"][k],
                )
            )
        return tuple(out)

    def opportunities(self) -> tuple[Opportunity, ...]:
        table = self.table(OPPORTUNITIES.key)
        if table is None:
            return ()
        numbers, v = table
        layout = self.layouts[OPPORTUNITIES.key]
        amounts = v["amount"]
        for k, amount in enumerate(amounts):
            if amount is not None and amount < 0:
                self.problem(
                    "amount-negative",
                    layout.name,
                    numbers[k],
                    layout.columns["amount"],
                    "amount",
                    header=self.cfg.header(OPPORTUNITIES, "amount"),
                    value=_number_text(amount),
                )
                amounts[k] = None
        evidence = list(
            map(_make(Evidence), zip(*(map(bool, v[f]) for f in _EVIDENCE), strict=True))
        )
        ids = [x or "" for x in v["opportunity_id"]]
        return tuple(
            map(
                _make(Opportunity),
                zip(
                    _sources(layout.name, numbers),
                    ids,
                    v["customer_id"],
                    v["owner"],
                    v["stage"],
                    amounts,
                    v["expected_close"],
                    v["next_step"],
                    v["planned_advance"],
                    evidence,
                    v["lost_reason"],
                    v["notes"],
                    v["confirmed_stage"],
                    v["stage_entered_on"],
                    strict=True,
                ),
            )
        )

    def activities(self) -> tuple[Activity, ...]:
        table = self.table(ACTIVITIES.key)
        if table is None:
            return ()
        numbers, v = table
        sheet = self.layouts[ACTIVITIES.key].name
        return tuple(
            map(
                _make(Activity),
                zip(
                    _sources(sheet, numbers),
                    v["date"],
                    v["rep"],
                    v["customer_id"],
                    v["opportunity_id"],
                    v["kind"],
                    v["hours"],
                    v["notes"],
                    strict=True,
                ),
            )
        )

    def reps(self) -> tuple[Rep, ...]:
        table = self.table(REPS.key)
        if table is None:
            return ()
        numbers, v = table
        sheet = self.layouts[REPS.key].name
        out = []
        for k, row in enumerate(numbers):
            regions: tuple[frozenset[str], bool] = v["regions"][k] or (frozenset(), False)
            out.append(
                Rep(
                    Source(sheet, row),
                    v["name"][k] or "",
                    v["email"][k],
                    regions[0],
                    regions[1],
                    v["start_date"][k],
                    v["annual_quota"][k],
                    bool(v["manager"][k]),
                    v["training_end"][k],
                )
            )
        return tuple(out)


_EVIDENCE = Evidence._fields


def _make(cls: type[_T]) -> Callable[[Iterable[Any]], _T]:
    """cls from a tuple of all its fields, without a Python-level call per row: the named
    tuple's own __new__ is Python code, tuple.__new__ is C (and zip gives every field)."""
    return functools.partial(tuple.__new__, cls)


def _sources(sheet: str, numbers: list[int]) -> Iterator[Source]:
    return map(_make(Source), zip(itertools.repeat(sheet), numbers))


def _all_filled(rows: list[list[Any]], column: int) -> bool:
    """Whether every row has a value in `column` (0-based), blank text not counting."""
    if column < 0 or not rows or min(map(len, rows)) <= column:
        return False
    values = list(map(itemgetter(column), rows))
    types = set(map(type, values))
    texts = values if types == {str} else [v for v in values if v.__class__ is str]
    return type(None) not in types and all(map(str.strip, texts, itertools.repeat(BLANK_CHARS)))


def _blank(value: object) -> bool:
    # the parsers' notion of blank: zero-width marks pasted from chat apps are blank too
    return value is None or value == "" or (isinstance(value, str) and not value.strip(BLANK_CHARS))


def _is_blank_row(row: list[Any]) -> bool:
    # calamine pads with "": count() runs in C; other rows stop at their first real value
    if row.count("") == len(row):
        return True
    for v in row:
        if v is not None and v != "" and not (isinstance(v, str) and not v.strip(BLANK_CHARS)):
            return False
    return True


def _last_row(data: Sequence[list[Any]]) -> int:
    for index in range(len(data) - 1, -1, -1):
        if not _is_blank_row(data[index]):
            return index + 1
    return 0


def _number_text(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _parse_int(value: object) -> int | Invalid | None:
    parsed = parse.parse_amount(value)
    if parsed is None or type(parsed) is Invalid:
        return parsed
    assert isinstance(parsed, float)
    return round(parsed)


_PARSERS: dict[Kind, Callable[[object], Any]] = {
    Kind.TEXT: parse.parse_text,
    Kind.STAGE: parse.parse_stage,
    Kind.BOOL: parse.parse_bool,
    Kind.AMOUNT: parse.parse_amount,
    Kind.HOURS: parse.parse_hours,
    Kind.KIND: parse.parse_kind,
    Kind.REGIONS: parse.parse_regions,
}
