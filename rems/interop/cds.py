"""CDS Hooks 2.0 services for the prescriber (order-sign, order-select, patient-view): REMS cards.

Cards list exactly the unmet requirements (nothing when all are met), plus a pharmacy card when
the prefetch names a pharmacy; malformed hook input gets one "Bad Request" warning card. A card that
sends the prescriber somewhere carries an absolute `Card.link` (US Medication REMS IG STU2) to our
dashboard, built on the configured public base URL; a card whose remedy is a form adds a `smart`
link with the EHR's context and a deferred-launch Task suggestion (rems/interop/smart.py).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from fhir.resources.R4B.medicationrequest import MedicationRequest
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from rems.domain.catalogue import R5_PATIENT_NOT_ENROLLED, R25_PHARMACY_NOT_CERTIFIED
from rems.domain.requirements import Requirement
from rems.interop import codes, json_input, smart
from rems.interop.smart import Launch
from workflows.program import Program

ORDER_HOOKS = ("order-sign", "order-select")
_PREFETCH = {"patient": "Patient/{{context.patientId}}",
             "pharmacy": "Organization?identifier=" + codes.NCPDP_PROVIDER + "|{{context.pharmacyNcpdpId}}"}
SERVICES: Mapping[str, dict[str, Any]] = {
    "rems-order-sign": {"hook": "order-sign", "title": "REMS requirements before signing",
                        "description": "Lists every unmet REMS requirement (rule id and remedy) for a "
                                       "draft order of a REMS drug, and the pharmacy's certification.",
                        "prefetch": _PREFETCH},
    "rems-order-select": {"hook": "order-select", "title": "REMS requirements for a selected order",
                          "description": "As rems-order-sign, for the orders just selected.",
                          "prefetch": _PREFETCH},
    "rems-patient-view": {"hook": "patient-view", "title": "REMS status of the patient",
                          "description": "Unmet REMS requirements of a patient enrolled in a REMS "
                                         "program (nothing for other patients).",
                          "prefetch": {"patient": _PREFETCH["patient"]}},
}


class Source(BaseModel):
    label: str = Field(min_length=1)
    url: str | None = None
    topic: dict[str, str] | None = None


class Link(BaseModel):
    """CDS Hooks 2.0 Link: an absolute URL either way; `smart` ones are launched by the EHR with
    its context, and only they may carry an `appContext`."""

    label: str = Field(min_length=1)
    url: str
    type: Literal["absolute", "smart"] = "absolute"
    appContext: str | None = None

    @field_validator("url")
    @classmethod
    def _absolute(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("a Card.link url is absolute (scheme and host)")
        return url

    @model_validator(mode="after")
    def _context_only_for_smart(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only for a smart link")
        return self


class Action(BaseModel):
    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None


class Suggestion(BaseModel):
    label: str = Field(min_length=1)
    uuid: str | None = None
    actions: list[Action] = Field(min_length=1)


class Card(BaseModel):
    """The CDS Hooks card shape; every card we send is built through this model."""

    uuid: str
    summary: str = Field(min_length=1, max_length=140)
    indicator: Literal["info", "warning", "critical"]
    detail: str | None = None
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    links: list[Link] | None = None

    @model_validator(mode="after")
    def _selection_with_suggestions(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:  # CDS Hooks 2.0 (cds-resp-6)
            raise ValueError("a card with suggestions names its selectionBehavior")
        return self


def dashboard_link(base_url: str, label: str, path: str) -> Link:
    """A link to a page of our dashboard (the prescriber logs in there with our own credentials)."""
    return Link(label=label, url=f"{base_url}/web/prescriber{path}")


@dataclass(frozen=True)
class Form:
    """What a card sends the prescriber to do on our dashboard, and the hook's EHR context."""

    link: Link
    launch: Launch | None = None
    rule: str = ""
    what: str = ""


def _form_extras(form: Form, program: Program) -> tuple[list[Link], list[dict[str, Any]]]:
    """The absolute link; for a form rule with an EHR context, the smart link and the Task."""
    if form.launch is None or form.rule not in smart.FORM_RULES:
        return [form.link], []
    context = form.launch.app_context(program.id, form.rule)
    launch = Link(label=f"Launch: {form.link.label}", url=form.link.url, type="smart", appContext=context)
    return [form.link, launch], [smart.deferred(form.launch, form.link.url, context, form.what, program.name)]


