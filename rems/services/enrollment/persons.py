"""The person behind enrollments (R34): matching, one enrollment per program, readmission after
a pregnancy stop, transfer to another prescriber; the administrator's correction of facts (R35)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rems.domain import gate
from rems.domain.catalogue import (
    R34_ALREADY_ENROLLED,
    R34_PREGNANCY_STOP_OPEN,
    R34_READMISSION_DECISION_MISSING,
    R35_FACTS_CORRECTED,
    PatientState,
)
from rems.domain.errors import Conflict, InvalidInput, Refused
from rems.domain.identity import name_key
from rems.domain.model import Patient, Person, PersonIdentifier, Prescriber, ReadmissionDecision
from rems.domain.requirements import Requirement, need
from rems.services.commands import CorrectFacts, DecideReadmission, EnrollPatient, TransferPatient
from rems.services.context import Context
from rems.services.dispensing.prescriptions import void_open_prescriptions
from rems.services.enrollment.facts import FACTS, plausible
from rems.services.enrollment.zones import local_date, zone_of
from rems.services.lifecycle import audit, new_id
from rems.services.ports import UnitOfWork

LIVE_EXCEPT = "discontinued"  # every other state of the patient machine is a live enrollment


class AlreadyEnrolled(Refused):
    """R34: one person, one enrollment per program; says what to do, and nothing of the other
    enrollment (another prescriber's patient stays invisible)."""

    def __init__(self, program_id: str) -> None:
        super().__init__("enroll", [need(
            False, "R34", R34_ALREADY_ENROLLED,
            f"this person is already enrolled in the {program_id} program (one enrollment per person)",
            "ask the program administrator to transfer the patient to you")])
        Exception.__init__(self, f"{R34_ALREADY_ENROLLED}: this person is already enrolled in the "
                                 f"{program_id} program; ask the program administrator to transfer "
                                 "the patient to you")


def prescriber_certified(uow: UnitOfWork, prescriber: Prescriber, program_id: str,
                         now: datetime) -> Requirement:
    """R1: is the prescriber certified in this program (its own certification row)?"""
    return gate.prescriber_requirement(uow.certifications.of("prescriber", prescriber.id, program_id),
                                       program_id, uow.program(program_id).at(now), now)


def person_for_enrollment(uow: UnitOfWork, ctx: Context, cmd: EnrollPatient) -> Person:
    """R34: the person by identity, claimed for this transaction, with the site's identifiers
    linked; an identifier already naming a person of another identity is refused by name."""
    person = uow.persons.for_identity(name_key(cmd.name), cmd.birth_date, cmd.sex, ctx.now)
    uow.persons.claim(person)
    seen: set[tuple[str, str]] = set()
    for index, given in enumerate(cmd.identifiers):
        if (given.system, given.value) in seen:
            continue
        seen.add((given.system, given.value))
        found = uow.persons.identifier(given.system, given.value)
        if found is None:
            uow.add(PersonIdentifier(id=new_id("pid"), person_id=person.id, system=given.system,
                                     value=given.value))
        elif found.person_id != person.id:
            raise InvalidInput(f"identifiers.{index}.value", "already identifies a person with "
                               "another name, birth date or sex: check the identity and the identifier")
    return person


def _stopped_since(uow: UnitOfWork, person_id: str) -> tuple[bool, datetime | None]:
    """R30, R34: did a pregnancy stop the person (any enrollment, any program), and when last?"""
    moments = [r.reported_at for r in uow.persons.pregnancy_reports(person_id)]
    moments += [t.recorded_at for t in uow.persons.tests(person_id) if t.result == "positive"]
    stopped = bool(moments) or any(p.state == PatientState.PREGNANCY_STOP for p in uow.persons.enrollments(person_id))
    return stopped, max(moments) if moments else None


def check_enrollable(uow: UnitOfWork, person: Person, program_id: str) -> None:
    """R34: refuse a second live enrollment, and a readmission after a pregnancy stop that the
    administrator has not decided (after the latest stop)."""
    enrollments = uow.persons.enrollments(person.id)
    if any(p.state != LIVE_EXCEPT and p.program_id == program_id for p in enrollments):
        raise AlreadyEnrolled(program_id)
    if any(p.state == PatientState.PREGNANCY_STOP for p in enrollments):  # R34: it blocks every enrollment
        raise Refused("enroll", [need(
            False, "R34", R34_PREGNANCY_STOP_OPEN,
            "no enrollment of the person is stopped for a pregnancy",
            "that enrollment is discontinued first (its prescriber or the program administrator)")])
    stopped, last = _stopped_since(uow, person.id)
    decided = uow.persons.readmitted_at(person.id, program_id)
    if stopped and (decided is None or (last is not None and decided < last)):
        raise Refused("enroll", [need(
            False, "R34", R34_READMISSION_DECISION_MISSING,
            "a person whose therapy was stopped for a pregnancy is enrolled again only on the "
            "program administrator's recorded decision",
            "ask the program administrator to record a readmission decision")])


def decide_readmission(uow: UnitOfWork, ctx: Context, cmd: DecideReadmission) -> ReadmissionDecision:
    """R34: the administrator's recorded decision (with a reason) to enrol the person again."""
    patient = uow.get(Patient, cmd.patient_id)
    program_id = cmd.program_id or patient.program_id
    uow.program(program_id)
    assert patient.person_id is not None  # every stored patient has a person (migration 0005)
    person = uow.get(Person, patient.person_id)
    uow.persons.claim(person)
    if not _stopped_since(uow, person.id)[0]:
        raise InvalidInput("patient_id", "this person's therapy was never stopped for a pregnancy: "
                                         "no readmission decision is needed")
    decision = ReadmissionDecision(id=new_id("rad"), person_id=person.id, program_id=program_id,
                                   decided_by=ctx.actor, reason=cmd.reason, decided_at=ctx.now)
    uow.add(decision)
    audit(uow, ctx, "person", person.id, "readmit", None, None,
          refs={"decision": decision.id, "program": program_id, "patient": patient.id})
    uow.commit()
    return decision


@dataclass(frozen=True)
class Transfer:
    patient: Patient
    from_prescriber_id: str
    voided_authorizations: int


def transfer_patient(uow: UnitOfWork, ctx: Context, cmd: TransferPatient) -> Transfer:
    """R34: the same record and its history move to another prescriber certified in the program.
    The old prescriber's open authorizations are voided (like R3): an authorization belongs to
    the prescriber who asked for it, and that prescriber no longer treats the patient."""
    patient = uow.get(Patient, cmd.patient_id, lock=True)
    if patient.state == LIVE_EXCEPT:
        raise Conflict(f"patient {patient.id} is discontinued: enroll the patient again instead")
    if cmd.to_prescriber_id == patient.prescriber_id:
        raise InvalidInput("to_prescriber_id", "is already the patient's prescriber")
    prescriber = uow.get(Prescriber, cmd.to_prescriber_id)
    certified = prescriber_certified(uow, prescriber, patient.program_id, ctx.now)
    if not certified.met:
        raise Refused("transfer", [certified])
    old = patient.prescriber_id
    voided = void_open_prescriptions(uow, ctx, patient_id=patient.id)
    patient.prescriber_id = prescriber.id
    audit(uow, ctx, "patient", patient.id, "transfer", patient.state, patient.state,
          refs={"from_prescriber": old, "to_prescriber": prescriber.id, "voided": str(voided)})
    uow.commit()
    return Transfer(patient, old, voided)


def correct_facts(uow: UnitOfWork, ctx: Context, cmd: CorrectFacts) -> Patient:
    """R35: only the administrator changes a recorded fact, with a reason, audited (which facts
    changed and why; the values stay on the record). The category may change: R8 then asks for a
    new PPAF before the next authorization."""
    patient = uow.get(Patient, cmd.patient_id, lock=True)
    program = uow.program(patient.program_id)
    plausible(patient, cmd.facts, local_date(ctx.now, zone_of(patient, program)),
              program.at(ctx.now))
    changed = [name for name in FACTS if getattr(patient, name) != getattr(cmd.facts, name)]
    if not changed:
        raise InvalidInput("facts", "the same as recorded: nothing to correct")
    for name in changed:
        setattr(patient, name, getattr(cmd.facts, name))
    audit(uow, ctx, "patient", patient.id, "correct_facts", patient.state, patient.state,
          [need(True, "R35", R35_FACTS_CORRECTED, cmd.reason, "")],
          refs={"facts": ",".join(changed)})
    uow.commit()
    return patient
