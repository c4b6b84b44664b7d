"""The gate's read model (issue 19 item 1): what the check, the confirmation and the dispense read,
as Protocols the services reach through the unit of work (`uow.gate`, `uow.optimistic`,
`uow.attempts`). The SQL is in rems/adapters/gate_reads.py (the two statements of issue 14 item 2),
rems/adapters/optimistic.py (issue 14 item 3's fingerprints) and rems/adapters/attempts.py (issue
13 item 9's rollback between attempts); the decisions stay in rems/services/dispensing: what to
load and when it is not found (records.py), what a changed fingerprint means (optimistic.py), when
to run a use case again (retry.py)."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from rems.domain.gate import Records
from rems.domain.model import Confirmation, Counselling, Patient, Pharmacy, Prescription

T = TypeVar("T")
# What a decision read (versions, presence, the history's (kind, id)): equal means unchanged.
Fingerprint = tuple[Any, ...]


class CheckHead(Protocol):
    """The check's first statement: the authorization by number, its patient and the pharmacy."""

    @property
    def prescription(self) -> Prescription: ...

    @property
    def patient(self) -> Patient: ...

    @property
    def pharmacy(self) -> Pharmacy | None:
        """None: no pharmacy has this id."""

    def records(self) -> Records:
        """The gate's records for this head: its second statement (the history)."""


class GateReads(Protocol):
    """R34, R1, R25, R19, R28: the records the gate reads for one patient, in two statements."""

    def records(self, prescriber_id: str, patient: Patient, prescription: Prescription | None,
                pharmacy: Pharmacy | None, confirmation: Confirmation | None,
                counselling: Counselling | None) -> Records | None:
        """None: no prescriber has this id."""

    def check(self, number: str, pharmacy_id: str) -> CheckHead | None:
        """None: no authorization has this number."""


class Optimistic(Protocol):
    """Issue 14 item 3: what a decision made on a snapshot read, then and now."""

    def dispense_head(self, number: str, pharmacy_id: str
                      ) -> tuple[Confirmation, Prescription, Patient, Pharmacy | None] | None:
        """A confirmation (by number), its authorization and patient, and the pharmacy (None: no
        pharmacy has this id); None: no confirmation has this number."""

    def seen_in(self, records: Records, live: int) -> Fingerprint:
        """What the decision read, from the records it was made on (no statement)."""

    def seen_now(self, rx: Prescription, patient: Patient, pharmacy_id: str,
                 confirmation_id: str | None) -> Fingerprint | None:
        """The same, read again now; None if the authorization is gone."""

    def adopt(self, record: T) -> T:
        """This unit of work's own copy of a record a snapshot read, without reading it again."""


class Attempts(Protocol):
    """Issue 13 item 9: the store's side of running a use case again."""

    def lost_race(self, error: BaseException) -> bool:
        """Did a concurrent transaction win (whatever layer saw it first)?"""

    def running(self) -> bool:
        """Is an attempt running on this unit of work (nested use cases run once)?"""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def pending(self) -> bool:
        """Would a rollback lose anything (changes not yet written)?"""

    def rollback(self) -> None: ...
