"""The writer's fast paths give exactly what the general ones give (and fall back when unsure).

Sheets are written as raw XML so each test controls the exact form of rows and cells. Most
tests run with several read sizes: small ones split sheetData into many segments, so styles
must be found in rows of segments that are already written out.
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl.styles.numbers import is_date_format

from funnel_sync.plan import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    CellValue,
    CellWrite,
    ChangeSet,
    SheetContent,
)
from funnel_sync.xlsx import (
    WriteResult,
    _engine,
    _package,
    _sheet,
    apply_changes,
    fingerprint,
    plan_changes,
    writer,
)
from funnel_sync.xlsx._package import rich_text
from funnel_sync.xlsx._styles import StyleBook
from funnel_sync.xlsx._values import held, value_xml, want
from funnel_sync.xlsx._xml import _EXCEL_ESCAPE, _ILLEGAL_XML, clean_text, col_letters, escape_text

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CHUNKS = [1 << 22, 64, 97, 301]

STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="0.00"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/></font><font><b/><sz val="11"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="9" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs></styleSheet>"
)


def _book(path: Path, sheet_data: str, *, p: str = "", cols: str = "") -> Path:
    """A one-sheet workbook ("S") whose <sheetData> content is `sheet_data`."""
    ns = f'xmlns:{p[:-1]}="{MAIN}"' if p else f'xmlns="{MAIN}"'
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<{p}worksheet {ns}><{p}dimension ref="A1:B2"/>{cols}'
        f"<{p}sheetData>{sheet_data}</{p}sheetData></{p}worksheet>"
    )
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/></Types>'
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{REL}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": STYLES,
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


def _write(
    path: Path, cells: Iterable[tuple[int, int, CellValue]], header_row: int = 1
) -> WriteResult:
    changes = ChangeSet(
        cells=tuple(CellWrite("S", r, c, v) for r, c, v in cells),
        engine_columns={"S": frozenset(range(1, 60))},
    )
    return apply_changes(path, changes, expected=fingerprint(path), header_rows={"S": header_row})


def _sheet_xml(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml")


def _row(xml: bytes, r: int, p: bytes = b"") -> bytes:
    m = re.search(rb"<" + p + rb'row r="%d"[^>]*>.*?</' % r + p + rb"row>", xml, re.S)
    assert m is not None, f"row {r} not found"
    return m.group(0)


def _each_chunk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sheet_data: str, run: Callable[[Path], None]
) -> list[bytes]:
    """Run `run` on a fresh book for every read size; the sheets written."""
    out = []
    for chunk in CHUNKS:
        monkeypatch.setattr(_sheet, "CHUNK", chunk)
        path = _book(tmp_path / f"b{chunk}.xlsx", sheet_data)
        run(path)
        out.append(_sheet_xml(path))
    return out


def _rows(n: int, make: Callable[[int], str], first: int = 3) -> str:
    return "".join(f'<row r="{r}">{make(r)}</row>' for r in range(first, first + n))


HEAD = '<row r="1"><c r="A1" s="2" t="inlineStr"><is><t>id</t></is></c><c r="B1" s="2"/></row>'


# ---- styles new cells inherit ------------------------------------------------------------------


def test_style_comes_from_a_cell_far_above(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = (
        HEAD
        + '<row r="2"><c r="A2"><v>2</v></c><c r="B2" s="3"><v>5</v></c></row>'
        + _rows(200, lambda r: f'<c r="A{r}"><v>{r}</v></c>')
    )
    outs = _each_chunk(monkeypatch, tmp_path, data, lambda p: _write(p, [(203, 2, 7)]))
    for xml in outs:
        assert _row(xml, 203) == b'<row r="203"><c r="B203" s="3"><v>7</v></c></row>'
    assert len(set(outs)) == 1


def test_the_last_cell_above_wins_even_without_a_style(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = (
        HEAD
        + '<row r="2"><c r="B2" s="3"><v>5</v></c></row>'
        + _rows(100, lambda r: f'<c r="A{r}"><v>{r}</v></c>' + ('<c r="B50"/>' if r == 50 else ""))
    )
    outs = _each_chunk(monkeypatch, tmp_path, data, lambda p: _write(p, [(150, 2, 1)]))
    for xml in outs:
        assert _row(xml, 150) == b'<row r="150"><c r="B150"><v>1</v></c></row>'


def test_header_cells_are_not_inherited(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = HEAD + _rows(60, lambda r: f'<c r="A{r}"><v>{r}</v></c>', first=2)
    outs = _each_chunk(monkeypatch, tmp_path, data, lambda p: _write(p, [(70, 2, "x")]))
    for xml in outs:
        assert _row(xml, 70) == (
            b'<row r="70"><c r="B70" t="inlineStr"><is><t xml:space="preserve">x</t></is></c></row>'
        )


def test_edited_and_new_rows_pass_their_styles_down(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = (
        HEAD
        + '<row r="2"><c r="A2"><v>2</v></c><c r="B2" s="4"><v>5</v></c></row>'
        + _rows(40, lambda r: f'<c r="A{r}"><v>{r}</v></c>')
    )
    writes = [
        (2, 2, dt.date(2024, 1, 2)),  # the cell keeps s=4 (percent): a date style is added
        (20, 2, 1),  # new cell: inherits that date style
        (50, 2, 2),  # new row below the rest: the same
    ]
    outs = _each_chunk(monkeypatch, tmp_path, data, lambda p: _write(p, writes))
    for xml in outs:
        assert (
            _row(xml, 2)
            == b'<row r="2"><c r="A2"><v>2</v></c><c r="B2" s="5"><v>45293</v></c></row>'
        )
        assert (
            _row(xml, 20)
            == b'<row r="20"><c r="A20"><v>20</v></c><c r="B20" s="5"><v>1</v></c></row>'
        )
        assert _row(xml, 50) == b'<row r="50"><c r="B50" s="5"><v>2</v></c></row>'


def test_rows_and_cells_without_references(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No r= on rows or cells: the row-by-row walk and full cell parse, same answers."""
    data = (
        '<row><c s="2" t="inlineStr"><is><t>id</t></is></c><c s="2"/></row>'
        + '<row><c><v>2</v></c><c s="3"><v>5</v></c></row>'
        + "".join(f"<row><c><v>{r}</v></c></row>" for r in range(3, 120))
    )
    writes = [(2, 2, 6), (119, 2, 9), (125, 2, 8)]
    outs = _each_chunk(monkeypatch, tmp_path, data, lambda p: _write(p, writes))
    for xml in outs:
        # B2 is edited (its style read from the cell), then passes s=3 down to new cells.
        assert b'<row><c><v>2</v></c><c r="B2" s="3"><v>6</v></c></row>' in xml
        assert b'<row><c><v>119</v></c><c r="B119" s="3"><v>9</v></c></row>' in xml
        assert _row(xml, 125) == b'<row r="125"><c r="B125" s="3"><v>8</v></c></row>'


