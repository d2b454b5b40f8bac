"""The long-running schedule: the nightly sync and the weekly report + e-mail.

- **When**: `schedule` triggers the jobs (`every().day.at(sync_at)`,
  `every().<weekday>.at(report_at)`). `schedule` reads the time from `datetime.datetime.now()`
  inside its own module; the Scheduler's `clock` is handed to it by swapping that module's
  `datetime` for a copy whose `now()` asks the clock, only while the Scheduler calls into
  `schedule`. So the library's own code decides when a job fires, and tests drive it with a
  fake clock and a fake `sleep` (which moves the clock) without waiting or patching anything
  themselves.
- **Whether**: a state file remembers when each job last ran. A job runs only when its latest
  scheduled time is later than that (`due`), which also finds the run missed while the machine
  was off (caught up once at start, however many were missed) and makes `--once` (cron) safe
  to call as often as one likes.
- **One at a time**: a lock file holding PID and host; a lock of a dead PID on this host is
  taken over (logged), anything else keeps a second instance out (`LockHeld`).
- **A log of every run**: start, end, outcome, counts, in a rotating log file; a failing run is
  logged and the loop goes on; SIGTERM / Ctrl-C finish the current run, then stop (a second
  Ctrl-C stops at once).

Files, in a `.funnel_sync/` folder beside the workbook: `schedule-state.json`,
`schedule.lock` and (when schedule.log_file is relative) the log.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import logging.handlers
import os
import signal
import socket
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import schedule as schedule_lib

from funnel_sync.config import WEEKDAYS, Config

log = logging.getLogger("funnel_sync.schedule")

JOBS = ("nightly", "weekly")
JOB_NAMES = {"nightly": "nightly sync", "weekly": "weekly report"}
#: At the very first start a job whose time passed less than this long ago still runs (cron
#: starting `schedule --once` at the job's time); older ones are not "missed".
FIRST_RUN_GRACE = dt.timedelta(hours=1)
#: The loop looks at the clock at least this often (a machine waking from sleep).
MAX_WAIT = 60.0
LOG_MAX_BYTES = 1_000_000
STATE_FILE = "schedule-state.json"
LOCK_FILE = "schedule.lock"

Clock = Callable[[], dt.datetime]


class ScheduleError(Exception):
    """The schedule cannot start (no workbook, unusable paths): a clear one-line message."""


class LockHeld(ScheduleError):
    """Another instance runs the schedule of this workbook."""


# ---- when is a job due ----


def _at(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def latest_occurrence(job: str, cfg: Config, now: dt.datetime) -> dt.datetime:
    """The job's most recent scheduled time at or before `now` (local, naive)."""
    s = cfg.schedule
    if job == "nightly":
        at = dt.datetime.combine(now.date(), _at(s.sync_at))
        return at if at <= now else at - dt.timedelta(days=1)
    if job == "weekly":
        back = (now.weekday() - WEEKDAYS.index(s.report_weekday)) % 7
        at = dt.datetime.combine(now.date() - dt.timedelta(days=back), _at(s.report_at))
        return at if at <= now else at - dt.timedelta(days=7)
    raise ValueError(job)


def next_occurrence(job: str, cfg: Config, now: dt.datetime) -> dt.datetime:
    """The job's first scheduled time after `now`."""
    step = dt.timedelta(days=1 if job == "nightly" else 7)
    return latest_occurrence(job, cfg, now) + step


# ---- what a job does ----


@dataclass
class JobResult:
    """What a run did: counts for the log; complete=False when part of it failed (an e-mail
    recipient missed) although the run itself finished."""

    counts: dict[str, Any] = field(default_factory=dict)
    complete: bool = True
    note: str = ""


class Runner(Protocol):
    def nightly(self, today: dt.date) -> JobResult: ...

    def weekly(self, today: dt.date) -> JobResult: ...


SYNC_COUNTS = (
    "moves_accepted",
    "moves_rejected",
    "claims",
    "recycles",
    "overdue",
    "today_items",
    "errors",
    "warnings",
    "cells_changed",
)


