"""Issue 14 item 6 (migration 0021): the survey (R20) and refill (R28) finders select on the latest
dispense with each program's own R28 ranges, so a program's wider refill window does not make the
patients of another program candidates (the candidate set, hence the sweep's time, then grew with
the population). Counted on the candidates the finders' queries return, on both stores.

Oracle, from the programs' parameters and R28's text (the window opens when at most
`refill_window_days` of supply are left): pomalidomide's opens 7 days before a 28-day supply runs
out (21 days after the dispense), mycophenolate's 30 days before (2 days before the dispense)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rems.adapters.due import DueQueries
from rems.bootstrap import App
from rems.services.reminders import due_patients
from rems.services.reminders.reminders import Window
from tests.service.builders import Scenario
from tests.workers.test_patient_latest import dispense_row

LEAD, LOOKBACK = 3, 7


def _dispense_candidates(app: App, now: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Per finder, the ids returned by its queries on the latest dispense (the survey finder's
    `by_dispense`, the refill finder's only query)."""
    seen: list[tuple[str, list[str]]] = []
    candidates = DueQueries._candidates

    def recording(uow: Any, query: Any) -> list[str]:
        found = candidates(uow, query)
        seen.append((str(query), found))
        return found

    monkeypatch.setattr(DueQueries, "_candidates", recording)
    out = {}
    for name, finder in (("survey", due_patients.patient_surveys), ("refill", due_patients.refill_windows)):
        seen.clear()
        with app.uow() as uow:
            finder(uow, Window(now, LEAD, LOOKBACK))
        out[name] = {i for query, found in seen if "last_dispense_supply" in query for i in found}
    return out


def test_a_wider_refill_window_of_another_program_makes_no_candidates_r28(app: App,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pom = Scenario(app, program="pomalidomide").certified_prescriber().certified_pharmacy()
    myc = Scenario(app, program="mycophenolate").certified_prescriber().certified_pharmacy()
    now = pom.now + timedelta(days=60)
    patients = {}
    # (who, program's scenario, days before `now` of a 28-day dispense)
    for who, s, days_ago in (("pom_mid_cycle", pom, 10), ("pom_window_open", pom, 24), ("myc_mid_cycle", myc, 10)):
        s.enrolled("adult_male").ready()
        with app.engine.begin() as c:
            dispense_row(c, s, s.patient_id, who, now - timedelta(days=days_ago), 28)
        patients[who] = s.patient_id
    found = _dispense_candidates(app, now, monkeypatch)
    for finder in ("survey", "refill"):
        # 18 days of pomalidomide left, more than its 7: its window opens in 11 days, after the
        # sweep's window; inside mycophenolate's 30 only, which is not this patient's program.
        assert patients["pom_mid_cycle"] not in found[finder], finder
        # Opened 3 days ago (7 days left), inside the lookback: a candidate of its own program.
        assert patients["pom_window_open"] in found[finder], finder
        # Mycophenolate's window opened 12 days ago (at most 30 days left from 2 days before the
        # dispense): its own ranges still select it.
        assert patients["myc_mid_cycle"] in found[finder], finder
