"""Issue 17 item 8: a program's export, its import into an empty engine, and the proof of the copy;
CSV bulk enrollment with a dry run. On SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rems.adapters import orm
from rems.bootstrap import App, bootstrap
from rems.domain.audit_chain import GENESIS
from rems.domain.errors import InvalidInput
from rems.domain.model import Patient
from rems.services.context import Context
from rems.services.transfer import answers, load, proof
from rems.services.transfer import format as files
from rems.services.transfer.export import export_program
from rems.services.transfer.format import sha256
from rems.settings import Settings
from tests.service.builders import Scenario

PROGRAM = "pomalidomide"


@pytest.fixture
def target(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    """A second empty engine on the same kind of database as `app`."""
    if database_url.startswith("sqlite"):
        path = tmp_path / "copy.db"
        path.write_bytes(request.getfixturevalue("template_db").read_bytes())
        url, drop = f"sqlite:///{path}", None
    else:
        cluster = request.getfixturevalue("pg_cluster")
        name = cluster.create_database(template=request.getfixturevalue("pg_template"))
        url, drop = cluster.url(name), (cluster, name)
    application = bootstrap(Settings(env="test", database_url=url))
    yield application
    application.engine.dispose()
    if drop:
        drop[0].drop_database(drop[1])


def populated(app: App) -> Scenario:
    """Open authorizations of every stage: a confirmed FRP one, an authorized male one, a requested
    one refused for its survey (R19); and a closed (dispensed) one."""
    s = Scenario(app).certified_prescriber().certified_pharmacy()
    s.enrolled("adult_frp").ready()
    frp = s.authorized()
    assert frp.number
    s.confirm(frp.number)
    s.enrolled("adult_male").survey()
    s.dispensed()
    s.advance(days=1).enrolled("adult_male").survey()
    s.authorized()
    s.enrolled("adult_male").survey()
    refused = s.request(survey=False)
    assert not refused.decision.allowed  # R19: stays requested, open
    return s


def exported(app: App, s: Scenario, directory: Path) -> files.Bundle:
    with app.uow(write=False) as uow:
        bundle = export_program(uow, Context("exporter", s.now), PROGRAM)
    files.write(bundle, directory)
    return files.read(directory)


def imported(target: App, bundle: files.Bundle, at: Any) -> proof.Proof:
    with target.uow() as uow:
        load.import_program(uow, Context("importer", at), bundle)
    with target.uow(write=False) as uow:
        return proof.prove(uow, Context("importer", at), bundle)


def rows(app: App, table: Any) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_round_trip_copies_every_record_and_the_whole_chain(app: App, target: App, tmp_path: Path) -> None:
    s = populated(app)
    bundle = exported(app, s, tmp_path / "out")
    assert bundle.manifest["chain"]["scope"] == "whole"  # this engine holds one program only
    result = imported(target, bundle, s.now + timedelta(days=3))
    assert result.ok, result.problems
    for name, table in ((name, orm.metadata.tables[name]) for name in files.RECORDS):
        assert rows(target, table) == rows(app, table), name
    # the copy's chain holds the source's head: the same entries, the same hashes, in order
    head = bundle.manifest["chain"]["head"]
    with target.engine.connect() as connection:
        t = orm.audit_log.c
        copied = connection.execute(select(t.hash).where(t.seq == head["seq"])).scalar()
    assert copied == head["hash"]


def test_gate_answers_are_recorded_at_the_export_instant_and_replayed_identically(
        app: App, target: App, tmp_path: Path) -> None:
    """R19, R25, R27: what the gate answers each open authorization; a month later the copy is asked
    at the export's instant, so an authorization that has since expired (R23) still answers alike."""
    s = populated(app)
    bundle = exported(app, s, tmp_path / "out")
    recorded = [line for _n, line in bundle.records(files.GATE)]
    by_stage = sorted((a["state"], a["stage"], a["decision"]["allowed"]) for a in recorded)
    # confirmed an hour ago, FRP test within 7 days, counselled: the dispense holds (R24, R27, R29);
    # authorized (no pharmacy has it yet: R25 unmet); requested without the prescriber survey (R19)
    assert by_stage == [("authorized", "confirm", False), ("confirmed", "dispense", True),
                        ("requested", "authorize", False)]
    failing = {a["state"]: {f["rule"] for f in a["decision"]["failures"]} for a in recorded}
    assert failing["authorized"] == {"R25"} and "R19" in failing["requested"]
    assert all(a["at"] == bundle.manifest["exported_at"] for a in recorded)
    later = s.now + timedelta(days=30)
    result = imported(target, bundle, later)
    assert result.ok and result.gate_checked == 3 and not result.gate_differences
    with target.uow(write=False) as uow:  # asked at the import's instant instead, R27 has lapsed
        confirmed = next(rx for rx in answers.open_prescriptions(uow, PROGRAM) if rx.state == "confirmed")
        assert not answers.answer(uow, confirmed, later)["decision"]["allowed"]


