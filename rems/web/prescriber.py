"""The prescriber's pages: enrollment status, own patients with their gates, enroll, test, authorize.

Scoped like the API (R1, R5): every read and write names the signed-in prescriber, so another
prescriber's patient is "not found", and that refusal is audited.
"""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends
from starlette.responses import Response

from rems.domain.catalogue import CertificationState
from rems.domain.categories import FRP_CATEGORIES
from rems.domain.errors import DomainError, InvalidInput, NotFound, Refused
from rems.domain.model import Patient
from rems.services.commands import EnrollPatient, RecordPregnancyTest, RenewPpaf, RequestAuthorization, parse
from rems.services.context import Context
from rems.services.enrollment import contacts, patients
from rems.services.ports import UnitOfWork
from rems.services.views import queries, status, web_queries
from rems.web import plain
from rems.web.diagram import diagram
from rems.web.forms import request_unsurveyed, survey_form
from rems.web.pages import Form, Page, page, posted
from rems.web.zones import patient_zone
from workflows.definitions import PATIENT
from workflows.program import CATEGORIES

router = APIRouter(prefix="/web/prescriber", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("prescriber"))]
Poster = Annotated[Page, Depends(posted("prescriber"))]
ZONE_COOKIE = "rems_zone"  # T1: the office's display zone, chosen on the home page


def office_zone(pg: Page) -> str:
    """T1: the zone the office reads times in: its choice (a cookie), else the default program's."""
    chosen = pg.request.cookies.get(ZONE_COOKIE, "")
    if _known_zone(chosen):
        return chosen
    default = pg.app.programs.get(pg.app.settings.default_program)
    return default.time_zone if default else "UTC"


def _known_zone(name: str) -> bool:
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _home(uow: UnitOfWork, ctx: Context, prescriber_id: str, f: web_queries.PatientFilter,
          paging: web_queries.Paging, urgent: web_queries.Paging, lead_days: int,
          lookback_days: int) -> dict[str, Any]:
    me, certifications = queries.prescriber(uow, ctx, prescriber_id)
    needs = web_queries.needs_action(uow, ctx, prescriber_id, lead_days, urgent, lookback_days)
    listing = web_queries.patients_page(uow, ctx, prescriber_id, f, paging)
    shown = [p for p, _ in needs.rows] + [p for p, _ in listing.rows]
    statuses = {p.id: status.patient_status(uow, ctx, p.id, prescriber_id) for p, _ in listing.rows}
    zones = {p.id: patient_zone(uow, p) for p in shown}  # T1: each patient's dates in their zone
    certified = {c.program_id for c in certifications if c.state == CertificationState.CERTIFIED}  # R1: per program
    return {"me": me, "needs": needs, "listing": listing, "zones": zones, "statuses": statuses,
            "office": contacts.of(uow, "prescriber", prescriber_id),  # issue 18
            "certifications": certifications,
            "uncertified": sorted(set(uow.programs) - certified),
            "diagram": diagram("prescriber", certifications[0].state if certifications else "enrolled")}


def _patient(uow: UnitOfWork, ctx: Context, patient_id: str, prescriber_id: str) -> dict[str, Any]:
    found = status.patient_status(uow, ctx, patient_id, prescriber_id)  # NotFound unless theirs
    patient = uow.get(Patient, patient_id)
    params = uow.program(patient.program_id).at(ctx.now)
    diagrams = [diagram("patient", patient.state), diagram("pregnancy_testing", patient.test_phase)]
    # R35: the renewal form answers no fact for the prescriber; it shows what is recorded.
    recorded = {name: getattr(patient, name) for name in ("menarche", "hysterectomy", "bilateral_oophorectomy")}
    ppaf_defaults = {"ppaf.category": found["category"]}
    return {"survey_form": survey_form(uow, patient.program_id) is not None,  # issue 16.3: asked, not ticked
            "patient": patient, "zone": patient_zone(uow, patient), "status": found,
            "contact": contacts.of(uow, "patient", patient_id),
            "strengths": web_queries.strengths(uow, [rx["id"] for rx in found["prescriptions"]]),
            "frp": found["category"] in FRP_CATEGORIES, "ppaf_defaults": ppaf_defaults, "recorded": recorded,
            "categories": [(c, c.replace("_", " ")) for c in CATEGORIES],
            "max_supply_days": params.max_supply_days, "history": web_queries.patient_history(uow, ctx, patient_id),
            "threshold": params.test_detection_threshold_miu_per_ml, "diagrams": diagrams,
            "rx_diagrams": {rx["id"]: diagram("prescription", rx["state"], rx["id"]) for rx in found["prescriptions"]}}