def test_prefixed_elements(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = (
        '<x:row r="1"><x:c r="A1" s="2"/></x:row>'
        + '<x:row r="2"><x:c r="A2"><x:v>2</x:v></x:c><x:c r="B2" s="3"><x:v>5</x:v></x:c></x:row>'
        + "".join(f'<x:row r="{r}"><x:c r="A{r}"><x:v>1</x:v></x:c></x:row>' for r in range(3, 90))
    )
    outs = []
    for chunk in CHUNKS:
        monkeypatch.setattr(_sheet, "CHUNK", chunk)
        path = _book(tmp_path / f"p{chunk}.xlsx", data, p="x:")
        _write(path, [(40, 2, 1), (95, 2, 2)])
        outs.append(_sheet_xml(path))
    for xml in outs:
        assert _row(xml, 40, b"x:") == (
            b'<x:row r="40"><x:c r="A40"><x:v>1</x:v></x:c><x:c r="B40" s="3"><x:v>1</x:v></x:c>'
            b"</x:row>"
        )
        assert (
            _row(xml, 95, b"x:") == b'<x:row r="95"><x:c r="B95" s="3"><x:v>2</x:v></x:c></x:row>'
        )


def test_cells_in_other_forms_are_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Attributes before r=, single quotes, whitespace: the style still comes from them."""
    data = (
        HEAD
        + """<row r="2"><c s='3' r='B2'><v>5</v></c></row>"""
        + _rows(30, lambda r: f'<c r="A{r}"><v>{r}</v></c>')
        + '<row r="40"><c r="A40"/><c  s="4" r="B40"/></row>'
        + _rows(30, lambda r: f'<c r="A{r}"><v>{r}</v></c>', first=41)
    )
    outs = _each_chunk(monkeypatch, tmp_path, data, lambda p: _write(p, [(20, 2, 1), (80, 2, 2)]))
    for xml in outs:
        assert _row(xml, 20).endswith(b'<c r="B20" s="3"><v>1</v></c></row>')
        assert _row(xml, 80) == b'<row r="80"><c r="B80" s="4"><v>2</v></c></row>'


def test_wider_columns_sharing_the_letters(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Column A's last cell sits under many AA..AZ cells (which also start with "A)."""
    wide = "".join(f'<c r="{col_letters(c)}{{r}}" s="1"><v>0</v></c>' for c in range(27, 53))
    data = (
        HEAD
        + '<row r="2"><c r="A2" s="3"><v>1</v></c></row>'
        + _rows(40, lambda r: wide.format(r=r))
    )
    outs = _each_chunk(monkeypatch, tmp_path, data, lambda p: _write(p, [(30, 1, 5), (50, 1, 6)]))
    for xml in outs:
        assert b'<c r="A30" s="3"><v>5</v></c><c r="AA30"' in _row(xml, 30)
        assert _row(xml, 50) == b'<row r="50"><c r="A50" s="3"><v>6</v></c></row>'


def test_cells_between_rows_do_not_count(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = (
        HEAD
        + '<row r="2"><c r="B2" s="3"><v>5</v></c></row>'
        + _rows(20, lambda r: f'<c r="A{r}"><v>{r}</v></c>')
        + '<c r="B23" s="4"/>'
        + _rows(20, lambda r: f'<c r="A{r}"><v>{r}</v></c>', first=23)
    )
    outs = _each_chunk(monkeypatch, tmp_path, data, lambda p: _write(p, [(60, 2, 1)]))
    for xml in outs:
        assert _row(xml, 60) == b'<row r="60"><c r="B60" s="3"><v>1</v></c></row>'


@pytest.mark.parametrize(
    "odd",
    [
        "<!-- a comment -->",
        '<?pi x="1"?>',
        '<row r="15"/>',
        '<row r="15" spans="1:2" customHeight="1" ht="20"/>',
    ],
)
def test_segments_the_index_cannot_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, odd: str
) -> None:
    """Comments, processing instructions, empty rows: rows are walked one by one instead."""
    rows = _rows(10, lambda r: f'<c r="A{r}"><v>{r}</v></c>')
    more = _rows(20, lambda r: f'<c r="A{r}"><v>{r}</v></c>', first=16)
    data = HEAD + '<row r="2"><c r="B2" s="3"><v>5</v></c></row>' + rows + odd + more
    outs = _each_chunk(
        monkeypatch, tmp_path, data, lambda p: _write(p, [(8, 2, 1), (15, 2, 2), (40, 2, 3)])
    )
    for xml in outs:
        assert _row(xml, 8).endswith(b'<c r="B8" s="3"><v>1</v></c></row>')
        assert b'<c r="B15" s="3"><v>2</v></c></row><row r="16">' in xml
        assert _row(xml, 40) == b'<row r="40"><c r="B40" s="3"><v>3</v></c></row>'
        if not odd.startswith("<row"):
            assert odd.encode() + b'<row r="15">' in xml
    assert len(set(outs)) == 1


def test_rows_out_of_order_are_walked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = (
        HEAD
        + '<row r="2"><c r="B2" s="3"><v>5</v></c></row>'
        + '<row r="5"><c r="A5"><v>5</v></c></row>'
        + '<row r="4"><c r="A4"><v>4</v></c><c r="B4" s="4"/></row>'
        + _rows(20, lambda r: f'<c r="A{r}"><v>{r}</v></c>', first=6)
    )
    # Rows 3 and 4 both go before row 5, the first row numbered 3 or more (as rows are
    # walked); the later row 4 stays as it is.
    outs = _each_chunk(monkeypatch, tmp_path, data, lambda p: _write(p, [(3, 2, 1), (4, 2, 2)]))
    for xml in outs:
        assert (
            b'<row r="3"><c r="B3" s="3"><v>1</v></c></row>'
            b'<row r="4"><c r="B4" s="3"><v>2</v></c></row><row r="5">'
        ) in xml
        assert b'<row r="4"><c r="A4"><v>4</v></c><c r="B4" s="4"/></row>' in xml
    assert len(set(outs)) == 1


# ---- plain forms read without building attribute dicts -----------------------------------------


def test_existing_cells_in_plain_and_other_forms(tmp_path: Path) -> None:
    data = (
        HEAD
        + '<row r="2"><c r="A2" s="1"><v>45000</v></c><c r="B2" t="inlineStr"><is><t>a</t></is></c>'
        + '<c r="C2" s="3" t="b"><v>1</v></c><c r="D2" t=""><v>7</v></c></row>'
        + '<row r="3"><c s="1" r="A3"><v>45000</v></c><c t="inlineStr" r="B3"><is><t>a</t></is></c>'
        + '<c r="C3" s="3" t="b" cm="1"><v>1</v></c><c r="D3" t=""><v>7</v></c></row>'
    )
    path = _book(tmp_path / "f.xlsx", data)
    same = [(r, c, v) for r in (2, 3) for c, v in ((1, dt.date(2023, 3, 15)), (2, "a"), (3, True))]
    assert not _write(path, same).written
    result = _write(path, [(2, 3, False), (3, 3, False), (2, 4, 7), (3, 4, 8)])
    assert [(c.row, c.column, c.old) for c in result.changes] == [
        (2, 3, True),
        (3, 3, True),
        (3, 4, 7),
    ]
    xml = _sheet_xml(path)
    assert b'<c r="C2" s="3" t="b"><v>0</v></c>' in xml
    assert b'<c r="C3" s="3" cm="1" t="b"><v>0</v></c>' in xml  # cm kept
    assert b'<c r="D2" t=""><v>7</v></c>' in xml  # unchanged
    assert b'<c r="D3"><v>8</v></c>' in xml


@pytest.mark.parametrize(
    "inner",
    [
        b"<is><t>plain</t></is>",
        b'<is><t xml:space="preserve"> spaced </t></is>',
        b"<is><t>a &amp; b &#13; _x0041_</t></is>",
        b"<is><t></t></is>",
        b"<x:is><x:t>pre</x:t></x:is>",
        b"<is><r><t>ri</t></r><r><t>ch</t></r></is>",
        b"<is><t>a</t><rPh sb='0' eb='1'><t>b</t></rPh></is>",
        b"<is><t/></is>",
    ],
)
def test_rich_text_of_one_run(monkeypatch: pytest.MonkeyPatch, inner: bytes) -> None:
    fast = rich_text(inner)
    monkeypatch.setattr(_package, "_PLAIN_IS", re.compile(b"(?!x)x"))  # never: the general way
    assert rich_text(inner) == fast


def test_text_helpers_skip_work_only_when_it_would_do_nothing() -> None:
    for text in ["plain", "tab\there", "\x01bad", "a\ufffeb", "_x0041_", "x_y", "新_x", "\r\n"]:
        assert clean_text(text) == _ILLEGAL_XML.sub("", text)
        expected = _EXCEL_ESCAPE.sub(r"_x005F_\1", clean_text(text))
        expected = expected.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert escape_text(clean_text(text)) == expected.replace("\r", "&#13;").encode()


def test_existing_grid_reads_plain_cells_as_held_does() -> None:
    xml = (
        b'<row r="2"><c r="A2" s="1"><v>45000</v></c><c r="B2" t="inlineStr"><is><t>x</t></is>'
        b'</c><c r="C2" t="s"><v>0</v></c><c r="AB2" s="3"><v>2.5</v></c></row>'
        b'<row r="3" spans="1:2"><c s="1" r="A3"><v>45000</v></c><c r="b3" t="e"><v>#N/A</v></c>'
        b"</row>"
    )
    grid = _engine._existing_grid(xml, lambda: ["shared"])
    assert sorted(grid) == [(2, 1), (2, 2), (2, 3), (2, 28), (3, 1), (3, 2)]
    cells = re.findall(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", xml)
    held_all = [held(a, i, lambda: ["shared"]) for a, i in cells]
    assert [grid[k] for k in sorted(grid)] == [held_all[i] for i in (0, 1, 2, 3, 4, 5)]


# ---- engine sheets ----------------------------------------------------------------------------


def _sheet_data_reference(content: SheetContent, styles: StyleBook) -> bytes:
    """sheet_data as it was written before its caches: every cell on its own."""
    cache: dict[tuple[int, str], int] = {}

    def style(col: int, value: CellValue) -> int | None:
        fmt = content.number_formats[col - 1] if col - 1 < len(content.number_formats) else None
        if isinstance(value, dt.date) and (fmt is None or not is_date_format(fmt)):
            fmt = DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
        if fmt is None:
            return None
        if (col, fmt) not in cache:
            cache[(col, fmt)] = styles.with_format(None, fmt)
        return cache[(col, fmt)]

    bold = styles.bold(None)
    rows = []
    for r, values in enumerate([content.header, *content.rows], start=1):
        cells = []
        for c, value in enumerate(values, start=1):
            w = want(value, False)
            if isinstance(w, str):
                w = want(str(value), False)
            if isinstance(w, str) or w.kind is None or (w.kind == "s" and w.text == ""):
                continue
            s = bold if r == 1 else style(c, value)
            t, body = value_xml(w, b"")
            cell = b'<c r="' + col_letters(c).encode() + str(r).encode() + b'"'
            if s is not None:
                cell += b' s="' + str(s).encode() + b'"'
            if t is not None:
                cell += b' t="' + t + b'"'
            cells.append(cell + b">" + body + b"</c>")
        rows.append(b'<row r="' + str(r).encode() + b'">' + b"".join(cells) + b"</row>")
    return b"<sheetData>" + b"".join(rows) + b"</sheetData>"


def test_engine_sheet_cells_built_once_per_value() -> None:
    values: list[CellValue] = [
        "a", "a", "", None, 1, 1.0, True, 1, -0.0, 0.0, float("nan"), float("inf"),
        dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4), dt.date(2024, 1, 2), "x<y & _x0041_",
        "\x01", 10**20, 2.5, False,
    ]  # fmt: skip
    rows = tuple(tuple(values[(r * 7 + c * 3) % len(values)] for c in range(6)) for r in range(60))
    content = SheetContent(
        "T", ("h1", "", "h3", "h4", "h5", "h6"), rows,
        number_formats=(None, "0.00", "yyyy-mm-dd", None, "#,##0", DATETIME_FORMAT),
    )  # fmt: skip
    new_styles, ref_styles = StyleBook(STYLES.encode()), StyleBook(STYLES.encode())
    data, _ = _engine.sheet_data(content, new_styles, False)
    assert data == _sheet_data_reference(content, ref_styles)
    assert new_styles.render() == ref_styles.render()  # formats added in the same order


def test_same_content_with_a_header_of_empty_text() -> None:
    content = SheetContent("T", ("a", ""), (("x", None),))
    styles = StyleBook(STYLES.encode())
    data, _ = _engine.sheet_data(content, styles, False)
    xml = f'<worksheet xmlns="{MAIN}">'.encode() + data + b"</worksheet>"
    # The header's empty cell is not written, so the grids differ (as before).
    assert not _engine.same_content(xml, content, list, styles, False)
    full = SheetContent("T", ("a", "b"), (("x", None),))
    data, _ = _engine.sheet_data(full, styles, False)
    xml = f'<worksheet xmlns="{MAIN}">'.encode() + data + b"</worksheet>"
    assert _engine.same_content(xml, full, list, styles, False)


# ---- values shared between writes -------------------------------------------------------------


def test_equal_values_of_other_types_are_written_apart(tmp_path: Path) -> None:
    path = _book(tmp_path / "v.xlsx", HEAD)
    _write(path, [(2, 1, True), (3, 1, 1), (4, 1, 1.0), (5, 1, -0.0), (6, 1, 0.0), (7, 1, 0)])
    xml = _sheet_xml(path)
    assert b'<c r="A2" t="b"><v>1</v></c>' in xml
    assert b'<c r="A3"><v>1</v></c>' in xml
    assert b'<c r="A4"><v>1</v></c>' in xml
    assert b'<c r="A5"><v>0</v></c>' in xml
    assert b'<c r="A7"><v>0</v></c>' in xml
    dates = [(10, 1, dt.date(2024, 1, 2)), (11, 1, dt.datetime(2024, 1, 2))]
    result = _write(path, dates)
    assert [type(c.new) for c in result.changes] == [dt.date, dt.datetime]
    assert b'<c r="A10" s="5"><v>45293</v></c>' in _sheet_xml(path)
    assert b'<c r="A11" s="5"><v>45293</v></c>' in _sheet_xml(path)  # already shows dates


# ---- threads: reading ahead, deflating, no garbage collection meanwhile -------------------------


@pytest.mark.parametrize("size", [1, 100, 256, 5000, 20000])
def test_read_ahead_returns_what_read_would(size: int) -> None:
    data = bytes(range(256)) * 41
    direct = io.BytesIO(data)
    expected = list(iter(lambda: direct.read(size), b""))
    with writer._ReadAhead(io.BytesIO(data).read) as ahead:
        got = list(iter(lambda: ahead.read(size), b""))
        assert ahead.read(size) == b""
    assert got == expected


def test_read_ahead_raises_where_the_stream_did() -> None:
    calls = []

    def read(n: int) -> bytes:
        calls.append(n)
        if len(calls) == 3:
            raise zlib.error("bad data")
        return b"x" * n

    with writer._ReadAhead(read) as ahead:
        assert ahead.read(10) == b"x" * 10
        assert ahead.read(10) == b"x" * 10
        with pytest.raises(zlib.error, match="bad data"):
            ahead.read(10)


def test_read_ahead_stops_when_left_early() -> None:
    stream = io.BytesIO(b"y" * 1_000_000)
    with writer._ReadAhead(stream.read, depth=1) as ahead:
        assert ahead.read(10) == b"y" * 10
    stream.close()  # the worker is gone: closing under it is safe


def test_deflater_gives_the_bytes_of_one_compressobj() -> None:
    parts = [[b"abc" * 1000, b"", b"defg" * 5000], [], [bytes(range(256)) * 100]]
    with writer._Deflater() as deflater:
        blobs = [deflater.blob(iter(p)) for p in parts]
    for chunks, blob in zip(parts, blobs, strict=True):
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        expected = b"".join(comp.compress(c) for c in chunks) + comp.flush()
        assert b"".join(blob.chunks) == expected
        assert blob.crc == zlib.crc32(b"".join(chunks))
        assert blob.size == sum(map(len, chunks))


def test_deflater_does_not_hide_the_producers_error() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a"
        raise ValueError("editing failed")

    with pytest.raises(ValueError, match="editing failed"), writer._Deflater() as deflater:
        deflater.blob(chunks())


@pytest.mark.parametrize("enabled", [True, False])
def test_garbage_collection_is_paused_and_restored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, enabled: bool
) -> None:
    path = _book(tmp_path / "g.xlsx", HEAD)
    changes = ChangeSet(cells=(CellWrite("S", 2, 1, 1),), engine_columns={"S": frozenset([1])})
    seen: list[bool] = []
    real = writer._compute

    def spy(*args: Any, **kw: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kw)

    monkeypatch.setattr(writer, "_compute", spy)
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        plan_changes(path, changes)
        apply_changes(path, changes, expected=fingerprint(path))
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [False, False]
