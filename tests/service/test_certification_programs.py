"""Certification is per program (R1, R3, R25): each (holder, program) has its own state and the
recertification interval of its own program's file. Expected answers from REMS_RULES.md."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from rems.adapters import orm
from rems.bootstrap import App, bootstrap
from rems.domain.errors import Refused
from rems.domain.model import Confirmation, Prescription
from rems.services.dispensing import prescriptions
from rems.settings import Settings
from tests.service.builders import Scenario, codes
from workflows.program import PROGRAM_DIR

BOTH = ("pomalidomide", "lenalidomide")
SHORT = 365  # lenalidomide's pharmacy recertification interval in the test's file; pomalidomide: 730


def _male_with_authorization(s: Scenario, program: str) -> tuple[str, Prescription]:
    """A new adult male patient in `program` and his authorization (issued now)."""
    s.program = program
    s.enrolled("adult_male").ready()
    return s.patient_id, s.authorized()


def test_r1_a_prescriber_certified_in_pomalidomide_cannot_enroll_a_lenalidomide_patient(app: App) -> None:
    s = Scenario(app, program="pomalidomide").certified_prescriber().certified_pharmacy()
    s.program = "lenalidomide"
    with pytest.raises(Refused) as refused:
        s.enrolled("adult_male")
    assert codes(refused.value) == ["R5_PRESCRIBER_NOT_CERTIFIED"]  # R5: by a certified prescriber (R1)
    s.certify("prescriber", s.prescriber_id, program="lenalidomide")
    s.enrolled("adult_male")  # certified in lenalidomide now


def test_r1_a_prescriber_not_certified_in_the_patients_program_is_refused_at_authorization(app: App) -> None:
    """The records a migration leaves: a lenalidomide patient whose prescriber is certified in
    pomalidomide only (migration 0005 moves old certifications to the default program)."""
    s = Scenario(app)
    s.prescriber_id = s.new_prescriber(programs=BOTH)
    lenalidomide_patient, first = _male_with_authorization(s, "lenalidomide")
    pomalidomide_patient, second = _male_with_authorization(s, "pomalidomide")
    for rx in (first, second):  # R36: one open authorization per patient; ask for a new one
        s.call(prescriptions.void_prescription, rx.id, actor="dr")
    with app.uow() as uow:
        c = orm.certifications.c
        uow.session.execute(delete(orm.certifications).where(
            c.holder_id == s.prescriber_id, c.program_id == "lenalidomide"))
        uow.commit()

    s.patient_id = lenalidomide_patient
    assert codes(s.request().decision) == ["R1_PRESCRIBER_NOT_CERTIFIED"]
    s.patient_id = pomalidomide_patient
    assert s.request().decision.allowed


def test_r3_suspension_in_one_program_voids_only_that_programs_authorizations(app: App) -> None:
    s = Scenario(app)
    s.prescriber_id = s.new_prescriber(programs=BOTH)
    s.pharmacy_id = s.new_pharmacy(programs=BOTH)
    len_patient, len_rx = _male_with_authorization(s, "lenalidomide")
    _, pom_rx = _male_with_authorization(s, "pomalidomide")
    assert len_rx.number and pom_rx.number
    len_held = s.confirm(len_rx.number)

    s.certify("prescriber", s.prescriber_id, "suspend", program="lenalidomide")

    assert s.fetch(Prescription, len_rx.id).state == "voided"  # R3: voided at once
    assert s.fetch(Confirmation, len_held.id).state == "voided"
    assert s.fetch(Prescription, pom_rx.id).state == "authorized"  # the other program is untouched
    assert s.certification("prescriber", s.prescriber_id, "pomalidomide").state == "certified"
    assert s.certification("prescriber", s.prescriber_id, "lenalidomide").state == "suspended"
    s.patient_id = len_patient
    assert codes(s.request().decision) == ["R3_PRESCRIBER_SUSPENDED"]
    s.dispense(s.confirm(pom_rx.number).number)  # pomalidomide goes on to the dispense
    assert s.fetch(Prescription, pom_rx.id).state == "dispensed"
    trail = s.audit("prescriber", s.prescriber_id)[-1]  # audited on the prescriber, naming the program
    assert (trail.trigger, trail.to_state, (trail.refs or {}).get("program")) == ("suspend", "suspended",
                                                                                    "lenalidomide")


def test_r25_suspension_in_one_program_voids_only_that_programs_confirmations(app: App) -> None:
    s = Scenario(app)
    s.prescriber_id = s.new_prescriber(programs=BOTH)
    s.pharmacy_id = s.new_pharmacy(programs=BOTH)
    _, len_rx = _male_with_authorization(s, "lenalidomide")
    _, pom_rx = _male_with_authorization(s, "pomalidomide")
    assert len_rx.number and pom_rx.number
    len_held, pom_held = s.confirm(len_rx.number), s.confirm(pom_rx.number)

    s.certify("pharmacy", s.pharmacy_id, "suspend", program="pomalidomide")

    assert s.fetch(Confirmation, pom_held.id).state == "voided"
    assert s.fetch(Prescription, pom_rx.id).state == "authorized"  # released for another pharmacy
    assert s.fetch(Confirmation, len_held.id).state == "issued"
    with pytest.raises(Refused) as refused:
        s.confirm(pom_rx.number)
    assert codes(refused.value) == ["R25_PHARMACY_SUSPENDED"]
    s.dispense(len_held.number)  # still certified in lenalidomide
    assert s.fetch(Prescription, len_rx.id).state == "dispensed"


def test_certifications_of_other_programs_are_not_created_by_certifying_one(app: App) -> None:
    s = Scenario(app, program="thalidomide").certified_prescriber()
    assert s.certification("prescriber", s.prescriber_id, "thalidomide").state == "certified"
    assert s.certification("prescriber", s.prescriber_id, "pomalidomide") is None


def test_a_refused_first_certification_writes_no_certification(app: App) -> None:
    s = Scenario(app)
    doc = s.new_prescriber(certify=False)
    with pytest.raises(Exception, match="cannot suspend while enrolled"):
        s.certify("prescriber", doc, "suspend", program="lenalidomide")
    assert s.certification("prescriber", doc, "lenalidomide") is None


# -- a shorter lenalidomide interval (R25: from ITS program's file) -------------------------

@pytest.fixture
def short_app(database_url: str, tmp_path: Path) -> Iterator[App]:
    """The shipped program files, with lenalidomide's pharmacy interval shortened to SHORT days."""
    programs = tmp_path / "programs"
    shutil.copytree(PROGRAM_DIR, programs)
    path = programs / "lenalidomide.toml"
    text = path.read_text(encoding="utf-8")
    assert "pharmacy_recertification_days = 730" in text
    path.write_text(text.replace("pharmacy_recertification_days = 730",
                                 f"pharmacy_recertification_days = {SHORT}"), encoding="utf-8")
    application = bootstrap(Settings(env="test", database_url=database_url, program_dir=programs))
    assert application.programs["lenalidomide"].at(Scenario(application).now).pharmacy_recertification_days == SHORT
    yield application
    application.engine.dispose()


