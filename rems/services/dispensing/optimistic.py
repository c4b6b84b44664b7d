"""Confirmations and dispenses decided before SQLite's write lock (issue 14 item 3).

SQLite has one write lock per database, and a writing transaction takes it when it begins
(`BEGIN IMMEDIATE`, issue 13 item 8). Held through the gate's reads, it made every other writer
wait for them (a profile: 38 % of a confirmation's time in `WriterQueue.enter`). Here a writer
on SQLite first reads the gate's records in a read transaction (a snapshot; WAL readers never wait)
and decides there; then it takes the write lock and re-reads only what that decision depended on:
the versions of the prescription, the patient, the prescriber, the pharmacy, both certifications
(R1, R25) and the confirmation (R27), whether the prescriber survey is done (R19), the latest
readmission decision (R34), the live confirmations of the authorization (R26), and the ids of the
history rows (R34: the UNION ALL of rems/adapters/gate_reads.py, whatever kinds it holds). The
history tables are append-only and every versioned row is changed through the ORM, which bumps
its version (STYLE 6), so equal fingerprints mean the records the gate read are the records under
the lock, and the decision stands as if it had been made there. On any difference the caller
decides again under the lock, exactly as before (one re-evaluation, no loop). A refusal keeps the
same path: it is raised under the lock and audited as before (issue 6).

PostgreSQL is unchanged: its row locks do not stop readers, so there is nothing to gain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from rems.domain import gate
from rems.domain.catalogue import ConfirmationState, PrescriptionState
from rems.domain.errors import DomainError
from rems.domain.model import Confirmation, Counselling, Patient, Pharmacy, Prescription
from rems.domain.requirements import Decision
from rems.services.commands import PharmacyRequest, RecordDispense
from rems.services.context import Context
from rems.services.dispensing.records import load_check, load_records
from rems.services.ports import UnitOfWork
from rems.services.ports.gate import Fingerprint
from workflows.program import Program

# Tests only: called between the snapshot and the write lock (to commit a competing change there).
between: Callable[[], None] | None = None


@dataclass(frozen=True)
class Ahead:
    """A decision made on a snapshot, and what it read."""

    rx: Prescription
    patient: Patient
    pharmacy: Pharmacy
    confirmation: Confirmation | None
    decision: Decision
    seen: Fingerprint

    def still_holds(self, uow: UnitOfWork) -> bool:
        """Under the write lock (this takes it): is every record the decision read unchanged?"""
        if between is not None:
            between()
        confirmation_id = self.confirmation.id if self.confirmation else None
        # BEGIN IMMEDIATE: the write lock from here to the commit
        return uow.optimistic.seen_now(self.rx, self.patient, self.pharmacy.id, confirmation_id) == self.seen


def _ahead(uow: UnitOfWork, decide: Callable[[UnitOfWork], Ahead | None]) -> Ahead | None:
    snapshot = uow.snapshot()
    if snapshot is None:
        return None
    try:
        with snapshot:
            return decide(snapshot)
    except DomainError:
        return None  # the locked path answers (and words the error) exactly as before


class Confirming(NamedTuple):
    rx: Prescription  # the session's, under the write lock
    pharmacy: Pharmacy
    program: Program
    decision: Decision


def confirmation(uow: UnitOfWork, ctx: Context, cmd: PharmacyRequest) -> Confirming | None:
    """R26: the confirm stage's decision, made before the write lock and still true under it; None
    when the caller must decide under the lock (PostgreSQL, a record changed, a live confirmation
    to expire first, anything unusual)."""
    def decide(snapshot: UnitOfWork) -> Ahead | None:
        rx, pharmacy, records = load_check(snapshot, cmd.number, cmd.pharmacy_id, cmd.patient_id)
        if rx.state != PrescriptionState.AUTHORIZED:  # e.g. a live confirmation, which R27 may expire under the lock
            return None
        seen = snapshot.optimistic.seen_in(records, live=0)
        decision = gate.evaluate("confirm", records, snapshot.program(rx.program_id), ctx.now)
        return Ahead(rx, records.patient, pharmacy, None, decision, seen)

    ahead = _ahead(uow, decide)
    if ahead is None or not ahead.still_holds(uow):
        return None
    return Confirming(uow.optimistic.adopt(ahead.rx), ahead.pharmacy, uow.program(ahead.rx.program_id),
                      ahead.decision)


class Dispensing(NamedTuple):
    confirmation: Confirmation  # the session's, as are the prescription and the patient
    pharmacy: Pharmacy
    rx: Prescription
    patient: Patient
    decision: Decision


def dispense(uow: UnitOfWork, ctx: Context, cmd: RecordDispense) -> Dispensing | None:
    """R27-R29, R33: the dispense stage's decision, as `confirmation` (the database still refuses a
    second dispense, R33)."""
    def decide(snapshot: UnitOfWork) -> Ahead | None:
        head = snapshot.optimistic.dispense_head(cmd.confirmation_number, cmd.pharmacy_id)
        if head is None:
            return None  # the locked path words the error (unknown or not this pharmacy's)
        confirmation, rx, patient, pharmacy = head
        if pharmacy is None or confirmation.pharmacy_id != pharmacy.id:
            return None
        counselling = Counselling(cmd.counselled, cmd.education_checklist_completed,
                                  cmd.medication_guide_given)
        records = load_records(snapshot, patient, rx, pharmacy, confirmation, counselling)
        seen = snapshot.optimistic.seen_in(records, live=1 if confirmation.state == ConfirmationState.ISSUED else 0)
        decision = gate.evaluate("dispense", records, snapshot.program(rx.program_id), ctx.now)
        return Ahead(rx, patient, pharmacy, confirmation, decision, seen)

    ahead = _ahead(uow, decide)
    if ahead is None or ahead.confirmation is None or not ahead.still_holds(uow):
        return None
    adopt = uow.optimistic.adopt
    return Dispensing(adopt(ahead.confirmation), ahead.pharmacy, adopt(ahead.rx), adopt(ahead.patient),
                      ahead.decision)
