"""CLI for the administrator's patient decisions: transfer and readmission (R34), fact corrections (R35)."""

from __future__ import annotations

import typer

from rems.cli.output import call, emit, emit_model, local
from rems.cli.patients import HYSTERECTOMY, MENARCHE, OOPHORECTOMY, POSTMENOPAUSAL, stated_facts

REASON = typer.Option(..., help="Why (kept with the decision; no names)")


def transfer(patient_id: str, to: str = typer.Option(..., help="The new prescriber's id")) -> None:
    """Administrator: move the record to another prescriber certified in its program (R34); the
    previous prescriber's open authorizations are voided."""
    from rems.schemas.persons import TransferOut
    from rems.services.commands import TransferPatient, parse
    from rems.services.enrollment import persons
    done = call(persons.transfer_patient, parse(TransferPatient, patient_id=patient_id, to_prescriber_id=to))
    emit_model(TransferOut.of(done),
         f"patient {done.patient.id}: transferred from {done.from_prescriber_id} to "
         f"{done.patient.prescriber_id}; {done.voided_authorizations} open authorization(s) voided")


def readmit(patient_id: str, reason: str = REASON,
            program: str = typer.Option(None, help="Program of the new enrollment (default: this one's)")) -> None:
    """Administrator: record the decision to enrol this person again after a pregnancy stop (R34)."""
    from rems.schemas.persons import ReadmissionOut
    from rems.services.commands import DecideReadmission, parse
    from rems.services.enrollment import persons
    d = call(persons.decide_readmission, parse(DecideReadmission, patient_id=patient_id, program_id=program,
                                               reason=reason))
    emit_model(ReadmissionOut.of(d), f"readmission decision {d.id} ({local(d.decided_at)}): person "
                                     f"{d.person_id} may be enrolled again in {d.program_id}")


def correct_facts(patient_id: str, reason: str = REASON, menarche: bool | None = MENARCHE,
                  hysterectomy: bool | None = HYSTERECTOMY, oophorectomy: bool | None = OOPHORECTOMY,
                  postmenopausal_since: str | None = POSTMENOPAUSAL) -> None:
    """Administrator: correct recorded reproductive facts, every one stated, with a reason (R35)."""
    from rems.schemas.outputs import PatientOut
    from rems.services.commands import CorrectFacts, parse
    from rems.services.enrollment import persons
    p = call(persons.correct_facts, parse(
        CorrectFacts, patient_id=patient_id, reason=reason,
        facts=stated_facts(menarche, hysterectomy, oophorectomy, postmenopausal_since) or {}))
    # The API's patient, with the facts as now recorded (the names of its `facts` body, R35).
    emit({**PatientOut.of(p).model_dump(mode="json"), "menarche": p.menarche,
          "hysterectomy": p.hysterectomy, "bilateral_oophorectomy": p.bilateral_oophorectomy,
          "postmenopausal_since": p.postmenopausal_since}, f"patient {p.id}: facts corrected")


def register(group: typer.Typer) -> None:
    """Add these commands to `rems patient` (the administrator's token is not needed on the CLI)."""
    group.command("transfer")(transfer)
    group.command("readmit")(readmit)
    group.command("correct-facts")(correct_facts)
