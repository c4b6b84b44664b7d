"""The production deployment's front door (issue 15 item 7, issue 14 item 5): the real Caddy with the
repository's deploy/Caddyfile terminating TLS in front of `rems serve --workers 2` in production on
a real PostgreSQL; a client that keeps cookies the way browsers do (a Secure cookie only over
HTTPS) signs in to the dashboard. The same sign-in over plain HTTP, straight to the API, ends on
"Form expired": the defect compose had before the proxy.

Caddy runs with its own CA (`tls internal`), its data in the test's directory; the client trusts
that CA's root certificate only."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from rems.bootstrap import bootstrap
from rems.services.access.tokens import IssueToken, issue_token
from rems.services.context import Context
from rems.settings import Settings
from tests import pg

ROOT = Path(__file__).resolve().parents[2]
SECRET = "proxy-test-session-secret-0123456789abcdef"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(check: str, process: subprocess.Popen[bytes], log: Path, verify: Path | bool = True) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited {process.returncode}: {log.read_text(errors='replace')[-3000:]}")
        try:
            if (isinstance(verify, bool) or verify.exists()) and httpx.get(
                    check, timeout=2, verify=_trust(verify) if isinstance(verify, Path) else verify
            ).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{check} did not answer within 60 s: {log.read_text(errors='replace')[-3000:]}")


def _trust(root: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(root))


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def deployment(pg_cluster: pg.Cluster, pg_template: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One deployment for the module (starting it is most of the time): its tests only read."""
    caddy = shutil.which("caddy")
    assert caddy, "caddy is missing: make test installs it (tests/setup/system_deps.sh)"
    tmp_path = tmp_path_factory.mktemp("proxy")
    database = pg_cluster.create_database(template=pg_template)
    postgresql_url = pg_cluster.url(database)
    app = bootstrap(Settings(env="test", database_url=postgresql_url))
    with app.uow() as uow:
        token = issue_token(uow, Context("admin:test", datetime.now(UTC)),
                            IssueToken(role="admin", actor_id="ops-admin")).secret
    app.engine.dispose()
    api_port, https_port = _port(), _port()
    api_log, proxy_log = tmp_path / "api.log", tmp_path / "proxy.log"
    env = {**os.environ, "REMS_ENV": "production", "REMS_DATABASE_URL": postgresql_url,
           "REMS_SESSION_SECRET": SECRET, "REMS_PUBLIC_BASE_URL": f"https://localhost:{https_port}"}
    with api_log.open("wb") as out:
        api = subprocess.Popen([sys.executable, "-m", "rems.cli", "serve", "--port", str(api_port),
                                "--workers", "2"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    caddy_env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path),
                 "HOME": str(tmp_path), "REMS_SITE_ADDRESS": f"localhost:{https_port}", "REMS_TLS": "internal",
                 "REMS_HTTP_PORT": str(_port()), "REMS_HTTPS_PORT": str(https_port),
                 "REMS_PROXY_HEALTH_PORT": str(health := _port()),
                 "REMS_API_HOST": "localhost", "REMS_API_PORT": str(api_port)}
    with proxy_log.open("wb") as out:
        proxy = subprocess.Popen([caddy, "run", "--config", str(ROOT / "deploy" / "Caddyfile"),
                                  "--adapter", "caddyfile"], env=caddy_env, cwd=tmp_path, stdout=out,
                                 stderr=subprocess.STDOUT)
    root = tmp_path / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    try:
        _wait(f"http://127.0.0.1:{api_port}/healthz", api, api_log)
        _wait(f"http://127.0.0.1:{health}/healthz", proxy, proxy_log)
        _wait(f"https://localhost:{https_port}/healthz", proxy, proxy_log, verify=root)
        yield {"https": f"https://localhost:{https_port}", "http": f"http://127.0.0.1:{api_port}",
               "ca": str(root), "token": token, "api_pid": str(api.pid)}
    finally:
        _stop(proxy)
        _stop(api)
        pg_cluster.drop_database(database)


def _sign_in(client: httpx.Client, token: str) -> httpx.Response:
    form = client.get("/web/login")
    assert form.status_code == 200, form.text
    found = CSRF.search(form.text)
    assert found, form.text
    return client.post("/web/login", data={"csrf": found.group(1), "token": token})


def test_a_browser_signs_in_through_the_tls_proxy_with_production_cookies(deployment: dict[str, str]) -> None:
    with httpx.Client(base_url=deployment["https"], verify=_trust(Path(deployment["ca"])),
                      timeout=30) as client:
        signed = _sign_in(client, deployment["token"])
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"] == "/web/admin"
        cookie = signed.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        home = client.get("/web/admin")
        assert home.status_code == 200, home.text
        assert "Form expired" not in home.text and "ops-admin" in home.text
        assert home.headers["strict-transport-security"].startswith("max-age=")


def test_the_api_sees_the_scheme_and_host_the_browser_used(deployment: dict[str, str]) -> None:
    """X-Forwarded-Proto from the trusted proxy: absolute URLs the API makes are https (here the
    router's redirect of a trailing slash, built from the request's URL)."""
    with httpx.Client(base_url=deployment["https"], verify=_trust(Path(deployment["ca"])),
                      timeout=30) as client:
        moved = client.get("/web/login/")
    assert moved.status_code in (307, 308), moved.text
    assert moved.headers["location"] == f"{deployment['https']}/web/login"


def test_the_same_sign_in_over_plain_http_fails_as_compose_did_before(deployment: dict[str, str]) -> None:
    """Why the proxy is there: a Secure cookie is not sent back over HTTP, the form expires."""
    with httpx.Client(base_url=deployment["http"], timeout=30) as client:
        signed = _sign_in(client, deployment["token"])
        assert signed.status_code == 403 and "Form expired" in signed.text


def test_the_api_runs_as_two_worker_processes(deployment: dict[str, str]) -> None:
    """`rems serve --workers 2`: a supervisor and two server processes (issue 14 item 5)."""
    pid = deployment["api_pid"]
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    servers = [c for c in children
               if "resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")]
    assert len(servers) == 2, children
