"""E-mail delivery, sent through a real SMTP server (aiosmtpd) the tests start on loopback:
recipients, subjects, both MIME parts, the attachment, Chinese text, STARTTLS + AUTH and
implicit TLS with a self-signed certificate made here, retries and the final report."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email
import io
import logging
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from helpers import run_cli

from funnel_sync.config import Config, Email
from funnel_sync.demo import DemoSize, create_demo
from funnel_sync.mail import (
    MailConfigError,
    MailPlan,
    build_message,
    header_text,
    prepare_mail,
    send_mail,
    smtp_password,
    subject_for,
)

TODAY = dt.date(2026, 11, 30)
SENDER = "销售周报 <reports@example.com>"
MANAGER = ("高梅", "rep001@demo-team.example")
REPS = {"汪文萍": "rep002@demo-team.example", "刘志伟": "rep003@demo-team.example"}
BOSS = "boss@example.com"


# ---- the workbook, the report and the messages (made once) ----


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deterministic demo team: manager 高梅, reps 汪文萍 and 刘志伟, with addresses."""
    path = tmp_path_factory.mktemp("mail") / "团队台账.xlsx"
    create_demo(path, Config(), DemoSize(3, 30, 20, 2), 1, TODAY)
    return path


def mail_cfg(port: int = 25, **email_settings: Any) -> Config:
    settings: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "security": "none",
        "sender": SENDER,
        "extra_recipients": [BOSS],
        "retries": 3,
    }
    settings.update(email_settings)
    return dataclasses.replace(Config(), email=Email(**settings))


@pytest.fixture(scope="module")
def plan(ledger: Path, tmp_path_factory: pytest.TempPathFactory) -> MailPlan:
    out = tmp_path_factory.mktemp("reports")
    return prepare_mail(ledger, mail_cfg(), TODAY, out)


# ---- a real SMTP server on loopback ----


class Recorder:
    """aiosmtpd handler: keeps what it accepts; answers `refuse` (in order) to DATA first,
    and `refuse_rcpt[address]` to RCPT TO."""

    def __init__(self, refuse: list[str] | None = None, always: str | None = None) -> None:
        self.refuse = list(refuse or [])
        self.always = always
        self.refuse_rcpt: dict[str, str] = {}
        self.received: list[tuple[str, list[str], EmailMessage, bool]] = []
        self.data_calls = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_calls += 1
        if self.always:
            return self.always
        if self.refuse:
            return self.refuse.pop(0)
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg, bool(session.ssl)))
        return "250 Message accepted"


