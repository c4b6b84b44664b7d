"""Bulk import of existing enrollments from CSV for onboarding (issue 17 item 8).

Every row goes through the ordinary use cases (enroll_prescriber, enroll_pharmacy,
change_certification, enroll_patient), so every rule applies as if each were entered by hand
(R1, R2, R5-R8, R25, R34, R35). All rows run in ONE transaction, each in a savepoint: a refused
row is rolled back to its savepoint and reported (row, field, reason), the next rows still run
(and see the rows accepted before them: a duplicate NPI within the file is refused too). A dry
run always rolls the whole transaction back; a real run commits only when no row was refused,
so a file is imported entirely or not at all. The columns: docs/export-import.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rems.domain.catalogue import (
    R5_PPAF_CATEGORY_MISMATCH,
    R5_PRESCRIBER_NOT_CERTIFIED,
    R6_GUARDIAN_SIGNATURE_MISSING,
    R34_ALREADY_ENROLLED,
)
from rems.domain.errors import DomainError, InvalidInput, Refused
from rems.services.commands import EnrollPatient, EnrollPharmacy, EnrollPrescriber, parse
from rems.services.context import Context
from rems.services.enrollment import certification, patients
from rems.services.ports import Batch

YES = {"true", "yes", "y", "1"}
NO = {"false", "no", "n", "0"}
# kind: (required columns, optional columns); a column not listed is refused by name.
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "prescribers": (("name", "npi", "attested", "education_reviewed"), ("certified",)),
    "pharmacies": (("name", "ncpdp_id", "representative_enrolled", "staff_trained",
                    "records_and_audits_accepted"), ("certified",)),
    "patients": (("prescriber_npi", "name", "sex", "birth_date", "ppaf_category"),
                 ("menarche", "hysterectomy", "bilateral_oophorectomy", "postmenopausal_since",
                  "cycles_regular", "signed_by", "guardian_name", "time_zone", "identifier_system",
                  "identifier_value")),
}
# A command's field (pydantic's path) -> the CSV column that holds it.
_FIELD_COLUMN = {"ppaf.category": "ppaf_category", "ppaf.signed_by": "signed_by",
                 "ppaf.guardian_name": "guardian_name", "identifiers.0.system": "identifier_system",
                 "identifiers.0.value": "identifier_value", "prescriber_id": "prescriber_npi"}
# A refusal's code -> the CSV column that would fix it (R5, R6, R34 from the patient machine).
_CODE_COLUMN = {R5_PPAF_CATEGORY_MISMATCH: "ppaf_category", R6_GUARDIAN_SIGNATURE_MISSING: "signed_by",
                R5_PRESCRIBER_NOT_CERTIFIED: "prescriber_npi", R34_ALREADY_ENROLLED: "name"}
MAX_ROWS = 100_000


@dataclass(frozen=True)
class RowRefusal:
    row: int  # the file's line as a spreadsheet numbers it: the header is row 1
    field: str  # the CSV column (or "row" when the whole row is refused)
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


@dataclass
class CsvReport:
    kind: str
    program_id: str
    dry_run: bool
    rows: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)  # row and the id it created
    refused: list[RowRefusal] = field(default_factory=list)
    written: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "program_id": self.program_id, "dry_run": self.dry_run,
                "rows": self.rows, "accepted": len(self.accepted), "written": self.written,
                "created": self.accepted if self.written else [],
                "refused": [r.as_dict() for r in self.refused]}


def _flag(value: str, column: str) -> bool:
    word = value.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    raise InvalidInput(column, "must be true or false (also yes/no, 1/0)")


def _present(row: Mapping[str, str], column: str) -> str | None:
    value = (row.get(column) or "").strip()
    return value or None


def _required(row: Mapping[str, str], kind: str) -> None:
    for column in COLUMNS[kind][0]:
        if _present(row, column) is None:
            raise InvalidInput(column, "required")


def _prescriber(uow: Batch, ctx: Context, row: Mapping[str, str], program_id: str) -> str:
    cmd = parse(EnrollPrescriber, name=row["name"], npi=row["npi"],
                attested=_flag(row["attested"], "attested"),
                education_reviewed=_flag(row["education_reviewed"], "education_reviewed"))
    doc = certification.enroll_prescriber(uow, ctx, cmd)
    _certify(uow, ctx, "prescriber", doc.id, row, program_id)
    return doc.id


def _pharmacy(uow: Batch, ctx: Context, row: Mapping[str, str], program_id: str) -> str:
    cmd = parse(EnrollPharmacy, name=row["name"], ncpdp_id=row["ncpdp_id"], **{
        name: _flag(row[name], name)
        for name in ("representative_enrolled", "staff_trained", "records_and_audits_accepted")})
    pharmacy = certification.enroll_pharmacy(uow, ctx, cmd)
    _certify(uow, ctx, "pharmacy", pharmacy.id, row, program_id)
    return pharmacy.id


def _certify(uow: Batch, ctx: Context, kind: certification.Kind, holder_id: str,
             row: Mapping[str, str], program_id: str) -> None:
    certified = _present(row, "certified")
    if certified is not None and _flag(certified, "certified"):
        try:  # R1, R25: through the machine, whose conditions name what is missing
            certification.change_certification(uow, ctx, kind, holder_id, "certify", program_id)
        except Refused as refused:
            raise InvalidInput("certified", _reasons(refused)) from None


def _reasons(refused: Refused) -> str:
    return "; ".join(f"{f.rule} {f.code}: {f.message}" for f in refused.failures) or str(refused)


def _patient(uow: Batch, ctx: Context, row: Mapping[str, str], program_id: str) -> str:
    npi = row["prescriber_npi"].strip()
    found = uow.transfer.prescriber_id_by_npi(npi)
    if found is None:
        raise InvalidInput("prescriber_npi", "no prescriber is enrolled with this NPI")
    fact_columns = ("menarche", "hysterectomy", "bilateral_oophorectomy")
    stated = [c for c in (*fact_columns, "postmenopausal_since") if _present(row, c) is not None]
    facts: dict[str, Any] | None = None
    if row["sex"].strip() == "female" or stated:
        for column in fact_columns:  # R35: a female's facts are all stated, none defaults to "no"
            if _present(row, column) is None:
                raise InvalidInput(column, "required for a female patient (R35: every fact is stated)")
        facts = {c: _flag(row[c], c) for c in fact_columns}
        facts["postmenopausal_since"] = _present(row, "postmenopausal_since")
    data: dict[str, Any] = {
        "program_id": program_id, "prescriber_id": found, "name": row["name"],
        "sex": row["sex"].strip(), "birth_date": row["birth_date"].strip(), "facts": facts,
        "ppaf": {"category": row["ppaf_category"].strip(), "signed_by": _present(row, "signed_by") or "patient",
                 "guardian_name": _present(row, "guardian_name")},
        "time_zone": _present(row, "time_zone")}
    if (cycles := _present(row, "cycles_regular")) is not None:
        data["cycles_regular"] = _flag(cycles, "cycles_regular")
    system, value = _present(row, "identifier_system"), _present(row, "identifier_value")
    if (system is None) != (value is None):
        raise InvalidInput("identifier_value" if value is None else "identifier_system",
                           "an identifier needs both its system and its value")
    if system is not None:
        data["identifiers"] = [{"system": system, "value": value}]
    return patients.enroll_patient(uow, ctx, parse(EnrollPatient, **data)).id


ENROLL: dict[str, Callable[[Batch, Context, Mapping[str, str], str], str]] = {
    "prescribers": _prescriber, "pharmacies": _pharmacy, "patients": _patient}


def _column(field_name: str) -> str:
    if field_name in _FIELD_COLUMN:
        return _FIELD_COLUMN[field_name]
    return field_name.removeprefix("facts.")


def _refusal(number: int, error: DomainError) -> RowRefusal:
    if isinstance(error, InvalidInput):
        return RowRefusal(number, _column(error.field), error.reason)
    if isinstance(error, Refused):
        columns = {_CODE_COLUMN.get(f.code, "row") for f in error.failures}
        return RowRefusal(number, columns.pop() if len(columns) == 1 else "row", _reasons(error))
    return RowRefusal(number, "row", str(error))  # NotFound, Conflict: the row as a whole


def _header(reader: csv.DictReader[str], kind: str) -> None:
    names = [name.strip() for name in reader.fieldnames or []]
    required, optional = COLUMNS[kind]
    unknown = [n for n in names if n not in (*required, *optional)]
    if unknown:
        raise InvalidInput(f"row 1: {unknown[0]}", f"unknown column; the columns of {kind}: "
                                                  f"{', '.join((*required, *optional))}")
    missing = [n for n in required if n not in names]
    if missing:
        raise InvalidInput(f"row 1: {missing[0]}", "a required column is missing")


def import_csv(uow: Batch, ctx: Context, kind: str, text: str, program_id: str,
               dry_run: bool) -> CsvReport:
    """Every row through its use case, in one transaction; committed only if none was refused and
    this is not a dry run."""
    if kind not in COLUMNS:
        raise InvalidInput("kind", f"must be one of {', '.join(COLUMNS)}")
    uow.program(program_id)
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), skipinitialspace=True)
    _header(reader, kind)
    report = CsvReport(kind, program_id, dry_run)
    batch = uow.rows()
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise InvalidInput(f"row {number}", f"a file holds at most {MAX_ROWS} rows")
        row = {(k or "").strip(): (v or "") for k, v in raw.items() if k is not None}
        if None in raw:
            report.refused.append(RowRefusal(number, "row", "more values than columns"))
            continue
        report.rows += 1
        savepoint = batch.savepoint()
        try:
            _required(row, kind)
            created = ENROLL[kind](uow, ctx, row, program_id)
        except DomainError as error:
            savepoint.rollback()
            report.refused.append(_refusal(number, error))
            continue
        savepoint.commit()
        report.accepted.append({"row": number, "id": created})
    if not dry_run and not report.refused and report.accepted:
        batch.commit()
        report.written = True
    return report
