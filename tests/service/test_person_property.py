"""R34 as a property: whatever one person's history of enrollments, discontinuations, pregnancy
stops and readmission decisions across programs, the engine answers as REMS_RULES.md says.

The oracle below is written from R34/R30, not from the services: at most one live enrollment per
person per program; after a pregnancy stop anywhere, an enrollment in a program needs an
administrator's decision for that program made after the latest stop, and none while a record of
the person is still stopped (it blocks every enrollment); a stop puts every live enrollment of the
person in pregnancy_stop.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rems.bootstrap import App
from rems.domain.errors import InvalidInput, Refused
from rems.domain.model import Patient
from rems.services.commands import DecideReadmission, parse
from rems.services.enrollment import patients, persons
from tests.service.builders import Scenario

PROGRAMS = ("pomalidomide", "lenalidomide")
ACTIONS = st.lists(st.tuples(st.sampled_from(("enroll", "discontinue", "stop", "readmit")),
                             st.sampled_from(PROGRAMS)), min_size=1, max_size=14)
_people = itertools.count(1)


@dataclass
class Oracle:
    live: dict[str, str] = field(default_factory=dict)  # program -> the live record's id
    last_stop: datetime | None = None
    decided: dict[str, datetime] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)  # records live when a stop happened

    def may_enroll(self, program: str) -> bool:
        if program in self.live or self.stopped & set(self.live.values()):  # one live; none stopped
            return False
        decided = self.decided.get(program)
        return self.last_stop is None or (decided is not None and decided >= self.last_stop)


def _enroll(s: Scenario, name: str, program: str) -> Patient:
    cmd = s.enroll_command("adult_male", name=name, birth_date=datetime(1970, 1, 1).date(),
                           program_id=program)
    return s.call(patients.enroll_patient, cmd, actor="dr")


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(actions=ACTIONS)
def test_one_persons_enrollments_follow_r34_whatever_the_history(app: App, actions: list[tuple[str, str]]) -> None:
    s = Scenario(app)
    s.prescriber_id = s.new_prescriber(programs=PROGRAMS)  # R1: certified in each program it enrols in
    name, oracle, records = f"Property Person {next(_people)}", Oracle(), []
    for action, program in actions:
        s.advance(minutes=1)
        if action == "enroll":
            try:
                records.append(_enroll(s, name, program).id)
                enrolled = True
            except Refused as refused:
                assert {f.rule for f in refused.failures} == {"R34"}
                enrolled = False
            assert enrolled == oracle.may_enroll(program), (actions, action, program)
            if enrolled:
                oracle.live[program] = records[-1]
        elif action == "discontinue" and program in oracle.live:
            s.call(patients.change_state, oracle.live.pop(program), "discontinue", actor="dr")
        elif action == "stop" and program in oracle.live:
            s.call(patients.report_pregnancy, oracle.live[program], "partner", actor="dr")
            oracle.last_stop = s.now
            oracle.stopped |= set(oracle.live.values())  # every program's live record stops
        elif action == "readmit" and records:
            try:
                s.call(persons.decide_readmission, parse(
                    DecideReadmission, patient_id=records[0], program_id=program, reason="reviewed"),
                    actor="admin")
                decided = True
            except InvalidInput:
                decided = False
            assert decided == (oracle.last_stop is not None)
            if decided:
                oracle.decided[program] = s.now
        live = {p.id: p.state for p in s.rows(Patient, Patient.name == name) if p.state != "discontinued"}
        assert sorted(live) == sorted(oracle.live.values()), actions  # one live record per program
        assert {k for k, state in live.items() if state == "pregnancy_stop"} == \
            oracle.stopped & set(live), actions  # R30/R34: a stop reaches every live record
