"""Benchmark: funnel_sync against the cost of reading the file, measured side by side.

Builds demo workbooks (1k, 10k, 100k opportunities by default), then for each size runs every
case in a fresh subprocess, several repetitions, interleaved so that machine noise hits all cases
alike, and reports medians of wall time and peak memory (RSS), plus the ratios:

    python benchmarks/run.py                      # 1k, 10k, 100k; 3 repetitions
    python benchmarks/run.py --sizes 1000 --repeat 1 --json out.json
    python benchmarks/run.py --before ../base   # also each funnel_sync case with that checkout

`--before DIR` runs every funnel_sync case a second time with the code of DIR (a checkout of an
earlier commit: `git worktree add ../base COMMIT`), as case@before, interleaved with the others:
a change's before and after measured side by side in one run.

Cases:
  floor          every sheet read with python-calamine (the cost of reading the file)
  floor_synced   the same for the synced workbook, the file a re-sync and the report read
                 (it has the engine columns and the Today sheet besides: about 20% more)
  openpyxl       the naive alternative: openpyxl load_workbook + write 3 columns + save
  pandas         pandas read_excel (calamine engine) of every sheet + to_excel (openpyxl)
  check          funnel-sync check
  sync           funnel-sync sync, first run on a copy of the demo
  resync         funnel-sync sync again on the same date (idempotent: writes nothing)
  report         funnel-sync report of the synced workbook (HTML + Excel)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TODAY = "2026-11-30"
HERE = Path(__file__).resolve().parent

CASES: dict[str, str] = {
    "floor": """
import python_calamine as c
wb = c.CalamineWorkbook.from_path(PATH)
for name in wb.sheet_names:
    wb.get_sheet_by_name(name).to_python()
""",
    "floor_synced": """
import python_calamine as c
wb = c.CalamineWorkbook.from_path(SYNCED)
for name in wb.sheet_names:
    wb.get_sheet_by_name(name).to_python()
""",
    "openpyxl": """
import openpyxl
wb = openpyxl.load_workbook(PATH)
ws = wb["销售机会"]
last, width = ws.max_row, ws.max_column
for row in range(2, last + 1):
    for col in (width + 1, width + 2, width + 3):
        ws.cell(row=row, column=col, value=1)
wb.save(OUT)
""",
    "pandas": """
import pandas as pd
frames = pd.read_excel(PATH, sheet_name=None, engine="calamine")
with pd.ExcelWriter(OUT, engine="openpyxl") as writer:
    for name, frame in frames.items():
        frame.to_excel(writer, sheet_name=name, index=False)
""",
    "check": """
from funnel_sync.cli import main
main(["check", PATH, "--today", TODAY, "--format", "json"], standalone_mode=False)
""",
    "sync": """
from funnel_sync.cli import main
main(["sync", COPY, "--today", TODAY, "--format", "json"], standalone_mode=False)
""",
    "resync": """
from funnel_sync.cli import main
main(["sync", SYNCED, "--today", TODAY, "--format", "json"], standalone_mode=False)
""",
    "report": """
from funnel_sync.cli import main
main(["report", SYNCED, "--out", OUTDIR, "--today", TODAY], standalone_mode=False)
""",
}


#: The cases that run funnel_sync itself (the others measure libraries): --before repeats them.
OWN_CASES = ("check", "sync", "resync", "report")


def _environ(code_dir: Path | None) -> dict[str, str] | None:
    """The process environment importing funnel_sync from `code_dir` (None: as installed)."""
    if code_dir is None:
        return None
    return {**os.environ, "PYTHONPATH": str(code_dir)}


def measure(code: str, env: dict[str, str], code_dir: Path | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of the code run in a fresh Python process (importing
    funnel_sync from `code_dir` when given)."""
    prelude = "".join(f"{k} = {v!r}\n" for k, v in env.items())
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", prelude + code],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_environ(code_dir),
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"benchmark case failed ({proc.returncode}):\n{stderr[-2000:]}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports KiB


