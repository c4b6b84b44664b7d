"""The sweep's queries find exactly what is due at the boundaries of the window (lead 3 days,
lookback 7), on a seeded population, on SQLite and PostgreSQL (issue 4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from rems.adapters.uow import UnitOfWork
from rems.bootstrap import App
from rems.domain.model import Patient
from rems.services.commands import RenewPpaf, parse
from rems.services.context import Context
from rems.services.enrollment import patients
from rems.services.reminders.reminders import Window, find_due, sweep_reminders
from rems.services.reminders.sweeps import expire_due
from tests.service.builders import Scenario, years_before

LEAD, LOOKBACK = 3, 7


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def due(app: App, now: datetime, prefix: str) -> set[tuple[str, str, date]]:
    with app.uow() as uow:
        found = find_due(uow, Window(now, LEAD, LOOKBACK))
    return {(r.kind, r.subject, r.due_on) for r in found if r.kind.startswith(prefix)}


def treated_frp(app: App) -> tuple[Scenario, str]:
    s = Scenario(app).certified_prescriber().certified_pharmacy().enrolled("adult_frp").ready()
    s.dispensed()
    return s, s.patient_id


def test_pregnancy_test_due_soon_today_and_overdue_at_each_boundary_r11(app: App) -> None:
    s, mine = treated_frp(app)
    # A second treated FRP patient, tested and dispensed two days later; a male with no tests.
    other = Scenario(app).certified_prescriber().certified_pharmacy().enrolled("adult_frp").ready()
    other.advance(days=2).negative_test(hours_ago=1)
    other.dispensed()
    Scenario(app, s.now).certified_prescriber().enrolled("adult_male").survey()
    due_on = (s.now - timedelta(hours=1) + timedelta(days=7)).date()  # weekly phase: last test + 7 d
    other_on = due_on + timedelta(days=2)
    expected: dict[int, set[tuple[str, str, date]]] = {
        -4: set(),
        -3: {("pregnancy_test_due_soon", mine, due_on)},
        -2: {("pregnancy_test_due_soon", mine, due_on)},
        -1: {("pregnancy_test_due_soon", mine, due_on), ("pregnancy_test_due_soon", other.patient_id, other_on)},
        0: {("pregnancy_test_due_today", mine, due_on), ("pregnancy_test_due_soon", other.patient_id, other_on)},
        1: {("pregnancy_test_overdue", mine, due_on), ("pregnancy_test_due_soon", other.patient_id, other_on)},
        2: {("pregnancy_test_overdue", mine, due_on), ("pregnancy_test_due_today", other.patient_id, other_on)},
        7: {("pregnancy_test_overdue", mine, due_on), ("pregnancy_test_overdue", other.patient_id, other_on)},
        8: {("pregnancy_test_overdue", other.patient_id, other_on)},
        10: set(),
    }
    for offset, wanted in expected.items():
        for hour in (0, 23):  # the first and the last hour of the day give the same answer
            assert due(app, at(due_on + timedelta(days=offset), hour), "pregnancy_test") == wanted, (offset, hour)


def test_a_new_negative_test_moves_the_due_date_r11(app: App) -> None:
    s, patient = treated_frp(app)
    s.advance(days=6).negative_test(hours_ago=1)
    due_on = (s.now - timedelta(hours=1) + timedelta(days=7)).date()
    assert due(app, at(due_on - timedelta(days=1)), "pregnancy_test") == {
        ("pregnancy_test_due_soon", patient, due_on)}


def test_fnrp_and_male_patients_get_no_pregnancy_test_reminders_r11(app: App) -> None:
    s = Scenario(app).certified_prescriber().certified_pharmacy().enrolled("adult_male").ready()
    s.dispensed()
    for days in range(0, 40, 3):
        assert due(app, s.now + timedelta(days=days), "pregnancy_test") == set()


def test_patient_survey_due_from_the_latest_survey_r20(app: App) -> None:
    s = Scenario(app).certified_prescriber().enrolled("adult_fnrp").survey()
    due_on = (s.now + timedelta(days=182)).date()  # adult FNRP: every 6 months [assumed 182 days]
    assert due(app, at(due_on - timedelta(days=4)), "patient_survey") == set()
    assert due(app, at(due_on - timedelta(days=3)), "patient_survey") == {
        ("patient_survey_due_soon", s.patient_id, due_on)}
    assert due(app, at(due_on + timedelta(days=7)), "patient_survey") == {
        ("patient_survey_overdue", s.patient_id, due_on)}
    assert due(app, at(due_on + timedelta(days=8)), "patient_survey") == set()


def test_male_survey_is_needed_by_the_day_his_next_prescription_can_be_dispensed_r20_r28(app: App) -> None:
    """R20: one survey for each prescription after the first; it is needed by the day the next
    one can be dispensed (R28: 7 of 28 days left). Was: 30 days from the first dispense."""
    s = Scenario(app).certified_prescriber().certified_pharmacy().enrolled("adult_male")
    s.dispensed()  # no survey before the first prescription for males
    due_on = (s.now + timedelta(days=28 - 7)).date()
    assert due(app, at(due_on), "patient_survey") == {("patient_survey_due_today", s.patient_id, due_on)}
    s.advance(hours=1).survey()  # done: the next one is due after the next dispense, or 30 days on
    assert due(app, at(due_on), "patient_survey") == set()


def test_prescription_waiting_for_the_prescriber_survey_r19(app: App) -> None:
    s = Scenario(app).certified_prescriber().enrolled("adult_male").ready()
    waiting = s.request(survey=False).prescription
    other = Scenario(app, s.now).certified_prescriber().enrolled("adult_male").ready()  # R36: one each
    done = other.request(survey=True).prescription
    found = due(app, s.now, "prescriber_survey")
    assert found == {("prescriber_survey_needed", waiting.id, s.now.date())}
    assert done.id not in {subject for _, subject, _ in found}


def test_authorization_expiring_then_expired_through_the_sweep_r23(app: App) -> None:
    s = Scenario(app).certified_prescriber().enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.expires_at is not None  # 30 days from issue for a male
    expires = rx.expires_at
    assert due(app, expires - timedelta(days=4, seconds=1), "authorization") == set()
    assert due(app, expires - timedelta(days=3), "authorization") == {
        ("authorization_expiring", rx.id, expires.date())}
    after = expires + timedelta(hours=1)
    with app.uow() as uow:  # not yet moved to expired: nothing to say about it
        assert expire_due(uow, Context("worker", after))["authorizations_expired"] == 1
    assert due(app, after, "authorization") == {("authorization_expired", rx.id, expires.date())}
    assert due(app, expires + timedelta(days=LOOKBACK + 1), "authorization") == set()


def test_confirmation_expired_unused_r27(app: App) -> None:
    s = Scenario(app).certified_prescriber().certified_pharmacy().enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.number is not None
    confirmation = s.confirm(rx.number)
    assert due(app, confirmation.expires_at - timedelta(seconds=1), "confirmation") == set()
    later = confirmation.expires_at + timedelta(minutes=5)
    with app.uow() as uow:
        expire_due(uow, Context("worker", later))
    assert due(app, later, "confirmation") == {
        ("confirmation_expired", confirmation.id, confirmation.expires_at.date())}


def test_refill_window_opens_when_seven_days_of_supply_remain_r28(app: App) -> None:
    s = Scenario(app).certified_prescriber().certified_pharmacy().enrolled("adult_male").ready()
    _, _, dispense = s.dispensed()
    opens = dispense.dispensed_at + timedelta(days=28 - 7)
    assert due(app, opens - timedelta(seconds=1), "refill") == set()
    assert due(app, opens, "refill") == {("refill_window_open", dispense.id, opens.date())}
    assert due(app, opens + timedelta(days=LOOKBACK), "refill") == {("refill_window_open", dispense.id, opens.date())}
    assert due(app, opens + timedelta(days=LOOKBACK + 1), "refill") == set()


def test_a_child_turning_18_needs_a_new_ppaf_before_the_birthday_r8(app: App) -> None:
    s = Scenario(app).certified_prescriber()
    birthday = s.now.date() + timedelta(days=10)
    s.enrolled("child_male", birth_date=years_before(birthday, 18))
    Scenario(app, s.now).certified_prescriber().enrolled("child_male")  # 12 years old: nothing
    assert due(app, at(birthday - timedelta(days=4)), "ppaf") == set()
    assert due(app, at(birthday - timedelta(days=3)), "ppaf") == {("ppaf_needed", s.patient_id, birthday)}
    assert due(app, at(birthday + timedelta(days=7)), "ppaf") == {("ppaf_needed", s.patient_id, birthday)}
    s.now = at(birthday)
    s.call(_renew_ppaf(s.patient_id, "adult_male"), actor="dr")
    assert due(app, at(birthday + timedelta(days=1)), "ppaf") == set()


def _renew_ppaf(patient_id: str, category: str) -> Callable[[UnitOfWork, Context], Patient]:
    def renew(uow: UnitOfWork, ctx: Context) -> Patient:
        return patients.renew_ppaf(uow, ctx, parse(RenewPpaf, patient_id=patient_id, facts=None,
                                                   ppaf={"category": category, "signed_by": "patient"}))
    return renew


def test_pharmacy_certification_lapsing_and_lapsed_r25(app: App) -> None:
    s = Scenario(app, program="pomalidomide").certified_pharmacy()
    held = s.certification("pharmacy", s.pharmacy_id)
    assert held is not None
    lapse = s.now + timedelta(days=730)  # R25 [assumed 2 years]
    assert due(app, lapse - timedelta(days=4), "certification") == set()
    assert due(app, lapse - timedelta(days=3), "certification") == {
        ("certification_lapsing", held.id, lapse.date())}
    assert due(app, lapse + timedelta(seconds=1), "certification") == {
        ("certification_lapsed", held.id, lapse.date())}
    assert due(app, lapse + timedelta(days=LOOKBACK + 1), "certification") == set()


def test_each_certification_is_reminded_on_its_own_programs_schedule_r25(app: App) -> None:
    """R25: one reminder per (pharmacy, program), each from when THAT certification was made."""
    s = Scenario(app, program="pomalidomide").certified_pharmacy()
    s.advance(days=10).certify("pharmacy", s.pharmacy_id, program="lenalidomide")
    pomalidomide, lenalidomide = (s.certification("pharmacy", s.pharmacy_id, p) for p in ("pomalidomide",
                                                                                          "lenalidomide"))
    assert pomalidomide is not None and lenalidomide is not None
    first = pomalidomide.certified_at + timedelta(days=730)  # type: ignore[operator]
    assert due(app, first - timedelta(days=3), "certification") == {
        ("certification_lapsing", pomalidomide.id, first.date())}
    second = first + timedelta(days=10)
    assert due(app, second - timedelta(days=3), "certification") == {
        ("certification_lapsing", lenalidomide.id, second.date()),
        ("certification_lapsed", pomalidomide.id, first.date())}


def test_a_second_sweep_records_nothing_new(app: App) -> None:
    s, _ = treated_frp(app)
    s.request(survey=False)
    now = s.now + timedelta(days=5)
    first = _sweep(app, now)
    assert first["recorded"] == first["found"] >= 2
    assert _sweep(app, now)["recorded"] == 0
    assert _sweep(app, now + timedelta(hours=1))["recorded"] == 0


def _sweep(app: App, now: datetime) -> dict[str, int]:
    with app.uow() as uow:
        return sweep_reminders(uow, Context("worker:sweep", now), LEAD, LOOKBACK, frozenset({"outbox"}))


def test_after_the_weekly_phase_the_test_is_due_every_4_weeks_or_every_2_if_irregular_r11(app: App) -> None:
    s, regular = treated_frp(app)
    t, irregular = treated_frp(app)
    s.advance(days=30).negative_test(hours_ago=1)  # past the first 4 weeks of treatment
    t.advance(days=30).negative_test(hours_ago=1)
    t.call(patients.set_cycles, irregular, False, actor="dr")
    tested = (s.now - timedelta(hours=1)).date()
    every_4_weeks, every_2_weeks = tested + timedelta(days=28), tested + timedelta(days=14)
    assert due(app, at(every_2_weeks), "pregnancy_test") == {
        ("pregnancy_test_due_today", irregular, every_2_weeks)}
    assert due(app, at(every_4_weeks - timedelta(days=1)), "pregnancy_test") == {
        ("pregnancy_test_due_soon", regular, every_4_weeks)}
    assert due(app, at(tested + timedelta(days=7)), "pregnancy_test") == set()  # not weekly any more


def test_a_discontinued_patient_gets_no_survey_or_refill_reminder_and_an_interrupted_one_only_the_survey(
        app: App) -> None:
    """R20 runs for a live enrollment (interrupted too), R28 only for an active one; the candidates
    are selected on dates alone and judged on the patient's state when loaded (issue 14 item 6)."""
    paused = Scenario(app).certified_prescriber().certified_pharmacy().enrolled("adult_male")
    paused.dispensed()
    stopped = Scenario(app, paused.now).certified_prescriber().certified_pharmacy().enrolled("adult_male")
    stopped.dispensed()
    opens = at((paused.now + timedelta(days=28 - 7)).date(), 12)

    def kinds() -> set[tuple[str, str]]:
        with app.uow() as uow:
            return {(r.recipient.removeprefix("patient:"), r.kind) for r in find_due(uow, Window(opens, LEAD, LOOKBACK))
                    if r.recipient in (f"patient:{paused.patient_id}", f"patient:{stopped.patient_id}")}
    both = {"patient_survey_due_today", "refill_window_open"}
    assert kinds() == {(p, k) for p in (paused.patient_id, stopped.patient_id) for k in both}
    paused.call(patients.change_state, paused.patient_id, "interrupt")
    stopped.call(patients.change_state, stopped.patient_id, "discontinue")
    assert kinds() == {(paused.patient_id, "patient_survey_due_today")}


