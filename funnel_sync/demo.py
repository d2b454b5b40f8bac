"""A realistic, deterministic demo team: regions, reps at every phase, a pool, weeks of history."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from funnel_sync.config import Config
from funnel_sync.init import build_ledger, repack, saved, write_new_file, yes_no
from funnel_sync.model import ActivityKind, Evidence, Stage
from funnel_sync.plan import CellValue
from funnel_sync.problems import column_letter
from funnel_sync.read import _sheet_parts
from funnel_sync.schema import ACTIVITIES, OPPORTUNITIES, POOL, POOL_LOG, REPS, STAGE_LOG, Sheet
from funnel_sync.texts import text

REGIONS = ("华东", "华南", "华北", "西南", "华中")
CITIES = {
    "华东": ("上海", "杭州", "南京", "苏州", "宁波", "合肥"),
    "华南": ("广州", "深圳", "东莞", "佛山", "厦门", "南宁"),
    "华北": ("北京", "天津", "石家庄", "太原", "济南", "青岛"),
    "西南": ("成都", "重庆", "昆明", "贵阳", "绵阳", "遵义"),
    "华中": ("武汉", "长沙", "郑州", "南昌", "宜昌", "洛阳"),
}
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国红梅晨宇浩然子涵欣"
    "怡雨轩梓萱思远博文俊杰佳琪雅婷志强海燕立新春生秋实"
)
WORDS = (
    "华信",
    "宏达",
    "鑫源",
    "恒通",
    "金桥",
    "瑞丰",
    "博远",
    "天成",
    "中科",
    "安捷",
    "盛世",
    "嘉禾",
    "泰和",
    "永安",
    "润泽",
    "汇通",
    "德隆",
    "新锐",
    "众诚",
    "创维",
    "东方",
    "远航",
)
TRADES = (
    "科技",
    "贸易",
    "制造",
    "物流",
    "电子",
    "医疗器械",
    "建材",
    "食品",
    "化工",
    "软件",
    "教育咨询",
    "机械",
)
INDUSTRIES = ("制造业", "零售", "物流", "医疗", "教育", "互联网", "建筑", "能源", "金融", "餐饮")
SOURCES = ("电话开发", "转介绍", "展会", "官网咨询", "老客户", "网络推广")
LOST_REASONS = ("预算取消", "选择了竞品", "价格太高", "项目延期", "联系人离职")
NEXT_STEPS = {
    Stage.D: ("电话核实需求", "发送公司介绍", "约关键人"),
    Stage.C: ("发送行业资讯", "约拜访演示", "确认预算范围"),
    Stage.B: ("明确决策流程", "准备方案", "报价后跟进"),
    Stage.A: ("催签合同", "确认付款计划", "跟进回款"),
    Stage.WON: ("月度回访", "二次营销", "节日问候"),
}
# The funnel's shape: most opportunities at the top.
STAGE_MIX = (
    (Stage.D, 34),
    (Stage.C, 24),
    (Stage.B, 15),
    (Stage.A, 8),
    (Stage.WON, 11),
    (Stage.LOST, 8),
)
EVIDENCE_ORDER = (
    (Stage.C, ("influencer_contacted", "need_confirmed")),
    (Stage.B, ("quoted", "decision_process_known")),
    (Stage.A, ("budget_confirmed", "contract_sent")),
    (Stage.WON, ("signed",)),
)


@dataclass(frozen=True)
class DemoSize:
    reps: int = 8
    customers: int = 240
    opportunities: int = 200
    weeks: int = 8

    @classmethod
    def scaled(
        cls, reps: int | None, customers: int | None, opportunities: int | None, weeks: int | None
    ) -> DemoSize:
        """Fill what was not given in proportion (100k opportunities → ~40k customers)."""
        opps = (
            opportunities
            if opportunities is not None
            else (max(10, int(customers * 0.85)) if customers else cls.opportunities)
        )
        custs = (
            customers
            if customers is not None
            else (max(opps * 2 // 5, 30) if opportunities is not None else cls.customers)
        )
        n_reps = reps if reps is not None else max(cls.reps, min(400, custs // 120))
        return cls(max(1, n_reps), max(1, custs), max(0, opps), max(1, weeks or cls.weeks))


@dataclass
class Team:
    """The demo's rows per sheet, in schema column order, plus what was planted where."""

    rows: dict[str, list[list[CellValue]]] = field(default_factory=dict)
    planted: list[tuple[str, int, str, str]] = field(default_factory=list)  # sheet,row,field,code


@dataclass
class _Rep:
    name: str
    regions: tuple[str, ...]
    start: dt.date
    training_end: dt.date | None
    quota: int
    manager: bool
    email: str


