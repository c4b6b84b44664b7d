"""On a real PostgreSQL (tests/pg.py): the audit log defends itself, and real threads racing through
the services for one authorization leave exactly one outcome, the losers told why (STYLE 5, 6;
R23, R26, R27, R33)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from rems.adapters.database import alembic_config
from rems.bootstrap import App, bootstrap
from rems.domain.errors import Conflict, NotFound, Refused
from rems.domain.model import AuditEntry, Confirmation, Dispense, Pharmacy, Prescription
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.reminders import sweeps
from rems.settings import Settings
from tests import pg
from tests.races import race
from tests.service.builders import Scenario

PHARMACIES = 6
LOSING = (Conflict, Refused, NotFound)


@pytest.fixture
def s(pg_app: App) -> Scenario:
    return Scenario(pg_app).certified_prescriber().certified_pharmacy().enrolled("adult_male")


# -- the audit log, append-only by the database (STYLE 5) ----------------------------------------
@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'someone else'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "TRUNCATE prescribers, pharmacies, audit_log CASCADE",
], ids=["update", "delete", "truncate", "truncate-cascade"])
def test_the_audit_log_refuses_update_delete_and_truncate(s: Scenario, statement: str) -> None:
    before = [(a.id, a.actor, a.trigger) for a in s.rows(AuditEntry)]
    assert len(before) >= 5  # two enrollments, two certifications, the patient's enrollment
    with pytest.raises(DBAPIError, match="append-only"), s.app.engine.begin() as connection:
        connection.execute(text(statement))
    assert [(a.id, a.actor, a.trigger) for a in s.rows(AuditEntry)] == before


def test_an_audit_row_changed_through_a_unit_of_work_is_refused_at_commit(s: Scenario) -> None:
    with s.app.uow() as uow:
        entry = uow.audit_trails.of("prescriber", s.prescriber_id)[-1]
        entry.to_state = "revoked"
        with pytest.raises(DBAPIError, match="append-only"):
            uow.commit()
    assert s.trail("prescriber", s.prescriber_id)[-1][2] == "certified"


# -- real threads racing (R26, R33) --------------------------------------------------------------
@contextmanager
def _slow_commits(app: App, seconds: float = 0.15) -> Iterator[None]:
    """Racers linger before committing, holding what they locked, so that the others really wait
    on the database instead of finishing one after another by luck."""

    def linger(_session: Session) -> None:
        if threading.current_thread().name.startswith("racer"):
            time.sleep(seconds)

    event.listen(app.sessions, "before_commit", linger)
    try:
        yield
    finally:
        event.remove(app.sessions, "before_commit", linger)




def _one_winner(results: list[Any]) -> Any:
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, LOSING) for r in losers), [repr(r) for r in losers]  # never a raw error
    return winners[0]


def _authorized(s: Scenario) -> tuple[Prescription, str]:
    rx = s.authorized()
    assert rx.number is not None
    return rx, rx.number


def test_six_pharmacies_racing_to_confirm_one_authorization_get_one_confirmation_r26(
        s: Scenario) -> None:
    rx, number = _authorized(s)
    pharmacies = [s.pharmacy_id] + [s.new_pharmacy() for _ in range(PHARMACIES - 1)]
    with _slow_commits(s.app):
        results = race(*[lambda p=p: s.confirm(number, p) for p in pharmacies])
    winner = _one_winner(results)
    confirmation, = s.rows(Confirmation)
    assert (confirmation.id, confirmation.state) == (winner.id, "issued")
    assert s.fetch(Prescription, rx.id).state == "confirmed"
    assert [t for t, _, _ in s.trail("prescription", rx.id)].count("confirm") == 1
    assert s.trail("confirmation", winner.id) == [("issue", None, "issued")]


def test_six_dispenses_racing_on_one_confirmation_leave_one_dispense_r33(s: Scenario) -> None:
    """The holder's four terminals and two other certified pharmacies try the same number."""
    rx, number = _authorized(s)
    confirmation = s.confirm(number)
    others = [s.new_pharmacy() for _ in range(2)]
    attempts = [s.pharmacy_id] * (PHARMACIES - len(others)) + others
    with _slow_commits(s.app):
        results = race(*[lambda p=p: s.dispense(confirmation.number, p)
                          for p in attempts])
    winner = _one_winner(results)
    assert isinstance(winner, Dispense) and winner.pharmacy_id == s.pharmacy_id
    assert all(isinstance(r, NotFound) for r in results[-len(others):])  # not their confirmation
    dispense, = s.rows(Dispense)
    assert dispense.id == winner.id
    assert s.fetch(Confirmation, confirmation.id).state == "used"
    assert s.fetch(Prescription, rx.id).state == "dispensed"
    assert [t for t, _, _ in s.trail("prescription", rx.id)].count("dispense") == 1
    assert [t for t, _, _ in s.trail("confirmation", confirmation.id)] == ["issue", "use"]


def _lost_with(error: Any, sqlstate: str) -> bool:
    cause = getattr(error, "__cause__", None)
    return isinstance(error, Conflict) and getattr(getattr(cause, "orig", None), "sqlstate", "") == sqlstate


