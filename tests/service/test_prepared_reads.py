"""The gate's statements on the DBAPI cursor (issue 14 item 2, rems/adapters/prepared.py) give the
values SQLAlchemy's own execution gives, type for type (UTC-aware instants, Decimal lab values,
booleans, NULLs), on both stores: the oracle is `Connection.execute` of the same statement."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Table, bindparam, create_engine, select
from sqlalchemy.exc import DBAPIError

from rems.adapters import gate_reads as reads
from rems.adapters.prepared import Prepared
from rems.adapters.uow import UnitOfWork
from rems.domain.model import Patient
from rems.services.commands import parse
from rems.services.enrollment import labs
from tests.service.builders import Scenario


def _both(uow: UnitOfWork, build: Any, params: dict[str, Any], *args: Any) -> tuple[list[Any], list[Any]]:
    connection = uow.connection()
    by_sqlalchemy = [list(row) for row in connection.execute(build(*args), params)]
    return reads.prepared(connection, build, *args).rows(connection, params), by_sqlalchemy


def test_the_prepared_gate_reads_equal_sqlalchemys_value_for_value_r34(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp").ready()  # R9-R12 tests, R20 survey
    s.call(labs.record_lab_result, parse(  # issue 17 item 1: a Decimal kept as its exact text
        labs.RecordLabResult, patient_id=s.patient_id, analyte="AST", value="36.5", unit="U/L",
        upper_limit_normal=40, collected_at=s.now - timedelta(hours=2)), s.prescriber_id, actor="dr")
    rx, _confirmation, _dispense = s.dispensed()  # R28: a dispense in the history
    patient = s.fetch(Patient, s.patient_id)
    history = {"patient_id": patient.id, "person_id": patient.person_id, "program_id": patient.program_id}
    check = {"number": rx.number, "pharmacy_id": s.pharmacy_id}
    context = {"prescriber_id": s.prescriber_id, "program_id": patient.program_id,
               "person_id": patient.person_id, "prescription_id": rx.id, "pharmacy_id": s.pharmacy_id}

    def compare(uow: UnitOfWork) -> list[list[Any]]:
        found = []
        for build, params, args in ((reads.check_statement, check, ()), (reads.context_statement, context, ()),
                                    (reads.history_statement, history, (True,)),
                                    (reads.history_statement, {"patient_id": patient.id}, (False,))):
            prepared, expected = _both(uow, build, params, *args)
            assert prepared == expected, build
            assert [[type(v) for v in row] for row in prepared] == [[type(v) for v in row] for row in expected]
            found += prepared
        return found
    rows = s.read(compare)
    kinds = {row[0] for row in rows if isinstance(row[0], str) and row[0][:1].isdigit()}
    assert {"2test", "3survey", "4dispense", "6lab"} <= kinds  # the history is not empty
    values = [v for row in rows for v in row]
    assert Decimal("36.5") in values
    instants = [v for v in values if isinstance(v, datetime)]
    assert instants and all(v.utcoffset() == timedelta(0) for v in instants)  # T1: UTC-aware


def test_an_unknown_number_reads_no_head(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    assert s.read(lambda uow: reads.head(uow.connection(), reads.check_statement,
                                         {"number": "PAUTH-NONE", "pharmacy_id": s.pharmacy_id})) is None


def test_a_driver_error_is_sqlalchemys_and_names_no_bound_value() -> None:
    """lost_a_race and the error handlers see a DBAPIError as before; issue 15 item 3: no value."""
    table = Table("absent", MetaData(), Column("id", String))
    engine = create_engine("sqlite://")
    with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
        Prepared(select(table).where(table.c.id == bindparam("id")), engine.dialect).rows(
            connection, {"id": "PATIENT-SECRET-42"})
    assert "no such table" in str(raised.value) and "PATIENT-SECRET-42" not in str(raised.value)
