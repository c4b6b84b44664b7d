"""Revision 0005 on a database with patients (R34, T1): one person per identity, linked across the
existing records, a time zone for each, reported by ids only; and back down and up again."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from rems.adapters.database import migrate
from rems.bootstrap import App

PRESCRIBER = {"id": "prs_old", "name": "Dr Old", "npi": "1000000004", "attested": True,
              "education_reviewed": True, "enrolled_at": "2026-01-01 08:00:00", "state": "certified",
              "certified_at": "2026-01-01 09:00:00", "version": 2}
# Two records of one woman (two spellings of her name, two programs), a namesake born another
# day, and a man with her name and birth date: three persons.
PATIENTS = [("pat_a", "pomalidomide", "Jane Doe", "female", "1980-05-01"),
            ("pat_b", "lenalidomide", "DOE, Jane", "female", "1980-05-01"),
            ("pat_c", "pomalidomide", "Jane Doe", "female", "1981-05-01"),
            ("pat_d", "thalidomide", "Jane Doe", "male", "1980-05-01"),
            ("pat_e", "pomalidomide", "jane  DOE", "female", "1980-05-01")]  # enrolled twice before R34


def _alembic(app: App, verb: str, revision: str) -> None:
    migrate(app.engine, revision, verb)  # the project's own: one transaction, SQLite FKs checked


def _old_database(app: App) -> None:
    _alembic(app, "downgrade", "0004")
    with app.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO prescribers (id, name, npi, attested, education_reviewed, enrolled_at, state, "
            "certified_at, version) VALUES (:id, :name, :npi, :attested, :education_reviewed, "
            ":enrolled_at, :state, :certified_at, :version)"), PRESCRIBER)
        for n, (key, program, name, sex, birth) in enumerate(PATIENTS):  # enrolled in this order
            connection.execute(text(
                "INSERT INTO patients (id, program_id, prescriber_id, name, sex, birth_date, enrolled_at, "
                "menarche, hysterectomy, bilateral_oophorectomy, cycles_regular, state, test_phase, "
                "version) VALUES (:id, :program, 'prs_old', :name, :sex, :birth, :at, false, false, "
                "false, true, 'active', 'not_required', 1)"),
                {"id": key, "program": program, "name": name, "sex": sex, "birth": birth,
                 "at": f"2026-01-0{n + 2} 08:00:00"})


def _links(app: App) -> dict[str, tuple[str, str]]:
    with app.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, person_id, time_zone FROM patients ORDER BY id")).all()
    return {row.id: (row.person_id, row.time_zone) for row in rows}


def test_existing_patients_of_one_identity_are_linked_to_one_person_and_reported_by_id_r34(
        app: App, caplog: pytest.LogCaptureFixture) -> None:
    _old_database(app)
    with caplog.at_level(logging.INFO, logger="alembic.runtime.migration"):
        _alembic(app, "upgrade", "head")
    links = _links(app)
    assert links["pat_a"][0] == links["pat_b"][0] == links["pat_e"][0]  # one woman, three records
    assert len({links[k][0] for k in ("pat_a", "pat_c", "pat_d")}) == 3
    with app.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM persons")).scalar_one() == 3
    # T1: each record has its program's zone (all three files say America/New_York today).
    assert {zone for _, zone in links.values()} == {app.programs["pomalidomide"].time_zone}

    report = [r.getMessage() for r in caplog.records if "R34" in r.getMessage()]
    assert "R34: 5 patients linked to 3 persons; 1 persons have more than one enrollment" in report
    assert f"R34: person {links['pat_a'][0]} links patients pat_a, pat_b, pat_e" in report
    assert (f"R34: person {links['pat_a'][0]} has 2 live enrollments in pomalidomide: pat_a, pat_e; "
            "transfer or discontinue all but one") in report
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Jane" not in logged and "1980-05-01" not in logged  # ids only


def test_0005_goes_down_and_up_again_with_the_data_in_place_r34(app: App) -> None:
    _old_database(app)
    _alembic(app, "upgrade", "head")
    _alembic(app, "downgrade", "0004")
    with app.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM patients")).scalar_one() == len(PATIENTS)
    _alembic(app, "upgrade", "head")
    links = _links(app)
    assert links["pat_a"][0] == links["pat_b"][0] and all(person for person, _ in links.values())
