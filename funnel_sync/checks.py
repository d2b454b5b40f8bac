"""Validations over the parsed book: a plain list of functions `(book, ctx) -> problems`."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from funnel_sync.config import Config
from funnel_sync.model import Opportunity, Stage
from funnel_sync.parse import normalize_key
from funnel_sync.problems import Problem, make, sort_key
from funnel_sync.read import Book, SheetLayout
from funnel_sync.schema import ACTIVITIES, OPPORTUNITIES, POOL, REPS, Sheet


@dataclass(frozen=True)
class Context:
    cfg: Config
    today: dt.date

    @property
    def lang(self) -> str:
        return self.cfg.lang


class _Located:
    """Builds problems located by the book's layouts (sheet name, column letter per field)."""

    def __init__(self, book: Book, ctx: Context) -> None:
        self.book, self.ctx = book, ctx

    def at(self, spec: Sheet, row: int, field: str | None, code: str, **params: Any) -> Problem:
        layout: SheetLayout | None = self.book.layouts.get(spec.key)
        sheet = layout.name if layout else spec.title(self.ctx.lang)
        column = layout.letter(field) if layout and field else None
        return make(
            code, lang=self.ctx.lang, sheet=sheet, row=row, column=column, field=field, **params
        )

    def title(self, spec: Sheet) -> str:
        layout = self.book.layouts.get(spec.key)
        return layout.name if layout else spec.title(self.ctx.lang)


Validation = Callable[[Book, Context], Iterable[Problem]]


def unique_ids(book: Book, ctx: Context) -> Iterator[Problem]:
    loc = _Located(book, ctx)
    for spec, rows in (
        (POOL, book.customers),
        (OPPORTUNITIES, book.opportunities),
        (REPS, book.reps),
    ):
        field = spec.id_field
        assert field is not None
        first: dict[str, int] = {}
        for item in rows:
            key = getattr(item, field)
            if not key:
                continue
            norm = normalize_key(key)
            if norm in first:
                yield loc.at(
                    spec, item.source.row, field, "id-duplicate", value=key, first=first[norm]
                )
            else:
                first[norm] = item.source.row


def references(book: Book, ctx: Context) -> Iterator[Problem]:
    """Opportunities and activities point at customers, opportunities and reps that exist."""
    loc = _Located(book, ctx)
    customers = {c.customer_id for c in book.customers}
    opportunities: dict[str, Opportunity] = {}
    for o in book.opportunities:
        opportunities.setdefault(o.opportunity_id, o)  # a duplicate ID: the first row counts
    pool, opps = loc.title(POOL), loc.title(OPPORTUNITIES)
    if POOL.key in book.layouts:
        for o in book.opportunities:
            if o.customer_id and o.customer_id not in customers:
                yield loc.at(
                    OPPORTUNITIES,
                    o.source.row,
                    "customer_id",
                    "customer-unknown",
                    value=o.customer_id,
                    pool=pool,
                )
        for a in book.activities:
            if a.customer_id and a.customer_id not in customers:
                yield loc.at(
                    ACTIVITIES,
                    a.source.row,
                    "customer_id",
                    "customer-unknown",
                    value=a.customer_id,
                    pool=pool,
                )
    if OPPORTUNITIES.key in book.layouts:
        for a in book.activities:
            if not a.opportunity_id:
                continue
            opp = opportunities.get(a.opportunity_id)
            if opp is None:
                yield loc.at(
                    ACTIVITIES,
                    a.source.row,
                    "opportunity_id",
                    "opportunity-unknown",
                    value=a.opportunity_id,
                    opportunities=opps,
                )
            elif a.customer_id and opp.customer_id and a.customer_id != opp.customer_id:
                yield loc.at(
                    ACTIVITIES,
                    a.source.row,
                    "customer_id",
                    "opportunity-customer-mismatch",
                    value=a.opportunity_id,
                    expected=opp.customer_id,
                    actual=a.customer_id,
                )


