"""The file as a package: refusing what is not an .xlsx/.xlsm we can read safely, the messages
that say why, and what the package itself tells (sheet parts, the 1904 date system)."""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from funnel_sync.config import Config
from funnel_sync.texts import text


class WorkbookError(Exception):
    """The file cannot be used as a ledger at all (exit code 2); the message says why and what
    to do."""


def check_file(path: Path, cfg: Config) -> None:
    """Refuse, with a clear message, what is not an .xlsx/.xlsm package we can read safely.

    Everything here is bounded before python-calamine sees the file: the size on disk, the
    declared unpacked size, each part's compression ratio and sizes, and a DOCTYPE anywhere in
    an XML part's prolog. The cell range of each sheet read is checked by read_book, right
    before it is loaded (calamine allocates every cell of A1:last-cell: one stray value in
    XFD1048576 would ask for 512 GB and abort the process)."""
    if not path.exists():
        raise WorkbookError(message(cfg, path, "missing"))
    if path.is_dir():
        raise WorkbookError(message(cfg, path, "directory"))
    size = path.stat().st_size
    if size > cfg.limits.max_file_mb * 1024 * 1024:
        raise WorkbookError(message(cfg, path, "too-big", mb=cfg.limits.max_file_mb))
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as e:
        raise WorkbookError(message(cfg, path, "unreadable", detail=e.strerror or str(e))) from None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        data = path.read_bytes()
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise WorkbookError(message(cfg, path, "encrypted"))
        raise WorkbookError(message(cfg, path, "xls"))
    if not head.startswith(b"PK"):
        kind = "empty" if size == 0 else "not-zip"
        raise WorkbookError(message(cfg, path, kind))
    limit = cfg.limits.max_unpacked_mb * 1024 * 1024
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
            # sizes first: nothing is unpacked before the declared total is known to be sane
            if sum(i.file_size for i in infos) > limit:
                raise WorkbookError(message(cfg, path, "bomb", mb=cfg.limits.max_unpacked_mb))
            if "mimetype" in names:
                with archive.open("mimetype") as part:
                    if b"opendocument" in part.read(256):
                        raise WorkbookError(message(cfg, path, "ods"))
            if "xl/workbook.xml" not in names:
                raise WorkbookError(message(cfg, path, "not-xlsx"))
            for info in infos:
                # an XML part "compressed" to much more than it holds: its sizes are forged
                # (a good deflate never grows data; even a naive one by at most an eighth)
                xml = info.filename.endswith((".xml", ".rels"))
                if xml and info.compress_size > info.file_size + info.file_size // 4 + 1024:
                    raise WorkbookError(message(cfg, path, "forged", part=info.filename))
                if (
                    info.compress_size
                    and info.file_size / info.compress_size > 1000
                    and info.file_size > 100 * 1024 * 1024
                ):
                    raise WorkbookError(message(cfg, path, "bomb", mb=cfg.limits.max_unpacked_mb))
            for info in infos:
                if info.filename.endswith((".xml", ".rels")) and _declares_doctype(archive, info):
                    raise WorkbookError(message(cfg, path, "doctype", part=info.filename))
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise WorkbookError(message(cfg, path, "truncated")) from None
    except (RuntimeError, NotImplementedError) as e:  # an encrypted or exotic zip entry
        raise WorkbookError(message(cfg, path, "unreadable", detail=short(e))) from None


#: What reading one cell of a sheet's range costs: calamine's cell (32 bytes) and the pointer in
#: the row list python-calamine hands over; the sum over the ledger sheets must stay within


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


def message(cfg: Config, path: Path, kind: str, **params: object) -> str:
    """The message of a refused file, in the team's language, after its path."""
    return f"{path}: " + text(f"file.{kind.replace('-', '_')}", cfg.lang, **params)


def short(e: BaseException) -> str:
    """An exception's first line, for a message."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]


def is_date1904(archive: zipfile.ZipFile) -> bool:
    """Whether the workbook counts its dates from 1904 (old Mac Excel)."""
    head = archive.read("xl/workbook.xml")[:4096]
    match = re.search(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=\"(1|true)\"", head)
    return match is not None


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
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
