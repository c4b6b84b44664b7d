"""Lab results are the person's (R34, issue 17 item 1): the gate's records of one enrollment
carry the results recorded on the person's enrollment in another program, as pregnancy tests do;
the prescriber of one enrollment records only on their own patient."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rems.adapters.uow import UnitOfWork
from rems.domain.errors import NotFound
from rems.domain.gate import Records
from rems.domain.model import LabResult, Patient
from rems.services.commands import parse
from rems.services.dispensing.records import load_records
from rems.services.enrollment import labs
from tests.service.builders import Scenario
from tests.service.test_person import _again


def _record(s: Scenario, patient_id: str, prescriber_id: str | None, value: int) -> LabResult:
    cmd = parse(labs.RecordLabResult, patient_id=patient_id, analyte="AST", value=value, unit="U/L",
                upper_limit_normal=40, collected_at=s.now - timedelta(hours=1))
    return s.call(labs.record_lab_result, cmd, prescriber_id, actor="dr")


def test_the_gate_reads_the_persons_lab_results_across_programs_r34(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    first = s.fetch(Patient, s.patient_id)
    elsewhere = _again(s, first, program_id="lenalidomide")
    _record(s, elsewhere.id, s.prescriber_id, 35)
    _record(s, first.id, s.prescriber_id, 36)

    def load(uow: UnitOfWork) -> Records:
        return load_records(uow, uow.get(Patient, first.id))
    records = s.read(load)
    assert sorted((r.patient_id, int(r.value)) for r in records.lab_results) == sorted(
        [(elsewhere.id, 35), (first.id, 36)])
    with pytest.raises(NotFound):  # another prescriber's patient
        _record(s, first.id, s.new_prescriber(), 37)
    assert s.count(LabResult) == 2
