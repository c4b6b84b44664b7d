"""Migration 0005 moves the certifications made before it (on the prescriber and pharmacy rows) to
the default program only (R1, R25: certification is per program), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from rems.bootstrap import App
from rems.domain import gate
from rems.domain.model import Certification
from tests.audit.test_migration import _alembic

CERTIFIED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
OLD_PRESCRIBERS = [("prs_old1", "1000000012", "certified", CERTIFIED_AT),
                   ("prs_old2", "1000000020", "suspended", CERTIFIED_AT),
                   ("prs_old3", "1000000038", "enrolled", None)]
OLD_PHARMACIES = [("phm_old1", "1000011", "lapsed", CERTIFIED_AT)]


def _old_rows(app: App) -> None:
    with app.engine.begin() as connection:
        for key, npi, state, certified_at in OLD_PRESCRIBERS:
            connection.execute(text(
                "INSERT INTO prescribers (id, name, npi, attested, education_reviewed, enrolled_at, state, "
                "certified_at, version) VALUES (:id, 'Dr Old', :npi, true, true, :at, :state, :certified, 1)"),
                {"id": key, "npi": npi, "at": datetime(2025, 1, 1, tzinfo=UTC), "state": state,
                 "certified": certified_at})
        for key, ncpdp, state, certified_at in OLD_PHARMACIES:
            connection.execute(text(
                "INSERT INTO pharmacies (id, name, ncpdp_id, representative_enrolled, staff_trained, "
                "records_and_audits_accepted, enrolled_at, state, certified_at, version) "
                "VALUES (:id, 'Old Pharmacy', :ncpdp, true, true, true, :at, :state, :certified, 1)"),
                {"id": key, "ncpdp": ncpdp, "at": datetime(2025, 1, 1, tzinfo=UTC), "state": state,
                 "certified": certified_at})


def test_migration_0005_moves_old_certifications_to_the_default_program_only(app: App) -> None:
    _alembic(app, "downgrade", "0004")
    _old_rows(app)
    _alembic(app, "upgrade", "head")

    with app.uow() as uow:
        rows = {(c.holder_kind, c.holder_id): c for kind in ("prescriber", "pharmacy")
                for c in uow.certifications.matching(kind)}
        expected = {("prescriber", key): (state, at) for key, _, state, at in OLD_PRESCRIBERS}
        expected |= {("pharmacy", key): (state, at) for key, _, state, at in OLD_PHARMACIES}
        assert {k: (c.program_id, c.state, c.certified_at) for k, c in rows.items()} == {
            k: ("pomalidomide", state, at) for k, (state, at) in expected.items()}
        for program in ("lenalidomide", "thalidomide"):  # R1: not certified in any other program
            assert uow.certifications.matching("prescriber", program_id=program) == []
            assert uow.certifications.matching("pharmacy", program_id=program) == []

        # The gate reads them per program: certified in pomalidomide, not in lenalidomide.
        now = CERTIFIED_AT.replace(year=2026)
        held: Certification | None = uow.certifications.of("prescriber", "prs_old1", "pomalidomide")
        params = uow.program("pomalidomide").at(now)
        assert gate.prescriber_requirement(held, "pomalidomide", params, now).met
        other = uow.certifications.of("prescriber", "prs_old1", "lenalidomide")
        assert other is None
        assert gate.prescriber_requirement(other, "lenalidomide", uow.program("lenalidomide").at(now),
                                           now).code == "R1_PRESCRIBER_NOT_CERTIFIED"
        assert not gate.prescriber_requirement(other, "lenalidomide", uow.program("lenalidomide").at(now),
                                               now).met


def test_migration_0005_uses_the_deployments_default_program(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMS_DEFAULT_PROGRAM", "lenalidomide")
    _alembic(app, "downgrade", "0004")
    _old_rows(app)
    _alembic(app, "upgrade", "head")
    with app.uow() as uow:
        assert {c.program_id for c in uow.certifications.matching("prescriber")} == {"lenalidomide"}
        assert uow.certifications.of("prescriber", "prs_old1", "pomalidomide") is None
