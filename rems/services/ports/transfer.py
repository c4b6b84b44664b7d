"""Moving a program in and out, the port (issue 19 item 1): the records of one program as the
export's JSON values, and back. The SQL side: rems/adapters/transfer.py."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from rems.domain.model import Prescription


class TransferStore(Protocol):
    """`uow.transfer`. A record file is named as the table that holds it."""

    def snapshot(self) -> None:
        """Every read after this one reads the same snapshot (call it first)."""

    def alone(self, program_id: str) -> bool:
        """Does the engine hold records of this program only?"""

    def records(self, names: Sequence[str], program_id: str,
                alone: bool) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Per file in `names`, the program's rows (every row when `alone`) by id, encoded."""

    def enrolled_elsewhere(self, program_id: str) -> int:
        """R34: persons of this program enrolled in another one too."""

    def open_prescriptions(self, program_id: str, states: Sequence[str]) -> list[Prescription]:
        """The program's prescriptions in `states`, oldest request first."""

    def decoded(self, name: str, records: Iterable[tuple[int, Any]]) -> list[dict[str, Any]]:
        """A record file's (line number, JSON) as column values; InvalidInput naming the line."""

    def count(self, name: str) -> int:
        """The rows of one table."""

    def insert(self, name: str, values: list[dict[str, Any]]) -> bool:
        """Insert a file's rows; False if one repeats a key or refers to a record not there."""

    def copy_chain(self, entries: list[dict[str, Any]]) -> None:
        """Chained entries inserted verbatim, the head moved to the last."""

    def prescriber_id_by_npi(self, npi: str) -> str | None:
        """The prescriber enrolled with this NPI."""
