"""Files made by other applications (Excel, LibreOffice, POI, exceljs, XlsxWriter, closedXML):
`check` never crashes, unusable files exit 2 with a clear message, dates and formulas read right.

The corpus in /work/shared/corpus is read only; files are copied to tmp_path before any change.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
import python_calamine
from helpers import (
    CORPUS,
    POOL_OK,
    REPS_OK,
    edit_ledger,
    flat,
    run_check,
    sheet_part,
    write_ledger,
)

from funnel_sync.config import Config
from funnel_sync.parse import parse_date
from funnel_sync.read import WorkbookError, read_book, scan_formulas
from funnel_sync.schema import INPUT_SHEETS

FEATURES = CORPUS / "excel-features"
FILES = sorted(
    p for folder in (CORPUS, FEATURES) for p in folder.iterdir() if p.suffix in (".xlsx", ".xlsm")
)
EN = '[general]\nlanguage = "en"\n'

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not present")


def en_config(tmp_path: Path) -> str:
    path = tmp_path / "en.toml"
    path.write_text(EN, encoding="utf-8")
    return str(path)


def refused(path: Path, *args: str) -> str:
    """Check `path`, expect exit 2 with one clear line on stderr; return that line."""
    code, problems, stderr = run_check(path, *args)
    assert code == 2, (code, problems, stderr)
    assert problems == []
    assert "Traceback" not in stderr
    assert stderr.startswith("funnel-sync: ")
    assert len(stderr.strip().splitlines()) == 1
    return stderr


# ----------------------------------------------------------------------- never a crash


def test_corpus_is_there() -> None:
    assert len(FILES) > 100


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_check_never_crashes(path: Path) -> None:
    code, problems, stderr = run_check(path)
    assert "Traceback" not in stderr
    assert code in (1, 2), (code, stderr)
    if code == 1:
        # not ledgers: the input sheets are missing, and that is what is reported
        missing = {p["sheet"] for p in problems if p["code"] == "sheet-missing"}
        assert missing == {s.zh for s in INPUT_SHEETS}
        assert stderr == ""
    else:
        assert problems == []
        assert stderr.startswith("funnel-sync: ")
        assert str(path) in stderr


# ------------------------------------------------------------------------ unusable files


@pytest.mark.parametrize("name", ["pass_protected.xlsx", "protected_passtika.xlsx"])
def test_encrypted(tmp_path: Path, name: str) -> None:
    assert "密码" in refused(CORPUS / name)
    english = refused(CORPUS / name, "--config", en_config(tmp_path))
    assert "password" in english
    assert "encrypted" in english


def test_xml_bomb_is_refused_quickly() -> None:
    start = time.monotonic()
    message = refused(CORPUS / "54764.xlsx")
    assert time.monotonic() - start < 5
    assert "54764.xlsx" in message
    assert "xl/sharedStrings.xml" in message and "XML 炸弹" in message


def test_truncated_file(tmp_path: Path) -> None:
    data = (CORPUS / "test-issue-880.xlsx").read_bytes()
    path = tmp_path / "half.xlsx"
    path.write_bytes(data[: len(data) // 2])
    assert "损坏" in refused(path)
    assert "damaged" in refused(path, "--config", en_config(tmp_path))


def test_ole2_without_encrypted_package_is_an_xls(tmp_path: Path) -> None:
    path = tmp_path / "old.xlsx"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504))
    assert ".xls" in refused(path)


def test_csv_renamed_to_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_text("客户编号,客户名称,区域\nKH001,甲公司,华东\n", encoding="utf-8")
    assert "CSV" in refused(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    assert "0 字节" in refused(path)


def test_missing_file(tmp_path: Path) -> None:
    assert "找不到文件" in refused(tmp_path / "nowhere.xlsx")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "book.xlsx"
    folder.mkdir()
    code, _, stderr = run_check(folder)
    assert code == 2
    assert "Traceback" not in stderr


@pytest.mark.parametrize("name", ["calc.ods", "calc.xlsx"])
def test_opendocument(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    assert ".ods" in refused(path)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    assert "不是 Excel 工作簿" in refused(path)


def test_owner_file_is_refused() -> None:
    # Excel's "~$name.xlsx" lock file is 165 bytes of owner name, not a workbook
    assert "不是 Excel 工作簿" in refused(CORPUS / "~$fibonacci.xlsx")


def test_read_book_raises_workbook_error() -> None:
    with pytest.raises(WorkbookError, match="密码"):
        read_book(CORPUS / "protected_passtika.xlsx", Config())


# ------------------------------------------------------------------------------ formulas


def test_scan_formulas_finds_every_error_value() -> None:
    path = CORPUS / "errors.xlsx"
    with zipfile.ZipFile(path) as z:
        found = scan_formulas(z.read(sheet_part(path, "Feuil1")))
    assert found == {
        (1, 1): "#DIV/0!",
        (2, 1): "#NAME?",
        (3, 1): "#VALUE!",
        (4, 1): "#NULL!",
        (5, 1): "#REF!",
        (6, 1): "#NUM!",
        (7, 1): "#N/A",
    }


def test_scan_formulas_finds_formula_cells() -> None:
    path = CORPUS / "fibonacci.xlsx"
    with zipfile.ZipFile(path) as z:
        xml = z.read(sheet_part(path, _first_sheet(path)))
    found = scan_formulas(xml)
    assert len(found) == 35  # SOURCES.md: 35 formulas with cached values
    assert set(found.values()) == {None}
    assert (2, 1) in found
    assert (19, 2) in found
    # exactly the cells that hold <f> in the XML
    cells = re.findall(rb'<c r="([A-Z]+)(\d+)"[^>]*>(?:(?!</c>).)*<f', xml, re.DOTALL)
    assert {(int(r), ord(c) - 64) for c, r in cells} == set(found)


def _first_sheet(path: Path) -> str:
    return python_calamine.CalamineWorkbook.from_path(str(path)).sheet_names[0]


def test_scan_formulas_prefixed_and_shared() -> None:
    xml = (
        b'<x:worksheet xmlns:x="main"><x:sheetData><x:row r="2">'
        b'<x:c r="B2" t="e"><x:f>1/0</x:f><x:v>#DIV/0!</x:v></x:c>'
        b'<x:c r="C2"><x:v>3</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    # prefixed elements: `<x:f>` is not `<f>`, but the error cell is still found by t="e"
    assert scan_formulas(xml) == {(2, 2): "#DIV/0!"}
    shared = (
        b'<worksheet><sheetData><row r="3"><c r="D3"><f t="shared" ref="D3:D4" si="0">A3*2'
        b'</f><v>4</v></c></row><row r="4"><c r="D4"><f t="shared" si="0"/><v>6</v></c>'
        b"</row></sheetData></worksheet>"
    )
    assert scan_formulas(shared) == {(3, 4): None, (4, 4): None}


# --------------------------------------------------------------------------------- dates


def test_1904_file_saved_by_libreoffice() -> None:
    path = CORPUS / "date_1904.xlsx"
    with zipfile.ZipFile(path) as z:
        assert b"LibreOffice" in z.read("docProps/app.xml")
        xml = z.read(sheet_part(path, "Sheet1")).decode()
    assert read_book(path, Config()).date1904
    rows = (
        python_calamine.CalamineWorkbook.from_path(str(path))
        .get_sheet_by_name("Sheet1")
        .to_python()
    )
    assert rows[0][0] == dt.date(2021, 1, 1)
    assert rows[1][0] == dt.date(2021, 1, 2)
    serial = float(re.search(r'<c r="A1"[^>]*><v>([^<]+)</v>', xml).group(1))  # type: ignore[union-attr]
    assert serial == 42735
    assert parse_date(serial, date1904=True) == dt.date(2021, 1, 1)
    assert parse_date(serial, date1904=False) == dt.date(2016, 12, 31)


def test_1904_file_saved_by_excel_for_mac() -> None:
    path = CORPUS / "DateFormatTests.xlsx"
    with zipfile.ZipFile(path) as z:
        assert b"Macintosh" in z.read("docProps/app.xml")
        xml = z.read(sheet_part(path, "Tests")).decode()
    assert read_book(path, Config()).date1904
    rows = (
        python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Tests").to_python()
    )
    assert rows[1][2] == dt.datetime(1952, 10, 11, 14, 35, 27)
    serial = float(re.search(r'<c r="C2"[^>]*><v>([^<]+)</v>', xml).group(1))  # type: ignore[union-attr]
    assert serial == pytest.approx(17816.6, abs=0.01)
    assert parse_date(serial, date1904=True) == dt.date(1952, 10, 11)
    assert parse_date(serial, date1904=False) == dt.date(1948, 10, 10)  # the misreading
    assert parse_date(rows[1][2], date1904=True) == dt.date(1952, 10, 11)


def test_1900_file_is_not_1904() -> None:
    assert not read_book(CORPUS / "fibonacci.xlsx", Config()).date1904


# -------------------------------------------------------------- a ledger saved by LibreOffice


def _planted_ledger(path: Path) -> Path:
    write_ledger(
        path,
        pool=[*POOL_OK, {"customer_id": "KH001", "name": "重复公司", "region": "华东"}],
        reps=REPS_OK,
        opportunities=[
            {
                "opportunity_id": "JH001",
                "customer_id": "KH001",
                "owner": "张三",
                "stage": "?",
                "amount": "1,2,3",
            },
            {
                "opportunity_id": "JH002",
                "customer_id": "KH002",
                "owner": "赵六",
                "stage": "C",
                "confirmed_stage": "D",
                "influencer_contacted": "是",
                "amount": -5,
            },
            {
                "opportunity_id": "JH003",
                "customer_id": "KH003",
                "owner": "张三",
                "stage": "D",
                "amount": "=2*500",
                "next_step": "约拜访",
            },
            {
                "opportunity_id": "JH004",
                "customer_id": "KH003",
                "owner": "张三",
                "stage": "D",
                "amount": 0,
            },
        ],
        activities=[
            {"date": dt.date(2026, 11, 2), "rep": "张三", "customer_id": "KH001", "kind": "电话"},
            {"date": "2024-02-30", "rep": "张三", "customer_id": "KH009", "kind": "吃饭"},
        ],
    )

    def shape(wb: object) -> None:
        wb["销售机会"].merge_cells("G4:G5")  # type: ignore[index]
        wb["跟进记录"].insert_rows(3)  # type: ignore[index]

    return edit_ledger(path, shape)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_ledger_saved_by_libreoffice_reads_the_same(tmp_path: Path) -> None:
    original = _planted_ledger(tmp_path / "ledger.xlsx")
    out = tmp_path / "out"
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(original),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    converted = out / "ledger.xlsx"
    with zipfile.ZipFile(converted) as z:
        assert b"LibreOffice" in z.read("docProps/app.xml")
        assert "xl/sharedStrings.xml" in z.namelist()
    code_a, problems_a, _ = run_check(original)
    code_b, problems_b, stderr = run_check(converted)
    expected = [
        ("公共资源库", 5, "A", "id-duplicate"),
        ("跟进记录", 3, None, "row-empty"),
        ("跟进记录", 4, "A", "date-impossible"),
        ("跟进记录", 4, "C", "customer-unknown"),
        ("跟进记录", 4, "E", "kind-unknown"),
        ("销售机会", 2, "D", "class-unknown"),
        ("销售机会", 2, "E", "amount-unreadable"),
        ("销售机会", 3, "C", "rep-unknown"),
        ("销售机会", 3, "D", "stage-evidence-missing"),
        ("销售机会", 3, "E", "amount-negative"),
        ("销售机会", 4, "E", "cell-formula"),
        ("销售机会", 4, "G", "merged-cells"),
        ("销售机会", 5, "E", "amount-zero"),
    ]
    assert flat(problems_a) == expected
    assert flat(problems_b) == expected
    assert code_a == code_b == 1
    assert "Traceback" not in stderr
    # LibreOffice computed the formula's result: the converted file reads it as 1000
    assert read_book(converted, Config()).opportunities[2].amount == 1000
