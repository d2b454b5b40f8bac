"""Settings as a declarative table: defaults, help, validation of config.toml (tomllib)."""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funnel_sync.model import Evidence, Stage
from funnel_sync.schema import SHEETS, Sheet

STAGE_KEYS = ("D", "C", "B", "A", "won")
OPEN_STAGE_KEYS = ("D", "C", "B", "A")
#: What config.toml may name as evidence: the owner being set, or an evidence column.
EVIDENCE_FIELDS = ("owner", *Evidence._fields)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PHASES = ("training", "months_0_3", "months_3_6", "months_6_9", "months_9_plus")


class ConfigError(Exception):
    """A setting is unknown, of the wrong type or impossible; the message names key and line."""


class _Invalid(Exception):
    pass


Check = Callable[[Any], Any]


def setting(default: Any, help: str, check: Check) -> Any:
    """One row of the settings table: default, one line of help, and the validator."""
    meta = {"help": help, "check": check}
    if isinstance(default, dict | list):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


# ---- validators: each returns the value (normalised) or raises _Invalid(expected) ----


def integer(lo: int | None = None, hi: int | None = None) -> Check:
    def check(v: Any) -> int:
        if type(v) is not int:
            raise _Invalid(f"an integer, got {_show(v)}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise _Invalid(f"an integer in {lo if lo is not None else '-∞'}..{hi or '∞'}, got {v}")
        return v

    return check


def number(lo: float, hi: float) -> Check:
    def check(v: Any) -> float:
        if type(v) not in (int, float):
            raise _Invalid(f"a number, got {_show(v)}")
        if not lo <= v <= hi:
            raise _Invalid(f"a number in {lo}..{hi}, got {v}")
        return float(v)

    return check


def boolean(v: Any) -> bool:
    if type(v) is not bool:
        raise _Invalid(f"true or false, got {_show(v)}")
    return bool(v)


def text(v: Any) -> str:
    if not isinstance(v, str):
        raise _Invalid(f"a string, got {_show(v)}")
    return v


def choice(*options: str) -> Check:
    def check(v: Any) -> str:
        if v not in options:
            raise _Invalid(f"one of {', '.join(map(repr, options))}, got {_show(v)}")
        return str(v)

    return check


def clock(v: Any) -> str:
    if not isinstance(v, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
        raise _Invalid(f'a time "HH:MM", got {_show(v)}')
    return v


def text_list(v: Any) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _Invalid(f"a list of strings, got {_show(v)}")
    return list(v)


def stage_map(keys: tuple[str, ...], item: Check, *, partial: bool = True) -> Check:
    """A table keyed by class (D, C, B, A, won…); a partial table keeps the other defaults."""

    def check(v: Any) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise _Invalid(f"a table with keys {', '.join(keys)}, got {_show(v)}")
        out: dict[str, Any] = {}
        for k, x in v.items():
            if k not in keys:
                raise _Invalid(f"keys among {', '.join(keys)}, got unknown key {k!r}")
            try:
                out[k] = item(x)
            except _Invalid as e:
                raise _Invalid(f"[{k}] {e}") from None
        return out

    check.partial = partial  # type: ignore[attr-defined]
    return check


def evidence_list(v: Any) -> list[str]:
    items = text_list(v)
    for x in items:
        if x not in EVIDENCE_FIELDS:
            raise _Invalid(f"evidence among {', '.join(EVIDENCE_FIELDS)}, got {x!r}")
    return items


def goals(v: Any) -> list[dict[str, Any]]:
    if not isinstance(v, list):
        raise _Invalid(f"a list of {{class, at_least, label}} tables, got {_show(v)}")
    out = []
    for i, g in enumerate(v):
        if not isinstance(g, dict) or set(g) - {"class", "at_least", "label"}:
            raise _Invalid(f"goal {i + 1}: a table with keys class, at_least, label")
        if g.get("class") not in STAGE_KEYS:
            raise _Invalid(f"goal {i + 1}: class is one of {', '.join(STAGE_KEYS)}")
        n = g.get("at_least")
        if type(n) is not int or n < 0:
            raise _Invalid(f"goal {i + 1}: at_least is a whole number ≥ 0")
        out.append({"class": g["class"], "at_least": n, "label": str(g.get("label", ""))})
    return out


def sheet_names(v: Any) -> dict[str, str]:
    keys = tuple(s.key for s in SHEETS)
    if not isinstance(v, dict):
        raise _Invalid("a table of sheet key = name")
    for k, x in v.items():
        if k not in keys:
            raise _Invalid(f"sheet keys among {', '.join(keys)}, got unknown key {k!r}")
        if not isinstance(x, str) or not x.strip():
            raise _Invalid(f"[{k}] a non-empty sheet name")
    return dict(v)


def header_names(v: Any) -> dict[str, dict[str, str]]:
    if not isinstance(v, dict):
        raise _Invalid("tables [headers.<sheet>] of field = header")
    sheets = {s.key: s for s in SHEETS}
    for k, table in v.items():
        if k not in sheets:
            raise _Invalid(f"sheet keys among {', '.join(sheets)}, got unknown key {k!r}")
        if not isinstance(table, dict):
            raise _Invalid(f"[headers.{k}] a table of field = header")
        fields = {c.field for c in sheets[k].columns}
        for f, h in table.items():
            if f not in fields:
                raise _Invalid(
                    f"[headers.{k}] fields among {', '.join(sorted(fields))}, "
                    f"got unknown field {f!r}"
                )
            if not isinstance(h, str) or not h.strip():
                raise _Invalid(f"[headers.{k}.{f}] a non-empty header text")
    return {k: dict(t) for k, t in v.items()}


def _show(v: Any) -> str:
    kind = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "table",
    }.get(type(v), type(v).__name__)
    shown = repr(v) if not isinstance(v, dict | list) else ""
    return f"{kind} {shown}".strip()


def phase_table(v: Any) -> dict[str, Any]:
    """A roadmap phase; keys it does not name keep their defaults (goals are replaced whole)."""
    return _phase(v)


phase_table.partial = True  # type: ignore[attr-defined]

_PHASE_NUMBERS = (
    "profiles_per_week",
    "prospecting_hours_per_week",
    "visit_hours_per_week",
    "visits_per_week",
    "pipeline_coverage_pct",
    "quarter_target_pct",
    "annual_target_pct",
)


def _phase(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise _Invalid("a table of work standards and goals")
    out: dict[str, Any] = {}
    for k, x in v.items():
        if k == "goals":
            out[k] = goals(x)
        elif k in _PHASE_NUMBERS:
            out[k] = number(0, 10_000)(x)
        else:
            raise _Invalid(f"keys among goals, {', '.join(_PHASE_NUMBERS)}; got unknown key {k!r}")
    return out


# ---- the settings table ----


@dataclass(frozen=True)
class General:
    language: str = setting(
        "zh", "Language of sheets, messages and reports: zh or en.", choice("zh", "en")
    )
    date_order: str = setting(
        "mdy",
        "How 3/5/2024 typed as text is read: mdy (March 5) or dmy (3 May).",
        choice("mdy", "dmy"),
    )
    country: str = setting(
        "CN", "Country of the public holidays and working days (ISO code).", text
    )
    count_days: str = setting(
        "calendar",
        "Count days in stage and overdue days as calendar or working days "
        "(working: the country's working days, China's make-up days included).",
        choice("calendar", "working"),
    )


@dataclass(frozen=True)
class Stages:
    cadence_days: dict[str, int] = setting(
        {"D": 14, "C": 7, "B": 5, "A": 3, "won": 30},
        "Contact cadence per confirmed class: next contact due this many days after the last.",
        stage_map(STAGE_KEYS, integer(1, 366)),
    )
    target_days: dict[str, int] = setting(
        {"D": 14, "C": 30, "B": 30, "A": 21},
        "Planned days in each class; longer is 'stalled'.",
        stage_map(OPEN_STAGE_KEYS, integer(1, 3660)),
    )
    probability: dict[str, int] = setting(
        {"D": 10, "C": 25, "B": 50, "A": 80, "won": 100},
        "Win probability per class in percent, for the weighted pipeline.",
        stage_map(STAGE_KEYS, integer(0, 100)),
    )
    evidence: dict[str, list[str]] = setting(
        {
            "D": ["owner"],
            "C": ["influencer_contacted", "need_confirmed"],
            "B": ["quoted"],
            "A": ["contract_sent"],
            "won": ["signed"],
        },
        "Evidence columns that must say yes to enter each class (and every class skipped).",
        stage_map(STAGE_KEYS, evidence_list),
    )


@dataclass(frozen=True)
class Pool:
    max_owned_per_rep: int = setting(200, "Most customers one rep may own.", integer(1))
    max_claims_per_day: int = setting(20, "Most customers one rep may claim in a day.", integer(1))
    won_counts_toward_cap: bool = setting(
        False, "Whether customers with a won opportunity count toward max_owned_per_rep.", boolean
    )
    reclaim_cooldown_days: int = setting(
        7, "Days before a rep may claim again a customer they released or lost.", integer(0)
    )
    recycle_after_days: dict[str, int] = setting(
        {"none": 30, "D": 30, "C": 30, "B": 45, "A": 60},
        "Days without the owner's activity before a customer returns to the pool, by the "
        "highest open class of its opportunities (none: no open opportunity).",
        stage_map(("none", *OPEN_STAGE_KEYS), integer(1)),
    )
    warn_before_recycle_days: int = setting(
        3, "Warn the owner this many days before an automatic recycle.", integer(0)
    )
    enforce: str = setting(
        "flag",
        "flag: report rule breaks; revert: also restore the previous owner (logged).",
        choice("flag", "revert"),
    )


@dataclass(frozen=True)
class Reminders:
    lookahead_days: int = setting(
        7,
        "Important days (birthdays, anniversaries, holidays) this many days ahead.",
        integer(0, 366),
    )
    upsell_after_days: int = setting(
        90, "Prompt an upsell to a won customer this many days after the win.", integer(1)
    )
    far_future_years: int = setting(
        5,
        "A date more than this many years ahead is a warning (a typo in the year?).",
        integer(1, 100),
    )


@dataclass(frozen=True)
class Roadmap:
    training_months: int = setting(
        1, "Months of training after the start date when 培训期结束 is blank.", integer(0, 24)
    )
    training: dict[str, Any] = setting(
        {
            "goals": [
                {"class": "C", "at_least": 20, "label": "目标客户"},
                {"class": "B", "at_least": 5, "label": "潜在客户"},
            ]
        },
        "Training phase: goals as 'at least N at class X or better'.",
        phase_table,
    )
    months_0_3: dict[str, Any] = setting(
        {
            "profiles_per_week": 10,
            "prospecting_hours_per_week": 8,
            "visit_hours_per_week": 10,
            "goals": [
                {"class": "B", "at_least": 15, "label": "意向客户"},
                {"class": "A", "at_least": 3, "label": "确认意向"},
                {"class": "A", "at_least": 1, "label": "赢得认可"},
            ],
        },
        "Months 0–3 with quota: weekly work standards and goals.",
        phase_table,
    )
    months_3_6: dict[str, Any] = setting(
        {
            "visits_per_week": 6,
            "prospecting_hours_per_week": 10,
            "pipeline_coverage_pct": 45,
            "quarter_target_pct": 100,
            "goals": [
                {"class": "B", "at_least": 8, "label": "意向客户"},
                {"class": "A", "at_least": 4, "label": "赢得认可"},
                {"class": "won", "at_least": 1, "label": "销售实现"},
            ],
        },
        "Months 3–6: weekly work standards and goals.",
        phase_table,
    )
    months_6_9: dict[str, Any] = setting(
        {
            "visits_per_week": 10,
            "prospecting_hours_per_week": 4,
            "pipeline_coverage_pct": 75,
            "annual_target_pct": 50,
            "goals": [
                {"class": "A", "at_least": 8, "label": "赢得认可"},
                {"class": "A", "at_least": 4, "label": "商务沟通"},
            ],
        },
        "Months 6–9: weekly work standards and goals.",
        phase_table,
    )
    months_9_plus: dict[str, Any] = setting(
        {"pipeline_coverage_pct": 150, "annual_target_pct": 100, "goals": []},
        "Months 9–12 and after: goals.",
        phase_table,
    )


@dataclass(frozen=True)
class Report:
    trailing_days: int = setting(
        90, "Window of the stage-to-stage conversion rates (days).", integer(7, 3660)
    )
    min_history: int = setting(
        10, "A rep with fewer logged moves than this uses the team's conversion rates.", integer(0)
    )
    currency: str = setting("¥", "Currency sign in reports.", text)
    html_rows: int = setting(
        10,
        "Rows per list in the HTML report (the e-mail body: short enough that Gmail does not "
        "clip it); the Excel report lists up to 100.",
        integer(1, 1000),
    )


@dataclass(frozen=True)
class Schedule:
    sync_at: str = setting("02:00", "Nightly sync time (HH:MM, local time).", clock)
    report_weekday: str = setting("monday", "Weekday of the report and e-mail.", choice(*WEEKDAYS))
    report_at: str = setting("07:30", "Time of the weekly report and e-mail.", clock)
    workbook: str = setting("", "Workbook the schedule runs on (path).", text)
    report_dir: str = setting("reports", "Folder the weekly reports are written to.", text)
    log_file: str = setting("funnel-sync.log", "Rotating log of every scheduled run.", text)
    log_backups: int = setting(5, "Rotated log files kept.", integer(0, 100))


@dataclass(frozen=True)
class Email:
    smtp_host: str = setting("localhost", "SMTP server host.", text)
    smtp_port: int = setting(587, "SMTP server port.", integer(1, 65535))
    security: str = setting("starttls", "none, starttls or tls.", choice("none", "starttls", "tls"))
    username: str = setting("", "SMTP login (blank: no login).", text)
    password_env: str = setting(
        "FUNNEL_SYNC_SMTP_PASSWORD",
        "Name of the environment variable holding the SMTP password (never the password).",
        text,
    )
    sender: str = setting("", "From address of the reports.", text)
    extra_recipients: list[str] = setting([], "Addresses that also get the team report.", text_list)
    retries: int = setting(
        3, "Attempts per message before it is reported as failed.", integer(1, 20)
    )


@dataclass(frozen=True)
class Writer:
    backend: str = setting(
        "file",
        "file: rewrite the .xlsx; xlwings: through a running Excel; auto: xlwings "
        "when the workbook is open in Excel, else file.",
        choice("file", "xlwings", "auto"),
    )
    backups: int = setting(
        7, "Backups kept in .funnel_sync/backups beside the workbook.", integer(0, 1000)
    )


@dataclass(frozen=True)
class Limits:
    max_file_mb: int = setting(200, "Refuse workbooks larger than this (MB on disk).", integer(1))
    max_unpacked_mb: int = setting(
        2048, "Refuse workbooks that unpack to more than this (MB; zip bombs).", integer(1)
    )
    max_rows: int = setting(1_048_576, "Refuse sheets with more rows.", integer(1, 1_048_576))


@dataclass(frozen=True)
class Config:
    general: General = field(default_factory=General)
    sheets: dict[str, str] = setting({}, "Sheet names used instead of the defaults.", sheet_names)
    headers: dict[str, dict[str, str]] = setting(
        {},
        "Column headers used instead of the defaults: [headers.<sheet>] field = header.",
        header_names,
    )
    stages: Stages = field(default_factory=Stages)
    pool: Pool = field(default_factory=Pool)
    reminders: Reminders = field(default_factory=Reminders)
    roadmap: Roadmap = field(default_factory=Roadmap)
    report: Report = field(default_factory=Report)
    schedule: Schedule = field(default_factory=Schedule)
    email: Email = field(default_factory=Email)
    writer: Writer = field(default_factory=Writer)
    limits: Limits = field(default_factory=Limits)
    path: Path | None = None  # where it was read from (None: built-in defaults)

    @property
    def lang(self) -> str:
        return self.general.language

    def sheet_title(self, spec: Sheet) -> str:
        """The sheet's name in this team's workbook: [sheets] mapping, else the language's."""
        return self.sheets.get(spec.key) or spec.title(self.lang)

    def header(self, spec: Sheet, field: str) -> str:
        """A column's header as this team writes it: [headers.<sheet>], else the language's."""
        return self.headers.get(spec.key, {}).get(field) or spec.column(field).header(self.lang)

    def cadence(self, stage: Stage) -> int | None:
        return self.stages.cadence_days.get(stage.key)

    def evidence_for(self, stage: Stage) -> list[str]:
        return self.stages.evidence.get(stage.key, [])


SECTIONS: dict[str, type[Any]] = {
    f.name: f.default_factory  # type: ignore[misc]
    for f in dataclasses.fields(Config)
    if f.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(f.default_factory)
}


def iter_settings() -> list[tuple[str, Any, str]]:
    """(dotted key, default, help) for every setting: for the docs and their test."""
    rows: list[tuple[str, Any, str]] = []
    for f in dataclasses.fields(Config):
        if f.name in SECTIONS:
            section = SECTIONS[f.name]()
            for g in dataclasses.fields(section):
                rows.append((f"{f.name}.{g.name}", getattr(section, g.name), g.metadata["help"]))
        elif "help" in f.metadata:
            rows.append((f.name, getattr(Config(), f.name), f.metadata["help"]))
    return rows


def load(path: Path | None) -> Config:
    """Read and validate a config.toml; None (or no file) gives the built-in defaults.

    A partial file overrides only the keys it names (per-class tables key by key)."""
    if path is None:
        return Config()
    try:
        raw_text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the config file: {e}") from None
    try:
        data = tomllib.loads(raw_text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return _build(data, raw_text, path)


def _build(data: Mapping[str, Any], raw_text: str, path: Path) -> Config:
    def fail(table: str, key: str, msg: str) -> ConfigError:
        line = _line_of(raw_text, table, key)
        where = f"{path}:{line}" if line else str(path)
        dotted = f"{table}.{key}" if table else key
        return ConfigError(f"{where}: {dotted}: {msg}")

    top: dict[str, Any] = {}
    top_fields = {f.name: f for f in dataclasses.fields(Config) if f.name != "path"}
    for name, value in data.items():
        if name not in top_fields:
            raise fail("", name, f"unknown setting (known: {', '.join(top_fields)})")
        if name in SECTIONS:
            if not isinstance(value, dict):
                raise fail("", name, f"expected a table [{name}]")
            top[name] = _section(SECTIONS[name], value, name, fail)
        else:
            f = top_fields[name]
            try:
                top[name] = f.metadata["check"](value)
            except _Invalid as e:
                raise fail("", name, f"expected {e}") from None
    return Config(**top, path=path)


def _section(
    cls: type[Any],
    values: Mapping[str, Any],
    table: str,
    fail: Callable[[str, str, str], ConfigError],
) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        f = fields.get(key)
        if f is None:
            raise fail(table, key, f"unknown setting (known: {', '.join(fields)})")
        check = f.metadata["check"]
        try:
            parsed = check(value)
        except _Invalid as e:
            raise fail(table, key, f"expected {e}") from None
        if getattr(check, "partial", False):
            parsed = {**getattr(defaults, key), **parsed}
        kwargs[key] = parsed
    return dataclasses.replace(defaults, **kwargs)


def _line_of(raw_text: str, table: str, key: str) -> int | None:
    """The line where `key` is set inside `[table]` (or inline as table.key), best effort."""
    current = ""
    pattern = re.compile(rf'^\s*("?){re.escape(key)}\1\s*=')
    for number, line in enumerate(raw_text.splitlines(), 1):
        header = re.match(r"^\s*\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            current = header.group(1).replace('"', "")
            if not table and current == key:
                return number
            continue
        if current == table and pattern.match(line):
            return number
        if (
            not current
            and table
            and re.match(rf"^\s*{re.escape(table)}\.{re.escape(key)}\s*=", line)
        ):
            return number
    return None


def default_path(cwd: Path | None = None) -> Path | None:
    """./config.toml when present, else None (the built-in defaults)."""
    candidate = (cwd or Path.cwd()) / "config.toml"
    return candidate if candidate.is_file() else None