def test_lab_tests_due_soon_today_and_overdue_from_the_programs_own_cadence(app: App) -> None:
    """Issue 17: bosentan's liver tests (BOS2: ALT and AST, monthly = 30 days after treatment
    starts) come due 30 calendar days after the older of the two latest results; a patient of a
    program without lab tests gets no such reminder."""
    from decimal import Decimal

    from rems.services.enrollment.labs import RecordLabResult, record_lab_result
    s = Scenario(app, program="bosentan").certified_prescriber().certified_pharmacy().enrolled("adult_male")
    alt_at, ast_at = s.now - timedelta(days=2), s.now - timedelta(days=1)
    for analyte, collected in (("ALT", alt_at), ("AST", ast_at)):
        s.call(record_lab_result, parse(RecordLabResult, patient_id=s.patient_id, analyte=analyte,
                                        value=Decimal("20"), unit="U/L", upper_limit_normal=Decimal("40"),
                                        collected_at=collected))
    s.survey()
    s.dispensed(days_supply=28)
    Scenario(app, s.now).certified_prescriber().enrolled("adult_male")  # pomalidomide: no lab test
    due_on = alt_at.date() + timedelta(days=30)  # the ALT result goes stale first (UTC dates = New York's here)
    for offset, kind in ((-4, None), (-3, "lab_test_due_soon"), (0, "lab_test_due_today"),
                         (1, "lab_test_overdue"), (7, "lab_test_overdue"), (8, None)):
        found = due(app, at(due_on + timedelta(days=offset), 15), "lab_test")
        assert found == ({(kind, s.patient_id, due_on)} if kind else set()), offset
