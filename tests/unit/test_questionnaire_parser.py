"""Issue 16 item 3: the questionnaire files a program names are validated at load, naming the file
and the field (ProgramError), as every other part of a program file is."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows.program import PROGRAM_DIR, ProgramError, load_programs, parse_program
from workflows.questionnaires import PLACEHOLDER, QUESTIONNAIRE_DIR

BASE = (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")
FORMS = (QUESTIONNAIRE_DIR / "pomalidomide.toml").read_text(encoding="utf-8")
LINE = 'questionnaires = "pomalidomide.toml"'


def refused(forms: str, tmp_path: Path) -> ProgramError:
    path = tmp_path / "forms.toml"
    path.write_text(forms, encoding="utf-8")
    with pytest.raises(ProgramError) as error:
        parse_program(BASE.replace(LINE, f'questionnaires = "{path}"', 1), "test.toml")
    assert error.value.source == "test.toml"
    assert "forms.toml" in error.value.field  # the questionnaire file is named too
    return error.value


def edited(old: str, new: str) -> str:
    assert old in FORMS, f"the shipped file no longer contains {old!r}"
    return FORMS.replace(old, new, 1)


def test_the_shipped_programs_declare_their_forms() -> None:
    programs = load_programs()
    for pid in ("pomalidomide", "lenalidomide", "thalidomide"):
        forms = {q.form: q for q in programs[pid].questionnaires}
        assert set(forms) == {"enrollment", "patient_survey", "prescriber_survey", "counselling"}
        ppafs = [q for q in programs[pid].questionnaires if q.form == "enrollment"]
        assert sorted(c for q in ppafs for c in q.applies_to or ()) == sorted(
            ["adult_frp", "child_frp", "adult_fnrp", "child_fnrp", "adult_male", "child_male"])  # R5a
        assert forms["patient_survey"].knowledge_items  # a wrong answer fails it
    ipledge = {q.form: q for q in programs["ipledge"].questionnaires}
    assert ipledge["patient_survey"].applies_to == {"adult_frp", "child_frp"}  # comprehension for FRP (IP6)
    assert len(ipledge["patient_survey"].knowledge_items) >= 3
    for program in programs.values():  # unpublished wording is marked, never passed off as the program's
        for spec in program.questionnaires:
            assert PLACEHOLDER in (spec.note or "")


@pytest.mark.parametrize(("old", "new", "field", "reason"), [
    ('link_id = "share"', 'link_id = "share"\ncolour = "red"', "questionnaire[6].item[0].colour", "unknown field"),
    ('requirement = "patient-survey"', 'requirement = "no-such"', "questionnaire[6].requirement",
     "no [[requirements]]"),
    ('requirement = "patient-survey"', 'requirement = "prescriber-survey"', "questionnaire[6].requirement",
     "of the patient"),
    ('correct = "Return them to the pharmacy or the program"', 'correct = "Sell them"',
     "questionnaire[6].item[2].correct", "one of the options"),
    ('link_id = "donate-blood"', 'link_id = "share"', "questionnaire[6].item[1].link_id", "twice"),
    ('id = "pomalidomide-patient-survey"', 'id = "lenalidomide-patient-survey"', "questionnaire[6].id",
     "must begin with"),
    ('form = "patient_survey"', 'form = "quiz"', "questionnaire[6].form", "must be one of"),
    ('maps_to = "prescription_id"', 'maps_to = "name"', "questionnaire[7].item[0].maps_to", "must be one of"),
    ('applies_to = ["adult_male"]', 'applies_to = ["adult_male", "child_male"]', "questionnaire[4].applies_to",
     "one risk category"),
])
def test_a_bad_questionnaire_is_refused_naming_file_and_field(tmp_path: Path, old: str, new: str, field: str,
                                                              reason: str) -> None:
    error = refused(edited(old, new), tmp_path)
    assert error.field.endswith(f": {field})"), error.field
    assert reason in error.reason


def test_a_knowledge_answer_must_fit_its_type(tmp_path: Path) -> None:
    error = refused(edited('type = "boolean"\ncorrect = false', 'type = "boolean"\ncorrect = "no"'), tmp_path)
    assert error.field.endswith("item[0].correct)") and "true or false" in error.reason


def test_a_checklist_has_no_knowledge_questions(tmp_path: Path) -> None:
    error = refused(edited('text = "The Medication Guide was given"\ntype = "boolean"',
                           'text = "The Medication Guide was given"\ntype = "boolean"\ncorrect = true'), tmp_path)
    assert "correct" in error.field and "checklist" in error.reason


def test_not_toml_is_refused(tmp_path: Path) -> None:
    assert "not valid TOML" in refused("[[questionnaire]\n", tmp_path).reason


@pytest.mark.parametrize(("value", "reason"), [('"missing.toml"', "no questionnaire file"),
                                               ('"../pomalidomide.toml"', "no questionnaire file"),
                                               ('"forms.json"', "must name a .toml file"), ("3", "must name")])
def test_the_program_must_name_an_existing_questionnaire_file(value: str, reason: str) -> None:
    with pytest.raises(ProgramError) as error:
        parse_program(BASE.replace(LINE, f"questionnaires = {value}", 1), "test.toml")
    assert (error.value.source, error.value.field) == ("test.toml", "questionnaires")
    assert reason in error.value.reason


def test_a_program_without_forms_still_loads() -> None:
    program = parse_program(BASE.replace(LINE, "", 1), "test.toml")
    assert program.questionnaires == ()


# -- translations (issue 18 item 5 for the forms) ----------------------------------------------
def test_the_pomalidomide_patient_survey_carries_its_spanish_texts() -> None:
    [survey] = [q for q in load_programs()["pomalidomide"].questionnaires if q.form == "patient_survey"]
    assert survey.title_in("es").startswith("Encuesta del paciente")
    share = survey.item("share")
    assert share is not None and share.text_in("es").startswith("¿Puede compartir")
    assert share.text_in("fr") == share.text  # no such language: the file's own text
    choice = survey.item("return-unused")
    assert choice is not None
    # shown in Spanish, answered with the source option: grading does not depend on the language
    assert choice.choices_in("es")[0] == ("Return them to the pharmacy or the program",
                                          "Devolverlas a la farmacia o al programa")
    assert all(item.text_in("es") != item.text for item in survey.items)  # every question translated


def test_the_questionnaire_languages_are_the_dashboards_catalogues() -> None:
    from rems.i18n import DEFAULT, LOCALES
    from workflows.questionnaires import LANGUAGES

    assert set(LANGUAGES) == set(LOCALES) - {DEFAULT}


@pytest.mark.parametrize(("old", "new", "field"), [
    ('es.options = ["Devolverlas a la farmacia o al programa", "Guardarlas para más adelante", '
     '"Dárselas a otra persona"]', 'es.options = ["Devolverlas"]', "es.options"),
    ('es.text = "¿Puede compartir', 'es.texto = "¿Puede compartir', "es.texto"),
    ('[questionnaire.es]\ntitle = "Encuesta', '[questionnaire.es]\ntitulo = "Encuesta', "es.titulo"),
])
def test_a_bad_translation_is_refused_naming_its_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    assert field in refused(edited(old, new), tmp_path).field
