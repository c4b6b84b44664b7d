"""Issue 16 item 3: a program's forms as FHIR R4 Questionnaires, `$questionnaire-package` and `$submit`.

Built from workflows/questionnaires.py specs. A choice item's options are a ValueSet (served in
the package Bundle, bound by `answerValueSet`); the correct answers of knowledge questions are never
sent. `$submit` reads a QuestionnaireResponse (validated by the R4B models) into linkId -> answer,
for rems/services/questionnaires.py. Every resource is validated before it is sent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.valueset import ValueSet
from pydantic import ValidationError

from rems.interop import codes, json_input
from rems.interop.fhir import BadParameters
from workflows.program import Program
from workflows.questionnaires import PLACEHOLDER, ItemSpec, QuestionnaireSpec

OPTION_SYSTEM = "urn:rems-engine:questionnaire-option"  # CodeSystem of our options: code = its position
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"  # the file's other-language texts
_TYPE = {"boolean": "boolean", "choice": "choice", "string": "string", "date": "date", "display": "display"}
_VALUES = ("valueBoolean", "valueString", "valueDate", "valueDateTime", "valueInteger", "valueDecimal",
           "valueCoding", "valueTime", "valueUri")


def url(base_url: str, spec: QuestionnaireSpec) -> str:
    return f"{base_url}/fhir/r4/Questionnaire/{spec.id}"


def _value_set_id(spec: QuestionnaireSpec, item: ItemSpec) -> str:
    return f"{spec.id}-{item.link_id}"[:64]


def _value_set_url(base_url: str, spec: QuestionnaireSpec, item: ItemSpec) -> str:
    return f"{base_url}/fhir/r4/ValueSet/{_value_set_id(spec, item)}"


def option_code(item: ItemSpec, text: str) -> str:
    return str(item.options.index(text) + 1)


def _translations(pairs: list[tuple[str, str]]) -> dict[str, Any] | None:
    """FHIR's core translation extension on a string element (`_text`, `_title`), one per language."""
    return {"extension": [{"url": TRANSLATION, "extension": [
        {"url": "lang", "valueCode": lang}, {"url": "content", "valueString": text}]} for lang, text in pairs]} \
        if pairs else None


def value_set(base_url: str, spec: QuestionnaireSpec, item: ItemSpec, now: datetime) -> dict[str, Any]:
    concepts: list[dict[str, Any]] = [{"code": option_code(item, o), "display": o} for o in item.options]
    for lang, _, shown in item.translations:  # the option in another language: a designation
        for concept, text in zip(concepts, shown, strict=False):
            concept.setdefault("designation", []).append({"language": lang, "value": text})
    resource: dict[str, Any] = {
        "resourceType": "ValueSet", "id": _value_set_id(spec, item), "url": _value_set_url(base_url, spec, item),
        "status": "active", "name": "".join(c for c in _value_set_id(spec, item).title() if c.isalnum()),
        "title": f"Options of {spec.id} item {item.link_id}",
        "compose": {"include": [{"system": f"{OPTION_SYSTEM}:{spec.id}:{item.link_id}", "concept": concepts}]},
        "expansion": {"timestamp": now.isoformat(), "contains": [
            {"system": f"{OPTION_SYSTEM}:{spec.id}:{item.link_id}", **c} for c in concepts]}}
    ValueSet.model_validate(resource)
    return resource


def _item(base_url: str, spec: QuestionnaireSpec, item: ItemSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": item.link_id, "text": item.text, "type": _TYPE[item.type]}
    if item.type != "display":
        out["required"] = item.required
    if item.type == "choice":
        out["answerValueSet"] = _value_set_url(base_url, spec, item)
    texts = _translations([(lang, text) for lang, text, _ in item.translations])
    if texts:
        out["_text"] = texts
    if item.knowledge and spec.form != "enrollment":  # graded; the right answer is not sent
        out["code"] = [{"system": codes.RULES, "code": "knowledge", "display": "knowledge question"}]
    return out


def questionnaire(base_url: str, program: Program, spec: QuestionnaireSpec) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire", "id": spec.id, "url": url(base_url, spec),
        "name": "".join(c for c in spec.id.title() if c.isalnum()), "title": spec.title,
        "status": "draft" if PLACEHOLDER in (spec.note or "") else "active", "subjectType": ["Patient"],
        "publisher": program.name, "useContext": [{
            "code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "program"},
            "valueCodeableConcept": {"text": program.id}}],
        "code": [{"system": codes.RULES, "code": spec.form}],
        "item": [_item(base_url, spec, item) for item in spec.items]}
    if spec.note:
        resource["description"] = spec.note
    titles = _translations([(lang, title) for lang, title, _ in spec.translations if title])
    if titles:
        resource["_title"] = titles
    Questionnaire.model_validate(resource)
    return resource


