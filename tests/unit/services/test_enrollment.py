"""Enrollment and certification on the fake unit of work (R1, R2, R3, R5, R6, R25, R34)."""

from __future__ import annotations

import pytest

from rems.domain.errors import Conflict, Refused
from rems.domain.model import Patient, Ppaf
from rems.services.commands import EnrollPrescriber, parse
from rems.services.enrollment import certification, patients
from rems.services.ports import UnitOfWork
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.service.builders import npi_of
from tests.unit.services.conftest import FakeScenario


def rules(refused: Refused) -> set[str]:
    return {f.rule for f in refused.failures}


def state(s: FakeScenario, kind: str, key: str, program: str | None = None) -> str | None:
    held = s.certification(kind, key, program)
    return None if held is None else held.state


def test_the_fake_is_a_unit_of_work(store: FakeStore) -> None:
    uow: UnitOfWork = FakeUnitOfWork(store)  # mypy checks the fake against the port (tests/fakes/)
    assert uow.programs is store.programs


def test_a_prescriber_is_certified_per_program(s: FakeScenario) -> None:
    """R1: enrolled, attested and educated, then certified in one program and in no other."""
    doc = s.new_prescriber()
    assert state(s, "prescriber", doc) == "certified"
    assert s.certification("prescriber", doc, "lenalidomide") is None
    certified = [a.refs for a in s.audit("prescriber", doc) if a.to_state == "certified"]
    assert [refs and refs["program"] for refs in certified] == ["pomalidomide"]  # STYLE 5: audited


def test_a_prescriber_without_the_attestation_is_not_certified(s: FakeScenario) -> None:
    """R1, R2: certification needs the attestation and the REMS education."""
    doc = s.call(certification.enroll_prescriber, parse(
        EnrollPrescriber, name="Dr Late", npi=npi_of(77), attested=False, education_reviewed=False))
    with pytest.raises(Refused) as refused:
        s.certify("prescriber", doc.id)
    assert rules(refused.value) == {"R1", "R2"}
    assert s.certification("prescriber", doc.id) is None  # the refused attempt left nothing


def test_a_pharmacy_is_certified_and_can_be_suspended(s: FakeScenario) -> None:
    """R25: certified per program; suspended, then reinstated."""
    ph = s.new_pharmacy()
    s.certify("pharmacy", ph, "suspend")
    assert state(s, "pharmacy", ph) == "suspended"
    s.certify("pharmacy", ph, "reinstate")
    assert state(s, "pharmacy", ph) == "certified"


def test_a_patient_is_enrolled_with_a_ppaf_by_a_certified_prescriber(s: FakeScenario, store: FakeStore) -> None:
    """R5, R6: one PPAF for the category; a child's signed by a guardian."""
    s.certified_prescriber().enrolled("child_frp")
    patient = store.rows[Patient][s.patient_id]
    assert patient.prescriber_id == s.prescriber_id and patient.person_id is not None
    [ppaf] = store.all(Ppaf)
    assert (ppaf.patient_id, ppaf.category) == (s.patient_id, "child_frp")


def test_an_uncertified_prescriber_enrolls_no_patient_and_nothing_is_kept(s: FakeScenario,
                                                                         store: FakeStore) -> None:
    """R5: enrolled by a certified prescriber; the refused enrollment leaves no record (rollback)."""
    s.prescriber_id = s.new_prescriber(certify=False)
    with pytest.raises(Refused) as refused:
        s.enrolled("adult_male")
    assert rules(refused.value) == {"R5"}
    assert store.all(Patient) == [] and store.all(Ppaf) == []


def test_a_child_ppaf_signed_by_the_patient_is_refused(s: FakeScenario) -> None:
    """R6: a parent or guardian signs for a child."""
    s.certified_prescriber()
    with pytest.raises(Refused) as refused:
        s.enrolled("child_male", ppaf={"category": "child_male", "signed_by": "patient"})
    assert rules(refused.value) == {"R6"}


def test_one_person_one_enrollment_per_program(s: FakeScenario) -> None:
    """R34: the same identity enrolled again in the same program is refused."""
    s.certified_prescriber()
    command = s.enroll_command("adult_male")
    s.call(patients.enroll_patient, command)
    with pytest.raises((Refused, Conflict)) as refused:
        s.call(patients.enroll_patient, command)
    assert isinstance(refused.value, Refused) and rules(refused.value) == {"R34"}
