"""A minimal zip writer that copies unchanged entries as their original compressed bytes."""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_LIMIT = 0xFFFFFFFF
COPY_CHUNK = 1 << 20


class ZipTooLarge(Exception):
    """The archive would need zip64 records, which this writer does not emit."""


@dataclass(slots=True)
class _Entry:
    name: bytes
    flags: int
    method: int
    dostime: int
    dosdate: int
    crc: int
    csize: int
    usize: int
    extra: bytes
    comment: bytes
    version_made: int
    version_needed: int
    internal_attr: int
    external_attr: int
    offset: int


def _dos(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    return (h << 11) | (mi << 5) | (s // 2), ((max(y, 1980) - 1980) << 9) | (mo << 5) | d


def _strip_zip64(extra: bytes) -> bytes:
    """Drop the zip64 field: our central records carry 32-bit values directly."""
    out = bytearray()
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag != 1:
            out += extra[i : i + 4 + size]
        i += 4 + size
    return bytes(out)


def _has_zip64(extra: bytes) -> bool:
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag == 1:
            return True
        i += 4 + size
    return False


def encode_name(info: zipfile.ZipInfo) -> bytes:
    return info.filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")


class RawZipWriter:
    """Writes a zip archive entry by entry; `close()` writes the central directory."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._entries: list[_Entry] = []

    def copy_raw(self, src: BinaryIO, info: zipfile.ZipInfo) -> None:
        """Copy one entry of `src` (the archive file `info` came from) byte for byte."""
        src.seek(info.header_offset)
        header = src.read(_LOCAL.size)
        fields = _LOCAL.unpack(header)
        if fields[0] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        name_len, extra_len = fields[9], fields[10]
        local_extra = src.read(name_len + extra_len)[name_len:]
        length = _LOCAL.size + name_len + extra_len + info.compress_size
        if info.flag_bits & 0x08:
            # The sizes follow the data in a descriptor, with or without its signature.
            src.seek(info.header_offset + length)
            zip64 = _has_zip64(local_extra)
            size_len = 16 if zip64 else 8
            length += (4 if src.read(4) == b"PK\x07\x08" else 0) + 4 + size_len
        offset = self._out.tell()
        if offset > _LIMIT or info.compress_size > _LIMIT or info.file_size > _LIMIT:
            raise ZipTooLarge(info.filename)
        src.seek(info.header_offset)
        remaining = length
        while remaining:
            block = src.read(min(remaining, COPY_CHUNK))
            if not block:
                raise zipfile.BadZipFile(f"truncated entry {info.filename}")
            self._out.write(block)
            remaining -= len(block)
        dostime, dosdate = _dos(info.date_time)
        self._entries.append(
            _Entry(
                name=encode_name(info),
                flags=info.flag_bits,
                method=info.compress_type,
                dostime=dostime,
                dosdate=dosdate,
                crc=info.CRC,
                csize=info.compress_size,
                usize=info.file_size,
                extra=_strip_zip64(info.extra),
                comment=info.comment,
                version_made=(info.create_system << 8) | info.create_version,
                version_needed=info.extract_version,
                internal_attr=info.internal_attr,
                external_attr=info.external_attr,
                offset=offset,
            )
        )

    def write(
        self,
        name: str,
        chunks: Iterable[bytes],
        *,
        template: zipfile.ZipInfo | None = None,
        level: int = 6,
    ) -> None:
        """Write a new entry from `chunks`, keeping `template`'s metadata when it replaces one."""
        method = template.compress_type if template is not None else zipfile.ZIP_DEFLATED
        if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = zipfile.ZIP_DEFLATED
        self._write(name, chunks, template, method, level, None)

    def _write(
        self,
        name: str,
        chunks: Iterable[bytes],
        template: zipfile.ZipInfo | None,
        method: int,
        level: int | None,
        known: tuple[int, int] | None,
    ) -> None:
        try:
            raw_name = name.encode("ascii")
            flags = 0
        except UnicodeEncodeError:
            raw_name = name.encode("utf-8")
            flags = 0x800
        date_time = template.date_time if template is not None else (1980, 1, 1, 0, 0, 0)
        dostime, dosdate = _dos(date_time)
        offset = self._out.tell()
        if offset > _LIMIT:
            raise ZipTooLarge(name)
        header = _LOCAL.pack(
            b"PK\x03\x04", 20, flags, method, dostime, dosdate, 0, 0, 0, len(raw_name), 0
        )
        self._out.write(header + raw_name)
        crc = 0
        usize = 0
        csize = 0
        comp = None
        if known is None and method == zipfile.ZIP_DEFLATED:
            comp = zlib.compressobj(6 if level is None else level, zlib.DEFLATED, -15)
        for chunk in chunks:
            if not chunk:
                continue
            if known is None:
                crc = zlib.crc32(chunk, crc)
                usize += len(chunk)
            data = comp.compress(chunk) if comp is not None else chunk
            if data:
                self._out.write(data)
                csize += len(data)
        if comp is not None:
            data = comp.flush()
            self._out.write(data)
            csize += len(data)
        if known is not None:
            crc, usize = known
        if usize > _LIMIT or csize > _LIMIT:
            raise ZipTooLarge(name)
        end = self._out.tell()
        self._out.seek(offset + 14)
        self._out.write(struct.pack("<3L", crc, csize, usize))
        self._out.seek(end)
        self._entries.append(
            _Entry(
                name=raw_name,
                flags=flags,
                method=method,
                dostime=dostime,
                dosdate=dosdate,
                crc=crc,
                csize=csize,
                usize=usize,
                extra=b"",
                comment=b"",
                version_made=(
                    (template.create_system << 8) | template.create_version
                    if template is not None
                    else 20
                ),
                version_needed=20,
                internal_attr=0,
                external_attr=template.external_attr if template is not None else 0,
                offset=offset,
            )
        )

    def write_deflated(
        self, name: str, chunks: list[bytes], crc: int, usize: int, *, template: zipfile.ZipInfo
    ) -> None:
        """Write an entry whose raw-deflate data was produced beforehand."""
        self._write(name, chunks, template, zipfile.ZIP_DEFLATED, None, (crc, usize))

    def close(self, comment: bytes = b"") -> None:
        start = self._out.tell()
        if len(self._entries) > 0xFFFF or start > _LIMIT:
            raise ZipTooLarge("central directory")
        for e in self._entries:
            self._out.write(
                _CENTRAL.pack(
                    b"PK\x01\x02",
                    e.version_made,
                    e.version_needed,
                    e.flags,
                    e.method,
                    e.dostime,
                    e.dosdate,
                    e.crc,
                    e.csize,
                    e.usize,
                    len(e.name),
                    len(e.extra),
                    len(e.comment),
                    0,
                    e.internal_attr,
                    e.external_attr,
                    e.offset,
                )
            )
            self._out.write(e.name + e.extra + e.comment)
        size = self._out.tell() - start
        n = len(self._entries)
        self._out.write(_END.pack(b"PK\x05\x06", 0, 0, n, n, size, start, len(comment)) + comment)