def test_a_deadlock_between_two_units_of_work_is_a_conflict_for_the_one_postgresql_picks(
        s: Scenario) -> None:
    a, b = s.pharmacy_id, s.new_pharmacy()
    each_holds_one = threading.Barrier(2, timeout=10)

    def lock(first: str, second: str) -> str:
        with s.app.uow() as uow:
            uow.get(Pharmacy, first, lock=True)
            each_holds_one.wait()
            uow.get(Pharmacy, second, lock=True)  # each waits for the other: PostgreSQL ends one
            uow.commit()
            return "committed"

    results = race(lambda: lock(a, b), lambda: lock(b, a))
    assert "committed" in results and any(_lost_with(r, "40P01") for r in results), results


def test_a_lock_wait_that_times_out_is_a_conflict(s: Scenario) -> None:
    holding, release = threading.Event(), threading.Event()

    def hold() -> str:
        with s.app.uow() as uow:
            uow.get(Pharmacy, s.pharmacy_id, lock=True)
            holding.set()
            release.wait(10)
        return "released"

    def impatient() -> str:
        holding.wait(10)
        try:
            with s.app.uow() as uow:
                uow.session.execute(text("SET LOCAL lock_timeout = '100ms'"))
                uow.get(Pharmacy, s.pharmacy_id, lock=True)
                return "locked"
        finally:
            release.set()

    held, waited = race(hold, impatient)
    assert held == "released" and _lost_with(waited, "55P03"), (held, waited)


# -- the sweep racing a pharmacy at the expiry boundary (R23, R27) -------------------------------
def _replays(s: Scenario, entity: str, record: Any) -> None:
    """The audit trail of a record, replayed from nothing, ends in the state stored for it."""
    trail = s.trail(entity, record.id)
    assert trail and trail[0][1] is None, (entity, trail)
    for (_, _, after), (trigger, before, _) in pairwise(trail):
        assert before == after, (entity, trigger, trail)
    assert trail[-1][2] == record.state, (entity, trail, record.state)


@pytest.mark.parametrize("pharmacy_late", [timedelta(minutes=1), timedelta(minutes=-1)],
                         ids=["pharmacy-after-expiry", "pharmacy-just-in-time"])
def test_a_sweep_racing_a_pharmacy_for_an_expiring_authorization_ends_in_one_audited_state(
        s: Scenario, pharmacy_late: timedelta) -> None:
    """The sweep runs past the authorization's expiry; the pharmacy's request is stamped a minute
    after it (always refused, R23) or a minute before it (it may win, and then the sweep voids
    its confirmation). Whoever wins, both are audited and the audit log replays to the records;
    a sweep that lost a race is simply run again, as the next scheduled one would be."""
    rx, number = _authorized(s)
    assert rx.expires_at is not None
    sweep_at, pharmacy_at = rx.expires_at + timedelta(minutes=1), rx.expires_at + pharmacy_late

    def sweep() -> dict[str, int]:
        with s.app.uow() as uow:
            return sweeps.expire_due(uow, Context("sweep", sweep_at))

    def confirm() -> Confirmation:
        with s.app.uow() as uow:
            return prescriptions.obtain_confirmation(uow, Context("pharmacist", pharmacy_at),
                                                     s.pharmacy_request(number))

    with _slow_commits(s.app, seconds=0.05):
        swept, confirmed = race(sweep, confirm)
    for outcome in (swept, confirmed):
        assert not isinstance(outcome, Exception) or isinstance(outcome, LOSING), repr(outcome)
    if pharmacy_late > timedelta(0):
        assert isinstance(confirmed, Refused), repr(confirmed)
        assert "R23_AUTHORIZATION_EXPIRED" in {f.code for f in confirmed.failures}
    assert not isinstance(swept, Exception), repr(swept)  # one record per transaction: no batch lost
    if swept["authorizations_expired"] == 0:  # the pharmacy held the row: skipped, taken next run
        assert swept["skipped_busy"] == 1 and isinstance(confirmed, Confirmation), (swept, confirmed)
        swept = sweep()
    assert swept["authorizations_expired"] == 1

    stored = s.fetch(Prescription, rx.id)
    assert stored.state == "expired"
    confirmations = s.rows(Confirmation)
    assert all(c.state != "issued" for c in confirmations)  # nothing live on an expired authorization
    _replays(s, "prescription", stored)
    for c in confirmations:
        _replays(s, "confirmation", c)
    audit = [(a.actor, a.trigger) for a in s.audit("prescription", rx.id)]
    assert audit.count(("sweep", "expire")) == 1
    if isinstance(confirmed, Confirmation):  # the pharmacy won: its confirmation, then the sweep's void
        assert audit.count(("pharmacist", "confirm")) == 1
        assert [(a.actor, a.trigger) for a in s.audit("confirmation", confirmed.id)] == [
            ("pharmacist", "issue"), ("sweep", "void")]
    else:
        assert isinstance(confirmed, Refused | Conflict), repr(confirmed)
        assert ("pharmacist", "confirm") not in audit and confirmations == []