def known_reps(book: Book, ctx: Context) -> Iterator[Problem]:
    """Every owner and activity rep is on the Reps sheet (names were canonicalised on read)."""
    if REPS.key not in book.layouts:
        return
    loc = _Located(book, ctx)
    names = {r.name for r in book.reps}
    reps_title = loc.title(REPS)
    rows: list[tuple[Sheet, int, str, str | None]] = []
    rows += [(POOL, c.source.row, "owner", c.owner) for c in book.customers]
    rows += [(OPPORTUNITIES, o.source.row, "owner", o.owner) for o in book.opportunities]
    rows += [(ACTIVITIES, a.source.row, "rep", a.rep) for a in book.activities]
    for spec, row, field, name in rows:
        if name and name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.5)
            hint = ""
            if close:
                hint = (
                    f": 是否是「{close[0]}」?"
                    if ctx.lang == "zh"
                    else f": did you mean '{close[0]}'?"
                )
            yield loc.at(spec, row, field, "rep-unknown", value=name, reps=reps_title, hint=hint)


def amounts(book: Book, ctx: Context) -> Iterator[Problem]:
    loc = _Located(book, ctx)
    header = OPPORTUNITIES.column("amount").header(ctx.lang)
    for o in book.opportunities:
        if o.amount == 0 and o.stage not in (Stage.LOST, None):
            yield loc.at(OPPORTUNITIES, o.source.row, "amount", "amount-zero", header=header)


def dates(book: Book, ctx: Context) -> Iterator[Problem]:
    """Plausible dates: nothing years ahead by a typo; activities not in the future."""
    loc = _Located(book, ctx)
    limit = (
        ctx.today.replace(year=ctx.today.year + ctx.cfg.reminders.far_future_years)
        if not (ctx.today.month == 2 and ctx.today.day == 29)
        else dt.date(ctx.today.year + ctx.cfg.reminders.far_future_years, 2, 28)
    )
    for o in book.opportunities:
        for field in ("expected_close", "planned_advance"):
            value = getattr(o, field)
            if value is not None and value > limit:
                yield loc.at(
                    OPPORTUNITIES,
                    o.source.row,
                    field,
                    "date-far-future",
                    header=OPPORTUNITIES.column(field).header(ctx.lang),
                    value=value.isoformat(),
                )
    header = ACTIVITIES.column("date").header(ctx.lang)
    for a in book.activities:
        if a.date is not None and a.date > ctx.today:
            yield loc.at(
                ACTIVITIES,
                a.source.row,
                "date",
                "date-future",
                header=header,
                value=a.date.isoformat(),
            )


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def emails(book: Book, ctx: Context) -> Iterator[Problem]:
    loc = _Located(book, ctx)
    for r in book.reps:
        if r.email and not _EMAIL.match(r.email):
            yield loc.at(REPS, r.source.row, "email", "email-invalid", value=r.email)


def stage_moves(book: Book, ctx: Context) -> Iterator[Problem]:
    """Each opportunity's class against its last confirmed class and its evidence."""
    loc = _Located(book, ctx)
    for o in book.opportunities:
        verdict = judge_move(o, ctx.cfg)
        if verdict is not None:
            code, params = verdict
            yield loc.at(OPPORTUNITIES, o.source.row, _move_field(code), code, **params)


def _move_field(code: str) -> str:
    return "lost_reason" if code == "lost-without-reason" else "stage"


def missing_evidence(o: Opportunity, stage: Stage, cfg: Config) -> list[str]:
    """Evidence fields required to enter `stage` that the opportunity lacks."""
    missing = []
    for f in cfg.evidence_for(stage):
        present = bool(o.owner) if f == "owner" else getattr(o.evidence, f)
        if not present:
            missing.append(f)
    return missing


