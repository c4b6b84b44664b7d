"""The workflows as shared state machines: happy paths, refusals with reasons, fail-closed facts (STYLE 2)."""

from __future__ import annotations

import pytest

from workflows.definitions import WORKFLOWS
from workflows.engine import ConditionsNotMet, InvalidTrigger, conditions_of, fire, machine, triggers_from

CERTIFY = {"attested": True, "education_reviewed": True}
PHARMACY_CERTIFY = {"representative_enrolled": True, "staff_trained": True, "records_and_audits_accepted": True}
PPAF = {"prescriber_certified": True, "ppaf_matches_category": True, "guardian_signed_if_child": True}
GATE = {"gate_passes": True}

HAPPY_PATHS = {
    "prescriber": [("certify", CERTIFY, "certified"), ("suspend", {}, "suspended"),
                   ("reinstate", {}, "certified"), ("lapse", {"recertification_due": True}, "lapsed"),
                   ("recertify", CERTIFY, "certified"), ("revoke", {}, "revoked")],
    "pharmacy": [("certify", PHARMACY_CERTIFY, "certified"), ("suspend", {}, "suspended"),
                 ("reinstate", {}, "certified"), ("lapse", {"recertification_due": True}, "lapsed"),
                 ("recertify", PHARMACY_CERTIFY, "certified"), ("revoke", {}, "revoked")],
    "patient": [("enroll", PPAF, "active"), ("renew_ppaf", PPAF, "active"), ("hold", {}, "on_hold"),
                ("release_hold", {"negative_test_since_hold": True}, "active"),
                ("interrupt", {}, "interrupted"), ("hold", {}, "interrupted_on_hold"),
                ("resume", {}, "on_hold"), ("interrupt", {}, "interrupted_on_hold"),
                ("release_hold", {"negative_test_since_hold": True}, "interrupted"),
                ("resume", {}, "active"),
                ("report_pregnancy", {}, "pregnancy_stop"), ("discontinue", {}, "discontinued")],
    "pregnancy_testing": [("become_frp", {}, "initial"), ("start_treatment", {}, "weekly"),
                          ("end_weekly_phase", {"weekly_phase_elapsed": True, "cycles_regular": True},
                           "every_4_weeks"),
                          ("cycles_irregular", {}, "every_2_weeks"), ("cycles_regular", {}, "every_4_weeks"),
                          ("positive_result", {}, "positive")],
    "prescription": [("authorize", GATE, "authorized"), ("confirm", GATE, "confirmed"),
                     ("release", {}, "authorized"), ("confirm", GATE, "confirmed"),
                     ("dispense", GATE, "dispensed")],
    "confirmation": [("use", {}, "used")],
}


@pytest.mark.parametrize("name", sorted(HAPPY_PATHS))
def test_each_workflow_walks_its_happy_path_from_the_initial_state(name):
    state = WORKFLOWS[name].initial
    for trigger, facts, expected in HAPPY_PATHS[name]:
        state = fire(name, state, trigger, facts)
        assert state == expected, (trigger, state)


def test_every_declared_workflow_has_a_happy_path():
    assert set(HAPPY_PATHS) == set(WORKFLOWS)


def _declared():
    for name, workflow in WORKFLOWS.items():
        for t in workflow.transitions:
            for source in t["source"] if isinstance(t["source"], list) else [t["source"]]:
                yield pytest.param(name, t, source, id=f"{name}.{t['trigger']}.{source}->{t['dest']}")


@pytest.mark.parametrize(("name", "transition", "source"), list(_declared()))
def test_every_declared_transition_moves_when_exactly_its_conditions_hold(name, transition, source):
    trigger = transition["trigger"]
    facts = {c: c in transition["conditions"] for c in conditions_of(WORKFLOWS[name], trigger, source)}
    expected = source if transition["dest"] == "=" else transition["dest"]
    assert fire(name, source, trigger, facts) == expected


