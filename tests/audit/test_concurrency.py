"""Writers committing at once never fork the chain: sequence numbers stay unique and gapless and
the chain verifies (issue 6). PostgreSQL's row-level races are in tests/integration/test_postgres.py."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select

from rems.adapters import orm
from rems.services.commands import EnrollPharmacy, parse
from rems.services.enrollment import certification
from tests.audit.conftest import verify
from tests.service.builders import Scenario

WRITERS = 6


def test_concurrent_writers_leave_one_unbroken_chain(scenario: Scenario) -> None:
    s = scenario
    start = threading.Barrier(WRITERS, timeout=10)
    errors: list[Exception] = []

    def write(n: int) -> None:
        start.wait()
        try:
            for k in range(3):
                s.call(certification.enroll_pharmacy, parse(
                    EnrollPharmacy, name=f"Racer {n}-{k}", ncpdp_id=f"{7_000_000 + n * 10 + k}",
                    representative_enrolled=True, staff_trained=True, records_and_audits_accepted=True),
                    actor=f"racer-{n}")
        except Exception as error:  # reported below, never swallowed
            errors.append(error)

    before = verify(s.app).head.seq
    threads = [threading.Thread(target=write, args=(n,), name=f"racer-{n}") for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and not any(t.is_alive() for t in threads)
    with s.app.engine.connect() as connection:
        seqs: list[Any] = list(connection.scalars(select(orm.audit_log.c.seq).order_by(orm.audit_log.c.seq)))
    assert seqs == list(range(1, before + WRITERS * 3 + 1))
    result = verify(s.app)
    assert result.ok, result.finding
    assert result.head.seq == before + WRITERS * 3
