"""A realistic population of a chosen size, bulk-inserted into the real, migrated schema.

Prescribers and pharmacies (mostly certified, a few suspended or only enrolled); patients in every
R5a category and every enrollment state, each with a history of 28-day cycles: PPAF, pregnancy
tests (FRP: the R9 pair, weekly, then every 4 weeks), patient surveys, prescriptions with their
prescriber survey, confirmation, dispense and audit rows. Among active patients some hold an
authorization ready for the pharmacy today: those are the check and write targets, and `verify`
proves through the production check that their gate passes. `expired` authorizations and
confirmations are past expiry and not yet swept (the expiry sweep's work). The reminder sweep's
population (`sweep_patients`) is made of patients with a reminder due and quiet ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, inspect, select, update

from benchmarks.bulk import ORDER, check_schema, insert
from rems.adapters import audit_chain, orm
from rems.domain.audit_chain import GENESIS, entry_hash
from rems.domain.categories import FRP_CATEGORIES, category_of
from rems.domain.identity import name_key
from rems.domain.inputs import npi_check_digit
from rems.domain.model import Patient
from workflows.program import PROGRAM_DIR, Parameters, load_program

PROGRAM = "pomalidomide"  # the seeded population's program (patients, prescriptions, certifications)

CATEGORY_MIX = {"adult_male": 45, "adult_fnrp": 30, "adult_frp": 14, "child_frp": 4,
                "child_fnrp": 3, "child_male": 4}
STATE_MIX = {"active": 82, "on_hold": 2, "interrupted": 4, "interrupted_on_hold": 1,
             "pregnancy_stop": 1, "discontinued": 7, "pending": 3}
# How long ago the last cycle was, by role: ready for the next one (R28 opens after 21 days), a
# reminder due in the sweep's window (survey, test, refill), quiet mid-cycle, or any time.
LAST_CYCLE_DAYS = {"check": lambda r: r.uniform(21.2, 26.5), "write": lambda r: r.uniform(21.2, 26.5),
                   "due": lambda r: r.uniform(27.6, 27.95), "quiet": lambda r: r.uniform(8, 9.5),
                   "history": lambda r: r.uniform(1, 20), "expired": lambda r: r.uniform(1, 20)}
READY_SHARE = 0.5  # of active patients, those with an authorization waiting at the pharmacy
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
CYCLE = timedelta(days=28)


@dataclass
class Plan:
    patients: int
    writes: int = 0  # ready authorizations kept apart for confirmation + dispense
    expired: int = 0  # authorizations and confirmations past expiry, not yet swept
    max_cycles: int = 6
    seed: int = 8
    flush_every: int = 20_000  # patients per bulk transaction


@dataclass
class Seeded:
    now: datetime
    checks: list[str] = field(default_factory=list)  # numbers whose check passes
    writes: list[str] = field(default_factory=list)  # numbers ready for confirm + dispense
    pharmacies: list[str] = field(default_factory=list)  # certified
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ORDER, 0))


class _Rows:
    def __init__(self, engine: Engine, seeded: Seeded) -> None:
        self.engine, self.seeded = engine, seeded
        self.buffers: dict[str, list[dict[str, Any]]] = {t: [] for t in ORDER}
        self.serial = 0
        self.checked = False
        # Issue 6: every audit row extends the hash chain exactly as rems/adapters/audit_chain.py does.
        self.chained = "audit_chain_head" in inspect(engine).get_table_names()
        self.seq, self.head = 0, GENESIS
        if self.chained:
            with engine.connect() as connection:
                t = orm.audit_chain_head.c
                found = connection.execute(select(t.seq, t.hash).where(t.id == audit_chain.HEAD_ID)).first()
            self.seq, self.head = (int(found.seq), str(found.hash)) if found else (0, GENESIS)

    def id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}_{self.serial:012x}"

    def number(self, prefix: str) -> str:
        self.serial += 1  # a letter after the prefix: production's random digits never collide
        return f"{prefix}-B{self.serial:010d}"

    def add(self, table: str, **row: Any) -> dict[str, Any]:
        self.buffers[table].append(row)
        return row

    def audit(self, at: datetime, actor: str, entity: str, entity_id: str, trigger: str,
              before: str | None, after: str | None, refs: dict[str, str] | None = None) -> None:
        row = self.add("audit_log", at=at, actor=actor, entity=entity, entity_id=entity_id, trigger=trigger,
                       from_state=before, to_state=after, reasons=[], request_id=None)
        if self.chained:
            self.seq += 1
            row |= {"refs": refs, "seq": self.seq, "prev_hash": self.head}
            row["hash"] = self.head = entry_hash(self.head, row)

    def flush(self) -> None:
        if not self.checked:
            check_schema(self.engine, {t: rows[0] for t, rows in self.buffers.items() if rows})
            self.checked = True
        with self.engine.begin() as connection:
            for table in ORDER:
                rows = self.buffers[table]
                insert(connection, table, rows)
                self.seeded.rows[table] += len(rows)
                rows.clear()
            if self.chained:
                t = orm.audit_chain_head.c
                moved = connection.execute(update(orm.audit_chain_head).where(t.id == audit_chain.HEAD_ID)
                                           .values(seq=self.seq, hash=self.head))
                if moved.rowcount == 0:
                    connection.execute(orm.audit_chain_head.insert().values(
                        id=audit_chain.HEAD_ID, seq=self.seq, hash=self.head))


def _weighted(rng: random.Random, mix: dict[str, int]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _birth(today: date, rng: random.Random, lo: int, hi: int) -> date:
    return today - timedelta(days=rng.randint(lo * 365 + 10, hi * 365 + 300))


def _facts(category: str, today: date, rng: random.Random) -> dict[str, Any]:
    """R5a/R7: facts that give `category` today."""
    sex = "male" if category.endswith("male") and not category.endswith("female") else "female"
    facts: dict[str, Any] = {"sex": sex, "menarche": False, "hysterectomy": False,
                             "bilateral_oophorectomy": False, "postmenopausal_since": None}
    ages = {"adult_male": (40, 84), "adult_fnrp": (46, 84), "adult_frp": (20, 44),
            "child_frp": (12, 16), "child_fnrp": (5, 9), "child_male": (5, 16)}[category]
    facts["birth_date"] = _birth(today, rng, *ages)
    if category == "child_frp":
        facts["menarche"] = True
    if category == "adult_fnrp":
        if rng.random() < 0.4:
            facts["hysterectomy"] = True
        else:
            facts["postmenopausal_since"] = today - timedelta(days=rng.randint(3 * 365, 20 * 365))
    return facts


class Population:
    def __init__(self, engine: Engine, params: Parameters, plan: Plan, now: datetime) -> None:
        self.params, self.plan, self.now = params, plan, now
        self.rng = random.Random(plan.seed)
        self.seeded = Seeded(now)
        self.rows = _Rows(engine, self.seeded)
        self.prescribers: list[str] = []
        self.pharmacies: list[str] = []
        self.time_zone = load_program(PROGRAM_DIR / "pomalidomide.toml").time_zone  # T1: the default

    # -- actors (R1, R25) ------------------------------------------------------------------
    def actors(self) -> None:
        n_prescribers = max(4, self.plan.patients // 40)
        n_pharmacies = max(4, self.plan.patients // 150)
        for kind, n in (("prescribers", n_prescribers), ("pharmacies", n_pharmacies)):
            for i in range(n):
                state = "certified" if i % 25 else ("suspended" if i % 50 else "enrolled")
                if i < 4:
                    state = "certified"
                enrolled = self.now - DAY * self.rng.randint(200, 700)
                certified = enrolled + DAY if state != "enrolled" else None
                key = self.rows.id("prs" if kind == "prescribers" else "phm")
                # R1, R25: enrolled as an actor; certified per program (the population's program)
                row: dict[str, Any] = {"id": key, "name": f"{kind[:-1].title()} {i}", "enrolled_at": enrolled,
                                       "state": "enrolled", "certified_at": None, "version": 1}
                if kind == "prescribers":
                    row |= {"npi": f"9{i:08d}" + npi_check_digit(f"9{i:08d}"), "attested": True, "education_reviewed": True}
                    if state == "certified":
                        self.prescribers.append(key)
                else:
                    row |= {"ncpdp_id": f"8{i:06d}", "representative_enrolled": True,
                            "staff_trained": True, "records_and_audits_accepted": True}
                    if state == "certified":
                        self.pharmacies.append(key)
                self.rows.add(kind, **row)
                entity = kind[:-1] if kind == "prescribers" else "pharmacy"
                self.rows.audit(enrolled, "admin", entity, key, "enroll", None, "enrolled")
                if certified:
                    cert = self.rows.id("crt")
                    self.rows.add("certifications", id=cert, program_id=PROGRAM, holder_kind=entity,
                                  holder_id=key, state=state, certified_at=certified, version=1)
                    refs = {"program": PROGRAM, "certification": cert}
                    self.rows.audit(certified, "admin", entity, key, "certify", "enrolled", "certified", refs)
                    if state == "suspended":
                        self.rows.audit(self.now - 30 * DAY, "admin", entity, key, "suspend", "certified",
                                        state, refs)
        self.seeded.pharmacies = list(self.pharmacies)

    # -- patients (R5-R33) -----------------------------------------------------------------
    def patients(self) -> None:
        due_left, writes_left = self.plan.expired, self.plan.writes
        for i in range(self.plan.patients):
            state = _weighted(self.rng, STATE_MIX)
            role = "history"
            if state == "active" and due_left > 0 and self.rng.random() < 0.5:
                role, due_left = "expired", due_left - 1
            elif state == "active" and self.rng.random() < READY_SHARE:
                role = "write" if writes_left > 0 else "check"
                writes_left -= role == "write"
            self.patient(i, state, role)
            if (i + 1) % self.plan.flush_every == 0:
                self.rows.flush()
        for _ in range(due_left):  # too few active patients drew "expired": add them now
            self.patient(self.plan.patients, "active", "expired")
        self.rows.flush()

    def sweep_patients(self, due: int, quiet: int, start: int = 0) -> list[str]:
        """Active patients only: `due` with reminders due in the sweep's window, `quiet` mid-cycle
        with nothing due. Returns the quiet patients' ids (the template the population grows from)."""
        quiet_ids = []
        for i in range(due + quiet):
            quiet_ids += [self.patient(start + i, "active", "due" if i < due else "quiet")]
            if (i + 1) % self.plan.flush_every == 0:
                self.rows.flush()
        self.rows.flush()
        return quiet_ids[due:]

    def patient(self, i: int, state: str, role: str) -> str:
        rng, rows, now = self.rng, self.rows, self.now
        category = _weighted(rng, CATEGORY_MIX)
        frp = category in FRP_CATEGORIES
        if state in ("on_hold", "interrupted_on_hold") and not frp:
            state = "interrupted"
        facts = _facts(category, now.date(), rng)
        key, prescriber = rows.id("pat"), rng.choice(self.prescribers)
        probe = Patient(id=key, program_id="pomalidomide", prescriber_id=prescriber, name="",
                        enrolled_at=now, **facts)
        assert category_of(probe, now.date(), self.params) == category, (category, facts)
        # A quiet patient's last test is past the weekly first month (R11): nothing due for weeks.
        cycles = 0 if state == "pending" else rng.randint(3 if role == "quiet" else 1,
                                                          max(3, self.plan.max_cycles))
        last = now - DAY * {"active": LAST_CYCLE_DAYS[role](rng), "on_hold": rng.uniform(5, 20),
                            "interrupted": rng.uniform(30, 90), "interrupted_on_hold": rng.uniform(30, 60),
                            "pregnancy_stop": rng.uniform(10, 25), "discontinued": rng.uniform(60, 200),
                            "pending": 0}[state]
        first = last - CYCLE * max(cycles - 1, 0)
        enrolled = (first - DAY) if cycles else now - 3 * DAY
        phase = "not_required"
        if frp:
            phase = "initial" if not cycles else ("weekly" if first > now - CYCLE else "every_4_weeks")
            phase = "positive" if state == "pregnancy_stop" else phase
        # R34: every seeded patient is a person of their own (the names are unique); T1: the zone.
        name, person = f"Patient {i:07d}", rows.id("per")
        rows.add("persons", id=person, name_key=name_key(name), birth_date=facts["birth_date"],
                 sex=facts["sex"], created_at=enrolled, version=1)
        rows.add("patients", id=key, program_id="pomalidomide", prescriber_id=prescriber,
                 name=name, enrolled_at=enrolled, cycles_regular=rng.random() < 0.9,
                 state=state, test_phase=phase,
                 hold_since=now - 2 * DAY if state.endswith("on_hold") else None, version=1 + cycles,
                 person_id=person, time_zone=self.time_zone, **facts)
        rows.audit(enrolled, "admin", "patient", key, "create", None, "pending")
        if state == "pending":
            return key
        child = category.startswith("child")
        rows.add("ppafs", id=rows.id("ppf"), patient_id=key, prescriber_id=prescriber, category=category,
                 signed_at=enrolled, signed_by="guardian" if child else "patient",
                 guardian_name="Guardian" if child else None)
        rows.audit(enrolled, f"prescriber:{prescriber}", "patient", key, "enroll", "pending", "active")
        respondent = "guardian" if child else "patient"
        if category != "adult_male" and category != "child_male":
            self.survey(key, enrolled + HOUR, respondent)
        if frp:
            self.test(key, first - 12 * DAY)
            for week in range(1, 4):
                if first + 7 * week * DAY < now - DAY:
                    self.test(key, first + 7 * week * DAY)
        for k in range(cycles):
            at = first + CYCLE * k
            if k:
                self.survey(key, at - 2 * HOUR, respondent)
            test = self.test(key, at - 3 * HOUR) if frp else None
            self.cycle(key, prescriber, category, at, test)
        if state == "pregnancy_stop":
            self.test(key, now - 10 * DAY, "positive")
            rows.add("pregnancy_reports", id=rows.id("prg"), patient_id=key, reported_at=now - 10 * DAY,
                     source="positive_test", status="open")
            rows.audit(now - 10 * DAY, f"prescriber:{prescriber}", "patient", key, "report_pregnancy",
                       "active", state)
        elif state != "active":
            trigger = {"on_hold": "hold", "interrupted": "interrupt", "interrupted_on_hold": "hold",
                       "discontinued": "discontinue"}[state]
            rows.audit(last + 3 * DAY, f"prescriber:{prescriber}", "patient", key, trigger, "active", state)
        if role in ("check", "write"):
            self.ready(key, prescriber, category, respondent, role)
        elif role == "expired":
            self.expired(key, prescriber, category)
        return key

    def test(self, patient: str, at: datetime, result: str = "negative") -> str:
        key = self.rows.id("tst")
        self.rows.add("pregnancy_tests", id=key, patient_id=patient, collected_at=at, result=result,
                      sensitivity_miu_per_ml=self.rng.choice((25, 50)), setting="lab",
                      home_test_accepted=False, recorded_at=at + 2 * HOUR)
        return key

    def survey(self, patient: str, at: datetime, respondent: str) -> None:
        self.rows.add("patient_surveys", id=self.rows.id("psu"), patient_id=patient, completed_at=at,
                      respondent=respondent)

    def prescription(self, patient: str, prescriber: str, category: str, at: datetime, state: str,
                     test: tuple[str, datetime] | None) -> tuple[str, str]:
        rows, p = self.rows, self.params
        key, number = rows.id("rx"), rows.number("POM")
        expires = test[1] + DAY * p.frp_authorization_valid_days if test else at + DAY * p.authorization_valid_days
        rows.add("prescriptions", id=key, program_id="pomalidomide", patient_id=patient,
                 prescriber_id=prescriber, category=category, days_supply=28, quantity=21, refills=0,
                 contraception_counselling_attested=True, requested_at=at, state=state, number=number,
                 authorized_at=at, expires_at=expires, qualifying_test_id=test[0] if test else None,
                 version=1)
        rows.add("prescriber_surveys", id=rows.id("psv"), prescriber_id=prescriber, prescription_id=key,
                 completed_at=at)
        actor = f"prescriber:{prescriber}"
        rows.audit(at, actor, "prescription", key, "request", None, "requested")
        rows.audit(at, actor, "prescription", key, "authorize", "requested", "authorized")
        return key, number

    def confirmation(self, rx: str, at: datetime, state: str) -> tuple[str, str]:
        rows = self.rows
        pharmacy = self.rng.choice(self.pharmacies)
        key = rows.id("cnf")
        hours = timedelta(hours=self.params.confirmation_valid_hours)
        rows.add("confirmations", id=key, number=rows.number("C"), prescription_id=rx, pharmacy_id=pharmacy,
                 issued_at=at, expires_at=at + hours, state=state, version=1)
        rows.audit(at, f"pharmacy:{pharmacy}", "prescription", rx, "confirm", "authorized", "confirmed")
        rows.audit(at, f"pharmacy:{pharmacy}", "confirmation", key, "issue", None, "issued")
        return key, pharmacy

    def cycle(self, patient: str, prescriber: str, category: str, at: datetime, test: str | None) -> None:
        """One past 28-day cycle: authorized, confirmed and dispensed (R19-R29)."""
        rows = self.rows
        rx, _ = self.prescription(patient, prescriber, category, at - HOUR, "dispensed",
                                  (test, at - 3 * HOUR) if test else None)
        confirmation, pharmacy = self.confirmation(rx, at, "used")
        rows.add("dispenses", id=rows.id("dsp"), prescription_id=rx, confirmation_id=confirmation,
                 pharmacy_id=pharmacy, patient_id=patient, dispensed_at=at + HOUR, days_supply=28,
                 counselled=True, education_checklist_completed=True, medication_guide_given=True)
        actor = f"pharmacy:{pharmacy}"
        rows.audit(at + HOUR, actor, "prescription", rx, "dispense", "confirmed", "dispensed")
        rows.audit(at + HOUR, actor, "confirmation", confirmation, "use", "issued", "used")

    def ready(self, patient: str, prescriber: str, category: str, respondent: str, role: str) -> None:
        """An authorization issued a few hours ago, every gate holding: what a pharmacy checks."""
        at = self.now - HOUR * self.rng.uniform(1, 20)
        self.survey(patient, at - HOUR, respondent)
        frp = category in FRP_CATEGORIES
        test = (self.test(patient, at - 20 * HOUR), at - 20 * HOUR) if frp else None
        _, number = self.prescription(patient, prescriber, category, at, "authorized", test)
        (self.seeded.writes if role == "write" else self.seeded.checks).append(number)

    def expired(self, patient: str, prescriber: str, category: str) -> None:
        """Past expiry, not yet swept (R23, R27): an authorization, or a confirmation on one."""
        frp = category in FRP_CATEGORIES
        expired = self.now - HOUR * self.rng.uniform(1, 48)
        if self.rng.random() < 0.8:
            at = expired - DAY * (self.params.frp_authorization_valid_days if frp
                                  else self.params.authorization_valid_days)
            test = (self.test(patient, at), at) if frp else None
            self.prescription(patient, prescriber, category, at + HOUR if frp else at, "authorized", test)
        else:
            at = self.now - 4 * DAY
            test = (self.test(patient, at - 20 * HOUR), at - 20 * HOUR) if frp else None
            rx, _ = self.prescription(patient, prescriber, category, at, "confirmed", test)
            self.confirmation(rx, expired - timedelta(hours=self.params.confirmation_valid_hours), "issued")


def seed(engine: Engine, params: Parameters, plan: Plan, now: datetime | None = None) -> Seeded:
    """Insert the population; `now` is when the targets must be ready (default: the wall clock)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    population = Population(engine, params, plan, now)
    population.actors()
    population.patients()
    return population.seeded