def patient_link(base_url: str, patient_id: str) -> Link:
    return dashboard_link(base_url, "Open the patient's REMS record", f"/patients/{quote(patient_id, safe='')}")


class BadHook(ValueError):
    """Malformed hook input: answered with a "Bad Request" warning card."""


class FhirServerRefused(BadHook):
    """A `fhirServer` not allow-listed for the caller (G-3): the Bad Request card, and an audited refusal."""


class EhrUnreadable(Exception):
    """The EHR's FHIR server could not be read (G-3): a clear card (HTTP 412, CDS Hooks 2.0), never a 500."""


class UnacceptableValue(ValueError):
    """A value the engine refuses wherever it comes from (a control character, a number of more
    digits than any field takes): a 422 naming its JSON path, as on every interface (issue 15
    item 6), not a card."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Order:
    codings: tuple[tuple[str, str], ...]
    days_supply: int | None
    refills: int | None
    ref: str | None = None  # "MedicationRequest/<id>" in the EHR, when the draft has an id


@dataclass(frozen=True)
class Hook:
    hook: str
    patient_id: str | None  # our REMS patient id, from prefetch.patient.identifier only
    orders: tuple[Order, ...]
    pharmacy_ncpdp_id: str | None
    ehr_patient: str = ""  # context.patientId
    ehr_user: str | None = None  # context.userId when it is a Practitioner (the deferred Task's owner)

    def launch(self, now: datetime) -> Launch:
        return Launch(self.ehr_patient, self.patient_id, now, tuple(o.ref for o in self.orders if o.ref),
                      self.ehr_user)


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadHook(f"{where} must be a JSON object")
    return value


def _days(mr: MedicationRequest) -> int | None:
    supply = mr.dispenseRequest.expectedSupplyDuration if mr.dispenseRequest else None
    if supply is None or supply.value is None:
        return None
    per = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7}.get(str(supply.code or supply.unit))
    if per is None:
        raise BadHook("dispenseRequest.expectedSupplyDuration: use days (d) or weeks (wk)")
    days = float(supply.value) * per
    if not math.isfinite(days):  # 1e308 weeks overflows: refused, not a 500
        raise BadHook("dispenseRequest.expectedSupplyDuration.value is out of range")
    return math.ceil(days)


def _order(entry: Any, index: int, patient_ref: str) -> Order:
    where = f"context.draftOrders.entry[{index}].resource"
    resource = _obj(entry, f"context.draftOrders.entry[{index}]").get("resource")
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if kind != "MedicationRequest" or not isinstance(resource, dict):
        raise BadHook(f"{where} is {kind or 'missing'}, not a MedicationRequest")
    if not resource.get("medicationCodeableConcept"):
        raise BadHook(f"{where}.medicationCodeableConcept has no code (RxNorm or NDC)")
    try:
        mr = MedicationRequest.model_validate(resource)
    except ValidationError as error:
        first = error.errors()[0]
        at = ".".join(str(p) for p in first["loc"])
        raise BadHook(f"{where} is not a valid MedicationRequest: {at}: {first['msg']}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise BadHook(f"{where} is not a valid MedicationRequest: {error}") from None
    concept = mr.medicationCodeableConcept
    codings = tuple((str(c.system or ""), str(c.code or "")) for c in (concept.coding or [] if concept else []))
    if not codings or not all(code for _, code in codings):
        raise BadHook(f"{where}.medicationCodeableConcept has no code")
    if mr.subject is None or mr.subject.reference != patient_ref:
        raise BadHook(f"{where}.subject does not match context.patientId ({patient_ref})")
    refills = mr.dispenseRequest.numberOfRepeatsAllowed if mr.dispenseRequest else None
    return Order(codings, _days(mr), int(refills) if refills is not None else None,
                 f"MedicationRequest/{mr.id}" if mr.id else None)


def _draft_orders(hook: str, context: dict[str, Any], patient_ref: str) -> tuple[Order, ...]:
    bundle = context.get("draftOrders")
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    if not isinstance(entries, list) or not entries:
        raise BadHook("context.draftOrders holds no draft order")
    orders = []
    selections = context.get("selections") if hook == "order-select" else None
    if hook == "order-select" and (not isinstance(selections, list) or not selections):
        raise BadHook("context.selections names no selected order")
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        ref = f"{resource.get('resourceType')}/{resource.get('id')}" if isinstance(resource, dict) else ""
        if selections is None or ref in selections:
            orders.append(_order(entry, index, patient_ref))
    if not orders:
        raise BadHook("no draft order matches context.selections")
    return tuple(orders)


def _identifier(resource: Any, system: str) -> str | None:
    found = resource.get("identifier") if isinstance(resource, dict) else None
    for identifier in found if isinstance(found, list) else []:  # any other shape names nobody
        if isinstance(identifier, dict) and identifier.get("system") == system and identifier.get("value"):
            return str(identifier["value"])
    return None


# What a prefetch lacks, read elsewhere: (the hook's JSON, missing key -> template, the draft orders)
# -> key -> the resource (or None: no data). Raises BadHook when it must not be read.
Fetch = Callable[[Mapping[str, Any], Mapping[str, str], tuple[Order, ...]], Mapping[str, Any]]


def templates(service_hook: str) -> Mapping[str, str]:
    """The prefetch templates our service for this hook declares in discovery."""
    return next(s["prefetch"] for s in SERVICES.values() if s["hook"] == service_hook)


def parse_hook(service_hook: str, body: bytes, fetch: Fetch | None = None) -> Hook:
    try:
        raw = _obj(json_input.loads(body), "the request")
    except json_input.BadJson as bad:  # issue 15 item 6: huge numbers, control characters, depth
        if bad.where != "body":  # a value at a path: refused as on every interface
            raise UnacceptableValue(bad.where, bad.reason) from None
        raise BadHook(f"the request is not acceptable JSON: {bad}") from None
    if raw.get("hook") != service_hook:
        raise BadHook(f"hook is {raw.get('hook')!r}; this service handles {service_hook!r}")
    if not isinstance(raw.get("hookInstance"), str) or not raw["hookInstance"]:
        raise BadHook("hookInstance is required")
    context = _obj(raw.get("context"), "context")
    patient_key = context.get("patientId")
    if not isinstance(patient_key, str) or not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", patient_key):
        raise BadHook("context.patientId is required (a FHIR id)")
    orders = _draft_orders(service_hook, context, f"Patient/{patient_key}") \
        if service_hook in ORDER_HOOKS else ()
    prefetch = _obj(raw.get("prefetch") or {}, "prefetch")
    missing = {key: url for key, url in templates(service_hook).items() if key not in prefetch}
    if fetch is not None and missing:  # G-3: read from the EHR's FHIR server (rems/interop/ehr_fhir.py)
        prefetch = {**fetch(raw, missing, orders), **prefetch}
    patient = prefetch.get("patient")
    if patient is not None:
        if _obj(patient, "prefetch.patient").get("resourceType") != "Patient":
            raise BadHook("prefetch.patient is not a Patient")
        if patient.get("id") != patient_key:
            raise BadHook(f"prefetch.patient.id does not match context.patientId ({patient_key})")
    elif service_hook in ORDER_HOOKS and "patient" in prefetch:  # CDS Hooks: null is "no data"
        raise BadHook(f"prefetch.patient is null: the EHR has no Patient/{patient_key}")
    elif service_hook in ORDER_HOOKS:
        raise BadHook("prefetch.patient is required: the REMS patient id is read from its identifiers "
                      "(or send fhirServer and fhirAuthorization of an allow-listed EHR)")
    pharmacy = prefetch.get("pharmacy")
    if isinstance(pharmacy, dict) and pharmacy.get("resourceType") == "Bundle":
        entries = pharmacy.get("entry")
        pharmacy = next((e.get("resource") for e in entries if isinstance(e, dict)), None) \
            if isinstance(entries, list) else None
    user = context.get("userId")
    practitioner = user if isinstance(user, str) and re.fullmatch(r"Practitioner/[A-Za-z0-9\-.]{1,64}", user) \
        else None  # a PractitionerRole or Patient user is no Task.owner (the IG's profile: Practitioner only)
    return Hook(service_hook, _identifier(patient, codes.REMS_PATIENT), orders,
                _identifier(pharmacy, codes.NCPDP_PROVIDER), patient_key, practitioner)


def program_of(orders: Sequence[Order], programs: Iterable[Program], on: datetime) -> Program:
    """The one REMS program of the REMS drug ordered on `on`; any other code is unsupported."""
    found = []
    for order in orders:
        program = next((p for s, c in order.codings
                        if (p := codes.program_for_medication(s, c, programs, on))), None)
        if program is None:
            shown = ", ".join(f"{s}|{c}" for s, c in order.codings)
            raise BadHook(f"unsupported medication code ({shown}): not a REMS drug run here "
                          "(RxNorm or NDC)")
        found.append(program)
    if len({p.id for p in found}) > 1:
        raise BadHook("draft orders of more than one REMS program: sign them separately")
    return found[0]


def _card(summary: str, indicator: str, detail: str, label: str, topic: str | None = None,
          links: Sequence[Link] = (), suggestions: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    source: dict[str, Any] = {"label": label}
    if topic:
        source["topic"] = {"system": codes.RULES, "code": topic, "display": codes.requirement_name(topic)}
    card = Card(uuid=str(uuid.uuid4()), summary=summary[:140], indicator=indicator,  # type: ignore[arg-type]
                detail=detail, source=Source(**source), links=list(links) or None,
                suggestions=[Suggestion.model_validate(s) for s in suggestions] or None,
                selectionBehavior="at-most-one" if suggestions else None)
    return card.model_dump(exclude_none=True)


def _form_card(summary: str, indicator: str, detail: str, program: Program, form: Form) -> dict[str, Any]:
    links, suggestions = _form_extras(form, program)
    return _card(summary, indicator, detail, program.name, form.rule, links, suggestions)


def bad_request(reason: str) -> dict[str, Any]:
    return _card("Bad Request", "warning", f"The REMS service could not read this hook: {reason}",
                 "REMS engine")


def requirement_cards(unmet: Sequence[Requirement], program: Program, base_url: str,
                      patient_id: str, launch: Launch | None = None) -> list[dict[str, Any]]:
    """One card per unmet requirement; a positive test or reported pregnancy (R30) is critical.
    With the hook's EHR context (`launch`), a form's card also offers a SMART launch."""
    return [_form_card(f"{program.drug.capitalize()} REMS ({r.rule}): needed — {r.message}",
                       "critical" if r.rule == "R30" else "warning",
                       f"**{r.rule}** `{r.code}`: {r.message}.\n\nTo satisfy it: {r.remedy}.", program,
                       Form(patient_link(base_url, patient_id), launch, r.rule, r.remedy or r.message))
            for r in unmet]


def failure_card(reason: str, program: Program, base_url: str, launch: Launch | None = None) -> dict[str, Any]:
    form = Form(dashboard_link(base_url, "Enroll the patient (PPAF)", "/patients/new"), launch, "R5",
                "enroll the patient (PPAF)")
    return _form_card(f"Patient must be enrolled in the {program.name} before {program.drug} is prescribed",
                      "warning", f"**R5** `{R5_PATIENT_NOT_ENROLLED}`: {reason}. Enroll the patient with a signed "
                      "PPAF, and record our REMS patient id on the patient's chart.", program, form)


def pharmacy_card(ncpdp_id: str, requirement: Requirement | None, program: Program) -> dict[str, Any]:
    if requirement is not None and requirement.met:
        return _card(f"Pharmacy {ncpdp_id} is certified in the {program.name}", "info",
                     "**R25**: the pharmacy can obtain confirmation numbers and dispense.", program.name, "R25")
    why = requirement.message if requirement else "the pharmacy is not enrolled"
    return _card(f"Pharmacy {ncpdp_id} cannot dispense {program.drug}: not certified (R25)", "warning",
                 f"**R25** `{requirement.code if requirement else R25_PHARMACY_NOT_CERTIFIED}`: {why}. "
                 "Send the prescription to a certified pharmacy.", program.name, "R25")


def ehr_unreadable(reason: str) -> dict[str, Any]:
    """The hook lacked a prefetch and the EHR's FHIR server could not be read (G-3)."""
    return _card("REMS requirements not checked: the EHR's FHIR server could not be read", "warning",
                 f"The REMS service needed data this hook did not prefetch and could not read it: {reason}. "
                 "The REMS requirements of this order are unknown, not met: try again, or open the "
                 "patient's REMS record on the dashboard.", "REMS engine")


def unknown_patient_card(rems_id: str, base_url: str) -> dict[str, Any]:
    return _card("REMS patient id not found for this prescriber", "warning",
                 f"No patient of yours has REMS patient id `{rems_id}`: check the id on the chart, "
                 "or enroll the patient (R5).", "REMS engine", "R5",
                 [dashboard_link(base_url, "Your REMS patients", "")])