def build(folder: Path, opportunities: int) -> Path:
    path = folder / f"demo-{opportunities}.xlsx"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "funnel_sync",
                "demo",
                str(path),
                "--seed",
                "1",
                "--opportunities",
                str(opportunities),
                "--today",
                TODAY,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def run(
    sizes: list[int], repeat: int, cases: list[str], folder: Path, before: Path | None = None
) -> dict[str, object]:
    results: dict[str, dict[str, dict[str, float]]] = {}
    runs = [(case, None) for case in cases]
    if before is not None:
        runs += [(case, before) for case in cases if case in OWN_CASES]
    for size in sizes:
        source = build(folder, size)
        synced: dict[Path | None, Path] = {}
        for code_dir in {None, before}:  # each code re-syncs and reports what it synced
            synced[code_dir] = folder / f"synced-{size}{'-before' if code_dir else ''}.xlsx"
            shutil.copy(source, synced[code_dir])
            command = ["-m", "funnel_sync", "sync", str(synced[code_dir]), "--today", TODAY]
            subprocess.run(
                [sys.executable, *command],
                stdout=subprocess.DEVNULL,
                env=_environ(code_dir),
            )
        samples: dict[str, list[tuple[float, float]]] = {}
        for _ in range(repeat):
            for case, code_dir in runs:  # interleaved: noise falls on every case alike
                copy = folder / f"copy-{size}.xlsx"
                shutil.copy(source, copy)
                env = {
                    "PATH": str(source),
                    "OUT": str(folder / f"out-{size}.xlsx"),
                    "COPY": str(copy),
                    "SYNCED": str(synced[code_dir]),
                    "TODAY": TODAY,
                    "OUTDIR": str(folder / f"reports-{size}"),
                }
                name = f"{case}@before" if code_dir else case
                samples.setdefault(name, []).append(measure(CASES[case], env, code_dir))
        results[str(size)] = {
            case: {
                "seconds": statistics.median(s for s, _ in values),
                "rss_mib": statistics.median(m for _, m in values),
            }
            for case, values in samples.items()
        }
    return {
        "machine": _machine(),
        "repeat": repeat,
        "today": TODAY,
        "before": str(before) if before else None,
        "results": results,
        "ratios": _ratios(results),
    }


def _ratios(results: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    ratios: dict[str, dict[str, float]] = {}
    for size, cases in results.items():
        t = {c: v["seconds"] for c, v in cases.items()}
        r: dict[str, float] = {}
        for when in ("", "@before"):
            if "floor" in t:
                for case in OWN_CASES:
                    if case + when in t:
                        r[f"{case}{when}/floor"] = t[case + when] / t["floor"]
            if "floor_synced" in t:  # the re-sync and the report read the synced file
                for case in ("resync", "report"):
                    if case + when in t:
                        r[f"{case}{when}/floor_synced"] = t[case + when] / t["floor_synced"]
        for case in OWN_CASES:
            if case in t and f"{case}@before" in t:
                r[f"{case}/{case}@before"] = t[case] / t[f"{case}@before"]
        if "openpyxl" in t and "sync" in t:
            r["openpyxl/sync"] = t["openpyxl"] / t["sync"]
        ratios[size] = r
    sizes = sorted(results, key=int)
    if len(sizes) >= 2 and "sync" in results[sizes[-1]]:
        big, small = sizes[-1], sizes[-2]
        ratios["growth"] = {
            f"sync {big}/{small}": results[big]["sync"]["seconds"]
            / results[small]["sync"]["seconds"]
        }
    return ratios


def _machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "date": dt.date.today().isoformat(),
    }


def table(report: dict[str, object]) -> str:
    results = report["results"]
    assert isinstance(results, dict)
    lines = ["| size | case | seconds (median) | peak RSS MiB |", "|---:|---|---:|---:|"]
    for size, cases in results.items():
        for case, v in cases.items():
            lines.append(f"| {size} | {case} | {v['seconds']:.2f} | {v['rss_mib']:.0f} |")
    ratios = report["ratios"]
    assert isinstance(ratios, dict)
    lines.append("")
    for size, r in ratios.items():
        lines.append(f"{size}: " + ", ".join(f"{k} = {v:.2f}" for k, v in r.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--keep", type=Path, default=None, help="folder for the workbooks")
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="a checkout of earlier code: its funnel_sync cases run too, as case@before",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        before = args.before.resolve() if args.before else None
        report = run(args.sizes, args.repeat, args.cases, folder, before)
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