@router.get("")
def home(pg: Viewer, q: str = "", state: str = "", category: str = "", sort: str = "name",
         page: str = "1", size: str = "", urgent: str = "1") -> Response:
    """Needs action first (18.2), then every patient: searched, filtered, sorted, paged in SQL."""
    f = web_queries.PatientFilter(q.strip(), state if state in PATIENT.states else "",
                                  category if category in CATEGORIES else "",
                                  sort if sort in web_queries.PATIENT_SORTS else "name")
    paging = web_queries.paging_of(page, size)
    context = pg.run(_home, pg.actor_id, f, paging, web_queries.paging_of(urgent),
                     pg.app.settings.reminder_lead_days, pg.app.settings.reminder_lookback_days)
    query = {"q": f.search, "state": f.state, "category": f.category, "sort": f.sort, "size": paging.size}
    return pg.render("prescriber/home.html", {
        **context, "f": f, "query": query, "urgent_query": {**query, "page": paging.page},
        "plain": plain, "needs_labels": web_queries.NEEDS, "sizes": web_queries.PAGE_SIZES,
        "states": PATIENT.states, "categories": [(c, plain.category(c)) for c in CATEGORIES],
        "sorts": SORTS, "office_zone": office_zone(pg)})


SORTS = [("name", "name"), ("-enrolled", "newest enrollment"), ("enrolled", "oldest enrollment"),
         ("birth_date", "birth date"), ("state", "state")]


@router.post("/zone")
def choose_zone(pg: Poster) -> Response:
    """T1: the zone this office reads its times in (kept in a cookie of this browser)."""
    chosen = pg.form.text("office_zone").strip()
    if not _known_zone(chosen):
        return pg.render("error.html", {"title": "Unknown time zone",
                                        "detail": f"office_zone: {chosen[:64]!r} is not an IANA time zone "
                                                  "(e.g. America/Chicago)"}, 422)
    response = pg.redirect("/web/prescriber")
    response.set_cookie(ZONE_COOKIE, chosen, max_age=365 * 24 * 3600, httponly=True, samesite="strict",
                        secure=pg.app.settings.env == "production", path="/web")
    return response


def _enroll_context(pg: Page, values: dict[str, str]) -> dict[str, Any]:
    default = pg.app.settings.default_program
    zone = pg.app.programs[default].time_zone if default in pg.app.programs else ""
    return {"values": values, "categories": [(c, c.replace("_", " ")) for c in CATEGORIES],
            "programs": sorted(pg.app.programs), "default_program": default, "default_zone": zone}


@router.get("/patients/new")
def enroll_form(pg: Viewer) -> Response:
    return pg.render("prescriber/enroll.html", _enroll_context(pg, {}))


def _enroll_command(form: Form, pg: Page) -> EnrollPatient:
    form.check()
    system, value = form.opt("identifier.system"), form.opt("identifier.value")
    if bool(system) != bool(value):
        raise InvalidInput("identifier.value" if system else "identifier.system",
                           "give both the identifier and its system, or neither")
    return parse(
        EnrollPatient, program_id=form.opt("program_id") or pg.app.settings.default_program,
        prescriber_id=pg.actor_id, name=form.text("name"), sex=form.text("sex"),
        birth_date=form.opt("birth_date"), cycles_regular=form.flag("cycles_regular"),
        facts=stated_facts(form), ppaf=_signature(form), time_zone=form.opt("time_zone"),
        identifiers=[{"system": system, "value": value}] if system else [], contact=_contact(form))


CONTACT_FIELDS = ("phone", "email", "preferred", "guardian_phone", "guardian_email")


def _contact(form: Form) -> dict[str, str] | None:
    """Issue 18: the contact fields filled in (the command checks them), None when none is."""
    given = {name: value for name in CONTACT_FIELDS if (value := form.opt(f"contact.{name}")) is not None}
    return given or None


_ANSWERS = {"yes": True, "no": False}


def stated_facts(form: Form) -> dict[str, Any] | None:
    """R35: the facts answered; an unanswered one is left out (the command names it), and none
    answered at all is "not applicable" (a male patient)."""
    facts: dict[str, Any] = {}
    for name in ("menarche", "hysterectomy", "bilateral_oophorectomy"):
        answer = form.opt(f"facts.{name}")
        if answer is not None:
            facts[name] = _ANSWERS.get(answer, answer)
    menopause = form.opt("facts.postmenopausal")
    if menopause == "yes" and not form.opt("facts.postmenopausal_since"):
        raise InvalidInput("facts.postmenopausal_since", "give the date menopause began")
    if menopause is not None:
        facts["postmenopausal_since"] = form.opt("facts.postmenopausal_since") if menopause == "yes" \
            else None if menopause == "no" else menopause
    return facts or None


def _signature(form: Form) -> dict[str, Any]:
    return {"category": form.text("ppaf.category"), "signed_by": form.opt("ppaf.signed_by") or "patient",
            "guardian_name": form.opt("ppaf.guardian_name")}


