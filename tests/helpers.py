"""Shared builders for the check tests: ledgers written with openpyxl, the CLI run in-process."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
from click.testing import CliRunner
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from openpyxl.workbook.workbook import Workbook

from funnel_sync import parse
from funnel_sync.cli import main
from funnel_sync.config import Config
from funnel_sync.logs import PoolState, StageState
from funnel_sync.model import Activity, Customer, Evidence, Opportunity, Rep, Source
from funnel_sync.read import Book, SheetLayout
from funnel_sync.rules import Context, build_context
from funnel_sync.schema import ACTIVITIES, OPPORTUNITIES, POOL, REPS, SHEETS, Kind
from funnel_sync.texts import Said


def _corpus() -> Path:
    """The shared corpus of real spreadsheets: beside the checkout (as CI lays it out)."""
    env = os.environ.get("FUNNEL_SYNC_CORPUS")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    return beside if beside.is_dir() else Path("/work/shared/corpus")


CORPUS = _corpus()

TODAY = "2026-11-30"
Row = Mapping[str, Any]

#: A small valid team: two reps, one manager for every region.
REPS_OK: tuple[dict[str, Any], ...] = (
    {
        "name": "张三",
        "email": "zhangsan@example.com",
        "regions": "华东",
        "start_date": dt.date(2024, 3, 1),
        "annual_quota": 1_200_000,
        "manager": "否",
    },
    {
        "name": "李四",
        "email": "lisi@example.com",
        "regions": "华南",
        "start_date": dt.date(2025, 6, 1),
        "annual_quota": 800_000,
        "manager": "否",
    },
    {
        "name": "王经理",
        "email": "wang@example.com",
        "regions": "*",
        "start_date": dt.date(2020, 1, 6),
        "manager": "是",
    },
)

#: Three customers: one per rep and one unclaimed in the pool.
POOL_OK: tuple[dict[str, Any], ...] = (
    {"customer_id": "KH001", "name": "甲公司", "region": "华东", "owner": "张三"},
    {"customer_id": "KH002", "name": "乙公司", "region": "华南", "owner": "李四"},
    {"customer_id": "KH003", "name": "丙公司", "region": "华东"},
)

_BY_KEY = {"pool": POOL, "opportunities": OPPORTUNITIES, "activities": ACTIVITIES, "reps": REPS}


def write_ledger(
    path: Path,
    *,
    pool: Sequence[Row] = (),
    opportunities: Sequence[Row] = (),
    activities: Sequence[Row] = (),
    reps: Sequence[Row] = (),
    lang: str = "zh",
    extra_sheets: Mapping[str, Sequence[Sequence[Any]]] | None = None,
    date1904: bool = False,
) -> Path:
    """An .xlsx with every schema sheet and header (in `lang`); rows are dicts by field name.

    Values are written as given: str, numbers, dates, bools; a str starting with "=" becomes a
    formula (openpyxl stores no cached value for it)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    if date1904:
        wb.epoch = CALENDAR_MAC_1904
    rows_by_key = {
        "pool": pool,
        "opportunities": opportunities,
        "activities": activities,
        "reps": reps,
    }
    for spec in SHEETS:
        ws = wb.create_sheet(spec.title(lang))
        fields = [c.field for c in spec.columns]
        ws.append([c.header(lang) for c in spec.columns])
        for row in rows_by_key.get(spec.key, ()):
            unknown = set(row) - set(fields)
            if unknown:
                raise KeyError(f"{spec.key}: no such fields {sorted(unknown)}")
            ws.append([row.get(f) for f in fields])
            _format_dates(ws, ws.max_row)
    for title, rows in (extra_sheets or {}).items():
        ws = wb.create_sheet(title)
        for values in rows:
            ws.append(list(values))
    path = Path(path)
    wb.save(path)
    return path


def _format_dates(ws: Any, row: int) -> None:
    """Date values show as dates (openpyxl does this already; kept explicit for clarity)."""
    for cell in ws[row]:
        if isinstance(cell.value, dt.date):
            cell.number_format = "yyyy-mm-dd"


def edit_ledger(path: Path, change: Callable[[Workbook], None]) -> Path:
    """Load the workbook with openpyxl, let `change` edit it, save it in place."""
    wb = openpyxl.load_workbook(path)
    change(wb)
    wb.save(path)
    return path


def column_of(spec_key: str, field: str) -> str:
    """The column letter `write_ledger` puts a field in (schema order)."""
    spec = _BY_KEY[spec_key]
    index = [c.field for c in spec.columns].index(field) + 1
    return openpyxl.utils.get_column_letter(index)


