"""The seeder (issue 8) writes what the engine would have written: gates that pass where it says
they pass, and an audit log whose hash chain verifies (issue 6) and goes on growing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from benchmarks import inprocess, seed
from benchmarks.stack import _tokens
from rems.bootstrap import bootstrap
from rems.services.audit import audit_verify
from rems.services.context import Context
from rems.settings import Settings


def test_seeded_population_passes_the_check_and_its_audit_chain_verifies(tmp_path: Path) -> None:
    app = bootstrap(Settings(env="test", database_url=f"sqlite:///{tmp_path / 'seed.db'}"))
    app.migrate()
    try:
        seeded = seed.seed(app.engine, app.programs["pomalidomide"].at(datetime.now(UTC)),
                           seed.Plan(patients=120, writes=10, expired=5))
        assert seeded.checks and len(seeded.writes) == 10 and seeded.rows["audit_log"] > 120
        assert inprocess.verify(app, seeded.checks + seeded.writes, seeded.pharmacies[0]) == {}
        _tokens(app, seeded.pharmacies[:2])  # production appends to the seeded chain
        with app.uow() as uow:
            verification = audit_verify.verify(uow, Context("admin:test", datetime.now(UTC)))
        assert verification.ok, verification.finding
        assert verification.entries == seeded.rows["audit_log"] + 2
    finally:
        app.engine.dispose()
