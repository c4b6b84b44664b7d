"""The audit log is a hash chain (issue 6): an untouched log verifies; changing, deleting or
inserting any single entry directly in the database is reported at exactly that entry; a saved
head catches a rewrite of the whole chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from rems.adapters import orm
from rems.bootstrap import App
from rems.domain.audit_chain import GENESIS, canonical, entry_hash
from rems.domain.errors import InvalidInput
from rems.services.audit.audit_verify import Head
from tests.audit.conftest import lift_guards, tamper, verify
from tests.service.builders import Scenario


def _rows(app: App) -> list[dict[str, object]]:
    t = orm.audit_log.c
    with app.engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(orm.audit_log).order_by(t.seq)).mappings()]


@pytest.fixture
def busy(scenario: Scenario) -> Scenario:
    """A patient through a whole cycle, with refusals on the way: a few dozen entries."""
    s = scenario.enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.number is not None
    confirmation = s.confirm(rx.number)
    with pytest.raises(Exception, match="R29"):
        s.dispense(confirmation.number, checklist=False)
    s.dispense(confirmation.number)
    return s


def test_an_untouched_log_verifies_and_every_link_holds(busy: Scenario) -> None:
    rows = _rows(busy.app)
    result = verify(busy.app)
    assert result.ok, result.finding
    assert result.entries == len(rows) >= 12
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    prev = GENESIS
    for row in rows:  # recomputed here, independently of the verifier
        assert row["prev_hash"] == prev
        assert entry_hash(prev, row) == row["hash"]
        prev = str(row["hash"])
    assert result.head == Head(len(rows), prev)


@pytest.mark.parametrize("column", ["actor", "trigger", "to_state", "request_id", "at"])
def test_changing_one_entry_is_reported_at_exactly_that_entry(busy: Scenario, column: str) -> None:
    victim = _rows(busy.app)[6]
    value = "'2020-01-01 00:00:00.000000'" if column == "at" else "'someone else'"
    tamper(busy.app, f"UPDATE audit_log SET {column} = {value} WHERE id = :id", id=victim["id"])
    finding = verify(busy.app).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.entry_id) == ("altered", victim["seq"], victim["id"])


def test_changing_the_reasons_of_a_refusal_is_reported(busy: Scenario) -> None:
    victim = next(r for r in _rows(busy.app) if r["entity"] == "gate")
    tamper(busy.app, "UPDATE audit_log SET reasons = '[]' WHERE id = :id", id=victim["id"])
    finding = verify(busy.app).finding
    assert finding is not None and (finding.kind, finding.entry_id) == ("altered", victim["id"])


def test_an_entry_changed_and_rehashed_is_reported_at_that_entry(busy: Scenario) -> None:
    rows = _rows(busy.app)
    victim = rows[4]
    forged = {**victim, "actor": "nobody"}
    tamper(busy.app, "UPDATE audit_log SET actor = 'nobody', hash = :h WHERE id = :id",
           h=entry_hash(str(victim["prev_hash"]), forged), id=victim["id"])
    finding = verify(busy.app).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.entry_id) == ("altered", victim["seq"], victim["id"])


def test_the_newest_entry_changed_and_rehashed_is_caught_by_the_chain_head(busy: Scenario) -> None:
    last = _rows(busy.app)[-1]
    forged = {**last, "actor": "nobody"}
    tamper(busy.app, "UPDATE audit_log SET actor = 'nobody', hash = :h WHERE id = :id",
           h=entry_hash(str(last["prev_hash"]), forged), id=last["id"])
    finding = verify(busy.app).finding
    assert finding is not None and (finding.kind, finding.seq) == ("altered", last["seq"])


def test_deleting_one_entry_is_reported_where_it_was(busy: Scenario) -> None:
    rows = _rows(busy.app)
    tamper(busy.app, "DELETE FROM audit_log WHERE id = :id", id=rows[3]["id"])
    finding = verify(busy.app).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.entry_id) == ("removed", rows[3]["seq"], rows[4]["id"])


def test_deleting_the_newest_entry_is_reported(busy: Scenario) -> None:
    rows = _rows(busy.app)
    tamper(busy.app, "DELETE FROM audit_log WHERE id = :id", id=rows[-1]["id"])
    finding = verify(busy.app).finding
    assert finding is not None and (finding.kind, finding.seq) == ("removed", rows[-1]["seq"])


def test_an_entry_inserted_outside_the_engine_is_reported(busy: Scenario) -> None:
    with busy.app.engine.begin() as connection:  # appending needs no lifted guard
        connection.execute(text(
            "INSERT INTO audit_log (at, actor, entity, entity_id, trigger, reasons) "
            "VALUES ('2026-03-02 09:00:00.000000', 'x', 'prescription', 'rx_1', 'dispense', '[]')"))
        new_id = connection.execute(text("SELECT max(id) FROM audit_log")).scalar()
    finding = verify(busy.app).finding
    assert finding is not None and (finding.kind, finding.entry_id) == ("inserted", new_id)


def _forge(app: App, like: dict[str, object], seq: int, prev: str) -> int:
    """A complete, well-hashed entry written straight into the table; its id."""
    content = {**like, "seq": seq, "actor": "forger", "trigger": "dispense", "reasons": [],
               "request_id": None, "refs": None, "prev_hash": prev}
    content.pop("id")
    content.pop("hash")
    with app.engine.begin() as connection:
        return int(connection.execute(orm.audit_log.insert().values(
            **content, hash=entry_hash(prev, content)).returning(orm.audit_log.c.id)).scalar_one())


def test_a_forged_entry_claiming_a_place_in_the_chain_is_reported(busy: Scenario) -> None:
    place = _rows(busy.app)[5]
    lift_guards(busy.app)
    with busy.app.engine.begin() as connection:
        connection.execute(text("DROP INDEX uq_audit_log_seq"))
    new_id = _forge(busy.app, place, int(str(place["seq"])), str(place["prev_hash"]))
    finding = verify(busy.app).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.entry_id) == ("inserted", place["seq"], new_id)


def test_a_well_chained_entry_appended_behind_the_engines_back_is_reported(busy: Scenario) -> None:
    last = _rows(busy.app)[-1]
    seq = int(str(last["seq"])) + 1
    new_id = _forge(busy.app, last, seq, str(last["hash"]))  # appending needs no lifted guard
    finding = verify(busy.app).finding
    assert finding is not None and (finding.kind, finding.seq) == ("inserted", seq)
    assert new_id > int(str(last["id"]))


def _rewrite_from(app: App, seq: int) -> None:
    """The whole chain re-hashed after changing entry `seq`, the head moved: every link holds."""
    rows = _rows(app)
    lift_guards(app)
    prev = GENESIS
    with app.engine.begin() as connection:
        for row in rows:
            if row["seq"] == seq:
                row["actor"] = "rewritten"
            digest = entry_hash(prev, row)
            connection.execute(text("UPDATE audit_log SET actor = :a, prev_hash = :p, hash = :h "
                                    "WHERE id = :id"), {"a": row["actor"], "p": prev, "h": digest,
                                                        "id": row["id"]})
            prev = digest
        connection.execute(text("UPDATE audit_chain_head SET hash = :h"), {"h": prev})


def test_a_rewrite_of_the_whole_chain_is_caught_by_a_saved_head(busy: Scenario) -> None:
    saved = verify(busy.app).head
    busy.advance(hours=1).new_prescriber()  # the log grows after the head was exported
    assert verify(busy.app, saved).ok
    _rewrite_from(busy.app, 3)
    assert verify(busy.app).ok  # every link of the rewritten chain holds...
    finding = verify(busy.app, saved).finding  # ...but the saved head is gone from it
    assert finding is not None and (finding.kind, finding.seq) == ("rewritten", saved.seq)


def test_a_saved_head_beyond_the_chain_means_it_was_cut_and_rewritten(busy: Scenario) -> None:
    head = verify(busy.app).head
    finding = verify(busy.app, Head(head.seq + 5, head.hash)).finding
    assert finding is not None and finding.kind == "rewritten"


@pytest.mark.parametrize(("data", "field"), [
    ([], "head"), ({"seq": -1, "hash": "0" * 64}, "head.seq"), ({"seq": True, "hash": "0" * 64}, "head.seq"),
    ({"seq": 3, "hash": "xyz"}, "head.hash"), ({"seq": 3}, "head.hash"),
])
def test_a_malformed_head_is_refused_naming_the_field(data: object, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        Head.parse(data)
    assert refused.value.field == field


def test_the_canonical_form_and_its_hash_never_change_silently() -> None:
    """Stored chains are verified with this form forever: a change here must be deliberate."""
    content = {"seq": 1, "at": datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC), "actor": "admin",
               "entity": "prescriber", "entity_id": "prs_1", "trigger": "certify",
               "from_state": "enrolled", "to_state": "certified", "request_id": "req-1", "refs": None,
               "reasons": [{"rule": "R1", "code": "X", "met": False, "message": "≥ 50", "remedy": ""}],
               "not_hashed": "ignored"}
    assert canonical(content) == (
        b'{"actor":"admin","at":"2026-03-02T09:00:00.123456Z","entity":"prescriber","entity_id":"prs_1",'
        b'"from_state":"enrolled","reasons":[{"code":"X","message":"\\u2265 50","met":false,"remedy":"",'
        b'"rule":"R1"}],"refs":null,"request_id":"req-1","seq":1,"to_state":"certified","trigger":"certify"}')
    assert entry_hash(GENESIS, content) == "30666df5330acb76a553d32b6f49cb6e87dda10c6152a2097d182f9c4de79434"
    elsewhere = {**content, "at": content["at"].astimezone(timezone(timedelta(hours=-5)))}  # type: ignore[union-attr]
    assert canonical(elsewhere) == canonical(content)  # the same moment, whatever the offset


def test_a_deleted_chain_head_is_reported_and_no_entry_is_written_after_it(busy: Scenario) -> None:
    count = len(_rows(busy.app))
    tamper(busy.app, "DELETE FROM audit_chain_head")
    finding = verify(busy.app).finding
    assert finding is not None and finding.kind == "removed"
    with pytest.raises(RuntimeError, match="head is missing"):  # fails closed: nothing unaudited
        busy.new_prescriber()
    assert len(_rows(busy.app)) == count