def sheet_part(path: Path, sheet_name: str) -> str:
    """The zip part (xl/worksheets/sheetN.xml) holding `sheet_name`."""
    with zipfile.ZipFile(path) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = None
    for attrs in re.findall(r"<(?:\w+:)?sheet\b([^>]*)/?>", workbook):
        name = re.search(r'\bname="([^"]*)"', attrs)
        if name and name.group(1) == sheet_name:
            rid = re.search(r'\br:id="([^"]*)"', attrs)
            break
    if rid is None:
        raise KeyError(sheet_name)
    for attrs in re.findall(r"<Relationship\b([^>]*)>", rels):
        if f'Id="{rid.group(1)}"' in attrs:
            target = re.search(r'Target="([^"]*)"', attrs)
            assert target is not None
            t = target.group(1)
            return t.lstrip("/") if t.startswith("/") else "xl/" + t
    raise KeyError(sheet_name)


def patch_cell(path: Path, sheet_name: str, ref: str, cell_xml: str) -> Path:
    """Replace the XML of cell `ref` (which must exist) with `cell_xml`, e.g. an error cell
    `<c r="E2" t="e"><f>1/0</f><v>#DIV/0!</v></c>` that openpyxl cannot write."""
    part = sheet_part(path, sheet_name)
    with zipfile.ZipFile(path) as z:
        items = [(info, z.read(info.filename)) for info in z.infolist()]
    out = path.with_suffix(".patched")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in items:
            if info.filename == part:
                xml = data.decode()
                pattern = re.compile(rf'<c r="{ref}"(?:[^>]*/>|[^>]*>.*?</c>)', re.DOTALL)
                xml, n = pattern.subn(cell_xml, xml, count=1)
                if n != 1:
                    raise KeyError(f"{sheet_name}!{ref} not in {part}")
                data = xml.encode()
            z.writestr(info, data)
    shutil.move(out, path)
    return path