# -- the migrations from empty, both ways ----------------------------------------------------------
def test_the_migrations_build_the_schema_from_empty_and_take_it_down_again(
        pg_cluster: pg.Cluster) -> None:
    from alembic import command  # only here: nothing else in the tests drives Alembic directly

    name = pg_cluster.create_database()
    app = bootstrap(Settings(env="test", database_url=pg_cluster.url(name)))
    try:
        app.migrate()
        assert {"audit_log", "prescriptions", "confirmations", "dispenses"} <= set(
            inspect(app.engine).get_table_names())
        with app.engine.begin() as connection:
            config = alembic_config(app.engine.url.render_as_string(hide_password=False))
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert set(inspect(app.engine).get_table_names()) <= {"alembic_version"}
        app.migrate()  # and back up: the trigger function was dropped with the schema
        with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))
    finally:
        app.engine.dispose()
        pg_cluster.drop_database(name)


# -- backup and restore (docs/configuration.md "Backup and restore") ---------------------------------------------
BACKED_UP = ("prescriptions", "confirmations", "dispenses", "audit_log")


def _client(name: str) -> str:
    """pg_dump/pg_restore of the cluster's own version: the ones next to its initdb."""
    initdb = shutil.which("initdb")
    assert initdb is not None
    found = Path(os.path.realpath(initdb)).parent / name
    return str(found) if found.exists() else shutil.which(name) or name


def _pg_tool(cluster: pg.Cluster, tool: str, *args: str) -> None:
    """Over TCP as the cluster's superuser (trust on loopback): no OS user to switch to."""
    done = subprocess.run([_client(tool), "--host", "127.0.0.1", "--port", str(cluster.port),
                           "--username", pg.SUPERUSER, "--no-password", *args],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{tool} exited {done.returncode}: {done.stderr}"


def _contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    app = bootstrap(Settings(env="test", database_url=url))
    try:
        with app.engine.connect() as connection:
            return {table: [tuple(row) for row in connection.execute(
                text(f"SELECT * FROM {table} ORDER BY id"))] for table in BACKED_UP}
    finally:
        app.engine.dispose()


def test_a_pg_dump_restored_into_a_fresh_database_has_the_same_rows_and_an_append_only_audit_log(
        s: Scenario, pg_cluster: pg.Cluster, tmp_path: Path) -> None:
    s.dispensed()
    s.advance(minutes=1).survey()  # R20: one survey for each prescription after the first
    s.authorized()  # and one still open
    source = s.app.engine.url.database
    assert source is not None
    dump = tmp_path / "rems.dump"
    _pg_tool(pg_cluster, "pg_dump", "--format", "custom", "--file", str(dump), "--dbname", source)

    restored = pg_cluster.create_database()
    try:
        _pg_tool(pg_cluster, "pg_restore", "--exit-on-error", "--no-owner", "--dbname", restored,
                 str(dump))
        url = pg_cluster.url(restored)
        before, after = _contents(pg_cluster.url(source)), _contents(url)
        assert all(before[table] for table in BACKED_UP), {t: len(r) for t, r in before.items()}
        assert after == before

        app = bootstrap(Settings(env="test", database_url=url))
        try:
            for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
                with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as connection:
                    connection.execute(text(statement))
            assert _contents(url)["audit_log"] == before["audit_log"]
            _restored_chain_holds_the_source_head(s.app, app, Context("auditor", s.now))
        finally:
            app.engine.dispose()
    finally:
        pg_cluster.drop_database(restored)


def _restored_chain_holds_the_source_head(source: App, restored: App, ctx: Context) -> None:
    """Issue 6: the restored audit chain verifies against the head exported before the backup."""
    from rems.services.audit import audit_verify
    with source.uow() as uow:
        exported = audit_verify.head(uow, ctx)
    assert exported.ok and exported.head.seq > 0
    with restored.uow() as uow:
        result = audit_verify.verify(uow, ctx, exported.head)
    assert result.ok, result.finding
    assert result.head == exported.head


# -- issue 6: the audit chain under racing writers ---------------------------------------------------
def test_racing_pharmacies_leave_one_unbroken_audit_chain_with_every_refusal_in_it(s: Scenario) -> None:
    from rems.services.audit import audit_verify
    _rx, number = _authorized(s)
    pharmacies = [s.pharmacy_id] + [s.new_pharmacy() for _ in range(PHARMACIES - 1)]
    with _slow_commits(s.app):
        results = race(*[lambda p=p: s.confirm(number, p) for p in pharmacies])
    _one_winner(results)
    refused = sum(isinstance(r, Refused) for r in results)
    gate = s.rows(AuditEntry, AuditEntry.entity == "gate")
    assert [e.trigger for e in gate] == ["confirm_refused"] * refused
    seqs = sorted(e.seq for e in s.rows(AuditEntry) if e.seq is not None)
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == len(s.rows(AuditEntry))
    with s.app.uow() as uow:
        result = audit_verify.verify(uow, Context("auditor", s.now))
    assert result.ok, result.finding
