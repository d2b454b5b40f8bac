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


today_option = click.option(
    "--today",
    "today",
    metavar="YYYY-MM-DD",
    default=None,
    help="Run as if today were this date (tests, back-fills).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@config_option
def init(path: Path, cfg: Config) -> None:
    """Create a new, empty ledger at PATH (refuses to overwrite an existing file).

    \b
    Example:
      funnel-sync init workbooks/team.xlsx
    """
    from funnel_sync.init import create_ledger

    try:
        create_ledger(path, cfg)
    except FileExistsError:
        raise Failure(
            f"{path}: already exists; choose a new file name "
            "(funnel-sync never overwrites a workbook)"
        ) from None
    except OSError as e:
        raise Failure(f"{path}: cannot write: {e.strerror or e}") from None
    click.echo(f"{path}: " + ("已创建空白台账" if cfg.lang == "zh" else "new ledger created"))


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
    if cfg.lang == "zh":
        click.echo(
            f"{path}: 演示团队 {counts['reps']} 名销售, {counts['pool']} 个客户, "
            f"{counts['opportunities']} 个机会, {counts['activities']} 条跟进记录"
        )
    else:
        click.echo(
            f"{path}: demo team of {counts['reps']} reps, {counts['pool']} customers, "
            f"{counts['opportunities']} opportunities, {counts['activities']} activities"
        )


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: like a compiler; json: an array of problems.",
)
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
    from funnel_sync.problems import count, format_json, format_text
    from funnel_sync.read import read_book

    day = parse_today(today)
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


if __name__ == "__main__":  # pragma: no cover
    main()
