"""Random sequences of REMS events never let an unsafe dispense through (R3, R12, R23-R30, R33),
and the audit log always replays to the stored states (STYLE 5)."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from rems.adapters.uow import UnitOfWork
from rems.bootstrap import bootstrap
from rems.domain import gate
from rems.domain.errors import DomainError
from rems.domain.model import (
    AuditEntry,
    Certification,
    Confirmation,
    Counselling,
    Dispense,
    Patient,
    PatientSurvey,
    Pharmacy,
    Prescriber,
    Prescription,
)
from rems.services.dispensing import prescriptions
from rems.services.dispensing.records import load_records
from rems.services.enrollment import patients
from rems.settings import Settings
from tests.service.builders import Scenario, codes

FRP, MALE = 0, 1
# Every list starts with the uneventful choice: Hypothesis begins (and shrinks) towards the first
# element, so its plainest example is a run of ordinary prescriptions, filled at once.
WHO = st.sampled_from([FRP, MALE])
PICK = st.sampled_from([-1, -1, -2]) | st.integers(0, 10_000)  # mostly the latest ones
COMPLETE = (True, True, True)
COUNSELLING = st.sampled_from([COMPLETE] * 6 + [(False, True, True), (True, False, True), (True, True, False)])
MOSTLY = st.sampled_from([True, True, True, False])
ARGUMENTS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "advance": {"hours": st.sampled_from([1, 12, 25]) | st.integers(1, 24 * 9)},  # 25: past R27's 24 h
    "patient_event": {
        "kind": st.sampled_from(["initial_pair"] * 2 + ["negative_test"] * 3 + ["survey"] * 3 + [
            "positive_test", "missed_period", "interrupt", "resume", "partner_pregnancy"]),
        "who": WHO, "hours_ago": st.integers(0, 24 * 16),
        "sensitivity": st.sampled_from([10, 25, 49, 50, 100, 1000])},
    "prescribe": {
        "later_survey": st.sampled_from([False, False, True]), "who": WHO,
        "days": st.just(28) | st.integers(20, 30), "survey": MOSTLY, "attest": MOSTLY, "pick": PICK,
        "then": st.sampled_from(["confirm_and_dispense", "confirm", "wait"]), "counselling": COUNSELLING},
    "pharmacy": {"kind": st.sampled_from(["confirm_and_dispense", "dispense", "confirm", "dispense"]),
                 "pick": PICK, "pharmacy": st.sampled_from([0, 1]), "counselling": COUNSELLING},
    # R1, R3, R25: certification per program; the patients are in pomalidomide, so a change in
    # lenalidomide must change nothing for them
    "certification": {"kind": st.sampled_from(["prescriber", "pharmacy"]), "pick": PICK,
                      "trigger": st.sampled_from(["suspend", "reinstate"]),
                      "program": st.sampled_from(["pomalidomide", "lenalidomide"])},
}
ACTIONS = st.sampled_from(["prescribe"] * 3 + ["pharmacy"] * 3 + ["patient_event"] * 3
                          + ["advance"] * 3 + ["certification"])
STATE_TABLES = {"prescription": Prescription, "confirmation": Confirmation, "prescriber": Prescriber,
                "pharmacy": Pharmacy, "patient": Patient}
FIRST_STATE = {"patient": "pending", "pregnancy_testing": "not_required", "certification": "enrolled"}


class RemsMachine(RuleBasedStateMachine):
    template: ClassVar[Path]
    stats: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="rems-stateful-"))
        shutil.copy(self.template, self.dir / "rems.db")
        self.app = bootstrap(Settings(env="test", database_url=f"sqlite:///{self.dir / 'rems.db'}"))
        self.s = Scenario(self.app)
        both = ("pomalidomide", "lenalidomide")
        self.s.prescriber_id = self.s.new_prescriber(programs=both)
        self.s.pharmacy_id = self.s.new_pharmacy(programs=both)
        self.pharmacies = [self.s.pharmacy_id, self.s.new_pharmacy(programs=both)]
        self.patients = [self.s.enrolled("adult_frp").patient_id, self.s.enrolled("adult_male").patient_id]
        self.s.patient_id, self.s.category = self.patients[FRP], "adult_frp"
        self.initial_pair()
        self.s.survey()  # both patients start ready for a first prescription (R9, R20)
        self.requested: list[str] = []
        self.numbers: list[str] = []
        self.confirmations: list[tuple[str, str]] = []  # (number, pharmacy id)

    def teardown(self) -> None:
        self.app.engine.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    def attempt(self, service: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return service(*args, **kwargs)
        except DomainError:  # refusals are part of the game; crashes are not
            return None

    def initial_pair(self) -> None:  # R9, so that an FRP authorization is reachable
        for hours_ago in (12 * 24, 1):
            self.attempt(self.s.pregnancy_test, "negative", hours_ago, 50, self.patients[FRP])

    # -- one rule that picks an action: swarm testing would switch whole rules off ----------
    @rule(action=ACTIONS, data=st.data())
    def step(self, action: str, data: st.DataObject) -> None:
        draws = {name: data.draw(strategy, label=name) for name, strategy in ARGUMENTS[action].items()}
        getattr(self, action)(**draws)

    def advance(self, hours: int) -> None:
        self.s.advance(hours=hours)

    def patient_event(self, kind: str, who: int, hours_ago: int, sensitivity: int) -> None:
        frp, self.s.patient_id = self.patients[FRP], self.patients[who]
        if kind in ("negative_test", "positive_test"):
            self.attempt(self.s.pregnancy_test, kind.removesuffix("_test"), hours_ago, sensitivity, frp)
        elif kind == "initial_pair":
            self.initial_pair()
        elif kind == "survey":
            self.attempt(self.s.survey)
        elif kind == "missed_period":
            self.attempt(self.s.call, patients.report_missed_period, frp)
        elif kind == "partner_pregnancy":
            self.attempt(self.s.call, patients.report_pregnancy, self.patients[MALE], "partner")
        else:
            self.attempt(self.s.call, patients.change_state, self.s.patient_id, kind)

    def prescribe(self, later_survey: bool, who: int, days: int, survey: bool, attest: bool,
                  pick: int, then: str, counselling: tuple[bool, bool, bool]) -> None:
        if later_survey and self.requested:  # R19 completed after the request
            outcome = self.attempt(self.s.call, prescriptions.record_prescriber_survey,
                                   self.requested[pick % len(self.requested)], self.s.prescriber_id)
        else:
            self.s.patient_id = self.patients[who]
            outcome = self.attempt(self.s.request, days, survey, attest)
            if outcome is not None:
                self.requested.append(outcome.prescription.id)
        if outcome is not None and outcome.decision.allowed:
            self.stats["authorize"] += 1
            self.numbers.append(outcome.prescription.number)
            if then != "wait":  # straight to the pharmacy counter
                self.pharmacy(then, -1, pick % 2, counselling)

    def pharmacy(self, kind: str, pick: int, pharmacy: int, counselling: tuple[bool, bool, bool]) -> None:
        if kind == "dispense":
            if self.confirmations:
                self._dispense(*self.confirmations[pick % len(self.confirmations)], counselling)
            return
        if not self.numbers:
            return
        number, pharmacy_id = self.numbers[pick % len(self.numbers)], self.pharmacies[pharmacy]
        checked = self.s.call(prescriptions.check, self.s.pharmacy_request(number, pharmacy_id))
        confirmation = self.attempt(self.s.confirm, number, pharmacy_id)
        if checked.allowed:
            assert confirmation is not None, "check said yes, obtain_confirmation said no"
        if confirmation is not None:  # only a stale confirmation, expired on the way, may differ
            assert set(codes(checked)) <= {"R26_ALREADY_CONFIRMED"}, codes(checked)
            self.stats["confirm"] += 1
            self.confirmations.append((confirmation.number, pharmacy_id))
            if kind == "confirm_and_dispense":
                self._dispense(confirmation.number, pharmacy_id, counselling)

    def certification(self, kind: str, pick: int, trigger: str, program: str) -> None:
        key = self.s.prescriber_id if kind == "prescriber" else self.pharmacies[pick % 2]
        self.attempt(self.s.certify, kind, key, trigger, program)

    def _dispense(self, number: str, pharmacy_id: str, counselling: tuple[bool, bool, bool]) -> None:
        decision, facts = self.s.read(lambda uow: self._dispense_gate(uow, number, pharmacy_id,
                                                                      Counselling(*counselling)))
        done = self.attempt(self.s.dispense, number, pharmacy_id, *counselling)
        assert (done is not None) == decision.allowed, codes(decision)
        if done is not None:
            self.stats["dispense"] += 1
            self._assert_safe(facts, counselling)

    # -- the oracle for one dispense ----------------------------------------------------------
    def _dispense_gate(self, uow: UnitOfWork, number: str, pharmacy_id: str,
                       counselling: Counselling) -> tuple[Any, dict[str, Any]]:
        """The gate recomputed on the records as they are just before the dispense, plus the raw
        facts an independent safety check reads."""
        confirmation = uow.confirmations.by_number(number)
        rx = uow.get(Prescription, confirmation.prescription_id)
        patient = uow.get(Patient, rx.patient_id)
        pharmacy = uow.get(Pharmacy, pharmacy_id)
        records = load_records(uow, patient, rx, pharmacy, confirmation, counselling)
        decision = gate.evaluate("dispense", records, uow.program(rx.program_id), self.s.now)
        facts = {"rx": rx, "patient": patient, "pharmacy": pharmacy, "confirmation": confirmation,
                 "prescriber": records.prescriber, "tests": list(records.tests),
                 "certifications": {c.holder_id: c for kind in ("prescriber", "pharmacy")
                                    for c in uow.certifications.matching(kind, program_id=rx.program_id)},
                 "surveys": list(uow.session.scalars(select(PatientSurvey).where(
                     PatientSurvey.patient_id == patient.id))),
                 "dispenses": list(records.dispenses)}
        return decision, facts

    def _assert_safe(self, f: dict[str, Any], counselling: tuple[bool, bool, bool]) -> None:
        now, rx = self.s.now, f["rx"]
        assert f["patient"].state == "active"  # not on hold (R12), stopped (R30) or interrupted
        assert not any(t.result == "positive" for t in f["tests"])  # R30
        held = f["certifications"]  # R1, R3, R25: certified in the prescription's program
        assert held[f["prescriber"].id].state == "certified" and held[f["pharmacy"].id].state == "certified"
        assert f["confirmation"].state == "issued" and now <= f["confirmation"].expires_at  # R26, R27
        assert rx.state == "confirmed" and rx.days_supply <= 28 and rx.refills == 0  # R24
        assert rx.expires_at is not None and now <= rx.expires_at  # R23
        assert not any(d.prescription_id == rx.id for d in f["dispenses"])  # R33
        assert counselling == COMPLETE  # R29
        if f["dispenses"]:  # R28
            last = max(f["dispenses"], key=lambda d: d.dispensed_at)
            assert now >= last.dispensed_at + timedelta(days=last.days_supply - 7)
        if rx.category == "adult_frp":  # R9-R11, R23: a negative test within the last 7 days
            assert any(t.result == "negative" and t.collected_at <= rx.authorized_at
                       and now - t.collected_at <= timedelta(days=7) for t in f["tests"])
            assert any(now - s.completed_at <= timedelta(days=30) for s in f["surveys"])  # R20

    # -- invariants --------------------------------------------------------------------------
    @invariant()
    def audit_log_replays_to_the_stored_states(self) -> None:
        def load(uow: UnitOfWork) -> tuple[list[AuditEntry], dict[str, dict[str, Any]]]:
            rows = list(uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
            stored = {entity: {r.id: r for r in uow.session.scalars(select(cls))}
                      for entity, cls in STATE_TABLES.items()}
            # R1, R25: a holder's certification changes are audited on the holder, one trail per
            # program (refs.program), replaying from "enrolled" to that program's certification
            for c in uow.session.scalars(select(Certification)):
                stored.setdefault("certification", {})[f"{c.holder_kind}:{c.holder_id}:{c.program_id}"] = c
            return rows, stored

        rows, stored = self.s.read(load)
        trails: dict[tuple[str, str], list[AuditEntry]] = defaultdict(list)
        for row in rows:
            program = (row.refs or {}).get("program") if row.entity in ("prescriber", "pharmacy") else None
            if program:
                trails["certification", f"{row.entity}:{row.entity_id}:{program}"].append(row)
            else:
                trails[row.entity, row.entity_id].append(row)
        stored["pregnancy_testing"] = stored["patient"]
        for entity, records in stored.items():
            attribute = "test_phase" if entity == "pregnancy_testing" else "state"
            for key, record in records.items():
                trail = trails.get((entity, key), [])
                expected_first = FIRST_STATE.get(entity)
                if entity == "pregnancy_testing" and not trail:
                    assert record.test_phase == "not_required"
                    continue
                assert trail, f"{entity} {key} has no audit trail"
                assert trail[0].from_state == expected_first, (entity, key, trail[0].trigger)
                for before, after in pairwise(trail):
                    assert after.from_state == before.to_state, (entity, key, before.trigger, after.trigger)
                assert trail[-1].to_state == getattr(record, attribute), (entity, key)

    @invariant()
    def open_records_agree_with_each_other(self) -> None:
        def load(uow: UnitOfWork) -> dict[str, list[Any]]:
            return {name: list(uow.session.scalars(select(cls))) for name, cls in (
                ("rx", Prescription), ("confirmations", Confirmation), ("dispenses", Dispense),
                ("patients", Patient), ("certifications", Certification))}

        db = self.s.read(load)
        issued = Counter(c.prescription_id for c in db["confirmations"] if c.state == "issued")
        dispensed = Counter(d.prescription_id for d in db["dispenses"])
        stopped = {p.id for p in db["patients"] if p.state == "pregnancy_stop"}
        # R3, R25: not certified in a program voids that program's open records there
        out = {(c.holder_kind, c.holder_id, c.program_id) for c in db["certifications"] if c.state != "certified"}
        for rx in db["rx"]:
            assert issued[rx.id] == (rx.state == "confirmed"), (rx.id, rx.state)  # R26
            assert dispensed[rx.id] == (rx.state == "dispensed"), (rx.id, rx.state)  # R33
            if rx.state in ("authorized", "confirmed"):
                assert rx.patient_id not in stopped  # R30: voided at once
                assert ("prescriber", rx.prescriber_id, rx.program_id) not in out  # R3: voided at once
        program = {rx.id: rx.program_id for rx in db["rx"]}
        assert not any(("pharmacy", c.pharmacy_id, program[c.prescription_id]) in out
                       for c in db["confirmations"] if c.state == "issued")


def test_random_event_sequences_never_dispense_unsafely_and_the_audit_log_replays(template_db: Path) -> None:
    RemsMachine.template = template_db
    RemsMachine.stats.clear()
    run_state_machine_as_test(RemsMachine, settings=settings(
        max_examples=40, stateful_step_count=25, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow]))
    assert RemsMachine.stats["dispense"] > 0, RemsMachine.stats  # it did reach the pharmacy counter
