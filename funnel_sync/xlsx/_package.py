"""The workbook package: part names, sheets, relationships, content types, shared strings."""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass

from ._xml import REL_NS_STRICT, REL_NS_TRANSITIONAL, attrs, excel_unescape, unescape

_REL_RE = re.compile(rb"<(?:[\w.-]+:)?Relationship\b([^>]*?)/?>")
_SHEET_RE = re.compile(rb"<(?:[\w.-]+:)?sheet\b([^>]*?)/?>")
_SI_RE = re.compile(rb"<(?:[\w.-]+:)?si\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?si>)", re.S)
_RPH_RE = re.compile(rb"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", re.S)
_T_RE = re.compile(rb"<(?:[\w.-]+:)?t(?:\s[^>]*)?(?:/>|>(.*?)</(?:[\w.-]+:)?t>)", re.S)
# An inline string of one plain run: <is><t>text</t></is> (t may keep spaces).
_PLAIN_IS = re.compile(
    rb"<(?:[\w.-]+:)?is><(?:[\w.-]+:)?t(?: xml:space=\"preserve\")?>([^<]*)</(?:[\w.-]+:)?t>"
    rb"</(?:[\w.-]+:)?is>"
)
_DATE1904_RE = re.compile(rb"<(?:[\w.-]+:)?workbookPr\b[^>]*\bdate1904\s*=\s*[\"'](1|true)[\"']")

WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STYLES_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"


def rich_text(inner: bytes) -> str:
    """Plain text of an <si> or <is>: its <t> runs, phonetic guides left out."""
    plain = _PLAIN_IS.fullmatch(inner)
    if plain is not None:  # one run: what the general case below finds, without searching
        return excel_unescape(unescape(plain.group(1)))
    if b"<rPh" in inner or b":rPh" in inner:
        inner = _RPH_RE.sub(b"", inner)
    return excel_unescape("".join(unescape(m.group(1) or b"") for m in _T_RE.finditer(inner)))


def rels_path(part: str) -> str:
    d, name = posixpath.split(part)
    return posixpath.join(d, "_rels", name + ".rels")


def resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target)).lstrip("/")


@dataclass(frozen=True, slots=True)
class Relationship:
    id: str
    type: str
    target: str  # resolved part name
    external: bool


@dataclass(frozen=True, slots=True)
class SheetEntry:
    name: str
    sheet_id: int
    rid: str
    part: str | None  # None when the relationship is missing
    kind: str  # worksheet, chartsheet, dialogsheet, macrosheet


class Package:
    """Read-only view of the source archive."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.infos = zf.infolist()
        self._by_lower = {i.filename.lower(): i for i in self.infos}
        root_rels = self.relationships("")
        main = [r for r in root_rels if r.type.endswith("/officeDocument")]
        if not main:
            raise ValueError("package has no main workbook part")
        self.workbook_part = self.real_name(main[0].target)
        self.strict = main[0].type.startswith("http://purl.oclc.org")
        self.rel_ns = REL_NS_STRICT if self.strict else REL_NS_TRANSITIONAL
        self.workbook_xml = self.read(self.workbook_part)
        self.date1904 = bool(_DATE1904_RE.search(self.workbook_xml))
        self.workbook_rels = self.relationships(self.workbook_part)
        by_id = {r.id: r for r in self.workbook_rels}
        self.sheets: list[SheetEntry] = []
        for m in _SHEET_RE.finditer(self.workbook_xml):
            a = attrs(m.group(1))
            rid = next((v for k, v in a.items() if k.endswith(b":id") or k == b"id"), b"")
            rel = by_id.get(rid.decode())
            part = self.real_name(rel.target) if rel is not None else None
            kind = rel.type.rsplit("/", 1)[-1] if rel is not None else "worksheet"
            self.sheets.append(
                SheetEntry(
                    name=unescape(a.get(b"name", b"")),
                    sheet_id=int(a.get(b"sheetId", b"0")),
                    rid=rid.decode(),
                    part=part,
                    kind=kind,
                )
            )
        styles = [r for r in self.workbook_rels if r.type.endswith("/styles")]
        self.styles_part = self.real_name(styles[0].target) if styles else None
        sst = [r for r in self.workbook_rels if r.type.endswith("/sharedStrings")]
        self.sst_part = self.real_name(sst[0].target) if sst else None
        self._sst: list[str] | None = None

    def real_name(self, part: str) -> str:
        """The archive's spelling of a part name (OPC names are case-insensitive)."""
        info = self._by_lower.get(part.lower())
        return info.filename if info is not None else part

    def has(self, part: str) -> bool:
        return part.lower() in self._by_lower

    def info(self, part: str) -> zipfile.ZipInfo:
        return self._by_lower[part.lower()]

    def read(self, part: str) -> bytes:
        return self.zf.read(self.info(part))

    def relationships(self, part: str) -> list[Relationship]:
        name = rels_path(part) if part else "_rels/.rels"
        if not self.has(name):
            return []
        out = []
        for m in _REL_RE.finditer(self.read(name)):
            a = attrs(m.group(1))
            target = unescape(a.get(b"Target", b""))
            external = a.get(b"TargetMode", b"") == b"External"
            out.append(
                Relationship(
                    id=unescape(a.get(b"Id", b"")),
                    type=unescape(a.get(b"Type", b"")),
                    target=target if external else resolve(part or "/", target),
                    external=external,
                )
            )
        return out

    def sheet(self, name: str) -> SheetEntry | None:
        for entry in self.sheets:
            if entry.name == name:
                return entry
        folded = name.casefold()
        for entry in self.sheets:
            if entry.name.casefold() == folded:
                return entry
        return None

    def shared_strings(self) -> list[str]:
        if self._sst is None:
            if self.sst_part is None or not self.has(self.sst_part):
                self._sst = []
            else:
                data = self.read(self.sst_part)
                self._sst = [rich_text(m.group(1) or b"") for m in _SI_RE.finditer(data)]
        return self._sst
