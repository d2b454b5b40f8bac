"""The per-row measures of the snapshot, computed once and vectorised: each opportunity's
weighted amount, days in stage, stalled and why, last contact, due date and overdue days; each
logged move classified (advanced, fell back, lost) and the stays it ends; the important days;
then the rows each aggregate reads, filtered and sorted once for the three scopes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from funnel_sync.config import Config
from funnel_sync.funnel.context import TREND_WEEKS, Period
from funnel_sync.funnel.frames import (
    SCOPES,
    LedgerFrames,
    _index,
    _positions,
    _scopes,
    _taken,
    frames,
)
from funnel_sync.funnel.plain import _stage_codes
from funnel_sync.logs import POOL_ACTIONS
from funnel_sync.model import MonthDay, Stage
from funnel_sync.read import Book


def _t(lang: str, pair: tuple[str, str]) -> str:
    return pair[0] if lang == "zh" else pair[1]


_NAT = np.datetime64("NaT", "ns").view("int64")  # the least int64


def _latest(
    rows: npt.NDArray[np.intp], when: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.int64]:
    """Per row 0…n-1 of a table, the latest of `when` (datetime64[ns] as int64) among the
    entries pointing at it (`rows`, -1 for none); NaT where none does."""
    latest = np.full(n + 1, _NAT, dtype=np.int64)  # the last slot takes the -1 entries
    np.maximum.at(latest, rows, when)
    return latest[:n]


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
        self.prob = {int(Stage.from_key(k)): v for k, v in cfg.stages.probability.items()}
        self.target = {int(Stage.from_key(k)): v for k, v in cfg.stages.target_days.items()}
        self.cadence = {int(Stage.from_key(k)): v for k, v in cfg.stages.cadence_days.items()}
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
        o["age"] = (ts - o["entered"]).dt.days
        o["target"] = o["cls"].map(self.target)
        over = o["open"] & o["age"].gt(o["target"])
        plan_passed = o["open"] & o["planned"].lt(ts)
        o["stalled"] = over | plan_passed
        o["why"] = np.where(
            over,
            self.t("超过计划天数", "over the planned days"),
            np.where(plan_passed, self.t("计划进阶日已过", "planned advance passed"), ""),
        )
        # last contact: activities on the opportunity, or on its customer without one
        a = f.acts
        seen = np.flatnonzero((a["date"].notna() & (a["date"] <= ts)).to_numpy())
        when = a["date"].to_numpy().view("int64")
        rows = _positions(a["opportunity_id"].to_numpy()[seen], f.opp_ids)
        by_opp = _latest(rows, when[seen], len(o))
        maybe = seen[rows < 0]  # the rest have an opportunity, so an ID
        no_opp = maybe[pd.isna(a["opportunity_id"].to_numpy()[maybe])]
        customers, customer_ids = pd.factorize(o["customer_id"])  # the opportunities' customers
        by_cust = _latest(
            _positions(f.activity_frame(no_opp)["customer_id"], _index(pd.Series(customer_ids))),
            when[no_opp],
            len(customer_ids),
        )
        last = np.maximum(by_opp, np.append(by_cust, _NAT)[customers])  # NaT is the least
        o["last_contact"] = last.view("datetime64[ns]")
        base = np.maximum(last, o["entered"].to_numpy().view("int64")).view("datetime64[ns]")
        o["due"] = pd.Series(base) + pd.to_timedelta(o["cls"].map(self.cadence), unit="D")
        o["overdue"] = (ts - o["due"]).dt.days
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
        self.stays = stays[
            stays["days"].notna()
            & stays["to"].between(int(Stage.D), int(Stage.A))
            & stays["ended"].between(0, self.cfg.report.trailing_days - 1)
        ]
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
        o, cust = self.f.opps, self.f.customers
        won_ids = set(o.loc[o["cls"] == int(Stage.WON), "customer_id"])
        wanted = cust[cust["customer_id"].isin(won_ids)]
        events: list[tuple[str, dt.date, str]] = []
        first = self.today + dt.timedelta(days=1)
        last = self.today + dt.timedelta(days=7)
        unknown = self.t("联系人", "contact")
        next_day: dict[MonthDay, dt.date] = {}  # a few hundred distinct days
        for cid, contact, birthday, anniversary in zip(
            wanted["customer_id"],
            wanted["contact"],
            wanted["birthday"],
            wanted["anniversary"],
            strict=True,
        ):
            for md, is_birthday in ((birthday, True), (anniversary, False)):
                if isinstance(md, MonthDay):
                    day = next_day.get(md)
                    if day is None:
                        day = next_day[md] = md.next_on_or_after(first)
                    if day <= last:
                        what = (
                            self.t("{w}生日", "{w}'s birthday", w=contact or unknown)
                            if is_birthday
                            else self.t("厂庆日", "company anniversary")
                        )
                        events.append((cid, day, what))
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
