"""Due items on records (R19, R23, R27, R3, R25): range queries on indexed columns (uow.due,
rems/adapters/due.py); here, what each row is a reminder of."""

from __future__ import annotations

from datetime import timedelta

from rems.adapters.uow import UnitOfWork
from rems.services.reminders.notifications import Reminder
from rems.services.reminders.reminders import Window


def prescriber_surveys(uow: UnitOfWork, w: Window) -> list[Reminder]:
    """R19: a prescription waits for its prescriber survey (the authorization cannot issue)."""
    rows = uow.due.waiting_for_survey(w)
    return [Reminder(f"prescriber:{prescriber}", "prescriber_survey_needed", rx_id, requested.date(), "R19")
            for rx_id, prescriber, requested in rows]


def authorizations(uow: UnitOfWork, w: Window) -> list[Reminder]:
    """R23: an authorization expiring within the lead days, or expired within the lookback (the
    expiry sweep, rems.services.reminders.sweeps, has moved it to `expired` through the machine)."""
    expiring, expired = uow.due.authorizations(w)
    return ([Reminder(f"prescriber:{p}", "authorization_expiring", i, at.date(), "R23") for i, p, at in expiring]
            + [Reminder(f"prescriber:{p}", "authorization_expired", i, at.date(), "R23") for i, p, at in expired])


def confirmations(uow: UnitOfWork, w: Window) -> list[Reminder]:
    """R27: a confirmation number that expired unused (the pharmacy must obtain a new one)."""
    rows = uow.due.expired_confirmations(w)
    return [Reminder(f"pharmacy:{p}", "confirmation_expired", i, at.date(), "R27") for i, p, at in rows]


def certifications(uow: UnitOfWork, w: Window) -> list[Reminder]:
    """R3, R25: a certification lapsing (within the lead days) or lapsed by time (within the
    lookback) under the recertification interval of ITS program; an interval of 0 means none
    (R3's default). The subject is the certification (one per holder and program)."""
    out: list[Reminder] = []
    for program_id, program in sorted(uow.programs.items()):
        params = program.at(w.now)
        for kind, days, rule in (("prescriber", params.prescriber_recertification_days, "R3"),
                                 ("pharmacy", params.pharmacy_recertification_days, "R25")):
            if days <= 0:
                continue
            interval = timedelta(days=days)
            rows = uow.due.certified_between(program_id, kind, w.start - interval, w.end - interval)
            for cert_id, holder_id, certified_at in rows:
                lapse = certified_at + interval
                stage = "certification_lapsing" if lapse > w.now else "certification_lapsed"
                out.append(Reminder(f"{kind}:{holder_id}", stage, cert_id, lapse.date(), rule))
    return out
