"""The engine's log sheets: their labels per language, and the state read back from them."""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress, count, repeat
from operator import itemgetter
from typing import Any

from funnel_sync.parse import normalize_key, parse_column, parse_date, parse_text
from funnel_sync.texts import TEXTS


def _labels(prefix: str) -> dict[str, tuple[str, str]]:
    return {
        code.removeprefix(prefix): (t.zh, t.en)
        for code, t in TEXTS.items()
        if code.startswith(prefix)
    }


# PoolLog actions and StageLog results: a stable code and its label per language (the
# catalogue's log.pool.* and log.stage.*)
POOL_ACTIONS: dict[str, tuple[str, str]] = _labels("log.pool.")
STAGE_RESULTS: dict[str, tuple[str, str]] = _labels("log.stage.")


def _index(table: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Label (either language, any case or width) → code, built once: a log has hundreds of
    thousands of rows and only a few labels."""
    codes: dict[str, str] = {}
    for code, (zh, en) in table.items():
        for name in (zh, en, code):
            codes.setdefault(normalize_key(name), code)
    return codes


_POOL_CODES = _index(POOL_ACTIONS)
_STAGE_CODES = _index(STAGE_RESULTS)


def _decode(codes: dict[str, str], text: object) -> str | None:
    return codes.get(normalize_key(parse_text(text) or ""))


def pool_action(text: object) -> str | None:
    """The code of a PoolLog action cell (either language, any case or width), or None."""
    return _decode(_POOL_CODES, text)


def stage_result(text: object) -> str | None:
    """The code of a StageLog result cell (either language, any case or width), or None."""
    return _decode(_STAGE_CODES, text)


def log_day(value: object) -> dt.date | None:
    """The day of a log row's time cell. A datetime read back from Excel is rounded to the
    second first: 00:00 can come back as 23:59:59.99 of the day before."""
    if isinstance(value, dt.datetime):
        rounded = value + dt.timedelta(microseconds=500_000)
        return rounded.replace(microsecond=0).date()
    if isinstance(value, dt.date):
        return value
    parsed = parse_date(value)
    return parsed if isinstance(parsed, dt.date) else None


_when = log_day


@dataclass
class PoolState:
    """What the PoolLog says: each customer's owner as the engine last confirmed it, and the
    history the pool rules need (releases for the cool-down, claims per rep and day)."""

    owner: dict[str, str | None] = field(default_factory=dict)  # customer → confirmed owner
    released: dict[tuple[str, str], dt.date] = field(default_factory=dict)  # (cust, rep) → day
    claims: dict[tuple[str, dt.date], int] = field(default_factory=lambda: defaultdict(int))
    last_rejected: dict[str, str] = field(default_factory=dict)  # customer → attempted owner
    claimed: dict[str, dt.date] = field(default_factory=dict)  # customer → day of claim/transfer
    adopted: dict[str, dt.date] = field(default_factory=dict)  # customer → day owner adopted
    # notices shown for a week after the event (so a re-sync derives the same 校验/提醒)
    recycled: dict[str, tuple[dt.date, str, str]] = field(default_factory=dict)  # day, rep, why
    transfers: dict[str, tuple[dt.date, str, str]] = field(default_factory=dict)  # day, old, new
    reverted: dict[str, tuple[dt.date, str, str]] = field(default_factory=dict)  # day, kept, typed
    seen: bool = False  # any row at all: the workbook has been synced before

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> PoolState:
        """Rows in PoolLog column order: time, customer, action, rep, reason, old value."""
        state = cls()
        for row in rows:
            cells = list(row) + [""] * (6 - len(row))
            customer = parse_text(cells[1])
            action = _decode(_POOL_CODES, cells[2])
            if not customer or action is None:
                continue
            state.seen = True
            day = _when(cells[0])
            rep = parse_text(cells[3])
            old = parse_text(cells[5])
            if action != "claim-rejected":  # only the last change of owner has its notice
                for notices in (state.recycled, state.transfers, state.reverted):
                    notices.pop(customer, None)
            if action in ("adopt", "claim", "transfer"):
                state.owner[customer] = rep
                state.last_rejected.pop(customer, None)
                if day and action == "adopt":
                    state.adopted[customer] = day
                    state.claimed.pop(customer, None)
                elif day:
                    state.claimed[customer] = day
                if action == "claim" and rep and day:
                    state.claims[(rep, day)] += 1
                if action == "transfer" and day:
                    state.transfers[customer] = (day, old or "", rep or "")
            elif action in ("release", "recycle"):
                state.owner[customer] = None
                state.last_rejected.pop(customer, None)
                holder = rep or old
                if holder and day:
                    state.released[(customer, holder)] = day
                if action == "recycle" and day:
                    state.recycled[customer] = (day, holder or "", parse_text(cells[4]) or "")
            elif action == "revert":
                state.owner[customer] = rep
                state.last_rejected.pop(customer, None)
                if day:
                    state.reverted[customer] = (day, rep or "", old or "")
            elif action == "claim-rejected":
                state.last_rejected[customer] = rep or ""
        return state


@dataclass
class StageState:
    """What the StageLog says: the last rejected attempt per opportunity (logged once)."""

    last_rejected: dict[str, str] = field(default_factory=dict)
    seen: bool = False

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> StageState:
        """Rows in StageLog column order: time, opportunity, from, to, result, reason, owner.

        Read a column at a time (240k rows at 100k opportunities): only the opportunities
        with a rejected row are followed row by row, and those are few."""
        rows = list(rows)
        if min(map(len, rows), default=7) < 7:
            rows = [list(r) + [""] * (7 - len(r)) for r in rows]
        opps = parse_column(parse_text, list(map(itemgetter(1), rows)))
        results = parse_column(lambda v: _decode(_STAGE_CODES, v), list(map(itemgetter(4), rows)))
        state = cls(seen=any(map(all, zip(opps, results, strict=True))))
        rejected = map(operator.eq, results, repeat("rejected"))
        followed = set(compress(opps, rejected)) - {None, ""}
        for i in compress(count(), map(followed.__contains__, opps)):
            if results[i] == "rejected":
                state.last_rejected[opps[i]] = parse_text(rows[i][3]) or ""
            elif results[i] is not None:
                state.last_rejected.pop(opps[i], None)
        return state
