"""Issue 19 item 1: the closing-the-loop formats (rems.interop's FHIR Communication and NCPDP
RxFill) reach the services and the workers' channels, which may not import an entry point, through
a registry: the entry point group `rems.loop_formats` of pyproject.toml. If this fails after a
change of pyproject.toml, the installed metadata is stale: `make install`."""

from __future__ import annotations

import tomllib
from importlib.metadata import entry_points
from pathlib import Path

from rems.adapters.notify import loop as loop_channels
from rems.interop import loop

ROOT = Path(__file__).resolve().parents[2]


def test_the_formats_are_declared_installed_and_found() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert declared["project"]["entry-points"][loop_channels.FORMATS] == {"standards": "rems.interop.loop:FORMATS"}
    installed = {point.name: point.value for point in entry_points(group=loop_channels.FORMATS)}
    assert installed == {"standards": "rems.interop.loop:FORMATS"}, "stale metadata: make install"
    assert loop_channels.formats() is loop.FORMATS