class WorkbookRunner:
    """The real jobs: run_sync on the workbook; make the week's reports in report_dir and
    e-mail them (only the reports when email.sender is blank)."""

    def __init__(self, cfg: Config, workbook: Path, report_dir: Path, clock: Clock) -> None:
        self.cfg, self.workbook, self.report_dir, self.clock = cfg, workbook, report_dir, clock

    def nightly(self, today: dt.date) -> JobResult:
        from funnel_sync.sync import run_sync

        result = run_sync(self.workbook, self.cfg, today, now=self.clock())
        summary = result.summary()
        counts = {k: summary[k] for k in SYNC_COUNTS if k in summary}
        counts["written"] = summary.get("written", False)
        return JobResult(counts)

    def weekly(self, today: dt.date) -> JobResult:
        from funnel_sync.mail import deliver
        from funnel_sync.report import make_report

        if not self.cfg.email.sender.strip():
            report = make_report(self.workbook, self.cfg, today, self.report_dir, per_rep=True)
            return JobResult(
                {"files": len(report.files), "sent": 0},
                note="email.sender is blank: reports written, no e-mail sent",
            )
        result = deliver(self.workbook, self.cfg, today, self.report_dir)
        made = result.plan.report
        missed = result.missed
        counts = {
            "files": len(made.files) if made else 0,
            "messages": len(result.plan.outgoing),
            "sent": result.sent.sent if result.sent else 0,
            "missed": len(missed),
            "warnings": len(result.plan.warnings),
        }
        note = ", ".join(f"{addr} ({why})" for _, addr, why in missed)
        return JobResult(counts, complete=not missed, note=f"missed: {note}" if note else "")


# ---- the state and the lock ----


@dataclass
class RunRecord:
    job: str
    occurrence: dt.datetime
    started: dt.datetime
    finished: dt.datetime
    outcome: str  # ok, incomplete, failed
    counts: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("occurrence", "started", "finished"):
            d[k] = d[k].isoformat()
        return d


