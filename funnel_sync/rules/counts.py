"""OwnerCounts: what the cap and the daily limit count, kept current by every change of owner."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Mapping


class OwnerCounts:
    """The customers each rep owns and the claims each made today, as the pool rules change
    them: releases, transfers and recycles first, then the claims judged against what is left
    (as a re-sync the same day will count them). Working state of one sync, not a decision."""

    __slots__ = ("_claims", "_earlier", "_owned", "_today")

    def __init__(
        self,
        owned: Mapping[str, int],
        claims_logged: Mapping[tuple[str, dt.date], int],
        today: dt.date,
    ) -> None:
        self._owned: Counter[str] = Counter(owned)
        self._earlier = claims_logged  # (rep, day) → claims the PoolLog holds
        self._claims: Counter[str] = Counter()  # this sync's
        self._today = today

    @classmethod
    def from_log(
        cls,
        owners: Mapping[str, str | None],
        customers: Collection[str],
        not_counted: Collection[str],
        claims_logged: Mapping[tuple[str, dt.date], int],
        today: dt.date,
    ) -> OwnerCounts:
        """`owners`: each customer's owner as the PoolLog confirmed it; only the `customers`
        on the sheet count, and not those in `not_counted` (won ones, unless they count)."""
        owned: Counter[str] = Counter(
            owner
            for cid, owner in owners.items()
            if owner and cid in customers and cid not in not_counted
        )
        return cls(owned, claims_logged, today)

    def owned(self, rep: str) -> int:
        return self._owned[rep]

    def claimed_today(self, rep: str) -> int:
        """Claims the log holds for today (an earlier sync) and this sync's."""
        return self._earlier.get((rep, self._today), 0) + self._claims[rep]

    def claim(self, rep: str) -> None:
        self._owned[rep] += 1
        self._claims[rep] += 1

    def release(self, rep: str | None) -> None:
        if rep:
            self._owned[rep] -= 1

    def transfer(self, old: str, new: str) -> None:
        self._owned[old] -= 1
        self._owned[new] += 1

    def recycle(self, rep: str) -> None:
        self._owned[rep] -= 1