def test_r25_a_pharmacy_lapses_and_recertifies_under_lenalidomides_shorter_interval(short_app: App) -> None:
    s = Scenario(short_app)
    s.prescriber_id = s.new_prescriber(programs=BOTH)
    s.pharmacy_id = s.new_pharmacy(programs=BOTH)

    s.advance(days=SHORT - 1)
    with pytest.raises(Refused) as early:  # not due yet in lenalidomide
        s.certify("pharmacy", s.pharmacy_id, "lapse", program="lenalidomide")
    assert codes(early.value) == ["R25_NOT_DUE"]

    s.advance(days=2)  # SHORT + 1 days after certification: lapsed in lenalidomide, not pomalidomide
    _, len_rx = _male_with_authorization(s, "lenalidomide")
    assert len_rx.number
    with pytest.raises(Refused) as lapsed:
        s.confirm(len_rx.number)
    assert codes(lapsed.value) == ["R25_PHARMACY_LAPSED"]
    with pytest.raises(Refused) as not_due:  # pomalidomide's 730 days have not passed
        s.certify("pharmacy", s.pharmacy_id, "lapse", program="pomalidomide")
    assert codes(not_due.value) == ["R25_NOT_DUE"]
    _, pom_rx = _male_with_authorization(s, "pomalidomide")
    assert pom_rx.number
    s.confirm(pom_rx.number)  # still certified in pomalidomide

    s.certify("pharmacy", s.pharmacy_id, "lapse", program="lenalidomide")  # the way out exists
    assert s.certification("pharmacy", s.pharmacy_id, "lenalidomide").state == "lapsed"
    s.certify("pharmacy", s.pharmacy_id, "recertify", program="lenalidomide")
    recertified = s.certification("pharmacy", s.pharmacy_id, "lenalidomide")
    assert recertified is not None and recertified.state == "certified" and recertified.certified_at == s.now
    s.dispense(s.confirm(len_rx.number).number)
    assert s.fetch(Prescription, len_rx.id).state == "dispensed"
    assert s.certification("pharmacy", s.pharmacy_id, "pomalidomide").state == "certified"
