"""The services' ports (issue 19 item 1): what a service reaches through its unit of work.

Lane gate's block only (the uow lane declares the transaction methods and the repositories;
the integrator merges the blocks)."""

from __future__ import annotations

from typing import Protocol

from rems.services.ports.gate import Attempts, GateReads, Optimistic


class UnitOfWork(Protocol):
    # lane gate
    @property
    def gate(self) -> GateReads: ...
    @property
    def optimistic(self) -> Optimistic: ...
    @property
    def attempts(self) -> Attempts: ...
    # end lane gate
