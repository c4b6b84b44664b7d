"""Audit-chain fixtures: a scenario on both databases, the attacker's hand on the audit log, and
the API tests' client and cast (SQLite, from tests/api)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from rems.bootstrap import App
from rems.services.audit import audit_verify
from rems.services.context import Context
from tests.api.conftest import api_template, client, clock, db_path, rems_app, w  # noqa: F401
from tests.conftest import T0
from tests.service.builders import Scenario


@pytest.fixture
def scenario(app: App) -> Scenario:
    return Scenario(app).certified_prescriber().certified_pharmacy()


def lift_guards(app: App) -> None:
    """What someone with the database owner's rights does first: take the append-only triggers off."""
    with app.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        else:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"))


def tamper(app: App, statement: str, **params: Any) -> None:
    lift_guards(app)
    with app.engine.begin() as connection:
        connection.execute(text(statement), params)


def verify(app: App, anchor: audit_verify.Head | None = None) -> audit_verify.Verification:
    with app.uow() as uow:
        return audit_verify.verify(uow, Context("auditor", T0), anchor)
