"""The lock files (issue 15 item 2): every dependency pyproject.toml declares is pinned, hashed and
within its range; the runtime lock (the Docker image's) agrees with the dev lock (make install's)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)")


def pins(lock: str) -> dict[str, str]:
    """name -> version of a `uv pip compile --generate-hashes` file; each pin must carry a hash."""
    found: dict[str, str] = {}
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements" / lock).read_text(encoding="utf-8"))
    for entry in entries:
        match = PIN.match(entry)
        if match:
            assert "--hash=sha256:" in entry, f"{lock}: {match[1]} has no hash"
            found[canonicalize_name(match[1])] = match[2]
    return found


def declared(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(text) for text in listed]


def missing(requirements: list[Requirement], locked: dict[str, str]) -> list[str]:
    return [f"{r} (locked: {locked.get(canonicalize_name(r.name), 'absent')})" for r in requirements
            if locked.get(canonicalize_name(r.name)) is None
            or not r.specifier.contains(locked[canonicalize_name(r.name)], prereleases=True)]


@pytest.mark.parametrize(("lock", "extras"), [("main.lock", [None]), ("dev.lock", [None, "dev"])])
def test_the_lock_pins_every_declared_dependency_within_its_range(lock: str, extras: list[str | None]) -> None:
    locked = pins(lock)
    wanted = [r for extra in extras for r in declared(extra)]
    assert not missing(wanted, locked), f"requirements/{lock} is stale: run `make lock` for {missing(wanted, locked)}"


def test_the_cli_framework_is_locked() -> None:
    """The CLI's usage errors depend on typer's own exceptions (tests/integration/test_cli_usage.py)."""
    assert {"typer", "click"} <= set(pins("main.lock"))


def test_the_runtime_lock_agrees_with_the_dev_lock() -> None:
    runtime, dev = pins("main.lock"), pins("dev.lock")
    assert set(runtime) <= set(dev)
    assert {name: version for name, version in runtime.items() if dev[name] != version} == {}