@dataclass
class _Customer:
    cid: str
    region: str
    owner: str | None
    claimed_on: dt.date | None
    row: list[CellValue]


def generate(size: DemoSize, seed: int, today: dt.date, cfg: Config) -> Team:
    rng = random.Random(seed)
    lang = cfg.lang
    yes, no = yes_no(cfg)
    # the log rows as the engine writes them: the same texts
    accepted = text("log.stage.accepted", lang)
    first_sync, with_evidence = text("demo.first_sync", lang), text("log.reason.evidence", lang)
    team = Team()
    history_start = today - dt.timedelta(weeks=size.weeks)
    reps = _reps(rng, size.reps, today)
    sellers = [r for r in reps if not r.manager] or reps
    team.rows[REPS.key] = [
        [
            r.name,
            r.email,
            "*" if r.manager else ",".join(r.regions),
            r.start,
            r.quota,
            yes if r.manager else no,
            r.training_end,
        ]
        for r in reps
    ]

    # the pool: most customers owned by a rep of their region, the rest unclaimed reserve
    by_region: dict[str, list[_Rep]] = {
        reg: [r for r in sellers if reg in r.regions] for reg in REGIONS
    }
    customers: list[_Customer] = []
    names: set[str] = set()
    for i in range(size.customers):
        region = REGIONS[rng.randrange(len(REGIONS))]
        candidates = by_region[region] or sellers
        owner = rng.choice(candidates).name if rng.random() < 0.72 else None
        claimed = _day_between(rng, history_start - dt.timedelta(days=60), today) if owner else None
        name = _company(rng, region, names)
        birthday: CellValue = None
        roll = rng.random()
        if roll < 0.55:
            birthday = dt.date(rng.randint(1965, 1995), rng.randint(1, 12), rng.randint(1, 28))
        elif roll < 0.7:
            birthday = f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
        anniversary = (
            dt.date(rng.randint(1995, 2018), rng.randint(1, 12), rng.randint(1, 28))
            if rng.random() < 0.3
            else None
        )
        row: list[CellValue] = [
            f"KH{i + 1:05d}",
            name,
            region,
            INDUSTRIES[rng.randrange(len(INDUSTRIES))],
            _person(rng),
            _phone(rng),
            birthday,
            anniversary,
            SOURCES[rng.randrange(len(SOURCES))],
            owner,
            None,
            claimed,
            None,
            None,
            None,
        ]
        customers.append(_Customer(f"KH{i + 1:05d}", region, owner, claimed, row))
    owned = [c for c in customers if c.owner] or customers[:1]

    opp_rows: list[list[CellValue]] = []
    stage_log: list[list[CellValue]] = []
    activities: list[tuple[dt.date, list[CellValue]]] = []
    won_customers: list[_Customer] = []
    stages = [s for s, _ in STAGE_MIX]
    weights = [w for _, w in STAGE_MIX]
    rep_by_name = {r.name: r for r in reps}
    for i in range(size.opportunities):
        customer = owned[rng.randrange(len(owned))]
        owner = customer.owner or sellers[0].name
        rep = rep_by_name.get(owner, sellers[0])
        stage = rng.choices(stages, weights)[0]
        if rep.training_end and rep.training_end > today and stage in (Stage.A, Stage.WON):
            stage = Stage.C  # a rep in training does not close deals yet
        oid = f"JH{i + 1:06d}"
        opened = _day_between(
            rng,
            max(history_start, customer.claimed_on or history_start)
            - dt.timedelta(days=rng.randint(0, 30)),
            today - dt.timedelta(2),
        )
        path = _path_to(stage, rng)
        moves = _move_dates(rng, opened, today, len(path))
        for step, (frm, to) in enumerate(zip([None, *path[:-1]], path, strict=True)):
            stage_log.append(
                [
                    dt.datetime.combine(moves[step], dt.time(2, 0)),
                    oid,
                    frm.code if frm is not None else "",
                    to.code,
                    accepted,
                    first_sync if frm is None else with_evidence,
                    owner,
                ]
            )
        entered = moves[-1]
        evidence = {f: False for _, fs in EVIDENCE_ORDER for f in fs}
        reached = stage if stage is not Stage.LOST else path[-2] if len(path) > 1 else Stage.D
        for s, fs in EVIDENCE_ORDER:
            if reached >= s:
                evidence.update(dict.fromkeys(fs, True))
        amount = rng.randint(10, 150) * 1000  # deals of 1万–15万 against quotas of 60万–200万
        close_date: CellValue = None
        planned: CellValue = None
        if stage.is_open:
            close_date = today + dt.timedelta(days=rng.randint(10, 150))
            planned = entered + dt.timedelta(days=rng.randint(7, 40))
        elif stage is Stage.WON:
            close_date = entered
            won_customers.append(customer)
        opp_rows.append(
            [
                oid,
                customer.cid,
                owner,
                stage.code,
                amount,
                close_date,
                rng.choice(NEXT_STEPS.get(stage, ("",))) or None,
                planned,
                *[yes if evidence[f] else None for f in Evidence._fields],
                rng.choice(LOST_REASONS) if stage is Stage.LOST else None,
                None,
                stage.code,
                entered,
                None,
                None,
                None,
                None,
                None,
                None,
            ]
        )
        # touches: the owner calls and visits; some opportunities are left overdue on purpose
        touches = rng.randint(2, 6)
        overdue = stage.is_open and rng.random() < 0.2
        last_allowed = today - dt.timedelta(days=25 if overdue else 0)
        for _ in range(touches):
            day = _day_between(rng, opened, max(opened, last_allowed))
            kind = ActivityKind.VISIT if rng.random() < 0.25 else ActivityKind.CALL
            hours = round(
                rng.choice((0.25, 0.5, 1.0))
                if kind is ActivityKind.CALL
                else rng.choice((1.0, 1.5, 2.0, 3.0)),
                2,
            )
            activities.append(
                (day, [day, owner, customer.cid, oid, _kind(kind, cfg), hours, _note(kind, rng)])
            )

    # owners keep in touch with their customers; about one in ten is neglected (the pool's
    # recycling rule then warns or takes it back)
    touched: dict[tuple[str, str], dt.date] = {}
    for day, a in activities:
        key = (str(a[2]), str(a[1]))
        touched[key] = max(day, touched.get(key, day))
    for c in owned:
        if not c.owner or rng.random() < 0.1:
            continue
        last = touched.get((c.cid, c.owner))
        if last is None or (today - last).days > 20:
            day = today - dt.timedelta(days=rng.randint(0, 20))
            activities.append(
                (
                    day,
                    [
                        day,
                        c.owner,
                        c.cid,
                        None,
                        _kind(ActivityKind.CALL, cfg),
                        0.25,
                        _note(ActivityKind.CALL, rng),
                    ],
                )
            )
    # weekly work standards: profiles collected and prospecting hours, per rep and week
    pool_ids = [c.cid for c in customers if not c.owner] or [c.cid for c in customers]
    target = size.opportunities * 4
    weekly = max(1, (target - len(activities)) // max(1, len(sellers) * size.weeks * 2))
    for rep in sellers:
        for week in range(size.weeks):
            monday = history_start + dt.timedelta(weeks=week)
            for kind in (ActivityKind.PROFILE, ActivityKind.PROSPECTING):
                for _ in range(rng.randint(max(1, weekly // 2), weekly + 1)):
                    day = min(today, monday + dt.timedelta(days=rng.randrange(5)))
                    hours = 0.5 if kind is ActivityKind.PROFILE else rng.choice((1.0, 2.0, 3.0))
                    activities.append(
                        (
                            day,
                            [
                                day,
                                rep.name,
                                rng.choice(pool_ids),
                                None,
                                _kind(kind, cfg),
                                hours,
                                _note(kind, rng),
                            ],
                        )
                    )

    # won customers: some contact birthdays fall next week
    for customer in won_customers[: max(1, len(won_customers) // 4)]:
        soon = today + dt.timedelta(days=rng.randint(1, 7))
        customer.row[6] = dt.date(rng.randint(1970, 1990), soon.month, min(soon.day, 28))

    activities.sort(key=lambda a: a[0])
    team.rows[POOL.key] = [c.row for c in customers]
    team.rows[OPPORTUNITIES.key] = opp_rows
    team.rows[ACTIVITIES.key] = [a for _, a in activities]
    team.rows[STAGE_LOG.key] = sorted(stage_log, key=lambda r: (str(r[0]), str(r[1])))
    team.rows[POOL_LOG.key] = [
        [
            dt.datetime.combine(c.claimed_on or today, dt.time(2, 0)),
            c.cid,
            text("log.pool.claim", lang),
            c.owner,
            "",
            None,
        ]
        for c in sorted(owned, key=lambda c: (c.claimed_on or today, c.cid))
        if c.owner
    ]
    _plant_mistakes(team, rng, cfg, today, [r.name for r in sellers])
    return team


def _plant_mistakes(
    team: Team, rng: random.Random, cfg: Config, today: dt.date, sellers: list[str]
) -> None:
    """The handful of mistakes a real team makes, each recorded in `team.planted`."""
    opps = team.rows[OPPORTUNITIES.key]
    acts = team.rows[ACTIVITIES.key]
    stage_col = _col(OPPORTUNITIES, "stage")
    confirmed_col = _col(OPPORTUNITIES, "confirmed_stage")
    if len(opps) >= 4:
        # 1. a stage skipped without evidence: confirmed D, typed B, never quoted
        d_rows = [i for i, r in enumerate(opps) if r[confirmed_col] == Stage.D.code]
        if d_rows:
            i = d_rows[len(d_rows) // 2]
            opps[i][stage_col] = Stage.B.code
            team.planted.append((OPPORTUNITIES.key, i + 2, "stage", "stage-skip"))
        # 3. a date typed as text that no calendar knows
        k = next(
            (i for i, r in enumerate(opps) if r[stage_col] in ("C", "B") and i > len(opps) // 2),
            None,
        )
        if k is not None:
            opps[k][_col(OPPORTUNITIES, "expected_close")] = text("demo.unreadable_date", cfg.lang)
            team.planted.append((OPPORTUNITIES.key, k + 2, "expected_close", "date-unreadable"))
        # readable dates typed as text are not mistakes: the reader takes them as they come
        for r in opps[1:4]:
            value = r[_col(OPPORTUNITIES, "planned_advance")]
            if isinstance(value, dt.date):
                r[_col(OPPORTUNITIES, "planned_advance")] = (
                    f"{value.year}/{value.month}/{value.day}"
                )
        # 2. a duplicate ID: someone copied a row and forgot to change the number
        j = len(opps) // 3
        while any(r == j + 2 for _, r, _, _ in team.planted):
            j += 1  # copy a clean row, so each mistake is planted once
        copy = list(opps[j])
        amount = copy[_col(OPPORTUNITIES, "amount")]
        copy[_col(OPPORTUNITIES, "amount")] = (amount if isinstance(amount, int) else 0) + 5000
        copy[_col(OPPORTUNITIES, "next_step")] = text("demo.next_step_requote", cfg.lang)
        opps.insert(j + 1, copy)
        team.planted[:] = [
            (s, r + 1 if s == OPPORTUNITIES.key and r >= j + 3 else r, f, c)
            for s, r, f, c in team.planted
        ]
        team.planted.append((OPPORTUNITIES.key, j + 3, "opportunity_id", "id-duplicate"))
    if acts:
        # 4. an unknown rep: a temp logged a call under a name that is not on the team
        m = len(acts) // 2
        acts[m][_col(ACTIVITIES, "rep")] = "临时工小赵"
        team.planted.append((ACTIVITIES.key, m + 2, "rep", "rep-unknown"))


def _col(sheet: Sheet, field: str) -> int:
    return [c.field for c in sheet.columns].index(field)


def _reps(rng: random.Random, n: int, today: dt.date) -> list[_Rep]:
    """A manager, one rep in training, one in each roadmap phase, then veterans."""
    reps: list[_Rep] = []
    used: set[str] = set()
    offsets = [
        (3 * 365, True),
        (20, False),
        (75, False),
        (165, False),
        (255, False),
        (400, False),
        (700, False),
    ]
    for i in range(n):
        days, manager = offsets[i] if i < len(offsets) else (rng.randint(300, 1500), False)
        name = _person(rng, used)
        start = today - dt.timedelta(days=days)
        training_end = start + dt.timedelta(days=30) if days == 20 else None
        first = REGIONS[i % len(REGIONS)]
        regions = (first,) if rng.random() < 0.6 else (first, REGIONS[(i + 2) % len(REGIONS)])
        quota = rng.randint(6, 20) * 100_000 if days > 30 else 0
        reps.append(
            _Rep(
                name,
                regions,
                start,
                training_end,
                quota,
                manager,
                f"rep{i + 1:03d}@demo-team.example",
            )
        )
    return reps


def _person(rng: random.Random, used: set[str] | None = None) -> str:
    while True:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        if used is None or name not in used:
            if used is not None:
                used.add(name)
            return name


def _company(rng: random.Random, region: str, used: set[str]) -> str:
    base = rng.choice(CITIES[region]) + rng.choice(WORDS) + rng.choice(TRADES) + "有限公司"
    name, n = base, 2
    while name in used:
        name, n = base.replace("有限公司", f"{n}号有限公司"), n + 1
    used.add(name)
    return name


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3589") + "".join(str(rng.randrange(10)) for _ in range(9))


def _day_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    if end <= start:
        return end
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def _path_to(stage: Stage, rng: random.Random) -> list[Stage]:
    """The classes an opportunity went through to reach `stage` (lost from some open class)."""
    if stage is Stage.LOST:
        top = rng.choice((Stage.D, Stage.C, Stage.B))
        return [s for s in (Stage.D, Stage.C, Stage.B) if s <= top] + [Stage.LOST]
    return [s for s in (Stage.D, Stage.C, Stage.B, Stage.A, Stage.WON) if s <= stage]


def _move_dates(rng: random.Random, start: dt.date, today: dt.date, n: int) -> list[dt.date]:
    span = max(0, (today - start).days)
    days = sorted(rng.randint(0, span) for _ in range(n - 1))
    return [start] + [start + dt.timedelta(days=d) for d in days]


def _kind(kind: ActivityKind, cfg: Config) -> str:
    return kind.value if cfg.lang == "zh" else kind.english


_NOTES = {
    ActivityKind.CALL: ("电话沟通需求", "确认联系人", "跟进报价反馈", "介绍新活动"),
    ActivityKind.VISIT: ("上门演示产品", "拜访决策人", "现场调研"),
    ActivityKind.PROFILE: ("收集客户资料", "整理工商信息"),
    ActivityKind.PROSPECTING: ("展会名单筛选", "电话开发新客户", "网络搜索潜在客户"),
}


def _note(kind: ActivityKind, rng: random.Random) -> str:
    return rng.choice(_NOTES.get(kind, ("",)))


# ---- writing: the ledger skeleton from openpyxl, the rows streamed as XML ----

_EPOCH_1900 = dt.date(1899, 12, 30)


def workbook_bytes(team: Team, cfg: Config, today: dt.date) -> bytes:
    package = saved(build_ledger(cfg), dt.datetime.combine(today, dt.time(0, 0)))
    replace: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        parts = _sheet_parts(archive)
        specs = {
            cfg.sheet_title(s): s
            for s in (POOL, OPPORTUNITIES, ACTIVITIES, REPS, STAGE_LOG, POOL_LOG)
        }
        for title, spec in specs.items():
            rows = team.rows.get(spec.key)
            if not rows:
                continue
            part = parts[title]
            replace[part] = _fill_sheet(archive.read(part), rows)
    return repack(package, replace)


def _fill_sheet(xml: bytes, rows: Sequence[Sequence[CellValue]]) -> bytes:
    text = xml.decode("utf-8")
    styles = _column_styles(text)
    width = max((len(r) for r in rows), default=1)
    letters = [column_letter(i + 1) for i in range(width)]
    style_attr = [f' s="{styles[i + 1]}"' if i + 1 in styles else "" for i in range(width)]
    body = "".join(_rows_xml(rows, letters, style_attr, start=2))
    end = text.index("</sheetData>")
    text = text[:end] + body + text[end:]
    last = f"{letters[-1]}{len(rows) + 1}"
    text = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="A1:{last}"', text, count=1)
    return text.encode("utf-8")


def _column_styles(sheet_xml: str) -> dict[int, int]:
    styles: dict[int, int] = {}
    for col in re.finditer(r"<col\b([^>]*)/>", sheet_xml):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', col.group(1)))
        if "style" in attrs:
            for i in range(int(attrs["min"]), int(attrs["max"]) + 1):
                styles[i] = int(attrs["style"])
    return styles


def _rows_xml(
    rows: Iterable[Sequence[CellValue]], letters: list[str], style_attr: list[str], start: int
) -> Iterable[str]:
    for r, values in enumerate(rows, start):
        cells = []
        for i, v in enumerate(values):
            if v is None or v == "":
                continue
            ref = f"{letters[i]}{r}"
            s = style_attr[i]
            if isinstance(v, str):
                space = ' xml:space="preserve"' if v != v.strip() else ""
                cells.append(
                    f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{escape(v)}</t></is></c>'
                )
            elif isinstance(v, bool):
                cells.append(f'<c r="{ref}"{s} t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, dt.datetime):
                serial = (v - dt.datetime(1899, 12, 30)).total_seconds() / 86400
                cells.append(f'<c r="{ref}"{s}><v>{serial:.10g}</v></c>')
            elif isinstance(v, dt.date):
                cells.append(f'<c r="{ref}"{s}><v>{(v - _EPOCH_1900).days}</v></c>')
            else:
                cells.append(f'<c r="{ref}"{s}><v>{v}</v></c>')
        yield f'<row r="{r}">{"".join(cells)}</row>'


def create_demo(path: Path, cfg: Config, size: DemoSize, seed: int, today: dt.date) -> Team:
    team = generate(size, seed, today, cfg)
    write_new_file(path, workbook_bytes(team, cfg, today))
    return team
