"""E-mail delivery of the weekly report: the team report to the managers, each rep their own.

Three steps, each testable on its own:

- `build_mail(result, reps, cfg)` — pure: the messages (HTML body, plain-text alternative, the
  Excel report attached) from a `ReportResult` and the Reps sheet; no network, no clock;
- `send_mail(outgoing, cfg, password=…)` — SMTP (plain, STARTTLS or TLS), each message retried
  with backoff (`sleep` is injectable), then a `SendReport` naming every recipient missed;
- `write_eml(outgoing, folder)` — the messages as .eml files instead (`--dry-run`).

`deliver()` runs them in order for the `email` command and the weekly job of the schedule.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import re
import smtplib
import ssl
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from funnel_sync import texts
from funnel_sync.config import Config
from funnel_sync.model import Rep
from funnel_sync.report import ReportResult, labels, make_report, week_stem

log = logging.getLogger("funnel_sync.mail")

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
#: First wait between attempts (seconds); doubled after every failed attempt, at most MAX_BACKOFF.
BACKOFF = 5.0
MAX_BACKOFF = 300.0
TIMEOUT = 30.0

_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SPLIT = re.compile(r"[;,，；、\n]+")


class MailConfigError(Exception):
    """The [email] settings cannot work (no sender, a bad address, the password missing)."""


# ---- addresses and header-safe text ----


def header_text(value: object, limit: int = 200) -> str:
    """A value from the workbook made safe for a header: control characters (CR, LF, tab, NUL
    …) become spaces, runs of spaces one space; no header can be injected through it."""
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in str(value)
    )
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit]


def valid_address(text: str) -> bool:
    """An ASCII addr-spec (name@example.com); internationalised addresses are not supported."""
    return bool(_ADDRESS.match(text)) and len(text) <= 254


def workbook_addresses(cell: str | None) -> list[str]:
    """The addresses typed in one 邮箱 cell: one, or several separated by ; or ,."""
    if not cell:
        return []
    return [a.strip() for a in _SPLIT.split(cell) if a.strip()]


def sender_address(cfg: Config) -> Address:
    """email.sender as an Address: "reports@example.com" or "销售周报 <reports@example.com>"."""
    raw = cfg.email.sender.strip()
    if not raw:
        raise MailConfigError(
            'email.sender is not set: add sender = "reports@example.com" to [email] in config.toml'
        )
    name, addr = parseaddr(raw)
    if not valid_address(addr):
        raise MailConfigError(f"email.sender {raw!r}: not an e-mail address")
    return Address(display_name=header_text(name), addr_spec=addr)


def extra_recipients(cfg: Config) -> list[str]:
    out = []
    for raw in cfg.email.extra_recipients:
        _, addr = parseaddr(raw)
        if not valid_address(addr):
            raise MailConfigError(f"email.extra_recipients: {raw!r} is not an e-mail address")
        out.append(addr)
    return out


def smtp_password(cfg: Config, environ: Mapping[str, str] | None = None) -> str | None:
    """The SMTP password from the environment variable named by email.password_env (only when
    email.username is set); never from config.toml."""
    if not cfg.email.username:
        return None
    env = os.environ if environ is None else environ
    name = cfg.email.password_env
    if not name or name not in env:
        raise MailConfigError(
            f"email.username is set but the environment variable {name or '(password_env)'} "
            "holding the SMTP password is not (set it in the service's environment)"
        )
    return env[name]


# ---- the messages ----


@dataclass(frozen=True)
class Outgoing:
    """One message and whom it goes to: kind "team" (the managers) or "rep" (name = the rep)."""

    kind: str
    name: str
    recipients: tuple[str, ...]
    message: EmailMessage
    stem: str

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


@dataclass
class MailPlan:
    outgoing: list[Outgoing] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    report: ReportResult | None = None


def _money(value: object, currency: str) -> str:
    if not isinstance(value, int | float):
        return "—"
    return f"{currency}{value:,.0f}"


def subject_for(context: Mapping[str, Any]) -> str:
    lang = str(context.get("lang", "zh"))
    t = labels(lang)
    period = context["period"]
    rep = context.get("for_rep")
    scope = header_text(rep) if rep else texts.text("mail.team_scope", lang)
    return header_text(
        texts.text("mail.subject", lang, title=t["title"], period=period["label"], scope=scope)
    )


def text_body(context: Mapping[str, Any]) -> str:
    """The plain-text alternative: the headline figures, the alerts, the scorecard and (for a
    rep) the call list; the HTML part holds the whole report."""
    lang = str(context.get("lang", "zh"))
    t = labels(lang)
    cur = str(context.get("currency", "¥"))
    period = context["period"]
    team = context["team"]
    rep = context.get("for_rep")
    lines = [
        texts.text("mail.greeting_rep", lang, name=rep)
        if rep
        else texts.text("mail.greeting_team", lang),
        "",
        texts.text(
            "mail.intro", lang, start=period["start"], end=period["end"], label=period["label"]
        ),
        "",
        f"== {t['kpis']} ==",
    ]
    opened = team.get("open") or {}
    lines.append(
        texts.text(
            "mail.open",
            lang,
            count=opened.get("count", 0),
            amount=_money(opened.get("amount"), cur),
            weighted=_money(opened.get("weighted"), cur),
        )
    )
    pipeline = team.get("pipeline") or {}
    if pipeline.get("coverage_pct") is not None:
        target = pipeline.get("target_pct")
        lines.append(
            texts.text(
                "mail.coverage",
                lang,
                pct=pipeline["coverage_pct"],
                target=f"{target}%" if target is not None else "—",
            )
        )
    lines.append(f"{t['won_ytd']}: {_money(team.get('won_ytd'), cur)}")
    lines += ["", f"== {t['funnel']} =="]
    for layer in team.get("layers") or []:
        amount = layer.get("amount")
        shown = f"  {_money(amount, cur)}" if amount is not None else ""
        lines.append(f"  {layer.get('label')}: {layer.get('count')}{shown}")
    alerts = list(context.get("alerts") or [])
    lines += ["", f"== {t['alerts']} =="]
    for a in alerts[:30]:
        who = "" if rep else f"{a.get('rep')}: "
        lines.append(f"  - {who}{a['message']} → {a['action']}")
    if not alerts:
        lines.append(f"  {t['no_alerts']}")
    elif len(alerts) > 30:
        lines.append("  " + texts.text("mail.more", lang, n=len(alerts) - 30))
    scorecard = list(context.get("scorecard") or [])
    if rep and scorecard:
        lines += ["", f"== {t['scorecard']} =="]
        for item in scorecard:
            mark = t["yes"] if item.get("met") else t["no"]
            unit = item.get("unit") or ""
            lines.append(
                f"  {item.get('label')}: {item.get('actual')}{unit} / "
                f"{item.get('target')}{unit}  {mark}"
            )
    overdue = list(context.get("overdue") or [])
    total = int((team.get("overdue") or {}).get("total", len(overdue)))
    lines += ["", f"== {texts.text('mail.call_list', lang) if rep else t['overdue']} ({total}) =="]
    shown_items = overdue[:30] if rep else overdue[:10]
    for item in shown_items:
        lines.append(
            "  "
            + texts.text(
                "mail.call_item",
                lang,
                customer=item.get("customer") or item.get("customer_id") or "",
                contact=item.get("contact") or "",
                phone=item.get("phone") or "",
                due=item.get("due") or "—",
                days=int(item.get("overdue") or 0),
                code=item.get("code") or "",
            ).replace("  ", " ")
        )
    if total > len(shown_items):
        lines.append("  " + texts.text("mail.more", lang, n=total - len(shown_items)))
    days = list(context.get("important_days") or [])
    if days:
        lines += ["", f"== {t['important_days']} =="]
        lines += [f"  {d.get('date')} {d.get('name') or ''} {d.get('what') or ''}" for d in days]
    lines += ["", texts.text("mail.signature", lang), ""]
    return "\n".join(lines)


def build_message(
    *,
    sender: Address,
    to: Sequence[Address],
    subject: str,
    text: str,
    html: str,
    attachment: bytes,
    filename: str,
    date: dt.datetime | None = None,
) -> EmailMessage:
    """One report e-mail: multipart/mixed [alternative [text/plain, text/html], the .xlsx].

    Headers are encoded per RFC 2047 (Chinese names and subjects), the bodies are UTF-8 in
    base64 and the attachment's Chinese file name per RFC 2231."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = list(to)
    msg["Subject"] = header_text(subject, 300)
    when = date or dt.datetime.now().astimezone()
    if when.tzinfo is None:
        when = when.astimezone()
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid("funnel-sync", domain=sender.domain or "localhost")
    msg.set_content(text, charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    maintype, subtype = XLSX_TYPE
    msg.add_attachment(attachment, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def _where(rep: Rep, lang: str) -> str:
    return texts.text("mail.row", lang, sheet=rep.source.sheet, row=rep.source.row)


def _rep_addresses(rep: Rep, lang: str, warnings: list[str]) -> list[str]:
    out = []
    cells = workbook_addresses(rep.email)
    if not cells:
        warnings.append(
            texts.text("mail.no_email", lang, where=_where(rep, lang), name=header_text(rep.name))
        )
    for a in cells:
        if valid_address(a):
            out.append(a)
        else:
            warnings.append(
                texts.text(
                    "mail.bad_email",
                    lang,
                    where=_where(rep, lang),
                    name=header_text(rep.name),
                    value=a,
                )
            )
    return out


def _unique(addresses: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for a in addresses:
        if a.lower() not in seen:
            seen.add(a.lower())
            out.append(a)
    return out


def build_mail(
    result: ReportResult,
    reps: Sequence[Rep],
    cfg: Config,
    *,
    date: dt.datetime | None = None,
) -> MailPlan:
    """The messages for a report made with make_report (team report and per-rep reports in
    the same folder): the team report to every manager of `reps` (Reps sheet, 经理 = 是) and
    email.extra_recipients, each rep of the report their own. No network; reads only the
    report's files. Raises MailConfigError for unusable [email] settings."""
    snapshot = result.snapshot
    if snapshot is None:
        raise ValueError("the report result holds no snapshot")
    lang = snapshot.lang
    sender = sender_address(cfg)
    extra = extra_recipients(cfg)
    files = {p.name: p for p in result.files}
    plan = MailPlan(report=result)
    by_name: dict[str, Rep] = {}
    for r in reps:
        by_name.setdefault(r.name, r)

    def message(rep: str | None, to: list[tuple[str, str]]) -> EmailMessage:
        context = snapshot.context(rep)
        stem = week_stem(snapshot, rep)
        html_path, xlsx_path = files.get(f"{stem}.html"), files.get(f"{stem}.xlsx")
        if html_path is None or xlsx_path is None:
            raise ValueError(f"the report has no {stem}.html / .xlsx")
        return build_message(
            sender=sender,
            to=[Address(display_name=header_text(name), addr_spec=a) for name, a in to],
            subject=subject_for(context),
            text=text_body(context),
            html=html_path.read_text(encoding="utf-8"),
            attachment=xlsx_path.read_bytes(),
            filename=xlsx_path.name,
            date=date,
        )

    # every row's addresses once, warnings in the order of the Reps sheet
    addresses: dict[int, list[str]] = {}
    needed = {str(scope["name"]) for scope in snapshot.reps}
    for k, r in enumerate(reps):
        if r.manager or (r.name in needed and by_name.get(r.name) is r):
            addresses[k] = _rep_addresses(r, lang, plan.warnings)
    # the team report: the managers (their names shown), then the extra recipients
    team_to: list[tuple[str, str]] = []
    seen: set[str] = set()
    managers = [(r.name, a) for k, r in enumerate(reps) if r.manager for a in addresses[k]]
    for name, a in [*managers, *(("", a) for a in extra)]:
        if a.lower() not in seen:
            seen.add(a.lower())
            team_to.append((name, a))
    if team_to:
        plan.outgoing.append(
            Outgoing(
                "team",
                "",
                tuple(a for _, a in team_to),
                message(None, team_to),
                week_stem(snapshot),
            )
        )
    else:
        plan.warnings.append(texts.text("mail.no_managers", lang))
    # each rep of the report their own
    index = {id(r): k for k, r in enumerate(reps)}
    for scope in snapshot.reps:
        name = str(scope["name"])
        rep = by_name.get(name)
        if rep is None:
            continue
        to = _unique(addresses.get(index[id(rep)], []))
        if to:
            plan.outgoing.append(
                Outgoing(
                    "rep",
                    name,
                    tuple(to),
                    message(name, [(name, a) for a in to]),
                    week_stem(snapshot, name),
                )
            )
    return plan


def prepare_mail(
    path: Path,
    cfg: Config,
    today: dt.date,
    out_dir: Path,
    *,
    lang: str | None = None,
    templates: Path | None = None,
    date: dt.datetime | None = None,
) -> MailPlan:
    """Read the workbook, write the week's reports (team and every rep) to out_dir and build
    the messages. Raises MailConfigError, read.WorkbookError, report.ReportError, OSError."""
    sender_address(cfg)  # fail on the settings before the work
    extra_recipients(cfg)
    result = make_report(
        path, cfg, today, out_dir, lang=lang, per_rep=True, team=True, templates=templates
    )
    return build_mail(result, result.reps, cfg, date=date)


# ---- sending ----


@dataclass
class Delivery:
    outgoing: Outgoing
    sent: list[str] = field(default_factory=list)
    missed: dict[str, str] = field(default_factory=dict)  # address → the last reason
    attempts: int = 0


@dataclass
class SendReport:
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(1 for d in self.deliveries if d.sent)

    @property
    def missed(self) -> list[tuple[Outgoing, str, str]]:
        """(message, address, reason) of every recipient the server never accepted."""
        return [(d.outgoing, a, why) for d in self.deliveries for a, why in d.missed.items()]

    @property
    def ok(self) -> bool:
        return not self.missed


SmtpFactory = Callable[[Config, ssl.SSLContext | None, float], smtplib.SMTP]


def connect(cfg: Config, context: ssl.SSLContext | None, timeout: float) -> smtplib.SMTP:
    """An SMTP session as [email] says: plain, STARTTLS (refused if the server cannot) or
    implicit TLS; certificates verified against the system's CAs (or `context`)."""
    e = cfg.email
    ctx = context or ssl.create_default_context()
    smtp: smtplib.SMTP
    if e.security == "tls":
        smtp = smtplib.SMTP_SSL(e.smtp_host, e.smtp_port, timeout=timeout, context=ctx)
    else:
        smtp = smtplib.SMTP(e.smtp_host, e.smtp_port, timeout=timeout)
    try:
        smtp.ehlo()
        if e.security == "starttls":
            smtp.starttls(context=ctx)
            smtp.ehlo()
    except BaseException:
        smtp.close()
        raise
    return smtp


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{exc.smtp_code} {header_text(text)}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{a}: {code} {msg.decode('utf-8', 'replace')}"
            for a, (code, msg) in exc.recipients.items()
        )
    return header_text(f"{type(exc).__name__}: {exc}") or type(exc).__name__


def _permanent(exc: BaseException) -> bool:
    """Connection failures and 4xx answers may heal by waiting; 5xx answers (a refused login,
    an unknown user), a server without STARTTLS or AUTH, certificate errors do not."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    if isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLError):
        return True
    return not isinstance(exc, OSError)  # smtplib's errors are OSErrors too


def login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """SMTP AUTH; smtplib encodes credentials as ASCII, so a non-ASCII login or password goes
    as AUTH PLAIN in UTF-8 (RFC 4616)."""
    if (username + password).isascii():
        smtp.login(username, password)
        return
    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, text = smtp.docmd("AUTH", f"PLAIN {token}")
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, text)


def send_mail(
    outgoing: Sequence[Outgoing],
    cfg: Config,
    *,
    password: str | None = None,
    sleep: Callable[[float], object] = time.sleep,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = TIMEOUT,
    backoff: float = BACKOFF,
    factory: SmtpFactory = connect,
) -> SendReport:
    """Send every message; up to email.retries attempts, waiting backoff, 2×backoff… between
    them. A recipient refused for good (5xx) is not retried. Never raises for a failed send:
    the report names every recipient missed."""
    report = SendReport([Delivery(o) for o in outgoing])
    pending: dict[int, list[str]] = {i: list(o.recipients) for i, o in enumerate(outgoing)}
    reasons: dict[int, dict[str, str]] = {i: {} for i in pending}
    attempts = cfg.email.retries
    wait = backoff

    def give_up(i: int, addresses: Sequence[str], why: str) -> None:
        for a in addresses:
            report.deliveries[i].missed[a] = why
        pending[i] = [a for a in pending[i] if a not in addresses]

    def all_failed(todo: Sequence[int], exc: Exception, why: str) -> None:
        """The whole attempt failed (no connection, no login): every pending recipient of
        every message notes why; a permanent failure ends their tries."""
        for i in todo:
            for a in pending[i]:
                reasons[i][a] = why
            report.deliveries[i].attempts += 1
            if _permanent(exc):
                give_up(i, list(pending[i]), why)

    for attempt in range(1, attempts + 1):
        todo = [i for i, left in pending.items() if left]
        if not todo:
            break
        if attempt > 1:
            log.warning(
                "e-mail: %d message(s) not sent yet; attempt %d of %d in %.0f s",
                len(todo),
                attempt,
                attempts,
                wait,
            )
            sleep(wait)
            wait = min(wait * 2, MAX_BACKOFF)
        try:
            smtp = factory(cfg, ssl_context, timeout)
        except Exception as exc:
            why = _reason(exc)
            log.warning(
                "e-mail: cannot connect to %s:%s: %s", cfg.email.smtp_host, cfg.email.smtp_port, why
            )
            all_failed(todo, exc, why)
            continue
        try:
            if cfg.email.username:
                try:
                    login(smtp, cfg.email.username, password or "")
                except Exception as exc:
                    why = _reason(exc)
                    log.warning("e-mail: login as %s refused: %s", cfg.email.username, why)
                    all_failed(todo, exc, why)
                    continue
            for i in todo:
                _send_one(smtp, report.deliveries[i], pending, reasons, i, give_up)
        except (OSError, smtplib.SMTPException) as exc:  # the connection broke mid-way
            why = _reason(exc)
            log.warning("e-mail: connection lost: %s", why)
            for i in todo:
                for a in pending[i]:
                    reasons[i].setdefault(a, why)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    for i, left in pending.items():
        for a in left:
            report.deliveries[i].missed[a] = reasons[i].get(a, "not sent")
    for d in report.deliveries:
        if d.sent:
            log.info("e-mail sent: %s → %s", d.outgoing.subject, ", ".join(d.sent))
        for a, why in d.missed.items():
            log.error(
                "e-mail NOT sent after %d attempt(s): %s → %s: %s",
                d.attempts,
                d.outgoing.subject,
                a,
                why,
            )
    return report


def _send_one(
    smtp: smtplib.SMTP,
    delivery: Delivery,
    pending: dict[int, list[str]],
    reasons: dict[int, dict[str, str]],
    i: int,
    give_up: Callable[[int, Sequence[str], str], None],
) -> None:
    to = list(pending[i])
    delivery.attempts += 1
    sender = delivery.outgoing.message["From"].addresses[0].addr_spec
    try:
        refused = smtp.send_message(delivery.outgoing.message, from_addr=sender, to_addrs=to)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
    except smtplib.SMTPResponseException as exc:  # the sender or the data refused
        why = _reason(exc)
        for a in to:
            reasons[i][a] = why
        if _permanent(exc):
            give_up(i, to, why)
        return
    for a in to:
        if a in refused:
            code, text = refused[a]
            why = f"{code} {header_text(text.decode('utf-8', 'replace'))}"
            reasons[i][a] = why
            if code >= 500:
                give_up(i, [a], why)
        else:
            delivery.sent.append(a)
    pending[i] = [a for a in pending[i] if a in refused and a not in delivery.missed]


def write_eml(outgoing: Sequence[Outgoing], folder: Path) -> list[Path]:
    """Each message as FOLDER/<report name>.eml (the report's own file name, .eml)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for o in outgoing:
        path = folder / f"{o.stem}.eml"
        path.write_bytes(o.message.as_bytes(policy=policy.SMTP))
        paths.append(path)
    return paths


# ---- both together ----


@dataclass
class DeliveryResult:
    plan: MailPlan
    sent: SendReport | None = None  # None: a dry run
    eml: list[Path] = field(default_factory=list)

    @property
    def missed(self) -> list[tuple[Outgoing, str, str]]:
        return self.sent.missed if self.sent else []


def deliver(
    path: Path,
    cfg: Config,
    today: dt.date,
    out_dir: Path,
    *,
    dry_run: bool = False,
    sleep: Callable[[float], object] = time.sleep,
    ssl_context: ssl.SSLContext | None = None,
    environ: Mapping[str, str] | None = None,
    backoff: float = BACKOFF,
) -> DeliveryResult:
    """Make the week's reports in out_dir and e-mail them (or, dry run, write .eml files
    beside them). Raises MailConfigError, read.WorkbookError, report.ReportError, OSError;
    failed sends are in the result, never raised."""
    password = None if dry_run else smtp_password(cfg, environ)
    plan = prepare_mail(path, cfg, today, out_dir)
    for w in plan.warnings:
        log.warning("e-mail: %s", w)
    if dry_run:
        return DeliveryResult(plan, None, write_eml(plan.outgoing, out_dir))
    sent = send_mail(
        plan.outgoing,
        cfg,
        password=password,
        sleep=sleep,
        ssl_context=ssl_context,
        backoff=backoff,
    )
    return DeliveryResult(plan, sent)


def report_dir(cfg: Config, workbook: Path) -> Path:
    """schedule.report_dir; a relative one is taken from the workbook's folder."""
    folder = Path(os.path.expanduser(cfg.schedule.report_dir or "reports"))
    return folder if folder.is_absolute() else workbook.resolve().parent / folder
