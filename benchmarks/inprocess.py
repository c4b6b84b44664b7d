"""Item 1: the gate in-process, with no HTTP: the pure gate on loaded records, and the check use
case with its database reads (one unit of work per check, as the API runs it)."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from rems.bootstrap import App
from rems.domain import gate
from rems.domain.gate import Records
from rems.domain.model import Patient, Pharmacy
from rems.services.commands import PharmacyRequest, parse
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.dispensing.records import load_records


def summarize(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"n": len(ordered), "median_ms": statistics.median(ordered) * 1e3, "p99_ms": p99 * 1e3,
            "per_second": len(ordered) / sum(ordered)}


def _timed(calls: int, step: Callable[[int], Any]) -> list[float]:
    samples = []
    clock = time.perf_counter
    for i in range(calls):
        start = clock()
        step(i)
        samples.append(clock() - start)
    return samples


def _ctx() -> Context:
    return Context("pharmacy:bench", datetime.now(UTC))


def verify(app: App, numbers: Sequence[str], pharmacy_id: str) -> dict[str, list[str]]:
    """Authorization number -> failing rule codes, for each one the production check refuses."""
    refused = {}
    for number in numbers:
        with app.uow() as uow:
            decision = prescriptions.check(uow, _ctx(), parse(PharmacyRequest, number=number,
                                                                pharmacy_id=pharmacy_id))
        if not decision.allowed:
            refused[number] = [f.code for f in decision.failures]
    return refused


def _records(app: App, number: str, pharmacy_id: str) -> tuple[Records, str]:
    with app.uow() as uow:
        rx = uow.prescriptions.by_number(number)
        records = load_records(uow, uow.get(Patient, rx.patient_id), rx,
                               pharmacy=uow.get(Pharmacy, pharmacy_id))
        uow.session.expunge_all()
        return records, rx.program_id


def pure_gate(app: App, numbers: Sequence[str], pharmacy_id: str, calls: int) -> dict[str, float]:
    """gate.evaluate("confirm", …) on records already in memory: the rules alone."""
    loaded = [_records(app, n, pharmacy_id) for n in numbers[:200]]
    now = datetime.now(UTC)
    cycle = itertools.cycle(loaded)

    def step(_: int) -> None:
        records, program = next(cycle)
        gate.evaluate("confirm", records, app.programs[program], now)
    _timed(min(calls, 200), step)  # warm-up
    return summarize(_timed(calls, step))


def check_service(app: App, numbers: Sequence[str], pharmacy_id: str, calls: int) -> dict[str, float]:
    """prescriptions.check in its own unit of work: its nine indexed reads and the gate."""
    commands = [parse(PharmacyRequest, number=n, pharmacy_id=pharmacy_id) for n in numbers]

    def step(i: int) -> None:
        with app.uow() as uow:
            prescriptions.check(uow, _ctx(), commands[i % len(commands)])
    _timed(min(calls, 100), step)
    return summarize(_timed(calls, step))
