"""The contact cadence, one rule in one place: the sync writes it into 销售机会 (最近联系, 下次联系,
逾期天数, 阶段天数, 提醒) and the report lists the same overdue and stalled opportunities from it.

- last contact: the latest activity on or before today logged on the opportunity, or on its
  customer without an opportunity ID (`Touches`);
- next contact due: the later of the last contact and the stage entry, plus the class's
  `stages.cadence_days`;
- overdue days: from the due date to today, 0 when not yet due;
- days in stage: from the stage entry to today;
- stalled (open classes only): more days in stage than `stages.target_days`, else a 计划进阶日
  that has passed.

Days are calendar or working days (`general.count_days`), counted by `Days` for both.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter
from typing import Literal, NamedTuple

from funnel_sync.config import Config
from funnel_sync.days import Days
from funnel_sync.model import Activity, Opportunity, Stage

#: Why an open opportunity is stalled: over the class's planned days, or past its 计划进阶日.
Stall = Literal["over-target", "plan-passed"]


class FollowUp(NamedTuple):
    """The cadence's verdict on one opportunity counted at an open or won class."""

    last: dt.date | None  # the last contact, None when there was none
    due: dt.date  # the next contact is due on this day
    overdue: int  # days past the due date (0: not overdue)
    in_stage: int  # days since the stage was entered
    stall: Stall | None  # open classes only
    target: int | None  # the class's planned days (stages.target_days)


FollowUpRule = Callable[[Stage, dt.date, "dt.date | None", "dt.date | None"], FollowUp]


def follow_up_rule(cfg: Config, days: Days) -> FollowUpRule:
    """`follow_up(stage, entered, last, planned)` for this run's settings and day count: the
    settings are looked up once, not per opportunity (100k of them at the benchmark's size)."""
    cadences = {stage: cfg.cadence(stage) or 30 for stage in Stage}
    targets = {stage: cfg.stages.target_days.get(stage.key) for stage in Stage}
    add, between, today = days.add, days.between, days.today

    def follow_up(
        stage: Stage, entered: dt.date, last: dt.date | None, planned: dt.date | None
    ) -> FollowUp:
        due = add(last if last is not None and last > entered else entered, cadences[stage])
        late = between(due, today)
        in_stage = between(entered, today)
        target = targets[stage]
        stall: Stall | None = None
        if stage.is_open:
            if target is not None and in_stage > target:
                stall = "over-target"
            elif planned is not None and planned < today:
                stall = "plan-passed"
        return FollowUp(
            last, due, late if late > 0 else 0, in_stage if in_stage > 0 else 0, stall, target
        )

    return follow_up


@dataclass
class Touches:
    """The last activity per key, from the activities dated on or before today."""

    by_opportunity: dict[str, dt.date] = field(default_factory=dict)
    by_customer: dict[str, dt.date] = field(default_factory=dict)  # without an opportunity ID
    by_customer_rep: dict[tuple[str, str], dt.date] = field(default_factory=dict)

    @classmethod
    def of(cls, activities: Iterable[Activity], today: dt.date) -> Touches:
        """Each index holds the latest day per key: the activities oldest first, so the last
        write wins, and the dicts are filled by C loops (400k activities at 100k)."""
        acts = sorted(
            (a for a in activities if a.date is not None and a.date <= today),
            key=attrgetter("date"),
        )
        days = list(map(attrgetter("date"), acts))
        opps = list(map(attrgetter("opportunity_id"), acts))
        custs = list(map(attrgetter("customer_id"), acts))
        no_opp = list(map(operator.not_, opps))
        touches = cls()
        touches.by_opportunity.update(zip(opps, days, strict=True))
        touches.by_customer.update(
            zip(compress(custs, no_opp), compress(days, no_opp), strict=True)
        )
        # pairs without a customer or a rep are kept: no (customer, owner) lookup matches them
        pairs = zip(custs, map(attrgetter("rep"), acts), strict=True)
        touches.by_customer_rep.update(zip(pairs, days, strict=True))
        for index in (touches.by_opportunity, touches.by_customer):
            index.pop("", None)  # activities without the ID
            index.pop(None, None)  # type: ignore[call-overload]
        return touches

    def last_contacts(self, opportunities: Sequence[Opportunity]) -> list[dt.date | None]:
        """The last contact of each opportunity: on it, or on its customer without one."""
        ids = map(attrgetter("opportunity_id"), opportunities)
        customers = map(attrgetter("customer_id"), opportunities)
        on_customer = map(self.by_customer.get, customers)
        return list(map(_later, map(self.by_opportunity.get, ids), on_customer))


def _later(own: dt.date | None, shared: dt.date | None) -> dt.date | None:
    if shared is not None and (own is None or shared > own):
        return shared
    return own
