"""Compliance reports (issue 6): plain service functions the CLI, the API and the dashboard call.

    period = reports.Period.of(date(2026, 3, 1), date(2026, 4, 1))
    reports.period_summary(uow, ctx, period)        -> PeriodSummary
    reports.prescriber_compliance(uow, ctx, period) -> list[PrescriberCompliance]
    reports.pharmacy_compliance(uow, ctx, period)   -> list[PharmacyCompliance]
    reports.patient_history(uow, ctx, patient_id)   -> PatientHistory
    reports.plot_png(reports.activity_series(uow, ctx, period), "refusals") -> PNG bytes
    reports.assessment(uow, ctx, period)            -> Assessment (issue 18: times to dispense, ...)
"""

from rems.services.reports.assessments import (
    Assessment,
    Durations,
    assessment,
    assessment_csv,
    assessment_png,
)
from rems.services.reports.compliance import (
    PharmacyCompliance,
    PrescriberCompliance,
    pharmacy_compliance,
    prescriber_compliance,
)
from rems.services.reports.history import HistoryEntry, PatientHistory, patient_history
from rems.services.reports.period import Period
from rems.services.reports.plots import KINDS, plot_png
from rems.services.reports.series import ActivitySeries, activity_series
from rems.services.reports.summary import PeriodSummary, period_summary
from rems.services.reports.tables import history_csv, records_csv, summary_csv

__all__ = [
    "KINDS", "ActivitySeries", "Assessment", "Durations", "HistoryEntry", "PatientHistory", "Period",
    "PeriodSummary", "PharmacyCompliance", "PrescriberCompliance", "activity_series", "assessment",
    "assessment_csv", "assessment_png", "history_csv", "patient_history", "period_summary",
    "pharmacy_compliance", "plot_png", "prescriber_compliance", "records_csv", "summary_csv",
]