@router.post("/patients/new")
def enroll(pg: Poster) -> Response:
    try:
        patient = pg.run(patients.enroll_patient, _enroll_command(pg.form, pg))
    except Refused as refused:
        if any(f.rule == "R34" for f in refused.failures):  # 18.2: the same person, said plainly
            return pg.render("prescriber/enroll.html", {**_enroll_context(pg, pg.form.values), "plain": plain,
                             "duplicate": [plain.requirement(f) for f in refused.failures]}, 409)
        return pg.failed("prescriber/enroll.html", _enroll_context(pg, pg.form.values), refused)
    except DomainError as error:
        return pg.failed("prescriber/enroll.html", _enroll_context(pg, pg.form.values), error)
    return pg.redirect(f"/web/prescriber/patients/{patient.id}")


@router.get("/patients/{patient_id}")
def patient_page(patient_id: str, pg: Viewer, rx: str = "") -> Response:
    try:
        context = pg.run(_patient, patient_id, pg.actor_id)
    except DomainError as error:
        return pg.failed("error.html", {}, error)
    context["just"] = next((p for p in context["status"]["prescriptions"] if p["id"] == rx), None)
    return pg.render("prescriber/patient.html", {**context, "values": {}, "plain": plain})


def _zone_of(uow: UnitOfWork, ctx: Context, patient_id: str, prescriber_id: str) -> str:
    """T1: the zone the test form names; another prescriber's patient is not found (R5)."""
    patient = uow.get(Patient, patient_id)
    if patient.prescriber_id != prescriber_id:
        raise NotFound("patient", patient_id)
    return patient_zone(uow, patient)


def _again(pg: Page, patient_id: str, error: DomainError, form_name: str) -> Response:
    """The patient page again, with the error beside the form that caused it."""
    if isinstance(error, NotFound):  # not theirs (already audited): nothing to show again
        return pg.failed("error.html", {}, error)
    try:
        context = pg.run(_patient, patient_id, pg.actor_id)
    except DomainError as missing:
        return pg.failed("error.html", {}, missing)
    return pg.failed("prescriber/patient.html", {**context, "values": pg.form.values, "form_name": form_name,
                                                 "just": None, "plain": plain}, error)


@router.post("/patients/{patient_id}/tests")
def record_test(patient_id: str, pg: Poster) -> Response:
    form = pg.form
    try:
        form.check()
        zone = pg.run(_zone_of, patient_id, pg.actor_id)
        cmd = parse(RecordPregnancyTest, patient_id=patient_id, collected_at=form.moment("collected_at", zone),
                    result=form.text("result"), sensitivity_miu_per_ml=form.opt("sensitivity_miu_per_ml"),
                    setting=form.opt("setting") or "lab", home_test_accepted=form.flag("home_test_accepted"))
        pg.run(patients.record_pregnancy_test, cmd, pg.actor_id)
    except DomainError as error:
        return _again(pg, patient_id, error, "test")
    return pg.redirect(f"/web/prescriber/patients/{patient_id}#tests")


@router.post("/patients/{patient_id}/prescriptions")
def request_authorization(patient_id: str, pg: Poster) -> Response:
    form = pg.form
    try:
        form.check()
        cmd = parse(RequestAuthorization, patient_id=patient_id, prescriber_id=pg.actor_id,
                    days_supply=form.opt("days_supply"), quantity=form.opt("quantity"),
                    contraception_counselling_attested=form.flag("contraception_counselling_attested"),
                    prescriber_survey_completed=form.flag("prescriber_survey_completed"),
                    strength=form.opt("strength"))
        outcome = pg.run(request_unsurveyed, cmd)
    except DomainError as error:
        return _again(pg, patient_id, error, "rx")
    return pg.redirect(f"/web/prescriber/patients/{patient_id}?rx={outcome.prescription.id}#result")


@router.post("/patients/{patient_id}/ppaf")
def renew_ppaf(patient_id: str, pg: Poster) -> Response:
    """R8: new facts or a birthday change the category; a PPAF for the new one is signed."""
    form = pg.form
    try:
        form.check()
        cmd = parse(RenewPpaf, patient_id=patient_id, facts=stated_facts(form), ppaf=_signature(form))
        pg.run(patients.renew_ppaf, cmd, pg.actor_id)
    except DomainError as error:
        return _again(pg, patient_id, error, "ppaf")
    return pg.redirect(f"/web/prescriber/patients/{patient_id}")


@router.post("/patients/{patient_id}/time-zone")
def time_zone(patient_id: str, pg: Poster) -> Response:
    """T1: the patient's calendar follows this zone; audited."""
    try:
        pg.form.check()
        pg.run(patients.change_time_zone, patient_id, pg.form.text("time_zone").strip(), pg.actor_id)
    except DomainError as error:
        return _again(pg, patient_id, error, "zone")
    return pg.redirect(f"/web/prescriber/patients/{patient_id}#zone")


@router.post("/patients/{patient_id}/missed-period")
def missed_period(patient_id: str, pg: Poster) -> Response:
    try:
        pg.run(patients.report_missed_period, patient_id, pg.actor_id)
    except DomainError as error:
        return _again(pg, patient_id, error, "hold")
    return pg.redirect(f"/web/prescriber/patients/{patient_id}")
