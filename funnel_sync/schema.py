"""The ledger's sheets and columns in one declarative table: names, aliases, types, owners."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from funnel_sync.parse import normalize_key


class Kind(enum.Enum):
    """How a column's cells are read."""

    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    MONTH_DAY = "month_day"  # a birthday or anniversary, year optional
    STAGE = "stage"
    BOOL = "bool"
    AMOUNT = "amount"
    HOURS = "hours"
    INT = "int"
    KIND = "kind"  # activity kind
    REGIONS = "regions"


class Owner(enum.Enum):
    USER = "user"  # typed by the team, never overwritten
    ENGINE = "engine"  # written by funnel_sync


@dataclass(frozen=True, slots=True)
class Column:
    field: str
    zh: str
    en: str
    kind: Kind
    required: bool = False
    owner: Owner = Owner.USER
    aliases: tuple[str, ...] = ()
    width: float = 12

    @property
    def is_engine(self) -> bool:
        return self.owner is Owner.ENGINE

    def header(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def names(self) -> tuple[str, ...]:
        return (self.zh, self.en, self.field, *self.aliases)


@dataclass(frozen=True, slots=True)
class Sheet:
    key: str  # config key: pool, opportunities, activities, reps, stage_log, pool_log, today
    zh: str
    en: str
    columns: tuple[Column, ...]
    engine: bool = False  # the whole sheet belongs to the engine
    aliases: tuple[str, ...] = ()
    id_field: str | None = None

    def title(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def names(self) -> tuple[str, ...]:
        return (self.zh, self.en, self.key, *self.aliases)

    def column(self, field: str) -> Column:
        for col in self.columns:
            if col.field == field:
                return col
        raise KeyError(f"{self.key}.{field}")


def _c(field: str, zh: str, en: str, kind: Kind = Kind.TEXT, **kw: object) -> Column:
    return Column(field, zh, en, kind, **kw)  # type: ignore[arg-type]


def _e(field: str, zh: str, en: str, kind: Kind = Kind.TEXT, **kw: object) -> Column:
    return Column(field, zh, en, kind, owner=Owner.ENGINE, **kw)  # type: ignore[arg-type]


POOL = Sheet(
    "pool",
    "公共资源库",
    "Pool",
    (
        _c("customer_id", "客户编号", "Customer ID", required=True, width=12),
        _c(
            "name",
            "客户名称",
            "Customer",
            required=True,
            aliases=("Customer name", "Name"),
            width=24,
        ),
        _c("region", "区域", "Region", required=True, width=10),
        _c("industry", "行业", "Industry", width=12),
        _c("contact", "联系人", "Contact", width=10),
        _c("phone", "电话", "Phone", aliases=("Tel", "手机"), width=15),
        _c(
            "contact_birthday",
            "联系人生日",
            "Contact birthday",
            Kind.MONTH_DAY,
            aliases=("Birthday", "生日"),
            width=12,
        ),
        _c(
            "anniversary",
            "厂庆日",
            "Company anniversary",
            Kind.MONTH_DAY,
            aliases=("Anniversary", "厂庆"),
            width=12,
        ),
        _c("lead_source", "来源", "Source", aliases=("Lead source",), width=10),
        _c("owner", "负责人", "Owner", aliases=("Rep", "销售"), width=10),
        _c("locked", "锁定", "Locked", Kind.BOOL, width=8),
        _e("claimed_on", "领取日期", "Claimed on", Kind.DATE, width=12),
        _e("released_on", "释放日期", "Released on", Kind.DATE, width=12),
        _e("reminder", "提醒", "Reminder", width=36),
        _e("check", "校验", "Check", width=40),
    ),
    aliases=("公共资源", "资源库", "客户", "Customers", "Public pool"),
    id_field="customer_id",
)

OPPORTUNITIES = Sheet(
    "opportunities",
    "销售机会",
    "Opportunities",
    (
        _c("opportunity_id", "机会编号", "Opportunity ID", required=True, width=12),
        _c("customer_id", "客户编号", "Customer ID", required=True, width=12),
        _c("owner", "负责人", "Owner", required=True, aliases=("Rep", "销售"), width=10),
        _c(
            "stage",
            "分类",
            "Class",
            Kind.STAGE,
            required=True,
            aliases=("Stage", "类别", "阶段"),
            width=8,
        ),
        _c(
            "amount",
            "预计金额",
            "Amount",
            Kind.AMOUNT,
            aliases=("金额", "Expected amount"),
            width=12,
        ),
        _c("expected_close", "预计成交日", "Expected close", Kind.DATE, width=12),
        _c("next_step", "下一步", "Next step", width=24),
        _c("planned_advance", "计划进阶日", "Planned advance", Kind.DATE, width=12),
        _c("influencer_contacted", "已接触关键人", "Influencer contacted", Kind.BOOL, width=8),
        _c("need_confirmed", "需求已确认", "Need confirmed", Kind.BOOL, width=8),
        _c("quoted", "已报价", "Quoted", Kind.BOOL, width=8),
        _c(
            "decision_process_known", "决策流程已明确", "Decision process known", Kind.BOOL, width=8
        ),
        _c("budget_confirmed", "预算已确认", "Budget confirmed", Kind.BOOL, width=8),
        _c("contract_sent", "合同已发送", "Contract sent", Kind.BOOL, width=8),
        _c("signed", "已签约", "Signed", Kind.BOOL, width=8),
        _c("lost_reason", "丢单原因", "Lost reason", width=16),
        _c("notes", "备注", "Notes", width=24),
        _e("confirmed_stage", "确认分类", "Confirmed class", Kind.STAGE, width=8),
        _e("stage_entered_on", "进入阶段日期", "Stage entered on", Kind.DATE, width=12),
        _e("days_in_stage", "阶段天数", "Days in stage", Kind.INT, width=8),
        _e("last_contact", "最近联系", "Last contact", Kind.DATE, width=12),
        _e("next_contact_due", "下次联系", "Next contact due", Kind.DATE, width=12),
        _e("overdue_days", "逾期天数", "Overdue days", Kind.INT, width=8),
        _e("reminder", "提醒", "Reminder", width=36),
        _e("check", "校验", "Check", width=40),
    ),
    aliases=("机会", "商机", "Opps", "Pipeline"),
    id_field="opportunity_id",
)

ACTIVITIES = Sheet(
    "activities",
    "跟进记录",
    "Activities",
    (
        _c("date", "日期", "Date", Kind.DATE, required=True, width=12),
        _c("rep", "销售", "Rep", required=True, aliases=("负责人", "Owner"), width=10),
        _c("customer_id", "客户编号", "Customer ID", required=True, width=12),
        _c("opportunity_id", "机会编号", "Opportunity ID", width=12),
        _c("kind", "类型", "Kind", Kind.KIND, required=True, aliases=("Type",), width=10),
        _c("hours", "时长(小时)", "Hours", Kind.HOURS, aliases=("时长", "小时"), width=10),
        _c("notes", "内容", "Notes", aliases=("备注",), width=36),
    ),
    aliases=("跟进", "活动", "Activity", "Log"),
)

REPS = Sheet(
    "reps",
    "销售团队",
    "Reps",
    (
        _c("name", "姓名", "Name", required=True, aliases=("销售", "Rep"), width=10),
        _c("email", "邮箱", "Email", aliases=("E-mail", "电子邮件"), width=24),
        _c(
            "regions", "区域", "Regions", Kind.REGIONS, required=True, aliases=("Region",), width=16
        ),
        _c("start_date", "入职日期", "Start date", Kind.DATE, required=True, width=12),
        _c(
            "annual_quota",
            "年度定额",
            "Annual quota",
            Kind.AMOUNT,
            aliases=("定额", "Quota"),
            width=12,
        ),
        _c("manager", "经理", "Manager", Kind.BOOL, width=8),
        _c("training_end", "培训期结束", "Training end", Kind.DATE, width=12),
    ),
    aliases=("团队", "销售人员", "Team"),
    id_field="name",
)

STAGE_LOG = Sheet(
    "stage_log",
    "阶段日志",
    "StageLog",
    (
        _e("time", "时间", "Time", Kind.DATETIME, width=17),
        _e("opportunity_id", "机会编号", "Opportunity ID", width=12),
        _e("from_stage", "原分类", "From", width=8),
        _e("to_stage", "新分类", "To", width=8),
        _e("result", "结果", "Result", width=10),
        _e("reason", "原因", "Reason", width=48),
        _e("owner", "负责人", "Owner", width=10),
    ),
    engine=True,
    aliases=("Stage log",),
)

POOL_LOG = Sheet(
    "pool_log",
    "资源库日志",
    "PoolLog",
    (
        _e("time", "时间", "Time", Kind.DATETIME, width=17),
        _e("customer_id", "客户编号", "Customer ID", width=12),
        _e("action", "动作", "Action", width=10),
        _e("rep", "销售", "Rep", width=10),
        _e("reason", "原因", "Reason", width=48),
        _e("old_value", "原值", "Old value", width=12),
    ),
    engine=True,
    aliases=("Pool log",),
)

TODAY = Sheet(
    "today",
    "今日提醒",
    "Today",
    (
        _e("rep", "销售", "Rep", width=10),
        _e("priority", "优先级", "Priority", Kind.INT, width=8),
        _e("stage", "分类", "Class", width=8),
        _e("customer_id", "客户编号", "Customer ID", width=12),
        _e("customer", "客户名称", "Customer", width=24),
        _e("contact", "联系人", "Contact", width=10),
        _e("phone", "电话", "Phone", width=15),
        _e("opportunity_id", "机会编号", "Opportunity ID", width=12),
        _e("reason", "事项", "What to do", width=48),
    ),
    engine=True,
    aliases=("Today list",),
)

#: Every sheet of the ledger, in the order `init` creates them.
SHEETS: tuple[Sheet, ...] = (POOL, OPPORTUNITIES, ACTIVITIES, REPS, STAGE_LOG, POOL_LOG, TODAY)
INPUT_SHEETS: tuple[Sheet, ...] = tuple(s for s in SHEETS if not s.engine)


def sheet_by_key(key: str) -> Sheet:
    for sheet in SHEETS:
        if sheet.key == key:
            return sheet
    raise KeyError(key)


def match_key(text: str) -> str:
    """The form in which headers and sheet names are compared (case, width, spacing ignored)."""
    return normalize_key(text)
