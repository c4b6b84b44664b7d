"""docker-compose.yml is validated structurally and by Compose itself (`docker-compose config`,
Debian's docker-compose, which `make test` installs; no Docker engine runs here). The proxy's
Caddyfile is validated by Caddy; tests/integration/test_proxy.py runs it for real."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from sqlalchemy.engine import make_url

from rems.cli.main import app
from rems.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


PASSWORD = "p@ss:w/rd#1"  # what broke the URL compose used to build


def _config(**extra: str) -> dict[str, Any]:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: make test installs it (tests/setup/system_deps.sh)"
    env = {**os.environ, "REMS_DB_PASSWORD": PASSWORD,
           "REMS_SESSION_SECRET": "ci-session-secret-at-least-32-chars", **extra}
    done = subprocess.run([binary, "-f", str(ROOT / "docker-compose.yml"), "config"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    resolved: dict[str, Any] = yaml.safe_load(done.stdout)
    return resolved


def test_compose_itself_accepts_the_file() -> None:
    _config()


def test_the_database_password_reaches_the_settings_apart_from_the_url_and_is_escaped() -> None:
    """Issue 15 item 7: `@ : /` in REMS_DB_PASSWORD once broke the URL; now the settings escape it."""
    for name, service in _config()["services"].items():
        environment = service.get("environment", {})
        if "REMS_DATABASE_URL" not in environment:
            continue
        assert PASSWORD not in environment["REMS_DATABASE_URL"], name
        assert environment["REMS_DATABASE_PASSWORD"] == PASSWORD, name
        settings = Settings(database_url=environment["REMS_DATABASE_URL"],
                            database_password=environment["REMS_DATABASE_PASSWORD"])
        url = make_url(settings.database_url)
        assert (url.password, url.host, url.port, url.database) == (PASSWORD, "postgres", 5432, "rems"), name


def test_only_the_proxy_is_published_and_it_speaks_tls_to_several_api_replicas() -> None:
    services = _config(REMS_API_REPLICAS="3", REMS_API_WORKERS="4")["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"proxy"}, "the API must be reachable only through the TLS proxy"
    proxy, api = services["proxy"], services["api"]
    assert {(p["published"], p["target"]) for p in proxy["ports"]} == {(80, 80), (443, 443)}  # 80: ACME
    assert f"{ROOT / 'deploy' / 'Caddyfile'}:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert api["deploy"]["replicas"] == 3 and "container_name" not in api
    command = api["command"]
    assert command[command.index("--workers") + 1] == "4"
    assert command[command.index("--forwarded-allow-ips") + 1] == "*"  # only the proxy reaches it
    assert proxy["depends_on"]["api"] == {"condition": "service_healthy"}


def test_caddy_accepts_the_caddyfile(tmp_path: Path) -> None:
    caddy = shutil.which("caddy")
    assert caddy, "caddy is missing: make test installs it (tests/setup/system_deps.sh)"
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path), "REMS_SITE_ADDRESS": "rems.example.org",
           "REMS_TLS": "/certs/cert.pem /certs/key.pem"}
    for tls in ("internal", "ops@example.org", "/certs/cert.pem /certs/key.pem"):
        done = subprocess.run([caddy, "adapt", "--config", str(ROOT / "deploy" / "Caddyfile"), "--adapter",
                               "caddyfile"], env={**env, "REMS_TLS": tls}, capture_output=True, text=True,
                              timeout=60, check=False, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert '"dynamic_upstreams"' in done.stdout and "rems.example.org" in done.stdout


def _one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def test_compose_services_run_commands_the_cli_has_and_set_only_known_settings(
        services: dict[str, dict[str, Any]]) -> None:
    cli = typer.main.get_command(app)
    assert isinstance(cli, typer.core.TyperGroup)
    known = {f"REMS_{name.upper()}" for name in Settings.model_fields}
    built = {name: s for name, s in services.items() if "build" in s}
    assert {"migrate", "api"} <= set(built), "the project image runs the migration and the API"
    for name, service in built.items():
        command, *args = service["command"]
        assert command in cli.commands, (name, command)
        options = {o for p in cli.commands[command].params for o in getattr(p, "opts", [])}
        assert {a for a in args if a.startswith("-")} <= options, (name, args)
        assert set(service.get("environment", {})) <= known, name
        assert service["environment"]["REMS_ENV"] == "production", name
        assert service["environment"]["REMS_DATABASE_URL"].startswith("postgresql+psycopg://"), name


def test_every_service_has_a_healthcheck_or_runs_once(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "healthcheck" in service or _one_shot(service), name
    assert _one_shot(services["migrate"]) and services["migrate"]["command"] == ["init"]
    # Issue 15 item 4: the API is healthy when ready (database reachable, schema at head).
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])


def test_depends_on_conditions_are_valid_and_can_be_met(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for target, spec in service.get("depends_on", {}).items():
            assert target in services, (name, target)
            condition = spec["condition"]
            assert condition in CONDITIONS, (name, target, condition)
            if condition == "service_healthy":
                assert "healthcheck" in services[target], (name, target)
            if condition == "service_completed_successfully":
                assert _one_shot(services[target]), (name, target)
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "postgres": {"condition": "service_healthy"}}


def test_redis_keeps_what_it_is_given(services: dict[str, dict[str, Any]]) -> None:
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def test_worker_and_beat_use_redis_and_start_after_the_migration(services: dict[str, dict[str, Any]]) -> None:
    """Issue 4: both run `rems notifications worker|beat` on the Redis broker, with health checks."""
    for name in ("worker", "beat"):
        service = services[name]
        assert service["command"] == ["notifications", name]
        assert service["environment"]["REMS_BROKER_URL"].startswith("redis://redis:")
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["redis"] == {"condition": "service_healthy"}
        assert service["healthcheck"]["test"][-2:] == ["workers.health", name]
        assert service["restart"] == "unless-stopped"
    assert services["worker"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