class State:
    """schedule-state.json: `since` (the first start, less FIRST_RUN_GRACE) and the last run
    of each job. Written atomically; an unreadable file starts afresh (logged)."""

    def __init__(self, path: Path, now: dt.datetime) -> None:
        self.path = path
        self.since = now - FIRST_RUN_GRACE
        self.runs: dict[str, dict[str, Any]] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.since = dt.datetime.fromisoformat(data["since"])
            self.runs = {k: v for k, v in data.get("runs", {}).items() if k in JOBS}
        except FileNotFoundError:
            self.save()
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            log.warning("state file %s unreadable (%s): starting afresh", path, e)
            self.save()

    def last_started(self, job: str) -> dt.datetime | None:
        run = self.runs.get(job)
        try:
            return dt.datetime.fromisoformat(run["started"]) if run else None
        except (KeyError, TypeError, ValueError):
            return None

    def record(self, run: RunRecord) -> None:
        self.runs[run.job] = run.as_json()
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        payload = {"since": self.since.isoformat(), "runs": self.runs}
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID runs on this machine."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - os.kill(pid, 0) would end it on Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
        if not handle:
            return bool(kernel32.GetLastError() == 5)  # access denied: it exists
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lock:
    """schedule.lock, created exclusively, holding {"pid", "host", "started"}."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.held = False
        self.me = {"pid": os.getpid(), "host": socket.gethostname()}

    def acquire(self, now: dt.datetime) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in (1, 2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if attempt == 2 or not self._stale():
                    raise LockHeld(self._held_message()) from None
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({**self.me, "started": now.isoformat()}, f)
            self.held = True
            return

    def _owner(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _stale(self) -> bool:
        """A lock of a dead process on this host (or an unreadable one) is removed."""
        owner = self._owner()
        if owner is not None:
            if owner.get("host") != self.me["host"]:
                return False
            pid = owner.get("pid")
            if isinstance(pid, int) and pid_alive(pid):
                return False
        log.warning(
            "taking over the stale lock %s of PID %s (no longer running)",
            self.path,
            owner.get("pid") if owner else "?",
        )
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        return True

    def _held_message(self) -> str:
        owner = self._owner() or {}
        who = f"PID {owner.get('pid', '?')}"
        if owner.get("host") and owner.get("host") != self.me["host"]:
            who += f" on {owner['host']}"
        since = f" since {owner['started']}" if owner.get("started") else ""
        return (
            f"another funnel-sync schedule ({who}{since}) already runs for this workbook; "
            f"lock file {self.path} (delete it only if that process is gone)"
        )

    def release(self) -> None:
        if not self.held:
            return
        owner = self._owner()
        if owner and owner.get("pid") == self.me["pid"] and owner.get("host") == self.me["host"]:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self.held = False


# ---- the scheduler ----


def resolve_workbook(cfg: Config, given: Path | None) -> Path:
    """The workbook the schedule runs on: the argument, else schedule.workbook (a relative
    path is taken from the folder of config.toml)."""
    if given is not None:
        return given
    raw = cfg.schedule.workbook.strip()
    if not raw:
        raise ScheduleError(
            "no workbook: set schedule.workbook in config.toml (or give the workbook's path)"
        )
    path = Path(os.path.expanduser(raw))
    if not path.is_absolute() and cfg.path is not None:
        path = cfg.path.resolve().parent / path
    return path


class Scheduler:
    """The schedule of one workbook. Use as a context manager (lock, log file), then
    `run_due()` (what is due now: `--once`, and the catch-up at start) or `serve()` (loop).

    `clock` gives the local time (naive); `sleep(seconds)` waits (default: until stop());
    `runner` does the jobs (default: WorkbookRunner)."""

    def __init__(
        self,
        cfg: Config,
        *,
        workbook: Path,
        clock: Clock = dt.datetime.now,
        runner: Runner | None = None,
        sleep: Callable[[float], object] | None = None,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self.cfg = cfg
        self.workbook = workbook
        self.clock = clock
        self.folder = workbook.resolve().parent / ".funnel_sync"
        self.state_path = self.folder / STATE_FILE
        self.lock = Lock(self.folder / LOCK_FILE)
        log_file = Path(os.path.expanduser(cfg.schedule.log_file or "funnel-sync.log"))
        self.log_path = log_file if log_file.is_absolute() else self.folder / log_file
        from funnel_sync.mail import report_dir

        self.report_dir = report_dir(cfg, workbook)
        self.runner: Runner = runner or WorkbookRunner(cfg, workbook, self.report_dir, clock)
        self._stop = threading.Event()
        self.sleep: Callable[[float], object] = sleep or self._stop.wait
        self.max_wait = max_wait
        self.running: str | None = None
        self.state: State | None = None
        self._handler: logging.Handler | None = None
        self._level = logging.NOTSET
        self._now_class = _clock_datetime(clock)

    # -- lifetime --

    def __enter__(self) -> Scheduler:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Take the lock (LockHeld if another instance has it), open the log, read the state."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                self.log_path,
                maxBytes=LOG_MAX_BYTES,
                backupCount=self.cfg.schedule.log_backups,
                encoding="utf-8",
            )
        except OSError as e:
            raise ScheduleError(f"{self.log_path}: cannot write the log: {e.strerror or e}") from e
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root = logging.getLogger("funnel_sync")
        self._level = root.level
        if root.getEffectiveLevel() > logging.INFO:
            root.setLevel(logging.INFO)
        root.addHandler(handler)
        self._handler = handler
        try:
            self.lock.acquire(self.clock())
        except LockHeld as e:
            log.warning("not started: %s", e)
            self._close_log()
            raise
        self.state = State(self.state_path, self.clock())

    def close(self) -> None:
        self.lock.release()
        self._close_log()

    def _close_log(self) -> None:
        if self._handler is not None:
            root = logging.getLogger("funnel_sync")
            root.removeHandler(self._handler)
            root.setLevel(self._level)
            self._handler.close()
            self._handler = None

    def stop(self) -> None:
        """Stop the loop after the run in progress (callable from a signal handler)."""
        self._stop.set()

    # -- what is due, and running it --

    def due(self) -> list[tuple[str, dt.datetime]]:
        """(job, scheduled time) of every job whose latest scheduled time is later than its
        last run (or, never run, than the first start less FIRST_RUN_GRACE)."""
        state = self._state()
        now = self.clock()
        out = []
        for job in JOBS:
            occurrence = latest_occurrence(job, self.cfg, now)
            last = state.last_started(job) or state.since
            if occurrence > last:
                out.append((job, occurrence))
        return out

    def run_due(self) -> list[RunRecord]:
        """Run every job that is due, nightly first; one run each however many were missed."""
        records = []
        state = self._state()
        for job, occurrence in self.due():
            last = state.last_started(job)
            if occurrence < self.clock() - dt.timedelta(minutes=1):
                log.info(
                    "catching up the %s of %s (last run: %s)",
                    JOB_NAMES[job],
                    f"{occurrence:%Y-%m-%d %H:%M}",
                    f"{last:%Y-%m-%d %H:%M}" if last else "never",
                )
            records.append(self.run_job(job, occurrence))
            if self._stop.is_set():
                break
        return records

    def run_job(self, job: str, occurrence: dt.datetime) -> RunRecord:
        """One run, logged (start, end, outcome, counts) and recorded; never raises for a
        failing job (KeyboardInterrupt and SystemExit pass)."""
        started = self.clock()
        # the weekly report is dated on its scheduled day (a caught-up report covers the
        # week it was due for); the sync runs for today
        today = occurrence.date() if job == "weekly" else started.date()
        log.info("%s started (date %s, workbook %s)", JOB_NAMES[job], today, self.workbook)
        self.running = job
        t0 = time.monotonic()
        try:
            result = self.runner.nightly(today) if job == "nightly" else self.runner.weekly(today)
            outcome = "ok" if result.complete else "incomplete"
            counts, message = result.counts, result.note
        except Exception as e:  # a failing run is logged; the loop goes on
            outcome, counts, message = "failed", {}, _one_line(e)
            if not _expected(e):
                log.exception("%s crashed", JOB_NAMES[job])
        finally:
            self.running = None
        seconds = time.monotonic() - t0
        record = RunRecord(job, occurrence, started, self.clock(), outcome, counts, message)
        shown = " ".join(f"{k}={v}" for k, v in counts.items())
        level = logging.INFO if outcome == "ok" else logging.ERROR
        log.log(
            level,
            "%s %s in %.1f s%s%s",
            JOB_NAMES[job],
            "ended: " + outcome if outcome != "failed" else "FAILED",
            seconds,
            f": {shown}" if shown else "",
            f" — {message}" if message else "",
        )
        self._state().record(record)
        return record

    # -- the loop --

    def serve(self, *, install_signals: bool = True) -> None:
        """Catch up what was missed, then run the jobs at their times until stop(), SIGTERM
        or Ctrl-C (the run in progress finishes first)."""
        s = self.cfg.schedule
        previous = self._install_signals() if install_signals else {}
        try:
            log.info(
                "schedule started (PID %d): nightly sync at %s, weekly report %s %s; workbook %s",
                os.getpid(),
                s.sync_at,
                s.report_weekday,
                s.report_at,
                self.workbook,
            )
            jobs = schedule_lib.Scheduler()
            with self._clocked():
                jobs.every().day.at(s.sync_at).do(self._fire, "nightly")
                getattr(jobs.every(), s.report_weekday).at(s.report_at).do(self._fire, "weekly")
            # the catch-up; a job time passing meanwhile is still in `jobs` (and run next)
            self.run_due()
            while not self._stop.is_set():
                with self._clocked():
                    jobs.run_pending()
                    idle = jobs.idle_seconds
                if self._stop.is_set():
                    break
                wait = self.max_wait if idle is None else min(max(idle, 0.0), self.max_wait)
                self.sleep(wait)
            log.info("schedule stopped")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _fire(self, job: str) -> None:
        for name, occurrence in self.due():
            if name == job:
                self.run_job(job, occurrence)

    def _install_signals(self) -> dict[int, Any]:
        def handler(signum: int, frame: types.FrameType | None) -> None:
            if self._stop.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt
            name = signal.Signals(signum).name
            if self.running:
                log.info("%s: stopping after the %s in progress", name, JOB_NAMES[self.running])
            else:
                log.info("%s: stopping", name)
            self.stop()

        previous: dict[int, Any] = {}
        for name in ("SIGTERM", "SIGINT", "SIGBREAK"):
            sig = getattr(signal, name, None)
            if sig is not None:
                previous[sig] = signal.signal(sig, handler)
        return previous

    @contextlib.contextmanager
    def _clocked(self) -> Iterator[None]:
        """`schedule` sees this Scheduler's clock while inside the block."""
        namespace = vars(schedule_lib)
        real = namespace["datetime"]
        shim = types.ModuleType("datetime")
        shim.__dict__.update(real.__dict__)
        shim.datetime = self._now_class  # type: ignore[attr-defined]
        namespace["datetime"] = shim
        try:
            yield
        finally:
            namespace["datetime"] = real

    def _state(self) -> State:
        if self.state is None:
            self.state = State(self.state_path, self.clock())
        return self.state


def _clock_datetime(clock: Clock) -> type[dt.datetime]:
    class ClockDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> ClockDatetime:
            t = clock()
            if tz is not None:
                t = t.astimezone(tz) if t.tzinfo else t.replace(tzinfo=tz)
            return cls.combine(t.date(), t.time(), t.tzinfo)

    return ClockDatetime


def _expected(e: Exception) -> bool:
    """Failures with a clear message of their own (no traceback in the log)."""
    from funnel_sync import xlsx
    from funnel_sync.mail import MailConfigError
    from funnel_sync.read import WorkbookError
    from funnel_sync.report import ReportError

    return isinstance(e, WorkbookError | xlsx.WriteError | MailConfigError | ReportError | OSError)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__
