"""The schedule with a controllable clock: `schedule` itself decides when the jobs fire, the
Scheduler's clock is a fake one and its `sleep` moves that clock, so days pass in milliseconds.
Also the catch-up at start, the lock, a failing job, signals, the log and `--once`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli

from funnel_sync import scheduler as scheduler_mod
from funnel_sync.config import Config, Schedule
from funnel_sync.demo import DemoSize, create_demo
from funnel_sync.scheduler import (
    JobResult,
    LockHeld,
    Scheduler,
    latest_occurrence,
    next_occurrence,
)

SUNDAY = dt.datetime(2026, 11, 29, 12, 0)  # 2026-11-30 is a Monday


def cfg(**schedule: Any) -> Config:
    settings: dict[str, Any] = {
        "sync_at": "02:00",
        "report_weekday": "monday",
        "report_at": "07:30",
        "log_file": "schedule.log",
        "log_backups": 2,
    }
    settings.update(schedule)
    return dataclasses.replace(Config(), schedule=Schedule(**settings))


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


class Runner:
    """Records every run as (job, date, clock time); fails where told."""

    def __init__(self, clock: Clock, fail: Callable[[str, int], bool] | None = None) -> None:
        self.clock = clock
        self.fail = fail or (lambda job, n: False)
        self.calls: list[tuple[str, dt.date, dt.datetime]] = []
        self.during: Callable[[], None] | None = None

    def _run(self, job: str, today: dt.date) -> JobResult:
        self.calls.append((job, today, self.clock.now))
        self.clock.now += dt.timedelta(seconds=30)  # a run takes time
        if self.during:
            self.during()
        if self.fail(job, len(self.calls)):
            raise RuntimeError(f"{job} broke")
        return JobResult({"cells_changed": 3} if job == "nightly" else {"sent": 4})

    def nightly(self, today: dt.date) -> JobResult:
        return self._run("nightly", today)

    def weekly(self, today: dt.date) -> JobResult:
        return self._run("weekly", today)


class Sleeper:
    """`sleep` for the Scheduler: moves the fake clock; stops the Scheduler at `until`."""

    def __init__(self, clock: Clock, until: dt.datetime) -> None:
        self.clock, self.until = clock, until
        self.scheduler: Scheduler | None = None
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        assert 0 <= seconds <= 60
        self.waits.append(seconds)
        self.clock.now += dt.timedelta(seconds=seconds)
        if self.clock.now >= self.until and self.scheduler:
            self.scheduler.stop()


def make(
    tmp_path: Path,
    start: dt.datetime,
    until: dt.datetime | None = None,
    fail: Callable[[str, int], bool] | None = None,
    **schedule: Any,
) -> tuple[Scheduler, Runner, Clock]:
    clock = Clock(start)
    runner = Runner(clock, fail)
    sleeper = Sleeper(clock, until or start)
    s = Scheduler(
        cfg(**schedule), workbook=tmp_path / "台账.xlsx", clock=clock, runner=runner, sleep=sleeper
    )
    sleeper.scheduler = s
    return s, runner, clock


def write_state(tmp_path: Path, since: dt.datetime, **last: dt.datetime) -> None:
    folder = tmp_path / ".funnel_sync"
    folder.mkdir(exist_ok=True)
    runs = {job: {"started": when.isoformat(), "outcome": "ok"} for job, when in last.items()}
    state = {"since": since.isoformat(), "runs": runs}
    (folder / "schedule-state.json").write_text(json.dumps(state), encoding="utf-8")


def log_text(s: Scheduler) -> str:
    return s.log_path.read_text(encoding="utf-8")


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute)


# ---- when ----


def test_latest_and_next_occurrence() -> None:
    c = cfg(report_weekday="wednesday", report_at="07:30")
    assert latest_occurrence("nightly", c, at(30, 1, 59)) == at(29, 2)
    assert latest_occurrence("nightly", c, at(30, 2)) == at(30, 2)
    assert next_occurrence("nightly", c, at(30, 2)) == at(1, 2, month=12)
    assert latest_occurrence("weekly", c, at(25, 7, 29)) == at(18, 7, 30)  # 25th: a Wednesday
    assert latest_occurrence("weekly", c, at(25, 7, 30)) == at(25, 7, 30)
    assert latest_occurrence("weekly", c, at(30, 0)) == at(25, 7, 30)
    assert next_occurrence("weekly", c, at(30, 0)) == at(2, 7, 30, month=12)


def test_nightly_and_weekly_fire_at_their_times(tmp_path: Path) -> None:
    s, runner, _ = make(tmp_path, SUNDAY, until=at(1, 12, month=12))
    with s:
        s.serve(install_signals=False)
    assert runner.calls == [
        ("nightly", dt.date(2026, 11, 30), at(30, 2)),
        ("weekly", dt.date(2026, 11, 30), at(30, 7, 30)),
        ("nightly", dt.date(2026, 12, 1), at(1, 2, month=12)),
    ]
    log = log_text(s)
    assert log.count("nightly sync started") == 2 and log.count("weekly report started") == 1
    assert "nightly sync ended: ok in" in log and "cells_changed=3" in log
    assert "weekly report ended: ok" in log and "sent=4" in log
    assert "schedule started" in log and log.rstrip().endswith("schedule stopped")
    state = json.loads(s.state_path.read_text(encoding="utf-8"))
    assert state["runs"]["nightly"]["started"] == "2026-12-01T02:00:00"
    assert state["runs"]["weekly"]["outcome"] == "ok"
    assert not s.lock.path.exists()  # released on exit


def test_other_times_and_weekday(tmp_path: Path) -> None:
    s, runner, _ = make(
        tmp_path,
        at(2, 12, month=12),  # a Wednesday
        until=at(9, 0, month=12),
        sync_at="23:15",
        report_weekday="friday",
        report_at="18:00",
    )
    with s:
        s.serve(install_signals=False)
    nightly = [when for job, _, when in runner.calls if job == "nightly"]
    weekly = [when for job, _, when in runner.calls if job == "weekly"]
    assert nightly == [at(d, 23, 15, month=12) for d in range(2, 9)]
    assert weekly == [at(4, 18, month=12)]


def test_a_missed_run_is_caught_up_once(tmp_path: Path) -> None:
    # the machine was off from Wednesday 11-25 to Wednesday 12-02 10:00
    write_state(tmp_path, since=at(1, 0), nightly=at(25, 2), weekly=at(23, 7, 30))
    s, runner, _ = make(tmp_path, at(2, 10, month=12), until=at(3, 3, month=12))
    with s:
        assert [job for job, _ in s.due()] == ["nightly", "weekly"]
        s.serve(install_signals=False)
    assert runner.calls == [
        ("nightly", dt.date(2026, 12, 2), at(2, 10, month=12)),  # once, not 7 times
        ("weekly", dt.date(2026, 11, 30), at(2, 10, 0, month=12) + dt.timedelta(seconds=30)),
        ("nightly", dt.date(2026, 12, 3), at(3, 2, month=12)),  # then on time again
    ]
    log = log_text(s)
    assert "catching up the nightly sync of 2026-12-02 02:00 (last run: 2026-11-25 02:00)" in log
    assert "catching up the weekly report of 2026-11-30 07:30" in log


def test_run_due_is_idempotent(tmp_path: Path) -> None:
    write_state(tmp_path, since=at(1, 0), nightly=at(25, 2), weekly=at(30, 7, 30))
    s, _, _ = make(tmp_path, at(30, 9))
    with s:
        assert [r.job for r in s.run_due()] == ["nightly"]
        assert s.run_due() == []
    s2, runner2, _ = make(tmp_path, at(30, 23))
    with s2:
        assert s2.run_due() == []  # the state file remembers across instances
    assert runner2.calls == []


def test_first_start_runs_only_what_is_due_right_now(tmp_path: Path) -> None:
    # cron starting `schedule --once` at 02:00 on the very first night: the sync runs
    s, runner, _ = make(tmp_path / "a", at(30, 2, 1))
    with s:
        assert [r.job for r in s.run_due()] == ["nightly"]
    # installed mid-afternoon: nothing is "missed"; nothing runs before its time
    s, runner, _ = make(tmp_path / "b", at(30, 15))
    with s:
        assert s.run_due() == []
    assert runner.calls == []


def test_a_failing_run_is_logged_and_the_loop_goes_on(tmp_path: Path) -> None:
    s, runner, _ = make(
        tmp_path, SUNDAY, until=at(1, 12, month=12), fail=lambda job, n: job == "nightly" and n == 1
    )
    with s:
        s.serve(install_signals=False)
    assert [job for job, _, _ in runner.calls] == ["nightly", "weekly", "nightly"]
    log = log_text(s)
    assert "nightly sync FAILED in" in log and "RuntimeError: nightly broke" in log  # traceback
    assert log.count("nightly sync ended: ok") == 1
    assert "weekly report ended: ok" in log


def test_the_lock_keeps_a_second_instance_out(tmp_path: Path) -> None:
    first, _, _ = make(tmp_path, SUNDAY)
    second, runner, _ = make(tmp_path, SUNDAY)
    with first:
        with pytest.raises(LockHeld, match=rf"PID {os.getpid()}"):
            second.open()
        lock = json.loads(first.lock.path.read_text(encoding="utf-8"))
        assert lock["pid"] == os.getpid() and lock["host"] == socket.gethostname()
        assert "not started: another funnel-sync schedule" in log_text(first)
    with second:  # the first has gone: the lock is free again
        assert second.lock.held
    assert runner.calls == []


def test_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a PID that ran on this host and is gone
    folder = tmp_path / ".funnel_sync"
    folder.mkdir()
    lock = folder / "schedule.lock"
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}), "utf-8")
    s, _, _ = make(tmp_path, SUNDAY)
    with s:
        assert json.loads(lock.read_text("utf-8"))["pid"] == os.getpid()
        assert f"taking over the stale lock {lock} of PID {dead.pid}" in log_text(s)
    # another machine's lock (a workbook on a shared drive) cannot be checked: it holds
    lock.write_text(json.dumps({"pid": dead.pid, "host": "sales-pc-2"}), "utf-8")
    with pytest.raises(LockHeld, match=f"PID {dead.pid} on sales-pc-2"):
        s.open()


def test_sigterm_stops_the_loop_after_the_run_in_progress(tmp_path: Path) -> None:
    s, runner, _ = make(tmp_path, at(30, 1, 59), until=at(2, 0, month=12))
    runner.during = lambda: os.kill(os.getpid(), signal.SIGTERM)  # arrives mid-run
    before = signal.getsignal(signal.SIGTERM)
    with s:
        s.serve()
    assert [job for job, _, _ in runner.calls] == ["nightly"]  # it finished, nothing after
    log = log_text(s)
    assert "SIGTERM: stopping after the nightly sync in progress" in log
    assert "nightly sync ended: ok" in log and "schedule stopped" in log
    assert signal.getsignal(signal.SIGTERM) == before


def test_sigterm_wakes_the_real_wait(tmp_path: Path) -> None:
    clock = Clock(SUNDAY)
    s = Scheduler(cfg(), workbook=tmp_path / "x.xlsx", clock=clock, runner=Runner(clock))
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    start = time.monotonic()
    with s:
        timer.start()
        s.serve()  # sleeps in threading.Event.wait(60): the signal ends it at once
    assert time.monotonic() - start < 10
    assert "SIGTERM: stopping" in log_text(s)


def test_the_log_rotates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler_mod, "LOG_MAX_BYTES", 300)
    s, _, clock = make(tmp_path, SUNDAY)
    with s:
        for _ in range(20):
            s.run_job("nightly", clock())
    names = sorted(p.name for p in s.log_path.parent.glob("schedule.log*"))
    assert names == ["schedule.log", "schedule.log.1", "schedule.log.2"]  # log_backups = 2


# ---- the command ----


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "shared" / "销售台账.xlsx"
    path.parent.mkdir()
    create_demo(path, Config(), DemoSize(3, 30, 20, 2), 1, dt.date.today())
    return path


def test_once_runs_what_is_due_and_exits(workbook: Path, tmp_path: Path) -> None:
    long_ago = dt.datetime.now() - dt.timedelta(days=10)
    write_state(workbook.parent, since=long_ago, nightly=long_ago, weekly=long_ago)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[schedule]\nworkbook = "shared/{workbook.name}"\nreport_dir = "周报"\n', "utf-8"
    )
    code, out, err = run_cli("schedule", "--once", "--config", str(config))
    assert code == 0, err
    assert "nightly sync ended: ok" in err and "weekly report ended: ok" in err
    assert "no e-mail sent" in err  # email.sender is blank
    reports = sorted(p.name for p in (workbook.parent / "周报").iterdir())
    assert any(n.endswith(".html") for n in reports) and any(n.endswith(".xlsx") for n in reports)
    log = (workbook.parent / ".funnel_sync" / "funnel-sync.log").read_text("utf-8")
    assert "catching up the nightly sync" in log and "weekly report ended: ok" in log
    # a second --once: nothing is due any more
    code, out, _ = run_cli("schedule", "--once", "--config", str(config))
    assert code == 0 and "无到期任务" in out


def test_once_refused_while_another_instance_runs(workbook: Path) -> None:
    other = Scheduler(Config(), workbook=workbook)
    with other:
        code, _, err = run_cli("schedule", str(workbook), "--once")
    assert code == 2
    assert "another funnel-sync schedule" in err and "Traceback" not in err


def test_schedule_without_a_workbook(tmp_path: Path) -> None:
    code, _, err = run_cli("schedule", "--once")
    assert code == 2 and "schedule.workbook" in err


def test_failing_once_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    long_ago = dt.datetime.now() - dt.timedelta(days=3)
    write_state(tmp_path, since=long_ago, nightly=long_ago, weekly=dt.datetime.now())
    code, _, err = run_cli("schedule", str(broken), "--once")
    assert code == 1
    assert "nightly sync FAILED" in err and "Traceback" not in err
