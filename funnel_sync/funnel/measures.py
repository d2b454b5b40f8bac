"""The per-row measures of the snapshot, computed once and vectorised: each opportunity's
weighted amount, days in stage, stalled and why, last contact, due date and overdue days; each
logged move classified (advanced, fell back, lost) and the stays it ends; the important days;
then the rows each aggregate reads, filtered and sorted once for the three scopes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from funnel_sync.config import Config
from funnel_sync.days import Days
from funnel_sync.funnel.context import TREND_WEEKS, Period
from funnel_sync.funnel.frames import (
    SCOPES,
    Frames,
    LedgerFrames,
    _dates,
    _positions,
    _scopes,
    _taken,
    frames,
)
from funnel_sync.funnel.plain import _stage_codes
from funnel_sync.logs import POOL_ACTIONS
from funnel_sync.model import Stage
from funnel_sync.read import Book
from funnel_sync.rules.cadence import FollowUp, Touches, follow_up_rule
from funnel_sync.rules.occasions import customer_days, what


def _t(lang: str, pair: tuple[str, str]) -> str:
    return pair[0] if lang == "zh" else pair[1]


def _follow_ups(f: Frames, cfg: Config, days: Days) -> pd.DataFrame:
    """The cadence's verdict (rules/cadence.py) on each opportunity of `f.opps`, as the sync
    writes it into 销售机会: last contact, due date, overdue days, days in stage, why stalled
    (lost opportunities: blank). An opportunity never synced enters its class today, as the
    sync's adoption would have it."""
    follow_up, today = follow_up_rule(cfg, days), days.today
    opps = list(map(f.opportunities.__getitem__, f.opps["pos"].tolist()))
    lasts = Touches.of(f.activities, today).last_contacts(opps)
    stage_of = tuple(Stage)  # Stage(n) is a slow Python call: a lookup by value instead
    assert [int(s) for s in stage_of] == list(range(len(stage_of)))
    lost = FollowUp(None, None, None, None, None, None)  # type: ignore[arg-type]
    rows = [
        lost
        if cls == Stage.LOST
        else follow_up(stage_of[cls], o.stage_entered_on or today, last, o.planned_advance)
        for o, cls, last in zip(opps, f.opps["cls"].tolist(), lasts, strict=True)
    ]
    last_column, due, overdue, in_stage, stall, _ = zip(*rows, strict=True) if rows else ((),) * 6
    return pd.DataFrame(
        {
            "last": _dates(list(last_column)),
            "due": _dates(list(due)),
            "overdue": pd.Series(overdue, dtype="float64"),
            "in_stage": pd.Series(in_stage, dtype="float64"),
            "stall": pd.Series(stall, dtype=object),
        },
        index=f.opps.index,
    )


