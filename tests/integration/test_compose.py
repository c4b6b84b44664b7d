"""docker-compose.yml is validated structurally (no Docker engine runs here)."""

from __future__ import annotations

from pathlib import Path

import yaml

from rems.cli.main import app
from rems.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_services_run_commands_the_cli_has_and_set_only_known_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    commands = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
    commands |= {g.name for g in app.registered_groups if g.name}
    known = {f"REMS_{name.upper()}" for name in Settings.model_fields}
    built = [s for s in compose["services"].values() if "build" in s]
    assert built, "the project image is used by at least one service"
    for service in built:
        assert service["command"][0] in commands
        assert set(service.get("environment", {})) <= known
    assert compose["services"]["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "noeviction" in compose["services"]["redis"]["command"]
