"""The compliance reports' port (issue 19 item 1): the counts and rows of one period [start, end)
that rems/services/reports/ computes its figures from. The SQL side: rems/adapters/reports.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from rems.domain.model import Dispense, Patient, PatientSurvey, Pharmacy, Ppaf, PregnancyTest, Prescriber


class ReportQueries(Protocol):
    """`uow.reports`."""

    def refusals(self, gate: str, start: datetime, end: datetime) -> list[tuple[datetime, str, Any]]:
        """Every refused gate in the period, by time: (when, trigger, reasons)."""

    def dispenses_by_category(self, start: datetime, end: datetime) -> dict[str, int]:
        ...

    def authorizations_issued(self, start: datetime, end: datetime) -> int:
        ...

    def authorizations_expired(self, start: datetime, end: datetime, now: datetime,
                               ended: Sequence[str]) -> int:
        """Numbered authorizations that expired in the period by `now`, not in an `ended` state."""

    def pregnancies_by_source(self, start: datetime, end: datetime) -> dict[str, int]:
        ...

    def dispensed_at(self, start: datetime, end: datetime) -> list[datetime]:
        ...

    def waiver_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        ...

    def dispense_times(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str, str]]:
        """Each dispense of the period: (dispensed_at, its prescription's requested_at, category, site)."""

    def prescribers(self) -> list[Prescriber]:
        ...

    def pharmacies(self) -> list[Pharmacy]:
        ...

    def lapses(self, entity: str, triggers: Sequence[str], start: datetime, end: datetime) -> dict[str, int]:
        ...

    def authorizations_by_prescriber(self, start: datetime, end: datetime) -> dict[str, int]:
        ...

    def refusals_by_prescriber(self, gate: str, start: datetime, end: datetime) -> dict[str, int]:
        ...

    def dispenses_by_pharmacy(self, start: datetime, end: datetime) -> dict[str, int]:
        ...

    def refusals_by_pharmacy(self, gate: str, start: datetime, end: datetime) -> dict[str, int]:
        ...

    def patients_with_records(self, states: Sequence[str]) -> tuple[
            Sequence[Patient], Mapping[str, list[Ppaf]], Mapping[str, list[PregnancyTest]],
            Mapping[str, list[PatientSurvey]], Mapping[str, list[Dispense]]]:
        """Every patient in `states`, and their PPAFs, tests, surveys and dispenses by patient id,
        each in its order: five queries in all."""

    def patient_trail(self, patient_id: str, gate: str) -> list[Mapping[Any, Any]]:
        """Every entry about the patient or one of their records, in chain order."""
