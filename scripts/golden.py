"""Golden outputs: the synced demo workbooks and reports a tree's code writes, to compare two trees.

A refactoring must not change what the team sees. This builds the demo at several sizes and
seeds, syncs it on two dates with calendar and working days, writes the report after each sync,
and keeps every file; `compare` then lists each file that differs between two such folders:

    python scripts/golden.py make OUT [--sizes 1000 10000] [--seeds 1 2 3] [--per-rep]
    python scripts/golden.py compare BEFORE AFTER

`make` runs the funnel_sync of the interpreter running it (set PYTHONPATH to another tree's
checkout to run that tree's code).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

DATES = ("2026-11-30", "2026-12-03")
COUNT_DAYS = ("calendar", "working")


def _run(*args: str, ok: tuple[int, ...] = (0, 1)) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "funnel_sync", *args], capture_output=True, text=True, check=False
    )
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done.stdout


def make(out: Path, sizes: list[int], seeds: list[int], per_rep: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for count_days in COUNT_DAYS:
        (out / f"{count_days}.toml").write_text(f'[general]\ncount_days = "{count_days}"\n')
    for size in sizes:
        for seed in seeds:
            demo = out / f"demo-{size}-{seed}.xlsx"
            _run(
                "demo",
                str(demo),
                "--seed",
                str(seed),
                "--opportunities",
                str(size),
                "--today",
                DATES[0],
                "--config",
                str(out / "calendar.toml"),
            )
            for count_days in COUNT_DAYS:
                cfg = str(out / f"{count_days}.toml")
                book = out / f"book-{size}-{seed}-{count_days}.xlsx"
                shutil.copyfile(demo, book)
                for day in DATES:
                    tag = f"{size}-{seed}-{count_days}-{day}"
                    sync = _run(
                        "sync", str(book), "--today", day, "--format", "json", "--config", cfg
                    )
                    (out / f"sync-{tag}.json").write_text(sync)
                    shutil.copyfile(book, out / f"synced-{tag}.xlsx")
                    reports = out / f"report-{tag}"
                    extra = ["--per-rep"] if per_rep and size <= 1000 else []
                    _run(
                        "report",
                        str(book),
                        "--out",
                        str(reports),
                        "--today",
                        day,
                        "--config",
                        cfg,
                        *extra,
                        ok=(0,),
                    )
                print(f"{size} seed {seed} {count_days}: done", flush=True)
            demo.unlink()


def _kept(path: Path, root: Path) -> bool:
    """Files the code wrote, not the writer's backups of the workbook."""
    return path.is_file() and ".funnel_sync" not in path.relative_to(root).parts


def compare(before: Path, after: Path) -> int:
    differ = 0
    names = sorted(
        {p.relative_to(root) for root in (before, after) for p in root.rglob("*") if _kept(p, root)}
    )
    for name in names:
        a, b = before / name, after / name
        if not a.exists() or not b.exists():
            print(f"only in {'after' if b.exists() else 'before'}: {name}")
            differ += 1
        elif not filecmp.cmp(a, b, shallow=False):
            print(f"differs: {name}")
            differ += 1
    print(f"{len(names)} files, {differ} differ")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("out", type=Path)
    m.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    m.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    m.add_argument("--per-rep", action="store_true")
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.cmd == "make":
        make(args.out, args.sizes, args.seeds, args.per_rep)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    raise SystemExit(main())