def test_a_copy_that_decides_differently_is_not_proven(app: App, target: App, tmp_path: Path) -> None:
    """R3: the copy's prescriber suspended after the import: its answers differ, and the proof says so."""
    s = populated(app)
    bundle = exported(app, s, tmp_path / "out")
    assert imported(target, bundle, s.now).ok
    Scenario(target, s.now).certify("prescriber", s.prescriber_id, "suspend")
    with target.uow(write=False) as uow:
        result = proof.prove(uow, Context("auditor", s.now), bundle)
    assert not result.ok and result.gate_differences
    assert any("differently" in problem for problem in result.problems)


def test_one_changed_line_refuses_the_import_naming_file_and_line(app: App, target: App,
                                                                  tmp_path: Path) -> None:
    s = populated(app)
    exported(app, s, tmp_path / "out")
    path = tmp_path / "out" / "patients.ndjson"
    lines = path.read_text(encoding="ascii").splitlines()
    lines[1] = lines[1].replace('"cycles_regular":true', '"cycles_regular":false')
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    with pytest.raises(InvalidInput) as refused:
        files.read(tmp_path / "out")
    assert refused.value.field == "patients.ndjson:2"
    assert rows(target, orm.patients) == 0


def test_an_audit_line_rewritten_with_its_hashes_is_caught_by_the_chain(app: App, target: App,
                                                                         tmp_path: Path) -> None:
    """The manifest's hashes recomputed too: the chain still names the entry altered (issue 6)."""
    s = populated(app)
    exported(app, s, tmp_path / "out")
    out = tmp_path / "out"
    audit = out / "audit_entries.ndjson"
    lines = audit.read_text(encoding="ascii").splitlines()
    entry = json.loads(lines[4])
    entry["entry"]["actor"] = "someone-else"
    lines[4] = files.line_of(entry)
    _forge(out, "audit_entries", lines)
    bundle = files.read(out)  # the files agree with the (forged) manifest
    with target.uow() as uow, pytest.raises(InvalidInput) as refused:
        load.import_program(uow, Context("importer", s.now), bundle)
    assert refused.value.field == "audit_entries.ndjson:5.entry"
    assert rows(target, orm.persons) == 0 and rows(target, orm.audit_log) == 0


