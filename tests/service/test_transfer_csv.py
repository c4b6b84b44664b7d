"""Issue 17 item 8: bulk enrollment from CSV through the ordinary use cases; the dry run reports
every row it would refuse (row, column, reason) and writes nothing; a real run is all or nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from rems.adapters import orm
from rems.adapters.csv_batch import Batch
from rems.bootstrap import App
from rems.domain.errors import InvalidInput
from rems.services.context import Context
from rems.services.transfer.csv_import import CsvReport, import_csv
from tests.conftest import T0
from tests.service.builders import npi_of, years_before

PROGRAM = "pomalidomide"
GOOD, BAD_LUHN = npi_of(9001), npi_of(9002)[:-1] + str((int(npi_of(9002)[-1]) + 1) % 10)


def run(app: App, kind: str, text: str, dry_run: bool) -> CsvReport:
    with Batch(app.sessions, app.programs) as batch:
        return import_csv(batch, Context("onboarding", T0), kind, text, PROGRAM, dry_run)


def count(app: App, table: Any) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)


def written(app: App) -> int:
    return sum(count(app, t) for t in (orm.prescribers, orm.pharmacies, orm.patients, orm.persons,
                                       orm.certifications, orm.audit_log, orm.audit_pending))


PRESCRIBERS = (
    "name,npi,attested,education_reviewed,certified\n"
    f"Dr Good,{GOOD},yes,yes,yes\n"                 # row 2: accepted
    f"Dr Luhn,{BAD_LUHN},yes,yes,yes\n"             # row 3: R1 the NPI's check digit
    f"Dr Twice,{GOOD},yes,yes,no\n"                 # row 4: the NPI of row 2
    f"Dr Unsigned,{npi_of(9003)},no,yes,yes\n"      # row 5: R2 attestation missing, cannot certify
    f",{npi_of(9004)},yes,yes,yes\n"                # row 6: no name
    f"Dr Maybe,{npi_of(9005)},perhaps,yes,yes\n")   # row 7: not a yes/no


def test_dry_run_reports_every_refused_row_with_its_column_and_writes_nothing(app: App) -> None:
    report = run(app, "prescribers", PRESCRIBERS, dry_run=True)
    assert [(r.row, r.field) for r in report.refused] == [
        (3, "npi"), (4, "npi"), (5, "certified"), (6, "name"), (7, "attested")]
    assert "R2" in report.refused[2].reason and "already enrolled" in report.refused[1].reason
    assert report.rows == 6 and len(report.accepted) == 1 and not report.written
    assert written(app) == 0


def test_a_real_run_with_one_refused_row_writes_nothing(app: App) -> None:
    report = run(app, "prescribers", PRESCRIBERS, dry_run=False)
    assert len(report.refused) == 5 and not report.written
    assert written(app) == 0


def test_a_clean_file_is_imported_through_the_use_cases_certified_and_audited(app: App) -> None:
    text = ("name,npi,attested,education_reviewed,certified\n"
            f"Dr A,{npi_of(9011)},true,true,true\nDr B,{npi_of(9012)},1,1,0\n")
    assert run(app, "prescribers", text, dry_run=True).refused == []
    assert written(app) == 0
    report = run(app, "prescribers", text, dry_run=False)
    assert report.written and len(report.accepted) == 2
    assert count(app, orm.prescribers) == 2 and count(app, orm.certifications) == 1  # R1: only Dr A
    with app.engine.connect() as connection:
        triggers = sorted(connection.execute(select(orm.audit_log.c.trigger)).scalars())
    assert triggers == ["certify", "enroll", "enroll"]


def _certified_prescriber(app: App) -> None:
    text = f"name,npi,attested,education_reviewed,certified\nDr P,{GOOD},yes,yes,yes\n"
    assert run(app, "prescribers", text, dry_run=False).written


def test_patients_rows_are_refused_by_the_enrollment_rules(app: App) -> None:
    """R5 (PPAF category for the facts, a certified prescriber), R6 (guardian for a child), R35
    (a female's facts stated), R34 (one person, one enrollment)."""
    _certified_prescriber(app)
    adult, child = years_before(T0.date(), 40), years_before(T0.date(), 14)
    header = ("prescriber_npi,name,sex,birth_date,ppaf_category,menarche,hysterectomy,"
              "bilateral_oophorectomy,postmenopausal_since,signed_by,guardian_name\n")
    text = header + "\n".join([
        f"{GOOD},Ann Able,female,{adult},adult_frp,no,no,no,,,",          # 2 accepted
        f"{GOOD},Bea Bell,female,{adult},adult_frp,,no,no,,,",            # 3 R35 menarche not stated
        f"{npi_of(9999)},Cy Cole,male,{adult},adult_male,,,,,,",          # 4 no such prescriber
        f"{GOOD},Di Dunn,female,{adult},adult_male,no,no,no,,,",          # 5 R5 wrong category
        f"{GOOD},Ed Eve,female,{child},child_frp,yes,no,no,,patient,",    # 6 R6 a child, no guardian
        f"{GOOD},Ann Able,female,{adult},adult_frp,no,no,no,,,",          # 7 R34 row 2 again
        f"{GOOD},Flo Fay,female,{date(2090, 1, 1)},adult_frp,no,no,no,,,",  # 8 born in the future
    ]) + "\n"
    before = written(app)
    report = run(app, "patients", text, dry_run=True)
    assert [(r.row, r.field) for r in report.refused] == [
        (3, "menarche"), (4, "prescriber_npi"), (5, "ppaf_category"), (6, "signed_by"), (7, "name"),
        (8, "birth_date")]
    assert "R5" in report.refused[2].reason and "R6" in report.refused[3].reason
    assert "R34" in report.refused[4].reason
    assert written(app) == before


def test_an_unknown_or_missing_column_refuses_the_file_naming_it(app: App) -> None:
    with pytest.raises(InvalidInput) as unknown:
        run(app, "pharmacies", "name,ncpdp,staff_trained\n", dry_run=True)
    assert unknown.value.field == "row 1: ncpdp"
    with pytest.raises(InvalidInput) as missing:
        run(app, "pharmacies", "name,ncpdp_id,staff_trained,representative_enrolled\n", dry_run=True)
    assert missing.value.field == "row 1: records_and_audits_accepted"
