"""The staff's and the dashboard's read models (rems/adapters/views.py): lists paged, searched,
filtered and counted in the store, scoped to the actor in the query (R5, R25)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from rems.domain import model
from rems.domain.access import ApiToken
from rems.domain.model import Confirmation, Patient, Prescription


class ViewQueries(Protocol):
    def certification_queue(self, kind: str, program_id: str, search: str, state: str, states: Sequence[str],
                            page: int, size: int) -> tuple[list[tuple[Any, model.Certification | None]], int,
                                                           dict[str, int]]: ...
    def tokens_of(self, kind: str, holder_id: str, limit: int) -> Sequence[ApiToken]: ...
    def patients_page(self, prescriber_id: str, search: str, category: str, state: str, sort: str,
                      states: Sequence[str], limit: int, offset: int) -> tuple[list[tuple[Patient, str | None]],
                                                                             dict[str, int]]: ...
    def of_prescriber(self, prescriber_id: str, patient_ids: list[str]) -> set[str]: ...
    def needs_action(self, prescriber_id: str, now: datetime, lead_days: int, due: Mapping[str, list[str]],
                     overdue_since: Sequence[tuple[str, str, datetime]], live: Sequence[str],
                     holds: Sequence[str], open_rx: Sequence[str], names: Sequence[str], limit: int,
                     offset: int) -> tuple[list[tuple[Patient, list[str]]], int, dict[str, int]]: ...
    def strengths(self, prescription_ids: list[str]) -> dict[str, str]: ...
    def worklist(self, pharmacy_id: str) -> list[tuple[Confirmation, Prescription, Patient]]: ...
    def dispenses_page(self, pharmacy_id: str, search: str, limit: int,
                       offset: int) -> tuple[list[tuple[Any, ...]], int]: ...
