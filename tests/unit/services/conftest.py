"""Service use cases on the in-memory unit of work (tests/fakes/): no database, one core, seconds.

`s` is tests/service/builders.py's Scenario over a FakeStore: every call is one FakeUnitOfWork,
at `s.now`. Expected answers come from /work/shared/REMS_RULES.md (the rule ids), never from
calling the code under test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import pytest

from rems.bootstrap import App
from tests.fakes import FakeStore, unported
from tests.service.builders import Scenario
from workflows.program import load_programs

T = TypeVar("T")
_PROGRAMS = load_programs()


class FakeScenario(Scenario):
    """The service tests' scenario, on the fake: a read is one unit of work that commits nothing."""

    def __init__(self, store: FakeStore) -> None:
        super().__init__(cast(App, store))
        self.store = store

    def read(self, query: Callable[[Any], T]) -> T:
        with self.store.uow(write=False) as uow:
            return query(uow)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> FakeStore:
    unported.install(monkeypatch)
    return FakeStore(_PROGRAMS)


@pytest.fixture
def s(store: FakeStore) -> FakeScenario:
    return FakeScenario(store)
