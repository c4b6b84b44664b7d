"""Real servers for the delivery tests, started once per session: redis-server, an aiosmtpd SMTP
server, an HTTP webhook (a messaging gateway that honours Idempotency-Key), a migrated SQLite file
shared with a real `celery worker` subprocess (restartable, so a test can SIGKILL it)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery import Celery

from rems.bootstrap import App, bootstrap
from rems.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
HOLD_PHONE, FAIL_PHONE = "+15550000001", "+15550000002"  # the gateway stalls / refuses these
FAIL_DOMAIN = "unavailable.example"  # the SMTP server refuses recipients here (451)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.1,
             what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def start_redis(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """A redis-server without persistence (a restart forgets every key), answering pings."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise pytest.UsageError("redis-server is not on PATH (apt-get install redis-server)")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(workdir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        wait_for(lambda: _pings(client) or process.poll() is not None, what="redis-server")
    finally:
        client.close()
    assert process.poll() is None, "redis-server exited at start"
    return process


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    process = start_redis(port, tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@dataclass
class Mailbox:
    """What the SMTP server accepted (250), by Message-ID."""

    accepted: list[dict[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content.decode("utf8", errors="replace")
        headers = dict(line.split(": ", 1) for line in content.split("\r\n\r\n")[0].split("\r\n") if ": " in line)
        with self.lock:
            if any(rcpt.endswith("@" + FAIL_DOMAIN) for rcpt in envelope.rcpt_tos):
                self.refused.append(headers.get("Message-ID", ""))
                return "451 4.3.0 mailbox unavailable, try later"
            self.accepted.append({"message_id": headers.get("Message-ID", ""), "to": envelope.rcpt_tos[0],
                                  "notification": headers.get("X-REMS-Notification", ""), "body": content})
        return "250 Message accepted for delivery"

    def for_notification(self, notification_id: str) -> list[dict[str, str]]:
        with self.lock:
            return [m for m in self.accepted if m["notification"] == notification_id]


@pytest.fixture(scope="session")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass
class Gateway:
    """An SMS gateway that honours Idempotency-Key: a repeated key is answered 200, not delivered."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    holding: threading.Event = field(default_factory=threading.Event)  # a held request arrived
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, key: str, body: dict[str, Any]) -> int:
        with self.lock:
            self.requests.append({"key": key, **body})
            if body["to"] == FAIL_PHONE:
                return 503
            self.delivered.setdefault(key, body)  # delivered before answering, once per key
            hold = body["to"] == HOLD_PHONE and not self.holding.is_set()
        if hold:
            self.holding.set()
            self.release.wait(10)
        return 200

    def keyed(self, notification_id: str) -> list[str]:
        with self.lock:
            return [r["key"] for r in self.requests if r["notification_id"] == notification_id]


@pytest.fixture(scope="session")
def gateway() -> Iterator[tuple[Gateway, str]]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status = state.receive(self.headers.get("Idempotency-Key", ""), body)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender died while we held the request

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class Worker:
    """A real `celery -A workers.app worker` process; `kill()` is SIGKILL, `start()` a new one."""

    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    offset: int = 0

    def start(self) -> None:
        self.offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--pool=solo", "-Q", "rems",
                 "--without-gossip", "--without-mingle", "--loglevel=INFO",
                 "-n", f"test-{uuid.uuid4().hex[:8]}@%h"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: " ready." in self.output() or self._died(), timeout=60,
                 what="the celery worker to be ready")
        assert not self._died(), self.output()[-3000:]

    def output(self) -> str:
        """What the current process logged (the log file keeps every run's lines)."""
        with self.log.open("rb") as log:
            log.seek(self.offset)
            return log.read().decode(errors="replace")

    def _died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


# Short times so a killed send is re-claimed within seconds; the validators still hold
# (visibility timeout > task time limit, lease > channel time-outs).
LIVE = {"REMS_NOTIFY_LEASE_SECONDS": "3", "REMS_SMTP_TIMEOUT_SECONDS": "2",
        "REMS_WEBHOOK_TIMEOUT_SECONDS": "2", "REMS_TASK_TIME_LIMIT_SECONDS": "5",
        "REMS_BROKER_VISIBILITY_TIMEOUT_SECONDS": "6", "REMS_NOTIFY_BACKOFF_SECONDS": "1",
        "REMS_NOTIFY_BACKOFF_MAX_SECONDS": "2", "REMS_NOTIFY_MAX_ATTEMPTS": "3"}


@dataclass
class Live:
    app: App
    worker: Worker
    broker: Celery
    mailbox: Mailbox
    gateway: Gateway

    def send(self, task: str) -> None:
        self.broker.send_task(task, queue="rems")


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, redis_url: str, smtp: tuple[Mailbox, int],
         gateway: tuple[Gateway, str]) -> Iterator[Live]:
    directory = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{directory / 'rems.db'}"
    app = bootstrap(Settings(env="test", database_url=url))
    app.migrate()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REMS_")}, **LIVE,
           "REMS_ENV": "test", "REMS_DATABASE_URL": url, "REMS_BROKER_URL": redis_url,
           "REMS_SMTP_HOST": "127.0.0.1", "REMS_SMTP_PORT": str(smtp[1]), "REMS_WEBHOOK_URL": gateway[1]}
    worker = Worker(env, directory / "worker.log")
    worker.start()
    broker = Celery("rems-test", broker=redis_url, set_as_current=False)
    try:
        yield Live(app, worker, broker, smtp[0], gateway[0])
    finally:
        worker.stop()
        broker.close()
        app.engine.dispose()