def run_check(path: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """`funnel-sync check PATH --format json --today 2026-11-30 ARGS`, in-process.

    Runs in an empty temporary directory so that no ./config.toml is picked up by accident.
    Returns (exit code, the JSON problems (empty when stdout is not JSON), stderr)."""
    code, stdout, stderr = run_cli(
        "check", str(Path(path).absolute()), "--format", "json", "--today", TODAY, *args
    )
    problems = json.loads(stdout) if stdout.strip().startswith("[") else []
    return code, problems, stderr


def run_cli(*args: str) -> tuple[int, str, str]:
    """Any `funnel-sync` command, in-process, from an empty directory: (exit, stdout, stderr)."""
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as empty, contextlib.chdir(empty):
        result = runner.invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def flat(problems: Sequence[Mapping[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    """Problems as tuples of the given keys, e.g. flat(p, "sheet", "row", "column", "code"),
    sorted so that assertions do not depend on the output order (tested on its own)."""
    keys = keys or ("sheet", "row", "column", "code")
    return sorted((tuple(p[k] for k in keys) for p in problems), key=repr)


# ---- builders for the sync tests: run `sync`, read sheets back by field, edit rows by ID ----

SPECS = {s.key: s for s in SHEETS}


def sync_cli(path: Path, today: str, *args: str) -> tuple[int, str, str]:
    """`funnel-sync sync PATH --today TODAY ARGS`, in-process, from an empty directory."""
    return run_cli("sync", str(Path(path).absolute()), "--today", today, *args)


def sync_json(path: Path, today: str, *args: str) -> tuple[int, dict[str, Any]]:
    """`sync --format json`: (exit code, the parsed payload)."""
    code, stdout, stderr = sync_cli(path, today, "--format", "json", *args)
    assert "Traceback" not in stderr, stderr
    return code, json.loads(stdout)


def _field_columns(ws: Any, spec_key: str) -> dict[str, int]:
    """field → 1-based column, from the header row (zh or en headers)."""
    spec = SPECS[spec_key]
    by_header = {}
    for c in spec.columns:
        by_header[c.zh] = by_header[c.en] = c.field
    return {
        by_header[cell.value]: cell.column
        for cell in ws[1]
        if isinstance(cell.value, str) and cell.value in by_header
    }


def read_tables(path: Path, *spec_keys: str, lang: str = "zh") -> dict[str, list[dict[str, Any]]]:
    """The data rows of ledger sheets as dicts by field (plus "_row": the Excel row number),
    read with openpyxl in one load; fully blank rows are left out."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        tables = {}
        for key in spec_keys:
            rows = list(wb[SPECS[key].title(lang)].iter_rows(values_only=True))
            by_header = {}
            for c in SPECS[key].columns:
                by_header[c.zh] = by_header[c.en] = c.field
            columns = {
                by_header[v]: i for i, v in enumerate(rows[0] if rows else ()) if v in by_header
            }
            table = []
            for r, values in enumerate(rows[1:], 2):
                row = {f: values[i] if i < len(values) else None for f, i in columns.items()}
                if any(v not in (None, "") for v in row.values()):
                    table.append({"_row": r, **row})
            tables[key] = table
        return tables
    finally:
        wb.close()


def read_rows(path: Path, spec_key: str, lang: str = "zh") -> list[dict[str, Any]]:
    """The data rows of one ledger sheet (see read_tables)."""
    return read_tables(path, spec_key, lang=lang)[spec_key]


def row_by_id(path: Path, spec_key: str, key: str) -> dict[str, Any]:
    """The one row of the Pool (by customer_id) or Opportunities (by opportunity_id)."""
    field = SPECS[spec_key].id_field
    found = [r for r in read_rows(path, spec_key) if r[field] == key]
    assert len(found) == 1, (spec_key, key, found)
    return found[0]


def _put(cell: Any, value: Any) -> None:
    cell.value = value
    if isinstance(value, dt.date):
        cell.number_format = "yyyy-mm-dd"


def set_fields_in(wb: Workbook, spec_key: str, key: str, **values: Any) -> None:
    """Type `values` (by field) into the row whose ID is `key`, as a user in Excel would."""
    ws = wb[SPECS[spec_key].title("zh")]
    columns = _field_columns(ws, spec_key)
    id_col = columns[SPECS[spec_key].id_field or ""]
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, id_col).value == key]
    assert len(rows) == 1, (spec_key, key)
    for f, v in values.items():
        _put(ws.cell(rows[0], columns[f]), v)


def append_rows_in(wb: Workbook, spec_key: str, *rows: Row) -> None:
    """Append rows (dicts by field) below the last row of a sheet (e.g. new activities)."""
    ws = wb[SPECS[spec_key].title("zh")]
    columns = _field_columns(ws, spec_key)
    last = 1
    for cells in ws.iter_rows(min_row=1, max_row=ws.max_row):
        if any(c.value not in (None, "") for c in cells):
            last = cells[0].row
    for k, row in enumerate(rows, 1):
        for f, v in row.items():
            _put(ws.cell(last + k, columns[f]), v)


def set_fields(path: Path, spec_key: str, key: str, **values: Any) -> Path:
    return edit_ledger(path, lambda wb: set_fields_in(wb, spec_key, key, **values))


def append_rows(path: Path, spec_key: str, *rows: Row) -> Path:
    return edit_ledger(path, lambda wb: append_rows_in(wb, spec_key, *rows))


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def opp(**values: Any) -> dict[str, Any]:
    """A valid D-class opportunity of 张三 on KH001, with `values` on top."""
    return {
        "opportunity_id": "JH001",
        "customer_id": "KH001",
        "owner": "张三",
        "stage": "D",
        "amount": 50_000,
        **values,
    }


def act(**values: Any) -> dict[str, Any]:
    """A valid past call by 张三 with KH001, with `values` on top."""
    return {
        "date": dt.date(2026, 11, 20),
        "rep": "张三",
        "customer_id": "KH001",
        "kind": "电话",
        "hours": 0.5,
        **values,
    }


# ---- the rules without a workbook: a Book from literal rows, a Context on it ----

_PARSE_KIND: dict[Kind, Callable[[Any], Any]] = {
    Kind.TEXT: parse.parse_text,
    Kind.DATE: parse.parse_date,
    Kind.DATETIME: parse.parse_date,
    Kind.MONTH_DAY: parse.parse_month_day,
    Kind.STAGE: parse.parse_stage,
    Kind.BOOL: parse.parse_bool,
    Kind.AMOUNT: parse.parse_amount,
    Kind.HOURS: parse.parse_hours,
    Kind.INT: lambda v: None if v is None else int(v),
    Kind.KIND: parse.parse_kind,
    Kind.REGIONS: parse.parse_regions,
}


def _typed(spec_key: str, row: Row | tuple[Any, ...], source: Source) -> Any:
    """A model row from a dict by field (values as a user types them, parsed as the reader
    would), or a model row given as is, placed at `source`."""
    if isinstance(row, tuple):  # Customer(...), Opportunity(...): only moved to its row
        return row._replace(source=source)  # type: ignore[attr-defined]
    spec = SPECS[spec_key]
    unknown = set(row) - {c.field for c in spec.columns}
    if unknown:
        raise KeyError(f"{spec_key}: no such fields {sorted(unknown)}")
    v: dict[str, Any] = {}
    for col in spec.columns:
        value = _PARSE_KIND[col.kind](row.get(col.field))
        if isinstance(value, parse.Invalid):
            raise ValueError(f"{spec_key}.{col.field}: {row.get(col.field)!r} is not readable")
        v[col.field] = value
    if spec_key == "pool":
        released = v["owner"] in ("释放", "release")
        return Customer(
            source,
            v["customer_id"] or "",
            v["name"],
            v["region"],
            None if released else v["owner"],
            v["industry"],
            v["contact"],
            v["phone"],
            v["contact_birthday"],
            v["anniversary"],
            v["lead_source"],
            bool(v["locked"]),
            released,
            v["claimed_on"],
            v["released_on"],
        )
    if spec_key == "opportunities":
        evidence = Evidence(*(bool(v[f]) for f in Evidence._fields))
        fields = [f for f in Opportunity._fields if f not in ("source", "evidence")]
        values = {f: v[f] for f in fields}
        values["opportunity_id"] = values["opportunity_id"] or ""
        return Opportunity(source, evidence=evidence, **values)
    if spec_key == "activities":
        return Activity(source, *(v[f] for f in Activity._fields[1:]))
    regions, all_regions = v["regions"] or (frozenset(), False)
    return Rep(
        source,
        v["name"] or "",
        v["email"],
        regions,
        all_regions,
        v["start_date"],
        v["annual_quota"],
        bool(v["manager"]),
        v["training_end"],
    )


def book_of(
    *,
    pool: Sequence[Row | tuple[Any, ...]] = POOL_OK,
    opportunities: Sequence[Row | tuple[Any, ...]] = (),
    activities: Sequence[Row | tuple[Any, ...]] = (),
    reps: Sequence[Row | tuple[Any, ...]] = REPS_OK,
    lang: str = "zh",
) -> Book:
    """The parsed Book of a ledger holding these rows, without a file: each sheet named and
    laid out as write_ledger writes it (every schema column, header on row 1, data from row
    2 in the order given), so a rule's problems point at the cells they would in Excel.

    Rows are dicts by field, as write_ledger takes them (values as typed: "D", "是", "华东,华南",
    dates), or Customer/Opportunity/Activity/Rep values (their Source is set to their row)."""
    given = {"pool": pool, "opportunities": opportunities, "activities": activities, "reps": reps}
    typed: dict[str, tuple[Any, ...]] = {}
    layouts: dict[str, SheetLayout] = {}
    for spec in SHEETS:
        title = spec.title(lang)
        rows = given.get(spec.key, ())
        typed[spec.key] = tuple(
            _typed(spec.key, row, Source(title, k)) for k, row in enumerate(rows, 2)
        )
        columns = {c.field: i for i, c in enumerate(spec.columns, 1)}
        layouts[spec.key] = SheetLayout(spec, title, 1, columns, len(columns), 1 + len(rows))
    return Book(
        Path("literal-rows.xlsx"),
        typed["pool"],
        typed["opportunities"],
        typed["activities"],
        typed["reps"],
        layouts,
        tuple(spec.title(lang) for spec in SHEETS),
        False,
        row_numbers={key: list(range(2, 2 + len(rows))) for key, rows in typed.items()},
    )


def settings(**sections: Mapping[str, Any]) -> Config:
    """The default Config with some settings changed, by section: settings(pool={"enforce":
    "revert"}, general={"language": "en"})."""
    cfg = Config()
    changed = {
        name: dataclasses.replace(getattr(cfg, name), **values) for name, values in sections.items()
    }
    return dataclasses.replace(cfg, **changed)


def context_of(
    book: Book,
    *,
    today: str | dt.date = TODAY,
    cfg: Config | None = None,
    pool_log: Sequence[Sequence[Any]] = (),
    stage_log: Sequence[Sequence[Any]] = (),
) -> Context:
    """What the rules read for a sync of `book` on `today`; the logs as rows in their sheets'
    column order (PoolLog: time, customer, action, rep, reason, old value; StageLog: time,
    opportunity, from, to, result, reason, owner). No log rows: a first sync."""
    day = dt.date.fromisoformat(today) if isinstance(today, str) else today
    return build_context(
        book,
        cfg or settings(general={"language": _lang(book)}),
        day,
        dt.datetime.combine(day, dt.time()),
        PoolState.from_rows([list(r) for r in pool_log]),
        StageState.from_rows([list(r) for r in stage_log]),
    )


def rendered(said: Said | str, lang: str = "zh") -> str:
    """A rule's text as the plan writes it: a Said rendered in `lang`, a str as it is."""
    return said if isinstance(said, str) else said.render(lang)


def _lang(book: Book) -> str:
    return "zh" if book.layouts["pool"].name == POOL.title("zh") else "en"