def package(base_url: str, program: Program, spec: QuestionnaireSpec, now: datetime) -> dict[str, Any]:
    """The `$questionnaire-package` Bundle (collection): the Questionnaire and its ValueSets (no
    Libraries: no item is computed by CQL)."""
    resources = [questionnaire(base_url, program, spec)] + [
        value_set(base_url, spec, item, now) for item in spec.items if item.type == "choice"]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": f"{spec.id}-package", "type": "collection",
                              "timestamp": now.isoformat(),
                              "entry": [{"fullUrl": r["url"], "resource": r} for r in resources]}
    Bundle.model_validate(bundle)
    return bundle


def _bad(where: str, reason: str, status: int = 422, code: str = "invalid") -> BadParameters:
    return BadParameters(status, code, where, reason)


def read_response(body: bytes) -> QuestionnaireResponse:
    """A QuestionnaireResponse, or a Parameters with one as `questionnaireResponse`."""
    try:
        raw = json_input.loads(body)
    except json_input.BadJson as bad:
        status = 400 if bad.where == "body" else 422
        raise _bad(bad.where, bad.reason, status, "structure" if status == 400 else "invalid") from None
    if isinstance(raw, dict) and raw.get("resourceType") == "Parameters":
        found = [p.get("resource") for p in raw.get("parameter") or [] if isinstance(p, dict)
                 and p.get("name") in ("questionnaireResponse", "questionnaire-response")]
        raw = found[0] if found else None
    if not isinstance(raw, dict) or raw.get("resourceType") != "QuestionnaireResponse":
        raise _bad("resourceType", "the body must be a QuestionnaireResponse (or Parameters holding one "
                   "as questionnaireResponse)", 400, "structure")
    try:
        return QuestionnaireResponse.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "QuestionnaireResponse"
        raise _bad(f"QuestionnaireResponse.{where}", str(first["msg"]).splitlines()[0], 400, "structure") from None
    except (KeyError, TypeError, ValueError, RecursionError) as error:
        raise _bad("QuestionnaireResponse", f"not a valid R4 QuestionnaireResponse: {error}", 400,
                   "structure") from None


def questionnaire_id(response: QuestionnaireResponse) -> str:
    if response.status not in ("completed", "amended"):
        raise _bad("QuestionnaireResponse.status", "a submitted form is completed (or amended)")
    ref = str(response.questionnaire or "").split("|")[0].rstrip("/")
    if not ref:
        raise _bad("QuestionnaireResponse.questionnaire", "required: the canonical URL of our Questionnaire",
                   422, "required")
    return ref.rsplit("/", 1)[-1]


def subject_patient(response: QuestionnaireResponse) -> str | None:
    """Our REMS patient id named by `subject` (identifier of REMS_PATIENT, or `Patient/<id>`)."""
    subject = response.subject
    if subject is None:
        return None
    if subject.identifier is not None and subject.identifier.system == codes.REMS_PATIENT:
        return str(subject.identifier.value)
    if subject.reference and str(subject.reference).startswith("Patient/"):
        return str(subject.reference).removeprefix("Patient/")
    raise _bad("QuestionnaireResponse.subject", f"name the patient by our REMS id (Identifier system "
               f"{codes.REMS_PATIENT}) or Patient/<id>")


def _answer(item: ItemSpec, answer: Any) -> Any:
    """The answer's value[x] as given; a choice's Coding read as its option (by code or display).
    A value of the wrong type is passed on as it is, so the service names the item and the reason."""
    if item.type == "choice" and answer.valueCoding is not None:
        coding = answer.valueCoding
        by_code = {option_code(item, o): o for o in item.options}
        return by_code.get(str(coding.code)) or (coding.display if coding.display in item.options
                                                 else f"code {coding.code}")
    given = [getattr(answer, name) for name in _VALUES if getattr(answer, name, None) is not None]
    value = given[0] if given else None
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, (bool, str, int, float)) or value is None else str(value)


def answers(spec: QuestionnaireSpec, response: QuestionnaireResponse) -> dict[str, Any]:
    """linkId -> answer (flattening groups); an item of no such linkId is kept (the service names it)."""
    out: dict[str, Any] = {}

    def walk(items: Any) -> None:
        for entry in items or []:
            link = str(entry.linkId)
            if entry.item:
                walk(entry.item)
            given = entry.answer or []
            if len(given) > 1:
                raise _bad(f"QuestionnaireResponse.item[linkId={link}]", "one answer per item")
            if given:
                item = spec.item(link)
                out[link] = _answer(item, given[0]) if item is not None else True
    walk(response.item)
    return out
