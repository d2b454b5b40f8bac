"""The `funnel-sync` command: parse options, call one library function, print, exit 0/1/2."""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from funnel_sync import config as config_mod
from funnel_sync.config import Config, ConfigError
from funnel_sync.read import WorkbookError
from funnel_sync.texts import text

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class Failure(click.ClickException):
    """A user-facing error: one clear line on stderr, exit code 2, never a traceback."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"funnel-sync: {self.format_message()}", err=True)


def config_option(func: F) -> F:
    """--config FILE on every command; ./config.toml when present, else built-in defaults."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Settings file (default: ./config.toml if present).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, config_path: Path | None, **kwargs: Any) -> Any:
        try:
            cfg = config_mod.load(config_path or config_mod.default_path())
        except ConfigError as e:
            raise Failure(str(e)) from None
        return func(*args, cfg=cfg, **kwargs)

    return wrapper  # type: ignore[return-value]


def parse_today(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Failure(f"--today {value!r}: expected a date as YYYY-MM-DD") from None


def format_option(help: str) -> Callable[[F], F]:
    """--format text|json, shared by the commands that print problems."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help=help,
    )


today_option = click.option(
    "--today",
    "today",
    metavar="YYYY-MM-DD",
    default=None,
    help="Run as if today were this date (tests, back-fills).",
)


class _Commands(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # not click's "Aborted!" with exit 1, which would read as "data problems found"
            click.echo("funnel-sync: interrupted; the workbook was not changed", err=True)
            ctx.exit(130)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="funnel_sync")
def main() -> None:
    """funnel_sync runs beside a sales team's Excel workbook: it checks every row, enforces the
    sales funnel, writes reminders back and reports weekly.

    \b
    Examples:
      funnel-sync init workbooks/team.xlsx
      funnel-sync demo workbooks/demo.xlsx --seed 7
      funnel-sync check workbooks/demo.xlsx --format json
    """


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option(
    "--into",
    "into",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Add the ledger's sheets and missing columns to this existing workbook instead.",
)
@click.option("--dry-run", is_flag=True, help="With --into: show what would be added.")
@config_option
def init(path: Path | None, into: Path | None, dry_run: bool, cfg: Config) -> None:
    """Create a new, empty ledger at PATH (refuses to overwrite an existing file), or add the
    ledger to the team's own workbook with --into, keeping everything already in it.

    \b
    Examples:
      funnel-sync init workbooks/team.xlsx
      funnel-sync init --into 销售台账.xlsx
    """
    lang = cfg.lang
    if (path is None) == (into is None):
        raise Failure("give either PATH (a new ledger) or --into EXISTING.xlsx")
    if into is not None:
        from funnel_sync import xlsx
        from funnel_sync.adopt import adopt_workbook

        try:
            result = adopt_workbook(into, cfg, dry_run=dry_run)
        except (WorkbookError, xlsx.WriteError) as e:
            raise Failure(str(e)) from None
        added = [*result.sheets_created, *(f"{c.sheet}!{c.header}" for c in result.columns_added)]
        if not added:
            click.echo(text("cli.init.complete", lang, path=into))
        else:
            code = "cli.init.would_add" if dry_run else "cli.init.added"
            click.echo(text(code, lang, path=into, added=", ".join(added)))
        return
    assert path is not None
    from funnel_sync.init import create_ledger

    try:
        create_ledger(path, cfg)
    except FileExistsError:
        raise Failure(
            f"{path}: already exists; choose a new file name (funnel-sync never overwrites "
            "a workbook; use --into to add the ledger to it)"
        ) from None
    except OSError as e:
        raise Failure(f"{path}: cannot write: {e.strerror or e}") from None
    click.echo(text("cli.init.created", lang, path=path))


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same workbook.")
@click.option("--reps", type=click.IntRange(1, 2000), default=None, help="Reps (default 8).")
@click.option(
    "--customers",
    type=click.IntRange(1, 1_000_000),
    default=None,
    help="Customers in the pool (default 240, or 40% of the opportunities).",
)
@click.option(
    "--opportunities",
    type=click.IntRange(0, 1_000_000),
    default=None,
    help="Opportunities (default 200).",
)
@click.option(
    "--weeks", type=click.IntRange(1, 520), default=None, help="Weeks of history (default 8)."
)
@today_option
@config_option
def demo(
    path: Path,
    seed: int,
    reps: int | None,
    customers: int | None,
    opportunities: int | None,
    weeks: int | None,
    today: str | None,
    cfg: Config,
) -> None:
    """Build a realistic, deterministic demo team's workbook at PATH.

    \b
    Example:
      funnel-sync demo workbooks/demo.xlsx --seed 7 --opportunities 100000
    """
    from funnel_sync.demo import DemoSize, create_demo

    day = parse_today(today)
    size = DemoSize.scaled(reps, customers, opportunities, weeks)
    try:
        team = create_demo(path, cfg, size, seed, day)
    except FileExistsError:
        raise Failure(f"{path}: already exists; delete it or choose another name") from None
    except OSError as e:
        raise Failure(f"{path}: cannot write: {e.strerror or e}") from None
    counts = {k: len(v) for k, v in team.rows.items()}
    click.echo(
        text(
            "cli.demo.created",
            cfg.lang,
            path=path,
            reps=counts["reps"],
            customers=counts["pool"],
            opportunities=counts["opportunities"],
            activities=counts["activities"],
        )
    )


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@format_option("text: like a compiler; json: an array of problems.")
@today_option
@config_option
def check(path: Path, fmt: str, today: str | None, cfg: Config) -> None:
    """Validate every row of the workbook at PATH; print problems as `销售机会!F12: ...`.

    Exit code 0: no errors (warnings allowed); 1: data errors; 2: unusable file or settings.

    \b
    Example:
      funnel-sync check workbooks/demo.xlsx --format json
    """
    from funnel_sync.checks import validate
    from funnel_sync.gcpause import gc_paused
    from funnel_sync.problems import count, format_json, format_text
    from funnel_sync.read import read_book

    day = parse_today(today)
    with gc_paused():
        try:
            book = read_book(path, cfg)
        except WorkbookError as e:
            raise Failure(str(e)) from None
        _, problems = validate(book, cfg, day)
    if fmt == "json":
        click.echo(format_json(problems))
    else:
        click.echo(format_text(problems, lang=cfg.lang))
    errors, _ = count(problems)
    sys.exit(EXIT_PROBLEMS if errors else EXIT_OK)


#: The summary keys `sync` prints as text, in the summary's order: each is `summary.<key>` in
#: funnel_sync/texts.py; errors and cells_changed are printed even when 0.
def summary_keys() -> tuple[str, ...]:
    """sync's counts (sync.SUMMARY_KEYS, the one list) and the totals after them."""
    from funnel_sync.sync import SUMMARY_KEYS

    return (*SUMMARY_KEYS, "today_items", "errors", "warnings", "cells_changed")


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@today_option
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@format_option("text: summary and problems; json: one object.")
@config_option
def sync(path: Path, today: str | None, dry_run: bool, fmt: str, cfg: Config) -> None:
    """The nightly pass: check every row, enforce stage moves and the pool, write reminders,
    the 校验 column, the logs and the Today list back into the workbook at PATH.

    Exit code 0: no errors; 1: data errors (written to 校验); 2: unusable file, or the workbook
    is open, changed meanwhile, read-only or the disk is full (nothing written).

    \b
    Example:
      funnel-sync sync workbooks/demo.xlsx --today 2026-11-30 --dry-run
    """
    import json

    from funnel_sync import xlsx
    from funnel_sync.problems import format_json, format_text
    from funnel_sync.sync import run_sync

    day = parse_today(today)
    now = dt.datetime.now() if today is None else dt.datetime.combine(day, dt.time())
    progress = _progress(fmt == "text")
    try:
        result = run_sync(path, cfg, day, now=now, dry_run=dry_run, progress=progress)
    except WorkbookError as e:
        raise Failure(str(e)) from None
    except xlsx.WriteError as e:
        raise Failure(str(e)) from None
    finally:
        progress(None)
    summary = result.summary()
    if fmt == "json":
        changes = (
            [
                {
                    "sheet": c.sheet,
                    "row": c.row,
                    "column": c.column,
                    "old": _jsonable(c.old),
                    "new": _jsonable(c.new),
                }
                for c in (result.write.changes if result.write else ())
            ]
            if dry_run
            else None
        )
        payload: dict[str, Any] = {
            "summary": summary,
            "dry_run": dry_run,
            "problems": json.loads(format_json(result.problems)),
        }
        if changes is not None:
            payload["changes"] = changes
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        if result.problems:
            click.echo(format_text(result.problems, lang=cfg.lang))
        lang, printed = cfg.lang, summary_keys()
        for key, value in summary.items():
            if key in printed and (value or key in ("errors", "cells_changed")):
                click.echo(f"  {text(f'summary.{key}', lang)}: {value}")
        if dry_run:
            click.echo(text("cli.sync.dry_run", lang))
            for c in result.write.changes[:50] if result.write else ():
                click.echo(f"  {c.sheet}!{_letter(c.column)}{c.row}: {c.old!r} → {c.new!r}")
        elif result.write and result.write.written:
            click.echo(text("cli.sync.written", lang, path=path))
        else:
            click.echo(text("cli.sync.unchanged", lang, path=path))
    sys.exit(EXIT_PROBLEMS if result.errors else EXIT_OK)


def _letter(column: int) -> str:
    from funnel_sync.problems import column_letter

    return column_letter(column)


def _jsonable(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _progress(enabled: bool) -> Callable[[str | None], None]:
    """A one-line status on stderr while the long steps run (only on a terminal)."""
    if not (enabled and sys.stderr.isatty()):
        return lambda step: None
    from rich.console import Console

    console = Console(stderr=True)
    status = console.status("")
    state = {"started": False}

    def show(step: str | None) -> None:
        if step is None:
            if state["started"]:
                status.stop()
            return
        status.update(f"funnel-sync: {step}…")
        if not state["started"]:
            status.start()
            state["started"] = True

    return show


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder the report files are written to (created when missing).",
)
@today_option
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language of the report (default: general.language).",
)
@click.option(
    "--rep",
    "reps",
    multiple=True,
    metavar="NAME",
    help="Also write this rep's own report (repeatable).",
)
@click.option("--per-rep", is_flag=True, help="Also write every rep's own report.")
@click.option(
    "--templates",
    "templates",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Folder with report.html.j2 and report.xlsx (default: the shipped templates/).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json"]),
    default="html",
    show_default=True,
    help="html: the HTML and the Excel report; json: also a .json of the same figures beside "
    "each (for a BI tool or a script).",
)
@config_option
def report(
    path: Path,
    out_dir: Path,
    today: str | None,
    lang: str | None,
    reps: tuple[str, ...],
    per_rep: bool,
    templates: Path | None,
    fmt: str,
    cfg: Config,
) -> None:
    """Write the weekly funnel report for the 7 days ending on the report date:
    DIR/funnel-report-YYYY-Www.html (e-mail-safe) and .xlsx (from the Excel template), and
    DIR/funnel-report-YYYY-Www-NAME.* per rep with --rep NAME or --per-rep; with
    --format json also the figures as DIR/funnel-report-YYYY-Www[-NAME].json.

    \b
    Example:
      funnel-sync report workbooks/demo.xlsx --out reports --today 2026-11-30 --per-rep
      funnel-sync report workbooks/demo.xlsx --out reports --format json
    """
    from funnel_sync.report import ReportError, make_report

    day = parse_today(today)
    progress = _progress(True)
    try:
        result = make_report(
            path,
            cfg,
            day,
            out_dir,
            lang=lang,
            reps=reps,
            per_rep=per_rep,
            templates=templates,
            progress=progress,
            with_json=fmt == "json",
        )
    except (WorkbookError, ReportError) as e:
        raise Failure(str(e)) from None
    except OSError as e:
        raise Failure(f"{out_dir}: cannot write: {e.strerror or e}") from None
    finally:
        progress(None)
    for file in result.files:
        click.echo(str(file))