class Measures:
    """The frames of the book with the per-row measures added, and the rows each aggregate
    reads (see tables.py), for the report dated `today` in language `lang`."""

    def __init__(
        self,
        book: Book,
        cfg: Config,
        today: dt.date,
        lang: str,
        limit: int,
        ledger: LedgerFrames | None = None,
    ) -> None:
        self.book, self.cfg, self.today, self.lang, self.limit = book, cfg, today, lang, limit
        self.period = Period.ending(today)
        # the trend's weeks, oldest first: w weeks before the report's
        self.trend_weeks = [
            (w, Period.ending(today - dt.timedelta(days=7 * w)))
            for w in range(TREND_WEEKS - 1, -1, -1)
        ]
        self.f = frames(book, ledger)
        self.ts = pd.Timestamp(today)
        self.days = Days(cfg, today)
        self.prob = {int(Stage.from_key(k)): v for k, v in cfg.stages.probability.items()}
        self.target = {int(Stage.from_key(k)): v for k, v in cfg.stages.target_days.items()}
        self._prepare()

    def t(self, zh: str, en: str, **params: Any) -> str:
        return (zh if self.lang == "zh" else en).format(**params)

    def money(self, amount: float) -> str:
        return f"{self.cfg.report.currency}{amount:,.0f}"

    # ---- per-row columns, computed once and vectorised ----

    def _prepare(self) -> None:
        f, ts = self.f, self.ts
        o = f.opps
        o["weighted"] = o["amount"].fillna(0) * o["cls"].map(self.prob).fillna(0) / 100
        o["open"] = o["cls"].between(int(Stage.D), int(Stage.A))
        # the contact cadence and days in stage: the sync's own rule (rules/cadence.py)
        o["target"] = o["cls"].map(self.target)
        follow = _follow_ups(self.f, self.cfg, self.days)
        o["age"] = follow["in_stage"]
        o["stalled"] = o["open"] & follow["stall"].notna()
        o["why"] = (
            follow["stall"]
            .map(
                {
                    "over-target": self.t("超过计划天数", "over the planned days"),
                    "plan-passed": self.t("计划进阶日已过", "planned advance passed"),
                }
            )
            .fillna("")
        )
        o["last_contact"] = follow["last"]
        o["due"] = follow["due"]
        o["overdue"] = follow["overdue"]
        o["is_overdue"] = (o["cls"] >= int(Stage.D)) & o["overdue"].gt(0)
        o["code"] = o["cls"].map({int(st): st.code for st in Stage})
        o["won_year"] = (o["cls"] == int(Stage.WON)) & (o["entered"].dt.year == ts.year)
        quarter = (ts.month - 1) // 3
        o["won_quarter"] = o["won_year"] & ((o["entered"].dt.month - 1) // 3 == quarter)
        # the log: moves classified once
        s = f.slog
        ok, frm, to = s["ok"], s["frm"], s["to"]
        s["advanced"] = ok & (frm >= int(Stage.D)) & (to > frm)
        s["fell_back"] = ok & (frm >= int(Stage.D)) & (to >= int(Stage.D)) & (to < frm)
        s["lost"] = ok & (frm >= int(Stage.D)) & (to == int(Stage.LOST))
        s["move"] = ok & (frm >= int(Stage.D))
        s["age"] = (ts - s["date"]).dt.days
        s["from_code"] = _stage_codes(s["frm"])
        s["to_code"] = _stage_codes(s["to"])
        # stays: from a row entering a class to the next accepted row of the same opportunity
        moves = s.loc[ok, ["opp", "date", "order", "to", *SCOPES]]
        if not moves["date"].is_monotonic_increasing:  # the log is kept in time order
            moves = moves.sort_values(["date", "order"], kind="stable")
        # the row order within each opportunity is (date, order): shift gives the next move
        nxt = moves.groupby("opp", sort=False)["date"].shift(-1).where(moves["opp"] >= 0)
        stays = moves.assign(days=(nxt - moves["date"]).dt.days, ended=(ts - nxt).dt.days)
        stays = stays[
            stays["days"].notna()
            & stays["to"].between(int(Stage.D), int(Stage.A))
            & stays["ended"].between(0, self.cfg.report.trailing_days - 1)
        ]
        if self.days.working:  # days in stage are counted as the sync counts them
            left = nxt[stays.index]
            stays = stays.assign(
                days=[
                    float(self.days.between(a.date(), b.date()))
                    for a, b in zip(stays["date"], left, strict=True)
                ]
            )
        self.stays = stays
        p = f.plog
        p["age"] = (ts - p["date"]).dt.days
        a = f.acts
        a["age"] = (ts - a["date"]).dt.days
        self.events = self._events()
        cust = f.customers[["customer_id", "name", "phone"]]
        self.named_events = self.events.merge(cust, on="customer_id")
        self._subsets()

    def _events(self) -> pd.DataFrame:
        """Birthdays and anniversaries of customers with a won opportunity, next 7 days."""
        o = self.f.opps
        wanted = set(o.loc[o["cls"] == int(Stage.WON), "customer_id"])
        first = self.today + dt.timedelta(days=1)
        last = self.today + dt.timedelta(days=7)
        events: list[tuple[str, dt.date, str]] = []
        for c in self.book.customers:  # the first row of a duplicated ID counts
            if c.customer_id in wanted:
                wanted.discard(c.customer_id)
                events.extend(
                    (c.customer_id, e.day, what(e, self.lang))
                    for e in customer_days(c, first, last)
                )
        return pd.DataFrame(events, columns=["customer_id", "date", "what"])

    # ---- aggregates for one scope column ----

    def _subsets(self) -> None:
        """The rows each aggregate reads, filtered and sorted once for the three scopes, with
        the columns it reads."""
        f, ts = self.f, self.ts
        o, s, a, p = f.opps, f.slog, f.acts, f.plog
        keys = list(SCOPES)
        cust = f.customers
        self.live = o.loc[o["cls"] >= int(Stage.D), [*keys, "cls", "amount", "weighted"]]
        moves = s[[*keys, "ok", "frm", "to", "advanced", "fell_back", "lost", "move", "amount"]]
        age = s["age"]
        self.week_flow = self._flow_rows(moves[age.between(0, 6)])
        self.prev_flow = self._flow_rows(moves[age.between(7, 13)])
        trailing = moves[age.between(0, self.cfg.report.trailing_days - 1)]
        self.trailing_advanced = trailing[trailing["advanced"]]
        self.trailing_lost = trailing[trailing["lost"]]
        self.trailing_moves = trailing[trailing["move"]]
        trend_rows = moves[age.between(0, 7 * TREND_WEEKS - 1)]
        trend_rows = trend_rows.assign(w=age[trend_rows.index] // 7)
        won_rows = trend_rows[trend_rows["ok"] & (trend_rows["to"] == int(Stage.WON))]
        self.trend_rows = {
            "new": trend_rows[trend_rows["ok"] & (trend_rows["frm"] < int(Stage.D))],
            "advanced": trend_rows[trend_rows["advanced"]],
            "won": won_rows,
            "lost": trend_rows[trend_rows["lost"]],
        }
        rejected = s.loc[
            age.between(0, 6) & (s["result"] == "rejected"),
            [*keys, "date", "opportunity_id", "from_code", "to_code", "reason"],
        ]
        self.rejected = rejected.sort_values("date", ascending=False)

        opened = o.loc[o["open"], [*keys, "cls", "age", "planned"]]
        self.opened = opened
        self.plan_rows = {
            "with_plan": opened[opened["planned"].notna()],
            "past_due": opened[opened["planned"] < ts],
            "due_next_week": opened[
                (opened["planned"] > ts) & (opened["planned"] <= ts + pd.Timedelta(days=7))
            ],
            "no_plan": opened[opened["planned"].isna()],
        }
        late = self.plan_rows["past_due"]
        self.late = late.assign(days_late=(ts - late["planned"]).dt.days)
        listed = [*keys, "cls", "opportunity_id", "customer_id", "cust_row", "code", "amount"]
        stalled = o.loc[
            o["open"] & o["stalled"], [*listed, "entered", "age", "target", "planned", "why"]
        ].sort_values(["cls", "age"], ascending=[False, False], kind="stable")
        self.stalled = stalled.assign(customer=self._customer(stalled, "name"))
        overdue = o.loc[o["is_overdue"], [*listed, "last_contact", "due", "overdue"]].assign(
            won=lambda d: d["cls"] == int(Stage.WON)
        )
        overdue = overdue.sort_values(
            ["won", "cls", "overdue"], ascending=[True, False, False], kind="stable"
        )
        self.overdue = overdue.assign(
            customer=self._customer(overdue, "name"),
            contact=self._customer(overdue, "contact"),
            phone=self._customer(overdue, "phone"),
        )
        won = o.loc[o["cls"] == int(Stage.WON), [*keys, "customer_id", "amount"]]
        self.won = won
        self.won_year = o.loc[o["won_year"], [*keys, "amount"]]
        self.won_quarter = o.loc[o["won_quarter"], [*keys, "amount"]]

        wk_acts = f.activity_frame(np.flatnonzero(a["age"].between(0, 6).to_numpy()))
        rows = _positions(wk_acts["customer_id"], f.cust_ids)
        wk_acts = wk_acts.assign(region=_taken(cust["region"], rows))
        _scopes(wk_acts)
        self.wk_acts = wk_acts

        pool_week = p[p["age"].between(0, 6)]
        self.pool_week = pool_week
        pool_items = pool_week[
            pool_week["action"].isin(("recycle", "claim-rejected", "transfer", "revert"))
        ].sort_values("date", ascending=False)
        self.pool_items = pool_items.assign(
            action_label=pool_items["action"].map(lambda c: _t(self.lang, POOL_ACTIONS[c]))
        )

    def _customer(self, opps: pd.DataFrame, column: str) -> pd.Series:
        """A column of the opportunities' customers (None where the customer is unknown)."""
        cust_rows = opps["cust_row"].to_numpy()
        return pd.Series(_taken(self.f.customers[column], cust_rows), opps.index, dtype=object)

    @staticmethod
    def _flow_rows(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
        ok = rows[rows["ok"]]
        return {
            "entered": ok[ok["to"] >= int(Stage.D)],
            "advanced": rows[rows["advanced"]],
            "fell_back": rows[rows["fell_back"]],
            "lost": rows[rows["lost"]],
        }
