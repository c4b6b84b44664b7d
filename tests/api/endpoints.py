"""Every route of the API as data: a successful call, a bad one naming its field, and a call for
another actor's record; test_endpoints.py runs each and checks the table covers the whole API."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from rems.services.context import Context
from rems.services.enrollment import patients
from rems.services.programs import relaxations
from tests.api.world import ADMIN, World
from tests.web import survey_answers
from tests.workers.helpers import park_one
from workflows.program import PROGRAM_DIR
from workflows.relaxations import RelaxationSpec

P, D, A = "/v1/pharmacy", "/v1/prescriber", "/v1/admin"


@dataclass(frozen=True)
class Call:
    actor: str
    method: str
    path: str
    body: Any = None
    params: dict[str, Any] = field(default_factory=dict)


Make = Callable[[World], Call]
PERIOD = {"start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"}
BACKWARDS = {"start": "2026-04-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}


@dataclass(frozen=True)
class Endpoint:
    route: str  # "METHOD /path/{template}" as in the OpenAPI document
    ok: Make
    status: int
    bad: tuple[Make, str] | None = None  # the call, and the field its 422 names
    other: Make | None = None  # another actor's record: 404
    content_type: str = "application/json"


def _confirmed(w: World, pharmacy: str | None = None) -> str:
    return w.confirmation(w.number, pharmacy or w.pharm)


def _test(w: World, **change: Any) -> dict[str, Any]:
    return {"collected_at": (w.clock() - timedelta(hours=2)).isoformat(), "result": "negative",
            "sensitivity_miu_per_ml": 50, **change}


def _lab(w: World, **change: Any) -> dict[str, Any]:
    return {"analyte": "ALT", "value": 30, "unit": "U/L", "upper_limit_normal": 40,
            "collected_at": (w.clock() - timedelta(hours=2)).isoformat(), **change}


def _patient(w: World, **change: Any) -> dict[str, Any]:
    return {"name": "New Patient", "sex": "male", "birth_date": "1980-05-01",
            "ppaf": {"category": "adult_male"}, **change}


_FACTS = {"menarche": True, "hysterectomy": False, "bilateral_oophorectomy": False,
          "postmenopausal_since": None}


def _stopped(w: World) -> str:
    """R34: a readmission decision is made for a person stopped for a pregnancy."""
    w.call(patients.report_pregnancy, w.male, "partner")
    return w.male


def _rx(w: World, **change: Any) -> dict[str, Any]:
    """A prescription for a patient with none open (R36: w.male holds w.rx)."""
    return {"patient_id": change.pop("patient_id", None) or w.patient(w.doc, "adult_male"), "days_supply": 28, "quantity": 28, "prescriber_survey_completed": True,
            **change}


def _dispense(number: str, **change: Any) -> dict[str, Any]:
    return {"confirmation_number": number, "counselled": True, "education_checklist_completed": True,
            "medication_guide_given": True, **change}


def _pending(w: World, patient: str = "", doc: str = "") -> str:
    """A pending prescription of a patient with none open before (R36)."""
    doc = doc or w.doc
    return w.authorization(patient or w.patient(doc, "adult_male"), doc, survey=False)[0]


def _theirs(w: World) -> str:
    """A pending prescription of the other prescriber."""
    return _pending(w, "", w.other_doc)


def _interrupted(w: World) -> str:
    w.call(patients.change_state, w.male, "interrupt")
    return w.male


def _therapy(trigger: str, setup: Callable[[World], str]) -> Endpoint:
    return Endpoint(f"POST /v1/prescriber/patients/{{patient_id}}/{trigger}",
                    lambda w: Call(w.doc, "POST", f"{D}/patients/{setup(w)}/{trigger}"), 200,
                    (lambda w: Call(w.doc, "POST", f"{D}/patients/{LONG}/{trigger}"), "patient_id"),
                    lambda w: Call(w.doc, "POST", f"{D}/patients/{w.stranger}/{trigger}"))


LONG = "x" * 41


def _activation(w: World) -> str:
    """Issue 17 item 5: a relaxation declared for pomalidomide, activated by another administrator."""
    spec = RelaxationSpec("portal_down", "portal down", frozenset({"R26"}), 4, 24)
    w.app.programs["pomalidomide"] = dataclasses.replace(w.app.programs["pomalidomide"], relaxations=(spec,))
    with w.app.uow() as uow:
        return relaxations.activate(uow, Context("admin:setup", w.clock()), "pomalidomide", spec.name, "x").id


PROG = f"{A}/programs/pomalidomide"
POMALIDOMIDE = (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")


ENDPOINTS = [
    Endpoint("GET /v1/pharmacy/me", lambda w: Call(w.pharm, "GET", f"{P}/me"), 200),
    Endpoint("GET /v1/pharmacy/authorizations/{number}/check",
             lambda w: Call(w.pharm, "GET", f"{P}/authorizations/{w.number}/check"), 200,
             (lambda w: Call(w.pharm, "GET", f"{P}/authorizations/{w.number}/check",
                             params={"patient_id": ""}),
              "patient_id"),
             lambda w: Call(w.pharm, "GET", f"{P}/authorizations/{w.number}/check",
                            params={"patient_id": w.stranger})),
    Endpoint("POST /v1/pharmacy/authorizations/{number}/confirmations",
             lambda w: Call(w.pharm, "POST", f"{P}/authorizations/{w.number}/confirmations", {}), 201,
             (lambda w: Call(w.pharm, "POST", f"{P}/authorizations/{w.number}/confirmations",
                             {"patient_id": ""}), "patient_id"),
             lambda w: Call(w.pharm, "POST", f"{P}/authorizations/{w.number}/confirmations",
                            {"patient_id": w.stranger})),
    Endpoint("POST /v1/pharmacy/dispenses",
             lambda w: Call(w.pharm, "POST", f"{P}/dispenses", _dispense(_confirmed(w))), 201,
             (lambda w: Call(w.pharm, "POST", f"{P}/dispenses", {"confirmation_number": _confirmed(w)}),
              "counselled"),
             lambda w: Call(w.pharm, "POST", f"{P}/dispenses", _dispense(_confirmed(w, w.other_pharm)))),
    Endpoint("POST /v1/pharmacy/confirmations/{number}/void",
             lambda w: Call(w.pharm, "POST", f"{P}/confirmations/{_confirmed(w)}/void"), 200,
             (lambda w: Call(w.pharm, "POST", f"{P}/confirmations/{LONG}/void"), "number"),
             lambda w: Call(w.pharm, "POST", f"{P}/confirmations/{_confirmed(w, w.other_pharm)}/void")),
    Endpoint("GET /v1/prescriber/me", lambda w: Call(w.doc, "GET", f"{D}/me"), 200),
    Endpoint("POST /v1/prescriber/patients", lambda w: Call(w.doc, "POST", f"{D}/patients", _patient(w)), 201,
             (lambda w: Call(w.doc, "POST", f"{D}/patients", _patient(w, sex="other")), "sex")),
    Endpoint("GET /v1/prescriber/patients", lambda w: Call(w.doc, "GET", f"{D}/patients"), 200,
             (lambda w: Call(w.doc, "GET", f"{D}/patients", params={"limit": 0}), "limit")),
    Endpoint("GET /v1/prescriber/patients/{patient_id}",
             lambda w: Call(w.doc, "GET", f"{D}/patients/{w.male}"), 200,
             (lambda w: Call(w.doc, "GET", f"{D}/patients/{LONG}"), "patient_id"),
             lambda w: Call(w.doc, "GET", f"{D}/patients/{w.stranger}")),
    Endpoint("POST /v1/prescriber/prescriptions", lambda w: Call(w.doc, "POST", f"{D}/prescriptions", _rx(w)),
             201, (lambda w: Call(w.doc, "POST", f"{D}/prescriptions", _rx(w, days_supply=0)), "days_supply"),
             lambda w: Call(w.doc, "POST", f"{D}/prescriptions", _rx(w, patient_id=w.stranger))),
    Endpoint("POST /v1/prescriber/prescriptions/{prescription_id}/survey",
             lambda w: Call(w.doc, "POST", f"{D}/prescriptions/{_pending(w)}/survey"), 200,
             (lambda w: Call(w.doc, "POST", f"{D}/prescriptions/{LONG}/survey"), "prescription_id"),
             lambda w: Call(w.doc, "POST", f"{D}/prescriptions/{_theirs(w)}/survey")),
    Endpoint("POST /v1/prescriber/prescriptions/{prescription_id}/authorize",
             lambda w: Call(w.doc, "POST", f"{D}/prescriptions/{_pending(w)}/authorize"), 200,
             (lambda w: Call(w.doc, "POST", f"{D}/prescriptions/{LONG}/authorize"), "prescription_id"),
             lambda w: Call(w.doc, "POST", f"{D}/prescriptions/{_theirs(w)}/authorize")),
    Endpoint("POST /v1/prescriber/prescriptions/{prescription_id}/void",
             lambda w: Call(w.doc, "POST", f"{D}/prescriptions/{w.rx}/void"), 200,
             (lambda w: Call(w.doc, "POST", f"{D}/prescriptions/{LONG}/void"), "prescription_id"),
             lambda w: Call(w.doc, "POST", f"{D}/prescriptions/{w.stranger_rx}/void")),
    Endpoint("POST /v1/prescriber/patients/{patient_id}/pregnancy-tests",
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.frp}/pregnancy-tests", _test(w)), 201,
             (lambda w: Call(w.doc, "POST", f"{D}/patients/{w.frp}/pregnancy-tests",
                             _test(w, sensitivity_miu_per_ml=0)), "sensitivity_miu_per_ml"),
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.stranger}/pregnancy-tests", _test(w))),
    Endpoint("POST /v1/prescriber/patients/{patient_id}/lab-results",  # issue 17 item 1 (labs lane)
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.male}/lab-results", _lab(w)), 201,
             (lambda w: Call(w.doc, "POST", f"{D}/patients/{w.male}/lab-results", _lab(w, value=-1)), "value"),
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.stranger}/lab-results", _lab(w))),
    Endpoint("GET /v1/prescriber/patients/{patient_id}/lab-results",
             lambda w: Call(w.doc, "GET", f"{D}/patients/{w.male}/lab-results"), 200,
             (lambda w: Call(w.doc, "GET", f"{D}/patients/{LONG}/lab-results"), "patient_id"),
             lambda w: Call(w.doc, "GET", f"{D}/patients/{w.stranger}/lab-results")),
    Endpoint("POST /v1/prescriber/patients/{patient_id}/ppaf",
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.male}/ppaf",
                            {"ppaf": {"category": "adult_male"}}), 201,
             (lambda w: Call(w.doc, "POST", f"{D}/patients/{w.male}/ppaf",
                             {"ppaf": {"category": "alien"}}), "ppaf.category"),
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.stranger}/ppaf",
                            {"ppaf": {"category": "adult_male"}})),
    Endpoint("POST /v1/prescriber/patients/{patient_id}/missed-period",
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.frp}/missed-period"), 200,
             (lambda w: Call(w.doc, "POST", f"{D}/patients/{w.male}/missed-period"), "patient_id"),
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.stranger}/missed-period")),
    Endpoint("POST /v1/prescriber/patients/{patient_id}/pregnancy-report",
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.frp}/pregnancy-report", {"source": "patient"}),
             201, (lambda w: Call(w.doc, "POST", f"{D}/patients/{w.frp}/pregnancy-report", {"source": "x"}),
                   "source"),
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.stranger}/pregnancy-report", {})),
    Endpoint("POST /v1/prescriber/patients/{patient_id}/time-zone",
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.male}/time-zone", {"time_zone": "America/Chicago"}),
             200, (lambda w: Call(w.doc, "POST", f"{D}/patients/{w.male}/time-zone", {"time_zone": "Nowhere"}),
                   "time_zone"),
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.stranger}/time-zone", {"time_zone": "UTC"})),
    Endpoint("POST /v1/prescriber/patients/{patient_id}/cycles",
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.frp}/cycles", {"regular": False}), 200,
             (lambda w: Call(w.doc, "POST", f"{D}/patients/{w.frp}/cycles", {"regular": "maybe"}), "regular"),
             lambda w: Call(w.doc, "POST", f"{D}/patients/{w.stranger}/cycles", {"regular": False})),
    _therapy("interrupt", lambda w: w.male),
    _therapy("resume", _interrupted),
    _therapy("discontinue", lambda w: w.male),
    Endpoint("POST /v1/patient/survey", lambda w: Call(w.male, "POST", "/v1/patient/survey", {
                 "answers": survey_answers.API["pomalidomide"]}), 201,
             (lambda w: Call(w.male, "POST", "/v1/patient/survey", {"respondent": "dog"}), "respondent")),
    Endpoint("POST /v1/admin/prescribers",
             lambda w: Call(ADMIN, "POST", f"{A}/prescribers", {
                 "name": "Dr New", "npi": "1234567893", "attested": True, "education_reviewed": True}),
             201, (lambda w: Call(ADMIN, "POST", f"{A}/prescribers", {
                 "name": "Dr New", "npi": "12ab", "attested": True, "education_reviewed": True}), "npi")),
    Endpoint("POST /v1/admin/pharmacies",
             lambda w: Call(ADMIN, "POST", f"{A}/pharmacies", {
                 "name": "Ph", "ncpdp_id": "7654321", "representative_enrolled": True, "staff_trained": True,
                 "records_and_audits_accepted": True}), 201,
             (lambda w: Call(ADMIN, "POST", f"{A}/pharmacies", {"name": "Ph", "ncpdp_id": "76"}),
              "ncpdp_id")),
    Endpoint("POST /v1/admin/prescribers/{record_id}/{trigger}",
             lambda w: Call(ADMIN, "POST", f"{A}/prescribers/{w.prescriber(certify=False)}/certify",
                            {"program_id": "pomalidomide"}), 200,
             # R1, R25: several programs are loaded, so the certification must name one
             (lambda w: Call(ADMIN, "POST", f"{A}/prescribers/{w.prescriber(certify=False)}/certify"),
              "program_id"),
             lambda w: Call(ADMIN, "POST", f"{A}/prescribers/{w.pharm}/suspend", {"program_id": "pomalidomide"})),
    Endpoint("POST /v1/admin/pharmacies/{record_id}/{trigger}",
             lambda w: Call(ADMIN, "POST", f"{A}/pharmacies/{w.other_pharm}/suspend",
                            {"program_id": "pomalidomide"}), 200,
             (lambda w: Call(ADMIN, "POST", f"{A}/pharmacies/{w.pharm}/promote", {"program_id": "pomalidomide"}),
              "trigger"),
             lambda w: Call(ADMIN, "POST", f"{A}/pharmacies/{w.doc}/suspend", {"program_id": "pomalidomide"})),
    Endpoint("GET /v1/admin/prescribers/{record_id}", lambda w: Call(ADMIN, "GET", f"{A}/prescribers/{w.doc}"),
             200),
    Endpoint("GET /v1/admin/pharmacies/{record_id}", lambda w: Call(ADMIN, "GET", f"{A}/pharmacies/{w.pharm}"),
             200),
    Endpoint("GET /v1/admin/audit/{entity}/{entity_id}",
             lambda w: Call(ADMIN, "GET", f"{A}/audit/prescription/{w.rx}"), 200,
             (lambda w: Call(ADMIN, "GET", f"{A}/audit/spaceship/{w.rx}"), "entity"),
             lambda w: Call(ADMIN, "GET", f"{A}/audit/patient/{w.rx}")),
    Endpoint("POST /v1/admin/patients/{patient_id}/transfer",
             lambda w: Call(ADMIN, "POST", f"{A}/patients/{w.male}/transfer",
                            {"to_prescriber_id": w.prescriber()}), 200,
             (lambda w: Call(ADMIN, "POST", f"{A}/patients/{w.male}/transfer", {"to_prescriber_id": ""}),
              "to_prescriber_id")),
    Endpoint("POST /v1/admin/patients/{patient_id}/readmission",
             lambda w: Call(ADMIN, "POST", f"{A}/patients/{_stopped(w)}/readmission",
                            {"reason": "reviewed"}), 201,
             (lambda w: Call(ADMIN, "POST", f"{A}/patients/{w.male}/readmission", {"reason": ""}), "reason")),
    Endpoint("POST /v1/admin/patients/{patient_id}/facts",
             lambda w: Call(ADMIN, "POST", f"{A}/patients/{w.frp}/facts",
                            {"facts": {**_FACTS, "hysterectomy": True}, "reason": "surgery recorded late"}), 200,
             (lambda w: Call(ADMIN, "POST", f"{A}/patients/{w.frp}/facts",
                             {"facts": {k: v for k, v in _FACTS.items() if k != "menarche"}, "reason": "x"}),
              "facts.menarche")),
    Endpoint("POST /v1/admin/sweep", lambda w: Call(ADMIN, "POST", f"{A}/sweep"), 200),
    Endpoint("GET /v1/admin/notifications", lambda w: Call(ADMIN, "GET", f"{A}/notifications"), 200,
             (lambda w: Call(ADMIN, "GET", f"{A}/notifications", params={"state": "lost"}), "state")),
    Endpoint("GET /v1/admin/notifications/parked", lambda w: Call(ADMIN, "GET", f"{A}/notifications/parked"),
             200, (lambda w: Call(ADMIN, "GET", f"{A}/notifications/parked", params={"limit": 0}), "limit")),
    Endpoint("POST /v1/admin/notification-retries/{notification_id}",
             lambda w: Call(ADMIN, "POST", f"{A}/notification-retries/{park_one(w.app)}"), 200),
    Endpoint("GET /v1/admin/reports/period", lambda w: Call(ADMIN, "GET", f"{A}/reports/period", params=PERIOD),
             200, (lambda w: Call(ADMIN, "GET", f"{A}/reports/period", params=BACKWARDS), "end")),
    Endpoint("GET /v1/admin/reports/prescribers",
             lambda w: Call(ADMIN, "GET", f"{A}/reports/prescribers", params=PERIOD), 200,
             (lambda w: Call(ADMIN, "GET", f"{A}/reports/prescribers", params=BACKWARDS), "end")),
    Endpoint("GET /v1/admin/reports/pharmacies",
             lambda w: Call(ADMIN, "GET", f"{A}/reports/pharmacies", params=PERIOD), 200,
             (lambda w: Call(ADMIN, "GET", f"{A}/reports/pharmacies", params=BACKWARDS), "end")),
    Endpoint("GET /v1/admin/reports/patients/{patient_id}/history",
             lambda w: Call(ADMIN, "GET", f"{A}/reports/patients/{w.male}/history"), 200),
    Endpoint("GET /v1/admin/reports/plots/{kind}",
             lambda w: Call(ADMIN, "GET", f"{A}/reports/plots/refusals", params=PERIOD), 200,
             (lambda w: Call(ADMIN, "GET", f"{A}/reports/plots/refusals", params=BACKWARDS), "end"),
             content_type="image/png"),
    Endpoint("GET /v1/admin/audit/verify", lambda w: Call(ADMIN, "GET", f"{A}/audit/verify"), 200,
             (lambda w: Call(ADMIN, "GET", f"{A}/audit/verify", params={"head_seq": 3}), "head_hash")),
    Endpoint("GET /v1/admin/programs/{program_id}/status", lambda w: Call(ADMIN, "GET", f"{PROG}/status"), 200),
    Endpoint("POST /v1/admin/programs/{program_id}/status",
             lambda w: Call(ADMIN, "POST", f"{PROG}/status", {
                 "state": "closed_to_new_enrollment", "effective_from": "2026-03-02", "reason": "FDA"}), 201,
             (lambda w: Call(ADMIN, "POST", f"{PROG}/status", {
                 "state": "eliminated", "effective_from": "2026-03-01", "reason": "FDA"}), "effective_from")),
    Endpoint("GET /v1/admin/programs/{program_id}/relaxations",
             lambda w: Call(ADMIN, "GET", f"{PROG}/relaxations"), 200),
    Endpoint("POST /v1/admin/programs/{program_id}/relaxations/{name}/activate",
             lambda w: (_activation(w), Call(ADMIN, "POST", f"{PROG}/relaxations/portal_down/activate",
                                             {"reason": "outage"}))[1], 201,
             (lambda w: Call(ADMIN, "POST", f"{PROG}/relaxations/portal_down/activate",
                             {"reason": "outage", "hours": 0}), "hours")),
    Endpoint("POST /v1/admin/programs/{program_id}/relaxations/activations/{activation_id}/approve",
             lambda w: Call(ADMIN, "POST", f"{PROG}/relaxations/activations/{_activation(w)}/approve"), 200),
    Endpoint("POST /v1/admin/programs/{program_id}/relaxations/activations/{activation_id}/revoke",
             lambda w: Call(ADMIN, "POST", f"{PROG}/relaxations/activations/{_activation(w)}/revoke"), 200),
    Endpoint("GET /v1/admin/programs/{program_id}/waiver-uses",
             lambda w: Call(ADMIN, "GET", f"{PROG}/waiver-uses"), 200,
             (lambda w: Call(ADMIN, "GET", f"{PROG}/waiver-uses", params={"waiver": "x" * 81}), "waiver")),
    Endpoint("GET /v1/admin/programs", lambda w: Call(ADMIN, "GET", f"{A}/programs"), 200),
    Endpoint("GET /v1/admin/programs/{program_id}/requirements",
             lambda w: Call(ADMIN, "GET", f"{PROG}/requirements"), 200),
    Endpoint("POST /v1/admin/programs/{program_id}/diff",
             lambda w: Call(ADMIN, "POST", f"{PROG}/diff", {"toml": POMALIDOMIDE, "on": "2027-01-01"}), 200,
             (lambda w: Call(ADMIN, "POST", f"{PROG}/diff", {
                 "toml": POMALIDOMIDE.replace('time_zone = "America/New_York"', 'time_zone = "Mars/Olympus"', 1)}),
              "time_zone")),
]