def _forge(out: Path, name: str, lines: list[str]) -> None:
    (out / f"{name}.ndjson").write_bytes(files.content_of(lines))
    digests = [sha256(text.encode("ascii")) for text in lines]
    (out / f"{name}.ndjson.sha256").write_bytes(files.content_of(digests))
    manifest = json.loads((out / files.MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][f"{name}.ndjson"].update(lines=len(lines),
        sha256=sha256(files.content_of(lines)), line_sha256_file_sha256=sha256(files.content_of(digests)))
    (out / files.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_a_row_referring_to_a_record_not_exported_rolls_the_whole_import_back(
        app: App, target: App, tmp_path: Path) -> None:
    """All or nothing: the dispense's confirmation is dropped (digests and manifest forged to match),
    so its insert fails after every earlier file was inserted; nothing stays."""
    s = populated(app)
    out = tmp_path / "out"
    exported(app, s, out)
    _forge(out, "confirmations", [])
    with target.uow() as uow, pytest.raises(InvalidInput) as refused:
        load.import_program(uow, Context("importer", s.now), files.read(out))
    assert refused.value.field == "dispenses.ndjson"
    assert all(rows(target, orm.metadata.tables[name]) == 0 for name in files.RECORDS)
    assert rows(target, orm.audit_log) == 0 and rows(target, orm.audit_pending) == 0


def test_import_into_a_non_empty_engine_is_refused_and_writes_nothing(app: App, target: App,
                                                                      tmp_path: Path) -> None:
    s = populated(app)
    bundle = exported(app, s, tmp_path / "out")
    Scenario(target, s.now).certified_prescriber()
    before = rows(target, orm.audit_log) + rows(target, orm.audit_pending)
    with target.uow() as uow, pytest.raises(load.NotEmpty):
        load.import_program(uow, Context("importer", s.now), bundle)
    assert rows(target, orm.patients) == 0
    assert rows(target, orm.audit_log) + rows(target, orm.audit_pending) == before


def test_a_program_among_others_exports_its_records_and_the_chain_reduced_to_hashes(
        app: App, target: App, tmp_path: Path) -> None:
    """R1, R25: the lenalidomide patient and certifications stay out; their entries are hashes only,
    and the copy chains the program's entries again, content unchanged."""
    s = populated(app)
    other = Scenario(app, s.now, program="lenalidomide")
    other.prescriber_id = s.prescriber_id
    other.certify("prescriber", s.prescriber_id)
    other.enrolled("adult_male")
    last = s.fetch(Patient, s.patient_id)  # R34: the same person enrolled in lenalidomide too
    other.enrolled("adult_male", name=last.name, birth_date=last.birth_date)
    bundle = exported(app, s, tmp_path / "out")
    assert bundle.manifest["chain"]["scope"] == "segment"
    assert bundle.manifest["persons_enrolled_elsewhere"] == 1
    patients = [line for _n, line in bundle.records("patients")]
    assert {p["program_id"] for p in patients} == {PROGRAM}
    assert {c["program_id"] for _n, c in bundle.records("certifications")} == {PROGRAM}
    segment = [line for _n, line in bundle.records(files.AUDIT)]
    assert segment[0]["prev_hash"] == GENESIS
    hidden = [line for line in segment if line["entry"] is None]
    assert hidden and all(set(line) == {"seq", "prev_hash", "hash", "entry"} for line in hidden)
    assert not any(other.patient_id in line for line in (tmp_path / "out").joinpath(
        "audit_entries.ndjson").read_text(encoding="ascii").splitlines())
    result = imported(target, bundle, s.now)
    assert result.ok, result.problems
    assert result.entries_matched == bundle.manifest["chain"]["entries_in_full"]


def test_no_token_secret_hash_or_contact_is_exported(app: App, tmp_path: Path) -> None:
    from rems.services.access import tokens
    from rems.services.enrollment import contacts
    from rems.services.reminders import notifications
    s = populated(app)
    secret = s.call(tokens.issue_token, tokens.IssueToken(role="prescriber", actor_id=s.prescriber_id,
                                                          expires_in_days=3)).secret
    with app.engine.connect() as connection:
        digest = connection.execute(select(orm.api_tokens.c.token_hash)).scalar()
    s.call(notifications.set_contact, f"patient:{s.patient_id}", "patient@example.org", None)

    def enrolment_contact(uow: Any, ctx: Context) -> None:  # issue 18: taken at enrollment
        contacts.record(uow, ctx, "patient", s.patient_id, contacts.Contact(
            phone="+15550100199", email="enrolled@example.org", guardian_email="guardian@example.org"))
        uow.commit()
    s.call(enrolment_contact)
    exported(app, s, tmp_path / "out")
    everything = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir())
    assert secret not in everything and str(digest) not in everything
    assert "patient@example.org" not in everything
    assert rows(app, orm.contact_details) == 1  # recorded, and none of it leaves with the export
    for value in ("+15550100199", "enrolled@example.org", "guardian@example.org"):
        assert value not in everything
