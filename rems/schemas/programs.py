"""Bodies of the administrator's program routes (issue 17 items 4-6, 9): lifecycle status,
relaxations and their waiver uses, every program today, its requirement table, a new version's diff."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from rems.domain.lifecycle import ProgramStatusChange, RelaxationActivation, WaiverUse
from rems.schemas.common import In, Out
from rems.services.commands import Reason
from rems.services.programs import program_views


class StatusChangeIn(In):
    state: Literal["closed_to_new_enrollment", "enforcement_discretion", "eliminated"] = Field(
        description="The new lifecycle state (forward only)")
    effective_from: date = Field(strict=False, description="From midnight of this date, program's zone (T3)")
    reason: Reason = Field(description="Why (e.g. the FDA action)")


class ActivateIn(In):
    reason: Reason = Field(description="Why the program's systems fail")
    hours: int | None = Field(default=None, gt=0, description="Shorter than the declared max_hours")


class StatusChangeOut(Out):
    id: str = Field(description="Change id (pst_…)")
    program_id: str = Field(description="Program id")
    state: str = Field(description="The lifecycle state recorded")
    effective_from: date = Field(description="In force from midnight of this date, program's zone (T3)")
    reason: str = Field(description="Why")
    actor: str = Field(description="The administrator who recorded it")
    recorded_at: datetime = Field(description="When it was recorded (UTC)")

    @classmethod
    def of(cls, c: ProgramStatusChange) -> StatusChangeOut:
        return cls(id=c.id, program_id=c.program_id, state=c.state, effective_from=c.effective_from,
                   reason=c.reason, actor=c.actor, recorded_at=c.recorded_at)


class ProgramStatusOut(Out):
    program: str = Field(description="Program id")
    state: str = Field(description="active, closed_to_new_enrollment, enforcement_discretion or eliminated")
    effective_from: str | None = Field(description="Since when (YYYY-MM-DD); null: active from the start")
    reason: str = Field(description="Why, as the file or the administrator gave it")
    source: str = Field(description='"file" (the program file) or the administrator who recorded it')
    declared: list[dict[str, Any]] = Field(description="The file's [[lifecycle]] blocks")
    recorded: list[dict[str, Any]] = Field(description="Changes recorded by administrators")
    relaxations: list[dict[str, Any]] = Field(description="The file's [[relaxations]]")


class ActivationOut(Out):
    id: str = Field(description="Activation id (rlx_…)")
    program_id: str = Field(description="Program id")
    name: str = Field(description="The declared relaxation")
    reason: str = Field(description="Why it was activated")
    activated_by: str = Field(description="The administrator who activated it")
    activated_at: datetime = Field(description="When (UTC)")
    ends_at: datetime = Field(description="End of its time box (UTC), at most max_hours after activation")
    approved_by: str | None = Field(description="The second administrator, once approved")
    approved_at: datetime | None = Field(description="In force from here (UTC)")
    revoked_by: str | None = Field(description="Who revoked it, if revoked")
    revoked_at: datetime | None = Field(description="When it was revoked (UTC)")

    @classmethod
    def of(cls, a: RelaxationActivation) -> ActivationOut:
        return cls(**{k: getattr(a, k) for k in cls.model_fields})


class WaiverUseOut(Out):
    id: str = Field(description="Use id (wvu_…)")
    program_id: str = Field(description="Program id")
    prescription_id: str = Field(description="The prescription the decision was about")
    stage: str = Field(description="authorize, check, confirm or dispense")
    waiver: str = Field(description="enforcement_discretion or the relaxation's name")
    codes: list[str] = Field(description="What the gate would have refused")
    actor: str = Field(description="Who made the call the waiver allowed")
    at: datetime = Field(description="When (UTC)")
    activation_id: str | None = Field(description="The relaxation's activation, for a relaxation")

    @classmethod
    def of(cls, u: WaiverUse) -> WaiverUseOut:
        return cls(**{k: getattr(u, k) for k in cls.model_fields})


class DiffIn(In):
    """A new version of the program file, as text (JSON keeps the request one documented shape)."""

    toml: str = Field(min_length=1, max_length=program_views.MAX_PROGRAM_CHARS,
                      description="The candidate program file (TOML), same `id` as the path's program")
    on: date | None = Field(default=None, strict=False,
                            description="The date to compare (YYYY-MM-DD, program's calendar); default: "
                                        "the candidate's first change after today")


class ChangeOut(Out):
    on: date | None = Field(description="The candidate's date compared")
    patient_id: str = Field(description="The patient")
    subject: str = Field(description='"readiness" or the open authorization\'s number')
    stage: str = Field(description="readiness, or the authorization's next stage (confirm, dispense)")
    outcome: str = Field(description="refused on the date, freed on the date, requirements change")
    added: list[str] = Field(description="Requirement codes the candidate checks that today's version does not")
    removed: list[str] = Field(description="Requirement codes today's version checks that the candidate does not")
    newly_failing: list[str] = Field(description="Codes unmet under the candidate only")
    no_longer_failing: list[str] = Field(description="Codes unmet today only")


class DiffOut(Out):
    program: str = Field(description="Program id")
    on: date | None = Field(description="The date compared")
    patients: int = Field(description="Live patients compared")
    checks: int = Field(description="Readiness checks and open authorizations compared")
    counts: dict[str, int] = Field(description="How many checks have each outcome (unchanged included)")
    changes: list[ChangeOut] = Field(description="Every check whose answer or requirements change")


class ProgramSummaryOut(Out):
    program: str = Field(description="Program id")
    name: str = Field(description="Program name")
    drug: str = Field(description="The drug")
    time_zone: str = Field(description="The program's calendar (T3)")
    today: date = Field(description="Today on the program's calendar")
    state: str = Field(description="Lifecycle state today (L1)")
    state_since: date | None = Field(description="Since when; null: active from the start")
    state_reason: str = Field(description="Why, as the file or the administrator gave it")
    state_source: str = Field(description='"file" or the administrator who recorded it')
    requirements: int = Field(description="Requirement blocks the file declares")
    in_force: int = Field(description="Requirements in force today")
    effective_dates: list[date] = Field(description="Dates on which the file changes the program")
    next_change: date | None = Field(description="The next such date after today, recorded changes included")
    relaxations: int = Field(description="Relaxations the file declares")


class RequirementRowOut(Out):
    id: str = Field(description="The requirement's id in the file")
    kind: str = Field(description="Its kind (docs/program-vocabulary.md)")
    rule: str = Field(description="The program's rule id")
    fda_code: str = Field(description="FDA REMS requirement code (C128494), or -")
    applies_to: str = Field(description="Risk categories, or everyone")
    stages: str = Field(description="The stages it is checked at")
    in_force: str = Field(description="From … to … (the file's dates)")
    in_force_today: bool = Field(description="In force today on the program's calendar")
    detail: str = Field(description="Kind-specific fields")


class FindingOut(Out):
    level: str = Field(description="error, warning or info")
    field: str = Field(description="Where in the file")
    message: str = Field(description="What is wrong or worth a look (T4)")


class RequirementsOut(Out):
    program: str = Field(description="Program id")
    today: date = Field(description="Today on the program's calendar")
    ok: bool = Field(description="No error finding")
    requirements: list[RequirementRowOut] = Field(description="The requirement table, in the gate's order")
    findings: list[FindingOut] = Field(description="The linter's findings (`rems program check`)")
