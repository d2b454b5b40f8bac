"""Round-trips every corpus workbook through the lossless writer and reads it back."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import openpyxl.worksheet.cell_range
import pytest
import python_calamine
from helpers import CORPUS

from funnel_sync.plan import CellWrite, ChangeSet, ListValidation, SheetContent
from funnel_sync.xlsx import UnsupportedWorkbook, apply_changes, fingerprint
from funnel_sync.xlsx._package import Package

SKIP = {"pass_protected.xlsx", "protected_passtika.xlsx", "54764.xlsx"}
FILES = sorted(
    p
    for pattern in ("*.xlsx", "*.xlsm", "excel-features/*.xlsx", "excel-features/*.xlsm")
    for p in CORPUS.glob(pattern)
    if p.name not in SKIP and not p.name.startswith("~$")
)
ENGINE_SHEET = "今日提醒"
MAY_CHANGE = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}
MAY_CHANGE |= {"xl/styles.xml", "xl/sharedStrings.xml"}


def _first_worksheet(path: Path) -> tuple[str, str, int]:
    """(name, part, last used row) of the first worksheet."""
    with zipfile.ZipFile(path) as zf:
        pkg = Package(zf)
        entry = next(s for s in pkg.sheets if s.kind == "worksheet" and s.part and pkg.has(s.part))
        assert entry.part is not None
        part = pkg.real_name(entry.part)
    ws = openpyxl.load_workbook(path, read_only=True)[entry.name]
    ws.reset_dimensions()  # the stored <dimension> may be stale; count rows for real
    last = 0
    for i, row in enumerate(ws.iter_rows(values_only=True), start=ws.min_row):
        if any(v is not None for v in row):
            last = i
    return entry.name, part, last


def _existing_value_cell(path: Path, sheet: str) -> tuple[int, int] | None:
    """A cell holding a plain (non-formula) value, to overwrite."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    arrays = [openpyxl.worksheet.cell_range.CellRange(r) for r in ws.array_formulae.values()]
    for row in ws.iter_rows(max_row=min(ws.max_row, 50)):
        for cell in row:
            if (
                cell.value is not None
                and cell.data_type in ("s", "n")
                and type(cell).__name__ != "MergedCell"
                and not any(cell.coordinate in a for a in arrays)
            ):
                return cell.row, cell.column
    return None


def write_sample(src: Path, dst: Path) -> tuple[str, str, dict[tuple[int, int], object]]:
    """Copy `src` to `dst` and write the standard sample; returns (sheet, part, expected values)."""
    shutil.copyfile(src, dst)
    sheet, part, last = _first_worksheet(dst)
    existing = _existing_value_cell(dst, sheet)
    new_row = last + 3
    expected: dict[tuple[int, int], object] = {
        (2, 40): "new cell in row 2",
        (new_row, 1): "=1+1",
        (new_row, 2): dt.date(2024, 3, 5),
        (new_row, 42): 42,
    }
    if existing is not None:
        expected[existing] = "overwritten"
    cells = tuple(CellWrite(sheet, r, c, v) for (r, c), v in expected.items())  # type: ignore[arg-type]
    engine = frozenset(c for _, c in expected)
    changes = ChangeSet(
        cells=cells,
        sheets=(
            SheetContent(
                ENGINE_SHEET,
                ("rep", "customer", "due"),
                (("张三", "ACME", dt.date(2024, 3, 6)),),
                validations=(ListValidation("A2:A100", '"D,C,B,A"'),),
            ),
        ),
        engine_columns={sheet: engine},
    )
    result = apply_changes(dst, changes, expected=fingerprint(dst), backups=1)
    assert result.written
    assert not result.refused, result.refused
    return sheet, part, expected


def _damaged(path: Path) -> bool:
    with zipfile.ZipFile(path) as zf:
        return zf.testzip() is not None


def _calamine_reads(path: Path) -> bool:
    try:
        python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception:
        return False
    return True


@pytest.mark.parametrize("src", FILES, ids=[p.name for p in FILES])
def test_round_trip(src: Path, tmp_path: Path) -> None:
    dst = tmp_path / src.name
    if _damaged(src):
        # A part fails its CRC: the writer must refuse rather than spread the damage.
        shutil.copyfile(src, dst)
        changes = ChangeSet(sheets=(SheetContent(ENGINE_SHEET, ("a",)),))
        with pytest.raises(UnsupportedWorkbook):
            apply_changes(dst, changes, expected=None)
        assert dst.read_bytes() == src.read_bytes()
        return
    sheet, part, expected = write_sample(src, dst)
    with zipfile.ZipFile(src) as before, zipfile.ZipFile(dst) as after:
        assert after.testzip() is None
        assert set(after.namelist()) >= set(before.namelist())
        for info in before.infolist():
            if info.filename == part or info.filename in MAY_CHANGE:
                continue
            assert after.read(info.filename) == before.read(info), info.filename
        # Part order is kept: the original parts come first, in their original order.
        assert after.namelist()[: len(before.namelist())] == before.namelist()

    if _calamine_reads(src):  # closedxml__SheetsWithoutRelId.xlsx defeats calamine as it is
        wb = python_calamine.CalamineWorkbook.from_path(str(dst))
        rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        for (r, c), value in expected.items():
            assert rows[r - 1][c - 1] == value, (r, c)
        assert wb.get_sheet_by_name(ENGINE_SHEET).to_python()[1][0] == "张三"

    ox = openpyxl.load_workbook(dst, read_only=False)
    ws = ox[sheet]
    for (r, c), value in expected.items():
        got = ws.cell(r, c).value
        if isinstance(value, dt.date):
            assert got == dt.datetime(value.year, value.month, value.day)
        else:
            assert got == value, (r, c)
    assert ws.cell(max(r for r, _ in expected), 1).data_type == "s"
    assert ox[ENGINE_SHEET]["C2"].value == dt.datetime(2024, 3, 6)
    assert ox[ENGINE_SHEET].freeze_panes == "A2"


SOFFICE_FILES = [
    "DataTableCities.xlsx",  # chart + pivot + tables
    "ExcelPivotTableSample.xlsx",
    "SimpleMacro.xlsm",
    "table-multiple.xlsx",
]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
@pytest.mark.parametrize("name", SOFFICE_FILES)
def test_libreoffice_reads_written_file(name: str, tmp_path: Path) -> None:
    dst = tmp_path / name
    sheet, _, expected = write_sample(CORPUS / name, dst)
    out = tmp_path / "out"
    profile = tmp_path / "profile"
    # Sheet-specific CSV export: LibreOffice >= 7.2 takes a 1-based sheet number after the options.
    names = python_calamine.CalamineWorkbook.from_path(str(dst)).sheet_names
    index = names.index(sheet) + 1
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            f"csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,{index}",
            "--outdir",
            str(out),
            str(dst),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    produced = list(out.glob("*.csv"))
    assert produced, "LibreOffice produced no CSV"
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in produced)
    assert "=1+1" in text
    assert "overwritten" in text or all(v != "overwritten" for v in expected.values())
    assert "new cell in row 2" in text
    assert "42" in text
