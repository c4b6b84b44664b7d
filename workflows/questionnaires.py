"""Issue 16 item 3: a program's forms (PPAF per category, surveys, counselling checklist) as data.

A program file names its questionnaire file: `questionnaires = "pomalidomide.toml"`, a TOML file in
workflows/programs/questionnaires/ (an absolute path works too). Each `[[questionnaire]]` is one
form, each `[[questionnaire.item]]` one question; rems/interop/questionnaires.py serves them as FHIR
Questionnaires. A knowledge question carries its `correct` answer: one wrong answer fails the
survey (R20/R19: a failed survey is recorded and audited, and does not count); on an enrollment
form `correct` marks an agreement the PPAF needs (any other answer: not enrolled). Errors are
ProgramError(source, field, reason) naming the questionnaire file and the field.

Translations (issue 18 item 5): a form may carry `[questionnaire.es]` (title, note) and an item
`[questionnaire.item.es]` (text, and for a choice its options in the same order). Only what is shown
is translated: a choice's answer stays its source option, so grading and the stored answers do not
depend on the reader's language.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflows.vocabulary import RequirementSpec

QUESTIONNAIRE_DIR = Path(__file__).parent / "programs" / "questionnaires"
# form -> (the requirement kind it satisfies, the respondent option of that kind, if any)
FORMS: dict[str, tuple[str | None, str | None]] = {
    "enrollment": (None, None), "patient_survey": ("survey", "patient"),
    "prescriber_survey": ("survey", "prescriber"), "counselling": ("counselling", None)}
TYPES = ("boolean", "choice", "string", "date", "display")
# enrollment only: the enrollment command's fields an item may fill (rems.services.commands.EnrollPatient)
ENROLLMENT_FIELDS = ("name", "sex", "birth_date", "cycles_regular", "time_zone", "facts.menarche",
                     "facts.hysterectomy", "facts.bilateral_oophorectomy", "facts.postmenopausal_since",
                     "ppaf.signed_by", "ppaf.guardian_name")
PRESCRIPTION_FIELD = "prescription_id"  # a prescriber survey names its prescription (R19)
PLACEHOLDER = "[placeholder: a program administrator replaces this]"
LANGUAGES = ("es",)  # the dashboard's catalogues besides English (rems/i18n LOCALES; a unit test keeps them in step)
_FORM_KEYS = {"id", "form", "title", "requirement", "applies_to", "item", "note", *LANGUAGES}
_ITEM_KEYS = {"link_id", "text", "type", "options", "correct", "required", "maps_to", *LANGUAGES}


@dataclass(frozen=True)
class ItemSpec:
    link_id: str
    text: str
    type: str
    options: tuple[str, ...] = ()
    correct: bool | str | None = None  # a knowledge question's right answer (None: not graded)
    required: bool = True
    maps_to: str | None = None  # enrollment: the command field; prescriber survey: prescription_id
    translations: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (language, text, options shown)

    @property
    def knowledge(self) -> bool:
        return self.correct is not None

    def text_in(self, lang: str) -> str:
        return next((text for code, text, _ in self.translations if code == lang), self.text)

    def choices_in(self, lang: str) -> list[tuple[str, str]]:
        """(the option answered, the option shown in `lang`) for each option, in order."""
        shown = next((options for code, _, options in self.translations if code == lang and options), self.options)
        return list(zip(self.options, shown, strict=True))


@dataclass(frozen=True)
class QuestionnaireSpec:
    id: str
    form: str
    title: str
    items: tuple[ItemSpec, ...]
    requirement: str | None = None  # the [[requirements]] id it satisfies
    applies_to: frozenset[str] | None = None  # risk categories (enrollment: the PPAF's category)
    note: str | None = None
    translations: tuple[tuple[str, str | None, str | None], ...] = ()  # (language, title, note)

    def title_in(self, lang: str) -> str:
        return next((title for code, title, _ in self.translations if code == lang and title), self.title)

    def note_in(self, lang: str) -> str | None:
        return next((note for code, _, note in self.translations if code == lang and note), self.note)

    @property
    def knowledge_items(self) -> tuple[ItemSpec, ...]:
        return tuple(item for item in self.items if item.knowledge)

    def item(self, link_id: str) -> ItemSpec | None:
        return next((i for i in self.items if i.link_id == link_id), None)


class QuestionnaireError(ValueError):
    def __init__(self, source: str, field: str, reason: str) -> None:
        super().__init__(f"{source}: {field}: {reason}")
        self.source, self.field, self.reason = source, field, reason


def _text(source: str, where: str, raw: Mapping[str, Any], key: str, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise QuestionnaireError(source, where + key, "required text")
    return value.strip()


def _item(source: str, where: str, raw: Any, form: str) -> ItemSpec:
    if not isinstance(raw, dict):
        raise QuestionnaireError(source, where.rstrip("."), "must be a [[questionnaire.item]] table")
    unknown = sorted(set(raw) - _ITEM_KEYS)
    if unknown:
        raise QuestionnaireError(source, where + unknown[0], "unknown field")
    link_id = _text(source, where, raw, "link_id")
    assert link_id is not None
    if len(link_id) > 64 or not all(c.isalnum() or c in "-_." for c in link_id):
        raise QuestionnaireError(source, where + "link_id", "letters, digits, - _ . only (64 at most)")
    text = _text(source, where, raw, "text")
    assert text is not None
    kind = raw.get("type")
    if kind not in TYPES:
        raise QuestionnaireError(source, where + "type", f"must be one of {', '.join(TYPES)}")
    options = raw.get("options", [])
    if kind == "choice":
        if not isinstance(options, list) or len(options) < 2 or not all(
                isinstance(o, str) and o.strip() for o in options) or len(set(options)) != len(options):
            raise QuestionnaireError(source, where + "options", "a choice needs two or more distinct texts")
    elif "options" in raw:
        raise QuestionnaireError(source, where + "options", "only a choice has options")
    correct = raw.get("correct")
    if correct is not None:
        if form == "counselling":
            raise QuestionnaireError(source, where + "correct", "a checklist has no knowledge questions")
        if kind == "boolean" and not isinstance(correct, bool):
            raise QuestionnaireError(source, where + "correct", "must be true or false")
        if kind == "choice" and correct not in options:
            raise QuestionnaireError(source, where + "correct", "must be one of the options")
        if kind not in ("boolean", "choice"):
            raise QuestionnaireError(source, where + "correct", "only a boolean or choice question is graded")
    required = raw.get("required", kind != "display")
    if not isinstance(required, bool) or (kind == "display" and required):
        raise QuestionnaireError(source, where + "required", "must be true or false (a display is never required)")
    maps_to = raw.get("maps_to")
    allowed = ENROLLMENT_FIELDS if form == "enrollment" else \
        (PRESCRIPTION_FIELD,) if form == "prescriber_survey" else ()
    if maps_to is not None and maps_to not in allowed:
        raise QuestionnaireError(source, where + "maps_to", f"must be one of {', '.join(allowed)}"
                                 if allowed else "this form fills no command field")
    return ItemSpec(link_id, text, kind, tuple(options), correct, required, maps_to,
                    _item_translations(source, where, raw, tuple(options)))


def _translated(source: str, where: str, raw: Mapping[str, Any], allowed: set[str]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for lang in LANGUAGES:
        table = raw.get(lang)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise QuestionnaireError(source, where + lang, f"must be a [...{lang}] table")
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise QuestionnaireError(source, f"{where}{lang}.{unknown[0]}", "unknown field")
        out.append((lang, table))
    return out


def _item_translations(source: str, where: str, raw: Mapping[str, Any],
                       options: tuple[str, ...]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    out = []
    for lang, table in _translated(source, where, raw, {"text", "options"}):
        text = _text(source, f"{where}{lang}.", table, "text")
        assert text is not None
        shown = table.get("options", [])
        if shown and (not options or not isinstance(shown, list) or len(shown) != len(options)
                      or not all(isinstance(o, str) and o.strip() for o in shown)):
            raise QuestionnaireError(source, f"{where}{lang}.options",
                                     f"a choice's {len(options)} options, translated in the same order")
        out.append((lang, text, tuple(shown)))
    return tuple(out)


def _form(source: str, where: str, raw: Any, program_id: str,
          requirements: Mapping[str, RequirementSpec]) -> QuestionnaireSpec:
    if not isinstance(raw, dict):
        raise QuestionnaireError(source, where.rstrip("."), "must be a [[questionnaire]] table")
    unknown = sorted(set(raw) - _FORM_KEYS)
    if unknown:
        raise QuestionnaireError(source, where + unknown[0], "unknown field")
    qid, title = _text(source, where, raw, "id"), _text(source, where, raw, "title")
    assert qid is not None and title is not None
    if not qid.startswith(program_id + "-") or len(qid) > 64 or not all(c.isalnum() or c in "-." for c in qid):
        raise QuestionnaireError(source, where + "id", f"must begin with {program_id + '-'!r} (a FHIR id: "
                                 "letters, digits, - . only, 64 at most)")
    form = raw.get("form")
    if form not in FORMS:
        raise QuestionnaireError(source, where + "form", f"must be one of {', '.join(FORMS)}")
    requirement = _text(source, where, raw, "requirement", required=form != "enrollment")
    kind, respondent = FORMS[form]
    if requirement is not None:
        spec = requirements.get(requirement)
        if spec is None:
            raise QuestionnaireError(source, where + "requirement", f"no [[requirements]] with id {requirement!r}")
        if spec.kind != kind or (respondent and spec.options.get("respondent") != respondent):
            raise QuestionnaireError(source, where + "requirement", f"{requirement!r} is not a "
                                     f"{kind or 'enrollment'} requirement{f' of the {respondent}' if respondent else ''}")
    from workflows.program import CATEGORIES  # R5a; the program module imports this one

    applies = raw.get("applies_to")
    if applies is not None and (not isinstance(applies, list) or not applies
                                or any(c not in CATEGORIES for c in applies)):
        raise QuestionnaireError(source, where + "applies_to", "must list risk categories (R5a)")
    if form == "enrollment" and (applies is None or len(applies) != 1):
        raise QuestionnaireError(source, where + "applies_to", "an enrollment form (PPAF) is for one risk category")
    items = raw.get("item")
    if not isinstance(items, list) or not items:
        raise QuestionnaireError(source, where + "item", "at least one [[questionnaire.item]] is required")
    parsed = tuple(_item(source, f"{where}item[{i}].", item, form) for i, item in enumerate(items))
    seen: set[str] = set()
    for i, item in enumerate(parsed):
        if item.link_id in seen:
            raise QuestionnaireError(source, f"{where}item[{i}].link_id", f"{item.link_id!r} twice")
        seen.add(item.link_id)
    if form == "enrollment":
        for needed in ("name", "sex", "birth_date"):
            if not any(item.maps_to == needed for item in parsed):
                raise QuestionnaireError(source, where + "item", f"no item maps_to {needed!r} (the enrollment needs it)")
    if form == "prescriber_survey" and not any(item.maps_to == PRESCRIPTION_FIELD for item in parsed):
        raise QuestionnaireError(source, where + "item", f"no item maps_to {PRESCRIPTION_FIELD!r} (R19: the "
                                 "survey is for one prescription)")
    note = _text(source, where, raw, "note", required=False)
    translations = tuple((lang, _text(source, f"{where}{lang}.", table, "title", required=False),
                          _text(source, f"{where}{lang}.", table, "note", required=False))
                         for lang, table in _translated(source, where, raw, {"title", "note"}))
    return QuestionnaireSpec(qid, form, title, parsed, requirement,
                             frozenset(applies) if applies is not None else None, note, translations)


def parse_questionnaire_text(text: str, source: str, program_id: str,
                             requirements: Sequence[RequirementSpec]) -> tuple[QuestionnaireSpec, ...]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise QuestionnaireError(source, "(file)", f"not valid TOML: {error}") from None
    unknown = sorted(set(raw) - {"questionnaire"})
    if unknown:
        raise QuestionnaireError(source, unknown[0], "unknown field")
    forms = raw.get("questionnaire")
    if not isinstance(forms, list) or not forms:
        raise QuestionnaireError(source, "questionnaire", "at least one [[questionnaire]] is required")
    by_id = {spec.id: spec for spec in requirements}
    parsed = tuple(_form(source, f"questionnaire[{i}].", f, program_id, by_id) for i, f in enumerate(forms))
    seen: set[str] = set()
    for i, spec in enumerate(parsed):
        if spec.id in seen:
            raise QuestionnaireError(source, f"questionnaire[{i}].id", f"{spec.id!r} twice")
        seen.add(spec.id)
    return parsed


def parse_questionnaires(source: str, program_id: Any, value: Any,
                         requirements: Sequence[RequirementSpec]) -> tuple[QuestionnaireSpec, ...]:
    """The program file's `questionnaires` key (a file name; omitted: no forms declared)."""
    from workflows.program import ProgramError  # the program module imports this one

    if value is None:
        return ()
    if not isinstance(value, str) or not value.strip() or not value.endswith(".toml"):
        raise ProgramError(source, "questionnaires", "must name a .toml file in workflows/programs/questionnaires/")
    path = Path(value) if Path(value).is_absolute() else QUESTIONNAIRE_DIR / value
    if not path.is_file() or (not Path(value).is_absolute() and path.resolve().parent != QUESTIONNAIRE_DIR.resolve()):
        raise ProgramError(source, "questionnaires", f"no questionnaire file {value!r}")
    try:
        return parse_questionnaire_text(path.read_text(encoding="utf-8"), path.name, str(program_id), requirements)
    except QuestionnaireError as error:  # names both files: the program's field and the form's
        raise ProgramError(source, f"questionnaires ({error.source}: {error.field})", error.reason) from None