class _StderrLog:
    """While a command runs: funnel_sync's log lines (retries, warnings) as `funnel-sync: …`
    on stderr."""

    def __init__(self, level: int) -> None:
        import logging

        class Echo(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                click.echo(f"funnel-sync: {record.getMessage()}", err=True)

        self.logger = logging.getLogger("funnel_sync")
        self.handler = Echo(level)
        self.level = level

    def __enter__(self) -> None:
        self.saved = self.logger.level
        if self.logger.getEffectiveLevel() > self.level:
            self.logger.setLevel(self.level)
        self.logger.addHandler(self.handler)

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.saved)


@main.command("email")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@today_option
@click.option(
    "--dry-run",
    is_flag=True,
    help="Write the messages as .eml files beside the reports; send nothing.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of the reports and .eml files (default: schedule.report_dir, taken from "
    "the workbook's folder when relative).",
)
@config_option
def email_cmd(
    path: Path, today: str | None, dry_run: bool, out_dir: Path | None, cfg: Config
) -> None:
    """Make the week's reports for the workbook at PATH and e-mail them over SMTP ([email] in
    config.toml): the team report to every manager (Reps sheet 经理 = 是) and
    email.extra_recipients, each rep their own report (scorecard, call list, overdue items);
    HTML body, plain-text alternative, the Excel report attached. The SMTP password comes from
    the environment variable named by email.password_env.

    Exit code 0: all sent (a rep without an address is a warning); 1: some recipients missed
    after email.retries attempts (listed); 2: settings, workbook or report unusable.

    \b
    Example:
      FUNNEL_SYNC_SMTP_PASSWORD=… funnel-sync email workbooks/demo.xlsx --today 2026-11-30
      funnel-sync email workbooks/demo.xlsx --dry-run --out outbox
    """
    from funnel_sync.mail import MailConfigError, deliver, report_dir
    from funnel_sync.report import ReportError

    day = parse_today(today)
    folder = out_dir or report_dir(cfg, path)
    lang = cfg.lang
    with _StderrLog(30):  # WARNING: retries, reps without an address
        try:
            result = deliver(path, cfg, day, folder, dry_run=dry_run)
        except (MailConfigError, WorkbookError, ReportError) as e:
            raise Failure(str(e)) from None
        except OSError as e:
            raise Failure(f"{folder}: cannot write: {e.strerror or e}") from None
    if dry_run:
        for eml, o in zip(result.eml, result.plan.outgoing, strict=True):
            click.echo(f"{eml}: {o.subject} → {', '.join(o.recipients)}")
        click.echo(text("cli.email.dry_run", lang))
        sys.exit(EXIT_OK)
    assert result.sent is not None
    for d in result.sent.deliveries:
        if d.sent:
            to = ", ".join(d.sent)
            click.echo(text("cli.email.sent", lang, subject=d.outgoing.subject, to=to))
    missed = result.missed
    for o, addr, why in missed:
        click.echo(text("cli.email.missed", lang, subject=o.subject, to=addr, why=why))
    if not result.plan.outgoing:
        click.echo(text("cli.email.nothing", lang))
    sys.exit(EXIT_PROBLEMS if missed else EXIT_OK)


