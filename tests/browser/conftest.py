"""Browser tests: a real `rems serve` (uvicorn) on a loopback port over a temporary SQLite file,
driven by Debian's Chromium through Playwright (sync API). The server and the browser start once
per session; each test seeds its own actors through the services and opens its own contexts."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from rems.bootstrap import App, bootstrap
from rems.settings import Settings
from tests.api.world import World

ROOT = Path(__file__).resolve().parents[2]
# Every run saves its screenshots as artifacts (artifacts/ is not committed); `make screenshots`
# points this at docs/screenshots to refresh the pictures docs/dashboard.md shows.
SHOTS = Path(os.environ.get("REMS_SCREENSHOT_DIR") or ROOT / "artifacts" / "screenshots")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 375, "height": 812}  # a phone


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, url: str, app: App) -> None:
        self.url, self.app = url, app

    def world(self, ago: timedelta = timedelta(0)) -> World:
        """A fresh cast (two prescribers, two pharmacies, patients, tokens) written through the
        services into the server's database, at the real time less `ago`."""
        return World(self.app, lambda: datetime.now(UTC) - ago).cast()


@contextmanager
def serving(folder: Path, port: int | None = None, **settings: str) -> Iterator[Server]:
    """`rems serve` on a loopback port (free, unless given) over a new SQLite file in `folder`;
    `settings` are more REMS_* variables (e.g. REMS_WEB_IDLE_MINUTES="1")."""
    url = f"sqlite:///{folder / 'rems.db'}"
    app = bootstrap(Settings(env="test", database_url=url))
    app.migrate()
    port = port or _free_port()
    env = {**os.environ, "REMS_DATABASE_URL": url, "REMS_ENV": "test", **settings}
    env.pop("REMS_SESSION_SECRET", None)
    with (folder / "server.log").open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "rems.cli", "serve", "--port", str(port)],
                                   env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, process)
            yield Server(base, app)
        finally:
            process.terminate()
            process.wait(timeout=20)
            app.engine.dispose()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("browser")) as running:
        yield running


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rems serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("rems serve did not start within 60 s")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        raise pytest.UsageError("the browser tests need Debian's chromium on PATH (apt-get install chromium; "
                                ".ci/run installs it)")
    browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def open_page(chromium: Browser, server: Server) -> Iterator[Callable[..., Page]]:
    """A page in its own browser context (its own cookies: one person each), closed after the test."""
    contexts = []

    def make(viewport: dict[str, int] | None = None) -> Page:
        context = chromium.new_context(base_url=server.url, viewport=viewport or DESKTOP)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot to SHOTS (artifacts/screenshots, or REMS_SCREENSHOT_DIR)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
