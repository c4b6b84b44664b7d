"""The fake unit of work keeps the port's transaction promises (tests/fakes/uow.py)."""

from __future__ import annotations

from datetime import date

import pytest

from rems.domain.model import AuditEntry, Person
from tests.conftest import T0
from tests.fakes import FakeStore


def _person(key: str) -> Person:
    return Person(id=f"per_{key}", name_key=key, birth_date=date(1980, 1, 1), sex="male", created_at=T0)


def test_what_is_not_committed_is_forgotten(store: FakeStore) -> None:
    with store.uow() as uow:
        uow.add(_person("kept"))
        uow.commit()
        uow.add(_person("lost"))
        uow.stage_audit(AuditEntry(at=T0, actor="t", entity="person", entity_id="per_lost", trigger="x",
                                   from_state=None, to_state=None, reasons=[]))
    assert [p.id for p in store.all(Person)] == ["per_kept"] and store.audit == []


def test_a_rollback_puts_back_what_was_read(store: FakeStore) -> None:
    with store.uow() as uow:
        uow.add(_person("one"))
        uow.commit()
        uow.get(Person, "per_one").sex = "female"
        uow.rollback()
    assert store.rows[Person]["per_one"].sex == "male"


def test_a_read_only_unit_of_work_cannot_commit(store: FakeStore) -> None:
    with store.uow(write=False) as uow, pytest.raises(RuntimeError):
        uow.commit()