def judge_move(o: Opportunity, cfg: Config) -> tuple[str, dict[str, object]] | None:
    """None when the typed class is acceptable; else (problem code, message parameters).

    Shared by `check` (report) and `sync` (enforce). Without a confirmed class (never synced),
    the typed class is adopted; missing evidence is then only a warning."""
    lang = cfg.lang
    to, frm = o.stage, o.confirmed_stage
    if to is None:
        return None
    if to is Stage.LOST:
        if not o.lost_reason:
            return "lost-without-reason", {
                "header": OPPORTUNITIES.column("lost_reason").header(lang)
            }
        return None
    if frm is None:
        lacking = [f for s in Stage if Stage.D <= s <= to for f in missing_evidence(o, s, cfg)]
        if lacking:
            return "stage-unverified", {"to": _code(to), "missing": _fields(lacking, lang)}
        return None
    if frm is Stage.WON and to is not Stage.WON:
        if to is Stage.A and o.notes:
            return None
        return "won-is-final", {"to": _code(to)}
    if frm is Stage.LOST or to <= frm:
        return None  # backwards (or reopening a lost one at its class): accepted and logged
    steps = [s for s in Stage if frm < s <= to]
    lacking = [f for s in steps for f in missing_evidence(o, s, cfg)]
    if not lacking:
        return None
    params: dict[str, object] = {
        "frm": _code(frm),
        "to": _code(to),
        "missing": _fields(lacking, lang),
    }
    if len(steps) > 1:
        skipped = [s for s in steps[:-1] if missing_evidence(o, s, cfg)] or steps[:-1]
        params["skipped"] = "、".join(_code(s) for s in skipped)
        return "stage-skip", params
    return "stage-evidence-missing", params


def _code(stage: Stage) -> str:
    return stage.code


def _fields(fields: list[str], lang: str) -> str:
    names = []
    for f in dict.fromkeys(fields):
        if f == "owner":
            names.append(OPPORTUNITIES.column("owner").header(lang))
        else:
            names.append(OPPORTUNITIES.column(f).header(lang))
    return "、".join(names) if lang == "zh" else ", ".join(names)


VALIDATIONS: list[Validation] = [
    unique_ids,
    references,
    known_reps,
    amounts,
    dates,
    emails,
    stage_moves,
]


def canonical_reps(book: Book, ctx: Context) -> tuple[Book, list[Problem]]:
    """Owner names typed with stray spaces or full-width letters are read as the rep's name."""
    by_key = {normalize_key(r.name): r.name for r in book.reps if r.name}
    names = set(by_key.values())
    loc = _Located(book, ctx)
    problems: list[Problem] = []

    def fix(spec: Sheet, row: int, field: str, name: str | None) -> str | None:
        if not name or name in names:
            return name
        canonical = by_key.get(normalize_key(name))
        if canonical is None:
            return name
        problems.append(loc.at(spec, row, field, "rep-name-variant", value=name, name=canonical))
        return canonical

    customers = tuple(
        c
        if not c.owner or c.owner in names
        else replace(c, owner=fix(POOL, c.source.row, "owner", c.owner))
        for c in book.customers
    )
    opportunities = tuple(
        o
        if not o.owner or o.owner in names
        else replace(o, owner=fix(OPPORTUNITIES, o.source.row, "owner", o.owner))
        for o in book.opportunities
    )
    activities = tuple(
        a
        if not a.rep or a.rep in names
        else replace(a, rep=fix(ACTIVITIES, a.source.row, "rep", a.rep))
        for a in book.activities
    )
    return replace(
        book, customers=customers, opportunities=opportunities, activities=activities
    ), problems


def validate(book: Book, cfg: Config, today: dt.date) -> tuple[Book, list[Problem]]:
    """Run every validation; returns the canonicalised book and all problems, sorted."""
    ctx = Context(cfg, today)
    book, problems = canonical_reps(book, ctx)
    problems = list(book.problems) + problems
    for validation in VALIDATIONS:
        problems.extend(validation(book, ctx))
    problems.sort(key=sort_key)
    return book, problems