@main.command("schedule")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option(
    "--once",
    is_flag=True,
    help="Run what is due now (a missed nightly sync or weekly report) and exit: for cron.",
)
@config_option
def schedule_cmd(path: Path | None, once: bool, cfg: Config) -> None:
    """Run the schedule of the workbook at PATH (default: schedule.workbook): the nightly sync
    at schedule.sync_at, the weekly report and e-mail on schedule.report_weekday at
    schedule.report_at. One instance per workbook (a lock file); a run missed while the machine
    was off is caught up at start; every run is logged to schedule.log_file; SIGTERM or Ctrl-C
    stop it cleanly after the run in progress.

    Exit code 0: stopped cleanly (--once: every run due succeeded, or none was due); 1: --once
    and a run failed or missed recipients; 2: settings, or another instance already runs.

    \b
    Example:
      funnel-sync schedule --config /srv/sales/config.toml
      funnel-sync schedule workbooks/demo.xlsx --once
    """
    from funnel_sync.scheduler import ScheduleError, Scheduler, resolve_workbook

    try:
        workbook = resolve_workbook(cfg, path)
        scheduler = Scheduler(cfg, workbook=workbook)
        with scheduler, _StderrLog(20):  # INFO on stderr: every run's start and end
            if once:
                records = scheduler.run_due()
                if not records:
                    click.echo(text("schedule.nothing_due", cfg.lang, log=scheduler.log_path))
                failed = [r for r in records if r.outcome != "ok"]
                sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)
            scheduler.serve()
    except ScheduleError as e:
        raise Failure(str(e)) from None


if __name__ == "__main__":  # pragma: no cover
    main()
