"""The rule catalogue (issue 19 item 2): rems/domain/catalogue.py against the machines, the gate, the
tree and docs/rules.md.

- every machine of workflows/definitions.py has a states enum and a triggers enum, equal to it
  member for member and in order;
- every rule code is a constant whose name is its value, and no other module of rems/ or workflows/
  spells one (a code built at run time, or copied, fails here);
- the gate and the machines agree: every state a machine can be in has a gate answer, and the
  states the gate accepts for a stage are those the machine fires the stage's trigger from;
- docs/rules.md is true of the tree (the newcomer's minute): every rule id of REMS_RULES.md has a
  row, every code appears, every file, function and test it names exists, each code is produced
  in a file of its row, each test file of a row asserts one of its codes or its rule id.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path
from typing import get_args

import pytest

from rems.domain import catalogue, gate
from rems.domain.catalogue import (
    AUTHORIZATION_STATE_CODES,
    CERTIFICATION_TRIGGERS,
    MACHINES,
    STATE_FOR_STAGE,
    CertificationState,
    ConfirmationState,
    PatientState,
    PrescriptionState,
    sources,
)
from tests.unit.builders import T0, certification, decide, failing, male_case, params, with_rx
from workflows import vocabulary
from workflows.definitions import CONFIRMATION, PATIENT, PHARMACY, PRESCRIBER, PRESCRIPTION, WORKFLOWS

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "rems" / "domain" / "catalogue.py"
RULES_MD = ROOT / "docs" / "rules.md"
REMS_RULES = Path("/work/shared/REMS_RULES.md")
CODE_TOKEN = re.compile(r"(?<![A-Za-z0-9_])R\d+[a-z]?_[A-Z][A-Z0-9_]*")
EXAMPLE = re.compile(r"e\.g\. R\d+[a-z]?_[A-Z][A-Z0-9_]*")  # prose naming a code as an example


# -- the enums are the machines -------------------------------------------------------------------

def test_every_machine_has_its_enums():
    assert set(MACHINES) == set(WORKFLOWS)


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_the_enums_of_a_machine_are_its_states_and_triggers_in_order(name):
    machine, states, triggers = MACHINES[name]
    assert machine is WORKFLOWS[name]
    assert [s.value for s in states] == list(machine.states)
    assert [t.value for t in triggers] == list(catalogue.triggers(machine))


def test_the_prescriber_and_pharmacy_machines_share_one_pair_of_enums():
    assert PRESCRIBER.states == PHARMACY.states
    assert catalogue.triggers(PRESCRIBER) == catalogue.triggers(PHARMACY) == CERTIFICATION_TRIGGERS


def test_state_groups_are_the_machines():
    assert catalogue.OPEN_PRESCRIPTION_STATES == sources(PRESCRIPTION, "void") == sources(PRESCRIPTION, "expire")
    assert catalogue.ISSUED_PRESCRIPTION_STATES == ("authorized", "confirmed")
    assert catalogue.LIVE_PATIENT_STATES == sources(PATIENT, "report_pregnancy") == sources(PATIENT, "renew_ppaf")
    assert set(catalogue.HOLD_PATIENT_STATES) == set(catalogue.dests(PATIENT, "hold"))
    assert catalogue.CERTIFYING_TRIGGERS == ("certify", "reinstate", "recertify")
    assert catalogue.STOPPING_TRIGGERS == ("suspend", "revoke")
    assert set(catalogue.ENDING_TRIGGERS) == {"suspend", "lapse", "revoke"}
    assert set(catalogue.NOT_IN_FORCE_STATES) == {"suspended", "lapsed", "revoked"}
    assert catalogue.TREATED_TESTING_STATES == ("weekly", "every_4_weeks", "every_2_weeks")
    assert set(catalogue.PATIENT_STATE_TRIGGERS) <= set(catalogue.PatientTrigger)
    assert {v: k for k, v in STATE_FOR_STAGE.items()} == catalogue.STAGE_OF_STATE


def test_the_copies_a_type_or_an_order_needs_are_the_machines():
    """Where a group cannot be derived (a Literal for the OpenAPI document, a queue's own order),
    it holds the machine's members and no other."""
    from rems.api.routers import admin as admin_api
    from rems.services.views import staff_queues
    from rems.web import admin as admin_web
    assert set(get_args(admin_api.Trigger)) == set(CERTIFICATION_TRIGGERS)
    assert sorted(staff_queues.STATES) == sorted(CertificationState)
    assert set(admin_web.QUEUE_TRIGGERS) | set(admin_web.CONFIRMED) <= set(CERTIFICATION_TRIGGERS)


# -- the codes --------------------------------------------------------------------------------------

def test_every_code_is_a_constant_named_as_its_value():
    constants = {n: v for n, v in vars(catalogue).items() if re.fullmatch(r"R\d+[a-z]?_[A-Z0-9_]+", n)}
    assert constants and all(n == v for n, v in constants.items())
    assert frozenset(constants.values()) == catalogue.CODES
    assert catalogue.MET_ONLY <= catalogue.CODES
    assert {code for _, code in AUTHORIZATION_STATE_CODES.values()} <= catalogue.CODES


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def code_literals(root: Path = ROOT) -> list[str]:
    """Every string literal (f-string parts included) of rems/ and workflows/ but the catalogue
    that spells a rule code; docstrings and prose naming a code "e.g." are not code."""
    found = []
    for folder in ("rems", "workflows"):
        for path in sorted((root / folder).rglob("*.py")):
            if path == root / CATALOGUE.relative_to(ROOT):
                continue
            tree = ast.parse(path.read_text("utf-8"))
            docs = _docstrings(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                    for code in CODE_TOKEN.findall(EXAMPLE.sub("", node.value)):
                        found.append(f"{path.relative_to(root)}:{node.lineno}: {code}")
    return found


def test_no_code_is_spelled_outside_the_catalogue():
    assert code_literals() == []


def test_a_code_spelled_outside_the_catalogue_is_found(tmp_path):
    (tmp_path / "rems").mkdir()
    (tmp_path / "workflows").mkdir()
    (tmp_path / "rems" / "m.py").write_text('"""R28_TOO_EARLY in a docstring is prose."""\n'
                                            'X = "R28_TOO_EARLY"\nY = f"R23_AUTHORIZATION_{X}"\n')
    assert code_literals(tmp_path) == ["rems/m.py:2: R28_TOO_EARLY", "rems/m.py:3: R23_AUTHORIZATION_"]


# -- the gate and the machines agree ------------------------------------------------------------------

def test_the_gate_stages_of_a_prescription_are_the_machines_gated_triggers():
    assert set(STATE_FOR_STAGE) == set(vocabulary.STAGES) - {"readiness"} == set(gate.STAGES) - {"readiness"}
    for stage, state in STATE_FOR_STAGE.items():
        assert sources(PRESCRIPTION, stage) == (state,)


def test_every_prescription_state_has_a_gate_answer():
    assert set(AUTHORIZATION_STATE_CODES) == set(PrescriptionState)


STATE_CODES = {code for _, code in AUTHORIZATION_STATE_CODES.values()}


@pytest.mark.parametrize("stage", ["confirm", "dispense"])
@pytest.mark.parametrize("state", list(PrescriptionState))
def test_the_gate_accepts_a_prescription_in_the_states_the_machine_fires_the_stage_from(stage, state):
    refused = failing(stage, with_rx(male_case(stage), state=state)) & STATE_CODES
    if state in sources(PRESCRIPTION, stage):
        assert refused == set()
    else:
        assert refused == {AUTHORIZATION_STATE_CODES[state][1]}


@pytest.mark.parametrize("state", list(PatientState))
def test_every_patient_state_has_a_gate_answer_and_only_where_enrolling_leads_is_accepted(state):
    records = male_case("authorize")
    decision = decide("authorize", replace(records, patient=replace(records.patient, state=state)))
    answer = next(r for r in decision.requirements if r.message.startswith("patient enrollment is"))
    assert answer.met == (state in catalogue.dests(PATIENT, "enroll"))
    assert answer.code == (catalogue.R5_PATIENT_ACTIVE if answer.met else gate._PATIENT_STATE_CODES[state][1])


@pytest.mark.parametrize("state", list(CertificationState))
def test_every_certification_state_has_a_gate_answer_and_only_certified_is_accepted(state):
    certified = set(catalogue.dests(PRESCRIBER, "certify"))
    for kind, requirement in (("prescriber", gate.prescriber_requirement),
                              ("pharmacy", gate.pharmacy_requirement)):
        answer = requirement(certification(kind, state=state, certified_at=T0), "pomalidomide", params(), T0)
        assert answer.met == (state in certified), (kind, state)
        assert answer.code in catalogue.CODES


@pytest.mark.parametrize("state", list(ConfirmationState))
def test_the_gate_accepts_a_confirmation_only_in_the_state_the_machine_uses_it_from(state):
    records = male_case("dispense")
    assert records.confirmation is not None
    records = replace(records, confirmation=replace(records.confirmation, state=state))
    refused = catalogue.R26_CONFIRMATION_INVALID in failing("dispense", records)
    assert refused == (state not in sources(CONFIRMATION, "use"))


# -- docs/rules.md is true of the tree -----------------------------------------------------------------

ROW = re.compile(r"^\| (?P<ids>(?:R\d+[a-z]?|T\d)(?:, (?:R\d+[a-z]?|T\d))*) \|(?P<cells>.*)\|\s*$")


def rows() -> dict[str, dict[str, list[str]]]:
    """Each table row of docs/rules.md: its rule ids -> codes, where (tokens) and tests."""
    found = {}
    for line in RULES_MD.read_text("utf-8").splitlines():
        m = ROW.match(line)
        if not m:
            continue
        cells = [c.strip() for c in m["cells"].split(" | ")]
        codes_cell = cells[1] if len(cells) == 4 else ""
        found[m["ids"]] = {"codes": re.findall(r"`(R\d+[a-z]?_[A-Z0-9_]+)`", codes_cell),
                           "where": cells[-2], "tests": re.findall(r"`([^`]+)`", cells[-1])}
    return found


def _path(token: str) -> Path | None:
    for base in ("", "rems/", "rems/domain/", "workflows/"):
        if (ROOT / base / token).is_file():
            return ROOT / base / token
    return None


def where_files(cell: str) -> list[Path]:
    """The files a "where" cell names; AssertionError for a file or function that does not exist.
    `gate.x` is function x of rems/domain/gate.py; a name in parentheses after a file is in it."""
    files: list[Path] = []
    for outside, inside in re.findall(r"`([^`]+)`|\(([^)]*)\)", cell):
        if inside:
            for name in re.findall(r"`([^`]+)`", inside):
                if name.endswith(".py"):
                    path = _path(name)
                    assert path is not None, name
                    files.append(path)
                else:
                    assert files and re.search(rf"\b{re.escape(name.split('.')[-1])}\b",
                                               files[-1].read_text("utf-8")), (name, files[-1:])
            continue
        if outside.endswith(".py"):
            path = _path(outside)
            assert path is not None, outside
            files.append(path)
        else:
            module, _, attr = outside.partition(".")
            path = _path(f"{module}.py")
            assert path is not None and attr, outside
            assert re.search(rf"^(def {attr}\(|{attr}\b.*=)", path.read_text("utf-8"), re.M), outside
            files.append(path)
    return files


def test_every_rule_id_of_rems_rules_has_a_row():
    if not REMS_RULES.is_file():
        pytest.skip("REMS_RULES.md lives in the project's shared folder")
    ids = set(re.findall(r"^\| (R\d+[a-z]?|T\d) \|", REMS_RULES.read_text("utf-8"), re.M))
    documented = {i for key in rows() for i in key.split(", ")}
    assert sorted(ids - documented) == []


def test_every_code_of_the_catalogue_has_a_row_and_every_row_code_exists():
    named = [c for row in rows().values() for c in row["codes"]]
    assert sorted(catalogue.CODES - set(named)) == []
    assert sorted(set(named) - catalogue.CODES) == []


@pytest.mark.parametrize("ids", sorted(rows()))
def test_a_row_names_files_that_exist_and_produce_its_codes(ids):
    row = rows()[ids]
    files = where_files(row["where"])
    texts = [f.read_text("utf-8") for f in files]
    for code in row["codes"]:
        assert any(re.search(rf"\b{code}\b", t) for t in texts), (code, row["where"])


@pytest.mark.parametrize("ids", sorted(rows()))
def test_a_row_names_tests_that_exist_and_assert_it(ids):
    row = rows()[ids]
    rule_ids = [i.lower() for i in ids.split(", ")]
    for name in row["tests"]:
        path = ROOT / name
        assert path.is_file() and path.name.startswith("test_"), name
        text = path.read_text("utf-8")
        assert (any(code in text for code in row["codes"])
                or any(re.search(rf"def test_{i}(?!\d)", text) for i in rule_ids)), (ids, name)
    for code in row["codes"]:  # every code of a row is asserted by one of its tests
        assert any(code in (ROOT / name).read_text("utf-8") for name in row["tests"]), (ids, code)
