"""Won customers' important days, one rule in one place: the sync's reminders (within
`reminders.lookahead_days`) and the report's "important days next week" both take them from here."""

from __future__ import annotations

import datetime as dt
from typing import Literal, NamedTuple

from funnel_sync.model import Customer
from funnel_sync.texts import text

Occasion = Literal["birthday", "anniversary", "holiday"]


class ImportantDay(NamedTuple):
    day: dt.date
    kind: Occasion
    who: str | None  # the contact for a birthday, the holiday's name for a holiday


def customer_days(customer: Customer, first: dt.date, last: dt.date) -> list[ImportantDay]:
    """The contact's birthday and the company's anniversary falling from `first` to `last`
    (both included), birthday first."""
    found: list[ImportantDay] = []
    if customer.contact_birthday is not None:
        day = customer.contact_birthday.next_on_or_after(first)
        if day <= last:
            found.append(ImportantDay(day, "birthday", customer.contact))
    if customer.anniversary is not None:
        day = customer.anniversary.next_on_or_after(first)
        if day <= last:
            found.append(ImportantDay(day, "anniversary", None))
    return found


def what(occasion: ImportantDay, lang: str) -> str:
    """What the day is, as the reminder and the report name it (occasion.*)."""
    if occasion.kind == "birthday":
        who = occasion.who or text("occasion.contact", lang)
        return text("occasion.birthday", lang, who=who)
    if occasion.kind == "anniversary":
        return text("occasion.anniversary", lang)
    return occasion.who or ""