class Logins:
    def __init__(self, password: str) -> None:
        self.password = password
        self.seen: list[tuple[str, str]] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.seen.append((login, password))
        return AuthResult(success=password == self.password, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def smtp_server(handler: Recorder, **kwargs: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*certificate)
    return ctx


def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """The client trusts only the test's certificate; hostname checking stays on."""
    return ssl.create_default_context(cafile=str(certificate[0]))


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def parts(msg: EmailMessage) -> dict[str, Any]:
    body_text = msg.get_body(("plain",))
    body_html = msg.get_body(("html",))
    assert body_text is not None and body_html is not None
    attachments = list(msg.iter_attachments())
    assert len(attachments) == 1
    assert isinstance(attachments[0], EmailMessage)
    return {
        "text": body_text.get_content(),
        "html": body_html.get_content(),
        "filename": attachments[0].get_filename(),
        "type": attachments[0].get_content_type(),
        "xlsx": attachments[0].get_content(),
    }


# ---- the messages themselves (no server) ----


def test_one_message_for_the_managers_and_one_per_rep(plan: MailPlan) -> None:
    assert [(o.kind, o.name, o.recipients) for o in plan.outgoing] == [
        ("team", "", (MANAGER[1], BOSS)),
        ("rep", "汪文萍", (REPS["汪文萍"],)),
        ("rep", "刘志伟", (REPS["刘志伟"],)),
    ]
    assert plan.warnings == []
    team, rep = plan.outgoing[0].message, plan.outgoing[1].message
    assert team["Subject"] == "销售漏斗周报 2026-W48 · 全团队"
    assert rep["Subject"] == "销售漏斗周报 2026-W48 · 汪文萍"
    # Chinese names travel RFC 2047-encoded; no raw 8-bit byte in any header
    head = team.as_bytes().split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"=?utf-8?" in head
    raw = team.as_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only, as SMTP wants


def test_header_values_from_the_workbook_cannot_inject_headers() -> None:
    evil = "张三\r\nBcc: everyone@example.com"
    assert header_text(evil) == "张三 Bcc: everyone@example.com"
    context = {"lang": "zh", "period": {"label": "2026-W48"}, "for_rep": evil}
    msg = build_message(
        sender=Address("周报", addr_spec="reports@example.com"),
        to=[Address(header_text(evil), addr_spec="zs@example.com")],
        subject=subject_for(context) + "\nX-Evil: 1",
        text="正文",
        html="<p>正文</p>",
        attachment=b"PK",
        filename="r.xlsx",
        date=dt.datetime(2026, 11, 30, 7, 30, tzinfo=dt.UTC),
    )
    back = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert back["Bcc"] is None and back["X-Evil"] is None
    assert back["To"].addresses[0].display_name == "张三 Bcc: everyone@example.com"
    assert back["Subject"] == "销售漏斗周报 2026-W48 · 张三 Bcc: everyone@example.com X-Evil: 1"


def test_a_rep_without_a_valid_address_is_a_warning(ledger: Path, tmp_path: Path) -> None:
    book = tmp_path / "no-address.xlsx"
    shutil.copy(ledger, book)
    wb = openpyxl.load_workbook(book)
    ws = wb["销售团队"]
    header = [c.value for c in ws[1]]
    col = header.index("邮箱") + 1
    names = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    ws.cell(names["刘志伟"], col).value = None
    ws.cell(names["汪文萍"], col).value = "汪文萍 at demo-team"
    wb.save(book)
    result = prepare_mail(book, mail_cfg(), TODAY, tmp_path / "out")
    assert [o.name for o in result.outgoing] == [""]  # only the team report goes out
    assert len(result.warnings) == 2, result.warnings
    assert any("刘志伟 没有邮箱地址" in w for w in result.warnings), result.warnings
    assert any("汪文萍" in w and "无效" in w for w in result.warnings), result.warnings


def test_settings_that_cannot_work(ledger: Path, tmp_path: Path) -> None:
    with pytest.raises(MailConfigError, match=r"email\.sender is not set"):
        prepare_mail(ledger, mail_cfg(sender=""), TODAY, tmp_path)
    with pytest.raises(MailConfigError, match="extra_recipients"):
        prepare_mail(ledger, mail_cfg(extra_recipients=["经理"]), TODAY, tmp_path)
    cfg = mail_cfg(username="reports", password_env="SALES_SMTP_PW")
    with pytest.raises(MailConfigError, match="SALES_SMTP_PW"):
        smtp_password(cfg, environ={})
    assert smtp_password(cfg, environ={"SALES_SMTP_PW": "密码 s3cret"}) == "密码 s3cret"
    assert smtp_password(mail_cfg(), environ={}) is None  # no login, no password needed


# ---- through a real server ----


def test_sent_through_a_real_server(plan: MailPlan) -> None:
    handler = Recorder()
    with smtp_server(handler) as port:
        report = send_mail(plan.outgoing, mail_cfg(port), sleep=Sleeps())
    assert report.ok and report.sent == 3
    assert [(frm, to) for frm, to, _, _ in handler.received] == [
        ("reports@example.com", [MANAGER[1], BOSS]),
        ("reports@example.com", [REPS["汪文萍"]]),
        ("reports@example.com", [REPS["刘志伟"]]),
    ]
    team, rep = handler.received[0][2], handler.received[1][2]
    # Chinese round-trips: subject, display names, bodies, the attachment's file name
    assert team["Subject"] == "销售漏斗周报 2026-W48 · 全团队"
    assert team["From"].addresses[0].display_name == "销售周报"
    assert [(a.display_name, a.addr_spec) for a in team["To"].addresses] == [MANAGER, ("", BOSS)]
    assert rep["To"].addresses[0].display_name == "汪文萍"
    assert team["Message-ID"] and team["Date"]
    got = parts(team)
    assert "各位经理好" in got["text"] and "销售漏斗" in got["text"]
    assert "<html" in got["html"].lower() and "销售漏斗周报" in got["html"]
    assert got["filename"] == "funnel-report-2026-W48.xlsx"
    assert got["type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = openpyxl.load_workbook(io.BytesIO(got["xlsx"]))
    assert wb.sheetnames  # the Excel report opens
    mine = parts(rep)
    assert mine["filename"] == "funnel-report-2026-W48-汪文萍.xlsx"
    assert "汪文萍 你好" in mine["text"] and "待联系" in mine["text"]
    openpyxl.load_workbook(io.BytesIO(mine["xlsx"]))
    # the HTML body is the report file itself (with CRLF line ends, as SMTP wants)
    assert plan.report is not None
    report_html = next(p for p in plan.report.files if p.name.endswith("-汪文萍.html"))
    assert mine["html"].splitlines() == report_html.read_text(encoding="utf-8").splitlines()


def test_starttls_and_login_with_a_self_signed_certificate(
    plan: MailPlan, certificate: tuple[Path, Path]
) -> None:
    handler, logins = Recorder(), Logins("密码 s3cret")
    cfg = mail_cfg(security="starttls", username="reports", password_env="SALES_SMTP_PW")
    password = smtp_password(cfg, environ={"SALES_SMTP_PW": "密码 s3cret"})
    with smtp_server(
        handler,
        tls_context=server_tls(certificate),
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=logins,
    ) as port:
        cfg = dataclasses.replace(cfg, email=dataclasses.replace(cfg.email, smtp_port=port))
        report = send_mail(
            plan.outgoing[:1],
            cfg,
            password=password,
            ssl_context=client_tls(certificate),
            sleep=Sleeps(),
        )
        assert report.ok
        assert logins.seen == [("reports", "密码 s3cret")]
        assert handler.received[0][3] is True  # the message travelled encrypted
        # a wrong password: refused for good (535), reported, not retried
        sleeps = Sleeps()
        bad = send_mail(
            plan.outgoing[:1],
            cfg,
            password="wrong",
            ssl_context=client_tls(certificate),
            sleep=sleeps,
        )
        assert [(addr, why[:3]) for _, addr, why in bad.missed] == [
            (MANAGER[1], "535"),
            (BOSS, "535"),
        ]
        assert sleeps == []
        # the system's CAs do not trust the self-signed certificate: verification is on
        unverified = send_mail(plan.outgoing[:1], cfg, password=password, sleep=Sleeps())
        assert not unverified.ok
        assert "CERTIFICATE_VERIFY_FAILED" in unverified.missed[0][2]
    assert len(handler.received) == 1


def test_implicit_tls(plan: MailPlan, certificate: tuple[Path, Path]) -> None:
    handler = Recorder()
    with smtp_server(handler, ssl_context=server_tls(certificate)) as port:
        report = send_mail(
            plan.outgoing[1:2],
            mail_cfg(port, security="tls"),
            ssl_context=client_tls(certificate),
            sleep=Sleeps(),
        )
    assert report.ok
    assert handler.received[0][1] == [REPS["汪文萍"]]


def test_retried_after_the_server_refuses_the_first_attempt(plan: MailPlan) -> None:
    handler, sleeps = Recorder(refuse=["451 4.3.0 Try again later"]), Sleeps()
    with smtp_server(handler) as port:
        report = send_mail(plan.outgoing[1:2], mail_cfg(port), sleep=sleeps)
    assert report.ok
    assert sleeps == [5.0]  # waited once, then the second attempt went through
    assert report.deliveries[0].attempts == 2
    assert [to for _, to, _, _ in handler.received] == [[REPS["汪文萍"]]]


def test_reported_when_the_server_never_accepts(
    plan: MailPlan, caplog: pytest.LogCaptureFixture
) -> None:
    handler, sleeps = Recorder(always="451 4.7.1 Greylisted"), Sleeps()
    with smtp_server(handler) as port, caplog.at_level(logging.WARNING, "funnel_sync"):
        report = send_mail(plan.outgoing, mail_cfg(port, retries=3), sleep=sleeps)
    assert sleeps == [5.0, 10.0]  # backoff doubles between the 3 attempts
    assert handler.data_calls == 9  # 3 messages x 3 attempts
    assert not report.ok and report.sent == 0
    assert sorted(addr for _, addr, _ in report.missed) == sorted(
        [MANAGER[1], BOSS, *REPS.values()]
    )
    assert all(why == "451 4.7.1 Greylisted" for _, _, why in report.missed)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 4 and all("NOT sent after 3 attempt(s)" in e for e in errors)
    assert any(REPS["刘志伟"] in e for e in errors)


def test_no_server_at_all_is_retried_then_reported(plan: MailPlan) -> None:
    sleeps = Sleeps()
    report = send_mail(plan.outgoing[1:2], mail_cfg(free_port(), retries=2), sleep=sleeps)
    assert sleeps == [5.0]
    assert [addr for _, addr, _ in report.missed] == [REPS["汪文萍"]]
    assert "Connection" in report.missed[0][2] or "refused" in report.missed[0][2]


def test_a_recipient_refused_for_good_is_not_retried(plan: MailPlan) -> None:
    handler, sleeps = Recorder(), Sleeps()
    handler.refuse_rcpt[BOSS] = "550 5.1.1 No such user"
    with smtp_server(handler) as port:
        report = send_mail(plan.outgoing[:1], mail_cfg(port), sleep=sleeps)
    assert sleeps == []
    assert report.deliveries[0].sent == [MANAGER[1]]
    assert report.missed[0][1:] == (BOSS, "550 5.1.1 No such user")
    assert [to for _, to, _, _ in handler.received] == [[MANAGER[1]]]


# ---- the command ----


def write_config(path: Path, port: int, **extra: str) -> Path:
    lines = [
        "[email]",
        'smtp_host = "127.0.0.1"',
        f"smtp_port = {port}",
        'security = "none"',
        f'sender = "{SENDER}"',
        f'extra_recipients = ["{BOSS}"]',
        "retries = 2",
        *(f'{k} = "{v}"' for k, v in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_email_command_sends(ledger: Path, tmp_path: Path) -> None:
    handler = Recorder()
    with smtp_server(handler) as port:
        cfg = write_config(tmp_path / "config.toml", port)
        code, out, err = run_cli(
            "email", str(ledger), "--today", "2026-11-30", "--config", str(cfg),
            "--out", str(tmp_path / "reports"),
        )  # fmt: skip
    assert code == 0, err
    assert out.count("已发送: 销售漏斗周报 2026-W48") == 3
    assert len(handler.received) == 3
    assert (tmp_path / "reports" / "funnel-report-2026-W48.xlsx").is_file()


def test_email_command_reports_who_was_missed(ledger: Path, tmp_path: Path) -> None:
    handler = Recorder()
    handler.refuse_rcpt[REPS["刘志伟"]] = "550 5.1.1 No such user"
    with smtp_server(handler) as port:
        cfg = write_config(tmp_path / "config.toml", port)
        code, out, err = run_cli("email", str(ledger), "--today", "2026-11-30", "--config",
                                 str(cfg), "--out", str(tmp_path))  # fmt: skip
    assert code == 1
    assert "未送达: 销售漏斗周报 2026-W48 · 刘志伟 → rep003@demo-team.example: 550" in out
    assert "NOT sent" in err and "Traceback" not in err


def test_email_dry_run_writes_eml_files(ledger: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "config.toml", 1, username="reports")  # no password needed
    code, out, err = run_cli("email", str(ledger), "--today", "2026-11-30", "--dry-run",
                             "--config", str(cfg), "--out", str(tmp_path / "out"))  # fmt: skip
    assert code == 0, err
    emls = sorted((tmp_path / "out").glob("*.eml"))
    assert [p.name for p in emls] == [
        "funnel-report-2026-W48-刘志伟.eml",
        "funnel-report-2026-W48-汪文萍.eml",
        "funnel-report-2026-W48.eml",
    ]
    msg = email.message_from_bytes(emls[1].read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"] == "销售漏斗周报 2026-W48 · 汪文萍"
    openpyxl.load_workbook(io.BytesIO(parts(msg)["xlsx"]))
    assert "(演练: 未发送)" in out


def test_email_command_clear_errors(ledger: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "config.toml", 1, username="reports", password_env="NO_SUCH_PW")
    code, _, err = run_cli("email", str(ledger), "--config", str(cfg))
    assert code == 2 and "NO_SUCH_PW" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    bare = tmp_path / "bare.toml"
    bare.write_text("[email]\n", encoding="utf-8")
    code, _, err = run_cli("email", str(ledger), "--config", str(bare))
    assert code == 2 and "email.sender is not set" in err
    code, _, err = run_cli("email", str(tmp_path / "missing.xlsx"), "--config", str(cfg),
                           "--dry-run")  # fmt: skip
    assert code == 2 and "Traceback" not in err
