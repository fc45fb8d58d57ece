"""Mail through a real SMTP server on 127.0.0.1, and the .eml files of development."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, select

from aiclone.app import create_app
from aiclone.container import Services
from aiclone.mail.models import MailStatus, OutboxMail
from aiclone.settings import Settings, SettingsError, load_settings
from aiclone.settings.smtp import parse_smtp_url
from tests.conftest import make_settings
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.mail_support import (
    SmtpRecorder,
    bodies,
    free_port,
    self_signed_certificate,
    smtp_url,
    start_smtp,
    token_of,
    wait_for_eml,
)

Client = AsyncTestClient[Litestar]
# The test server takes AUTH over plain text on loopback, which aiosmtpd warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture
def recorder() -> SmtpRecorder:
    return SmtpRecorder()


@pytest.fixture
def smtp(recorder: SmtpRecorder) -> Iterator[str]:
    controller = start_smtp(recorder, with_auth=True)
    try:
        yield smtp_url(controller, "mailer:s3cret%20pass@")
    finally:
        controller.stop()


async def _client(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def _register(client: Client, email: str, full_name: str = "Ann Lee") -> None:
    response = await client.post(
        "/api/auth/register", json={"email": email, "password": DEFAULT_PASSWORD, "full_name": full_name}
    )
    assert response.status_code == 201, response.text


async def _outbox(services: Services) -> list[OutboxMail]:
    async with services.db.read_session() as session:
        return list((await session.scalars(select(OutboxMail).order_by(OutboxMail.created_at))).all())


async def _wait_outbox(services: Services, predicate: object, timeout: float = 20.0) -> list[OutboxMail]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await _outbox(services)
        if rows and all(predicate(row) for row in rows):  # type: ignore[operator]
            return rows
        assert time.monotonic() < deadline, [(r.status, r.attempts, r.last_error) for r in rows]
        await asyncio.sleep(0.05)


async def test_registration_mail_goes_through_smtp_and_its_token_verifies(
    database_url: str,
    tmp_path: Path,
    clean_tables: None,
    smtp: str,
    recorder: SmtpRecorder,
    services: Services,
) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        smtp_url=smtp,
        mail_from="AI Clone <no-reply@aiclone.test>",
        public_url="https://app.aiclone.test/",
    )
    # Start from an empty outbox: a test of another module that registered a user left a mail.
    async with services.db.session() as session:
        await session.execute(delete(OutboxMail))
    async for client in _client(settings):
        await _register(client, "ann@example.com", full_name="Ann <b>Lee</b> & co")
        [received] = await recorder.wait_for("ann@example.com")
        message = received.message
        assert recorder.logins == [("mailer", "s3cret pass")]
        assert received.sender == "no-reply@aiclone.test"
        assert message["From"] == "AI Clone <no-reply@aiclone.test>"
        assert message["Subject"] == "Confirm your email address for aiclone"
        assert message["Message-ID"].endswith("@aiclone.test>")
        text, html = bodies(message)
        assert "https://app.aiclone.test/#verify-email=" in text
        # User data is escaped in the HTML part and plain in the text part.
        assert "Ann &lt;b&gt;Lee&lt;/b&gt; &amp; co" in html
        assert "<b>Lee</b>" not in html
        assert "Hello Ann <b>Lee</b> & co," in text

        token = token_of(message)
        verified = await client.post("/api/auth/verify-email", json={"token": token})
        assert verified.status_code == 200, verified.text
        assert verified.json() == {"email": "ann@example.com", "email_verified": True}
        again = await client.post("/api/auth/verify-email", json={"token": token})
        assert again.status_code == 400
        assert again.json()["type"] == "https://aiclone.dev/problems/invalid-token"

    [row] = await _outbox(services)
    assert row.status == MailStatus.SENT.value
    assert row.attempts == 1
    assert (row.text_body, row.html_body) == ("", ""), "a sent mail's bodies (with their link) are erased"
    assert not (tmp_path / "mail").exists(), "with SMTP configured nothing is written to files"


async def test_without_smtp_mail_is_an_eml_file_whose_link_works(
    database_url: str, tmp_path: Path, clean_tables: None, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(database_url, tmp_path)
    async for client in _client(settings):
        await _register(client, "dev@example.com")
        [message] = await wait_for_eml(tmp_path / "mail", "dev@example.com")
        assert message["Subject"] == "Confirm your email address for aiclone"
        text, _ = bodies(message)
        assert "http://127.0.0.1:8000/#verify-email=" in text
        verified = await client.post("/api/auth/verify-email", json={"token": token_of(message)})
        assert verified.status_code == 200, verified.text
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1
    assert f"mail written to {files[0]}" in capfd.readouterr().err, "the path is logged"


async def test_unreachable_server_is_retried_until_it_comes_up(
    database_url: str, tmp_path: Path, clean_tables: None, recorder: SmtpRecorder, services: Services
) -> None:
    port = free_port()  # nothing listens yet: connection refused
    settings = make_settings(
        database_url,
        tmp_path,
        smtp_url=f"smtp://127.0.0.1:{port}",
        mail_retry_schedule="300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms",
        mail_poll_seconds=0.1,
    )
    async for client in _client(settings):
        await _register(client, "late@example.com")
        await _wait_outbox(services, lambda row: row.attempts >= 1 and row.status == MailStatus.PENDING.value)
        [row] = await _outbox(services)
        assert row.last_error is not None
        assert "cannot reach the mail server" in row.last_error
        controller = start_smtp(recorder, port)
        try:
            [received] = await recorder.wait_for("late@example.com")
            await _wait_outbox(services, lambda row: row.status == MailStatus.SENT.value)
        finally:
            controller.stop()
    [row] = await _outbox(services)
    assert row.attempts >= 2
    assert received.message["Message-ID"] == f"<{row.id}@localhost>"


async def test_a_refused_recipient_fails_for_good_without_retries(
    database_url: str, tmp_path: Path, clean_tables: None, recorder: SmtpRecorder, services: Services
) -> None:
    recorder.refuse.add("nobody@example.com")
    controller = start_smtp(recorder)
    try:
        settings = make_settings(database_url, tmp_path, smtp_url=smtp_url(controller))
        async for client in _client(settings):
            await _register(client, "nobody@example.com")
            rows = await _wait_outbox(services, lambda row: row.status == MailStatus.FAILED.value)
    finally:
        controller.stop()
    [row] = rows
    assert row.attempts == 1
    assert row.last_error == "recipient refused (550)"
    assert (row.text_body, row.html_body) == ("", "")
    assert recorder.messages == []


async def test_a_server_that_never_answers_is_bounded_by_the_timeout(
    database_url: str, tmp_path: Path, clean_tables: None, services: Services
) -> None:
    # Accepts connections and never sends its greeting.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        settings = make_settings(
            database_url,
            tmp_path,
            smtp_url=f"smtp://127.0.0.1:{listener.getsockname()[1]}",
            mail_timeout_seconds=0.3,
            mail_retry_schedule="1h",
        )
        async for client in _client(settings):
            await _register(client, "silent@example.com")
            rows = await _wait_outbox(services, lambda row: row.last_error is not None)
    finally:
        listener.close()
    [row] = rows
    assert row.status == MailStatus.PENDING.value
    assert row.last_error == "the mail server did not answer in time"


def test_smtp_urls_and_their_errors_never_show_the_password() -> None:
    plain = parse_smtp_url("smtp://relay.internal")
    assert (plain.host, plain.port, plain.tls, plain.username) == ("relay.internal", 25, "none", None)
    starttls = parse_smtp_url("smtp://me%40x:p%3Ass@mail.example.com?starttls=1")
    assert (starttls.port, starttls.tls, starttls.username, starttls.password) == (
        587,
        "starttls",
        "me@x",
        "p:ss",
    )
    assert "p:ss" not in repr(starttls)
    assert "p:ss" not in starttls.describe()
    implicit = parse_smtp_url("smtps://u:pw@mail.example.com:2465")
    assert (implicit.port, implicit.tls) == (2465, "implicit")
    for bad in (
        "http://u:hunter2@mail.example.com",
        "smtp://u:hunter2@mail.example.com?tls=1",
        "smtps://u:hunter2@mail.example.com?starttls=1",
        "smtp://u:hunter2@mail.example.com/path",
        "smtp://u:hunter2@mail.example.com:99999",
    ):
        with pytest.raises(SettingsError, match=r"^AICLONE_SMTP_URL ") as caught:
            load_settings({"AICLONE_SMTP_URL": bad}, dotenv=None)
        assert "hunter2" not in str(caught.value)


def test_mail_settings_are_validated() -> None:
    with pytest.raises(SettingsError, match="AICLONE_MAIL_FROM"):
        load_settings({"AICLONE_MAIL_FROM": "not an address"}, dotenv=None)
    with pytest.raises(SettingsError, match="AICLONE_PUBLIC_URL"):
        load_settings({"AICLONE_PUBLIC_URL": "ftp://example.com"}, dotenv=None)
    with pytest.raises(SettingsError, match="AICLONE_PASSWORD_RESET_TTL_SECONDS"):
        load_settings({"AICLONE_PASSWORD_RESET_TTL_SECONDS": "5"}, dotenv=None)
    assert load_settings({}, dotenv=None).email_verification_required is False
    production = {"AICLONE_ENV": "production", "AICLONE_SECRET_KEY": "k" * 40}
    assert load_settings(production, dotenv=None).email_verification_required is True
    off = {**production, "AICLONE_REQUIRE_EMAIL_VERIFICATION": "false"}
    assert load_settings(off, dotenv=None).email_verification_required is False


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_tls_modes_encrypt_and_verify_the_server(
    database_url: str,
    tmp_path: Path,
    clean_tables: None,
    recorder: SmtpRecorder,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = free_port()
    if mode == "starttls":
        controller = Controller(
            recorder,
            hostname="127.0.0.1",
            port=port,
            tls_context=context,
            require_starttls=True,
            authenticator=recorder.authenticate,
            auth_required=True,
        )
        url = f"smtp://mailer:s3cret%20pass@127.0.0.1:{port}?starttls=1"
    else:
        controller = Controller(
            recorder,
            hostname="127.0.0.1",
            port=port,
            ssl_context=context,
            authenticator=recorder.authenticate,
            auth_required=True,
            # aiosmtpd only counts STARTTLS as TLS; this socket is TLS from its first byte.
            auth_require_tls=False,
        )
        url = f"smtps://mailer:s3cret%20pass@127.0.0.1:{port}"
    # The client verifies the server against the system's trust store; this test trusts its own CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    controller.start()
    try:
        settings = make_settings(database_url, tmp_path, smtp_url=url)
        async for client in _client(settings):
            await _register(client, f"{mode}@example.com")
            [received] = await recorder.wait_for(f"{mode}@example.com")
    finally:
        controller.stop()
    assert recorder.logins == [("mailer", "s3cret pass")], "credentials went only over TLS"
    assert received.message["Subject"] == "Confirm your email address for aiclone"


async def test_an_untrusted_certificate_is_refused(
    database_url: str, tmp_path: Path, clean_tables: None, recorder: SmtpRecorder, services: Services
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        settings = make_settings(
            database_url, tmp_path, smtp_url=f"smtp://127.0.0.1:{port}?starttls=1", mail_retry_schedule="1h"
        )
        async for client in _client(settings):
            await _register(client, "mitm@example.com")
            [row] = await _wait_outbox(services, lambda row: row.last_error is not None)
    finally:
        controller.stop()
    assert row.status == MailStatus.PENDING.value
    assert recorder.messages == []


async def test_international_addresses_are_delivered(
    database_url: str, tmp_path: Path, clean_tables: None, recorder: SmtpRecorder
) -> None:
    controller = start_smtp(recorder)  # speaks SMTPUTF8
    try:
        settings = make_settings(database_url, tmp_path, smtp_url=smtp_url(controller))
        async for client in _client(settings):
            await _register(client, "user@EX\u00c4MPLE.com")
            await _register(client, "\u5c71\u7530@\u4f8b\u3048.jp")
            [idn] = await recorder.wait_for("user@xn--exmple-cua.com")
            [utf8] = await recorder.wait_for("\u5c71\u7530@\u4f8b\u3048.jp")
    finally:
        controller.stop()
    assert idn.message["To"] == "user@xn--exmple-cua.com"
    assert utf8.message["To"] == "\u5c71\u7530@\u4f8b\u3048.jp"


async def _enqueue(services: Services, count: int, **values: object) -> None:
    async with services.db.session() as session:
        for number in range(count):
            session.add(
                OutboxMail(
                    kind="test",
                    to_address=f"r{number}@example.com",
                    subject="S",
                    text_body="t",
                    html_body="<p>h</p>",
                    **values,
                )
            )


async def test_a_mail_whose_worker_died_is_sent_once_its_lease_ends(
    services: Services, settings: Settings
) -> None:
    import datetime as dt

    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await _enqueue(
        services, 1, status=MailStatus.SENDING.value, claimed_by="dead-worker", lease_until=past, attempts=1
    )
    await _enqueue(
        services,
        1,
        status=MailStatus.SENDING.value,
        claimed_by="live-worker",
        lease_until=past + dt.timedelta(hours=1),
        attempts=1,
    )
    assert await services.mail_worker.run_once() == 1
    rows = await _outbox(services)
    assert {row.status for row in rows} == {MailStatus.SENT.value, MailStatus.SENDING.value}
    [sent] = [row for row in rows if row.status == MailStatus.SENT.value]
    assert sent.attempts == 2
    assert sent.claimed_by is None
    assert len(list(settings.mail_dir.glob("*.eml"))) == 1


async def test_concurrent_workers_claim_disjoint_mails(services: Services, settings: Settings) -> None:
    import datetime as dt

    from aiclone.mail.repository import OutboxRepository

    await _enqueue(services, 30)

    async def claim(worker: str) -> set[str]:
        now = dt.datetime.now(dt.UTC)
        async with services.db.session() as session:
            claims = await OutboxRepository(session).claim(
                worker, now=now, lease_until=now + dt.timedelta(minutes=1), limit=20
            )
        return {c.to_address for c in claims}

    first, second = await asyncio.gather(claim("a"), claim("b"))
    assert not first & second
    assert len(first | second) == 30