@pytest.mark.parametrize(("name", "state", "trigger"), [
    ("prescription", "dispensed", "dispense"),  # R33: one authorization, one dispense
    ("prescription", "requested", "dispense"),
    ("prescription", "expired", "authorize"),
    ("confirmation", "used", "use"),
    ("patient", "pregnancy_stop", "resume"),  # R30: nothing restarts therapy
    ("patient", "pending", "hold"),
    ("prescriber", "enrolled", "suspend"),
    ("prescriber", "revoked", "reinstate"),
    ("pharmacy", "suspended", "lapse"),
    ("pregnancy_testing", "positive", "become_fnrp"),
    ("patient", "active", "no_such_trigger"),
    ("patient", "no_such_state", "hold"),
])
def test_a_trigger_not_allowed_from_the_state_raises_invalid_trigger(name, state, trigger):
    with pytest.raises(InvalidTrigger) as error:
        fire(name, state, trigger, GATE)
    assert (error.value.workflow, error.value.trigger, error.value.state) == (name, trigger, state)


@pytest.mark.parametrize(("name", "state", "trigger", "facts", "failed"), [
    ("prescriber", "enrolled", "certify", {"attested": False, "education_reviewed": True}, ["attested"]),
    ("prescriber", "lapsed", "recertify", {"attested": False, "education_reviewed": False},
     ["attested", "education_reviewed"]),
    ("pharmacy", "enrolled", "certify", {**PHARMACY_CERTIFY, "staff_trained": False}, ["staff_trained"]),
    ("pharmacy", "certified", "lapse", {"recertification_due": False}, ["recertification_due"]),
    ("patient", "pending", "enroll", {**PPAF, "ppaf_matches_category": False}, ["ppaf_matches_category"]),
    ("patient", "on_hold", "release_hold", {"negative_test_since_hold": False}, ["negative_test_since_hold"]),
    ("pregnancy_testing", "weekly", "end_weekly_phase", {"weekly_phase_elapsed": False, "cycles_regular": True},
     ["weekly_phase_elapsed"]),
    ("prescription", "authorized", "confirm", {"gate_passes": False}, ["gate_passes"]),
    ("prescription", "confirmed", "expire", {"past_expiry": False}, ["past_expiry"]),
    ("confirmation", "issued", "expire", {"past_expiry": False}, ["past_expiry"]),
])
def test_failed_conditions_raise_conditions_not_met_naming_exactly_those_that_failed(
        name, state, trigger, facts, failed):
    with pytest.raises(ConditionsNotMet) as error:
        fire(name, state, trigger, facts)
    assert error.value.failed == failed
    assert (error.value.workflow, error.value.trigger, error.value.state) == (name, trigger, state)


@pytest.mark.parametrize(("name", "state", "trigger", "facts"), [
    ("prescriber", "enrolled", "certify", {"attested": True}),
    ("prescription", "requested", "authorize", None),
    ("pregnancy_testing", "weekly", "end_weekly_phase", {"weekly_phase_elapsed": True}),
])
def test_a_missing_fact_raises_key_error_instead_of_counting_as_false(name, state, trigger, facts):
    with pytest.raises(KeyError, match="facts not supplied"):
        fire(name, state, trigger, facts)


@pytest.mark.parametrize(("regular", "expected"), [(True, "every_4_weeks"), (False, "every_2_weeks")])
def test_r11_end_weekly_phase_goes_to_4_weekly_if_cycles_regular_else_2_weekly(regular, expected):
    facts = {"weekly_phase_elapsed": True, "cycles_regular": regular}
    assert fire("pregnancy_testing", "weekly", "end_weekly_phase", facts) == expected


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_one_shared_machine_per_workflow_without_auto_transitions(name):
    shared = machine(name)
    assert machine(name) is shared
    assert shared.auto_transitions is False
    assert shared.models == []  # no record is attached to the machine
    assert not any(event.startswith("to_") for event in shared.events)
    assert set(shared.events) == {t["trigger"] for t in WORKFLOWS[name].transitions}


def test_auto_transition_triggers_are_refused():
    with pytest.raises(InvalidTrigger):
        fire("patient", "pending", "to_active")


def test_firing_does_not_leave_state_on_the_shared_machine():
    fire("prescription", "requested", "authorize", GATE)
    assert fire("prescription", "requested", "authorize", GATE) == "authorized"
    with pytest.raises(ConditionsNotMet):
        fire("prescription", "requested", "authorize", {"gate_passes": False})


@pytest.mark.parametrize(("name", "state", "expected"), [
    ("prescription", "confirmed", ["dispense", "expire", "release", "void"]),
    ("prescription", "dispensed", []),
    ("patient", "discontinued", []),
    ("pregnancy_testing", "positive", []),
])
def test_triggers_from_lists_what_a_state_allows(name, state, expected):
    assert triggers_from(name, state) == expected
