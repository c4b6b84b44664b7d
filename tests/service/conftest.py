"""Service-test fixtures: a scenario with a certified prescriber and pharmacy on a fresh database."""

from __future__ import annotations

import pytest

from rems.bootstrap import App
from tests.service.builders import Scenario


@pytest.fixture
def scenario(app: App) -> Scenario:
    return Scenario(app).certified_prescriber().certified_pharmacy()
