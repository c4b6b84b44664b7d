"""Issue 14 item 3: writers never take the chain's lock. Their entries are committed unchained
and a sealer chains them; with real concurrent writers on both databases the chain ends complete
(every committed entry in it once, sequence gapless) and verifies, and tampering with a sealed
entry is still reported at exactly that entry."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from rems.adapters import orm
from rems.bootstrap import App
from rems.services.commands import EnrollPharmacy, parse
from rems.services.enrollment import certification
from tests.audit.conftest import tamper, verify
from tests.service.builders import Scenario

WRITERS, EACH = 6, 4


@pytest.fixture
def background(scenario: Scenario) -> Iterator[Scenario]:
    """The production sealer: a thread woken by commits (tests default to sealing inline)."""
    scenario.app.sealer.mode = "background"
    yield scenario
    scenario.app.sealer.close()


def _race(s: Scenario, tag: str) -> None:
    start = threading.Barrier(WRITERS, timeout=10)
    errors: list[Exception] = []

    def write(n: int) -> None:
        start.wait()
        try:
            for k in range(EACH):
                s.call(certification.enroll_pharmacy, parse(
                    EnrollPharmacy, name=f"Racer {tag}{n}-{k}", ncpdp_id=f"{7_000_000 + n * 10 + k}",
                    representative_enrolled=True, staff_trained=True, records_and_audits_accepted=True),
                    actor=f"racer-{n}")
        except Exception as error:  # reported below, never swallowed
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,), name=f"racer-{n}") for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60  # for them all: a writer waiting on the head fails, not hangs
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert errors == [] and not any(t.is_alive() for t in threads)


def _counts(app: App) -> tuple[int, int, list[Any]]:
    with app.engine.connect() as connection:
        pending = connection.scalar(select(func.count()).select_from(orm.audit_pending)) or 0
        racers = connection.scalar(select(func.count()).select_from(orm.audit_log)
                                   .where(orm.audit_log.c.actor.like("racer-%"))) or 0
        seqs = list(connection.scalars(select(orm.audit_log.c.seq).order_by(orm.audit_log.c.seq)))
    return int(pending), int(racers), seqs


def _sealed_by_the_thread(app: App, expected: int, within: float = 20.0) -> None:
    """The sealer thread, not a test's drain, chains everything (a liveness check, not a timing)."""
    deadline = time.monotonic() + within
    while _counts(app)[:2] != (0, expected):
        assert time.monotonic() < deadline, f"still pending: {_counts(app)[:2]}"
        time.sleep(0.05)


def test_concurrent_writers_with_the_background_sealer_leave_a_complete_chain(background: Scenario) -> None:
    s = background
    _race(s, "a")
    _sealed_by_the_thread(s.app, WRITERS * EACH)
    pending, racers, seqs = _counts(s.app)
    assert pending == 0
    assert seqs == list(range(1, len(seqs) + 1))
    result = verify(s.app)
    assert result.ok, result.finding
    assert result.entries == len(seqs) and racers == WRITERS * EACH
    victim = seqs[len(seqs) // 2]
    tamper(s.app, "UPDATE audit_log SET actor = 'someone else' WHERE seq = :seq", seq=victim)
    finding = verify(s.app).finding
    assert finding is not None and (finding.kind, finding.seq) == ("altered", victim)


def test_writers_commit_while_the_chain_head_is_locked(app: App) -> None:
    """PostgreSQL: a sealer holding the head's row lock does not stop a single writer; what they
    committed meanwhile is chained once the lock goes (SQLite has one writer at a time anyway)."""
    if app.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises every writer by design")
    s = Scenario(app).certified_prescriber().certified_pharmacy()
    before = verify(app).head.seq
    app.sealer.mode = "background"  # an inline seal would wait for the lock after each commit
    with app.engine.connect() as holder:
        holder.execute(text("UPDATE audit_chain_head SET seq = seq"))  # held until the rollback
        _race(s, "b")  # would wait forever (and fail) if a writer needed the head
        assert _counts(app)[0] == WRITERS * EACH  # committed, not yet chained
        holder.rollback()
    app.sealer.close()
    pending, racers, seqs = _counts(app)
    assert pending == 0 and racers == WRITERS * EACH and seqs == list(range(1, before + racers + 1))
    assert verify(app).ok
