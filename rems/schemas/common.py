"""Shapes shared by every role: a requirement with its rule id, a gate decision, a problem."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rems.domain.requirements import Decision, Requirement
from rems.services.commands import Key


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class In(BaseModel):
    """A request body: strict types (JSON `true` is no quantity, "yes" no attestation, "5" no
    count); dates and times, which JSON can only carry as strings, say `strict=False` themselves."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day_at_utc_midnight(value: Any) -> Any:
    return f"{value.strip()}T00:00:00Z" if isinstance(value, str) and _DAY.match(value.strip()) else value


def _with_offset(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset (e.g. 2026-03-01T00:00:00-05:00 or ...Z), or give a date")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the supported range of dates") from None


# T1: a period bound is a date (its UTC midnight, as documented) or a time with its offset; a time
# without one is refused (422 naming the field), never silently read as UTC.
DayOrInstant = Annotated[datetime, BeforeValidator(_day_at_utc_midnight), AfterValidator(_with_offset)]
Id = Annotated[Key, Field(description="Record id, e.g. pat_0a1b2c3d4e5f")]


MET = "MET"  # issue 18.7: the neutral code of every met requirement (docs/dashboard.md, "Codes")


class RequirementOut(Out):
    rule: str = Field(description="The program's rule id (REMS_RULES.md R1…R36 in the IMiD programs), "
                                  "or AUTH for API access")
    code: str = Field(description="Machine-readable code: MET when the requirement holds, else the "
                                  "failure code, e.g. R9_RECENT_TEST_MISSING")
    failure_code: str = Field(description="The code this requirement carries when it is not met (equal "
                                          "to `code` while unmet): the requirement's stable key")
    met: bool = Field(description="Whether the requirement holds now")
    message: str = Field(description="What the requirement is")
    remedy: str = Field(description="What would satisfy it")
    earliest: str | None = Field(
        default=None, description="When an unmet requirement can be met at the earliest: an ISO 8601 "
        "instant (UTC), or the event that must happen first (e.g. after a new negative pregnancy test); "
        "null when met or nothing can be foreseen")
    fda_code: str | None = Field(
        default=None, description="The REMS requirement code of the program's declaration (FDA value set "
                                  "C128494, e.g. C128523 Get Lab Test or Monitoring); null for API access")

    @model_validator(mode="before")
    @classmethod
    def _neutral_when_met(cls, data: Any) -> Any:
        """Issue 18.7, presentation only: the domain's Requirement keeps its failure code; a met
        one is shown with the neutral code and its failure code in `failure_code`."""
        if isinstance(data, dict) and "failure_code" not in data and "code" in data:
            data = shown(data)
        return data

    @classmethod
    def of(cls, r: Requirement) -> RequirementOut:
        return cls(**r.as_dict())


class WaiverOut(Out):
    name: str = Field(description="enforcement_discretion, or the name of a declared relaxation")
    codes: list[str] = Field(description="The unmet requirement codes it allows anyway")


def shown(requirement: dict[str, Any]) -> dict[str, Any]:
    """A Requirement.as_dict() in RequirementOut's shape (18.7): `code` MET when met, the failure
    code in `failure_code` always."""
    code = requirement["code"]
    return {**requirement, "code": MET if requirement.get("met") else code, "failure_code": code}


def decision_json(d: Decision) -> dict[str, Any]:
    """DecisionOut's JSON without building the model (the check's hot path, issue 14 item 2)."""
    body = d.as_dict()
    return {**body, "failures": [shown(r) for r in body["failures"]],
            "requirements": [shown(r) for r in body["requirements"]]}


class DecisionOut(Out):
    stage: str = Field(description="Gate stage: readiness, authorize, confirm or dispense")
    allowed: bool = Field(description="True when every requirement is met or every unmet one is waived")
    failures: list[RequirementOut] = Field(description="Every unmet requirement, each with its rule id")
    requirements: list[RequirementOut] = Field(description="Every requirement, met or not")
    would_refuse: list[str] = Field(default_factory=list,
                                    description="Codes of the unmet requirements (refused without waivers)")
    waivers: list[WaiverOut] = Field(default_factory=list, description=(
        "Issue 17: why unmet requirements are allowed anyway; each use is audited and listed"))

    @classmethod
    def of(cls, d: Decision) -> DecisionOut:
        return cls(stage=d.stage, allowed=d.allowed, failures=[RequirementOut.of(r) for r in d.failures],
                   requirements=[RequirementOut.of(r) for r in d.requirements],
                   would_refuse=[r.code for r in d.failures],
                   waivers=[WaiverOut(**w.as_dict()) for w in d.waivers])


class FieldError(Out):
    field: str = Field(description="The offending field, dotted for nested ones (e.g. ppaf.category)")
    message: str = Field(description="Why the value is refused")


class Problem(Out):
    """RFC 9457 problem details; 409 refusals carry every failing gate with its rule id."""

    type: str = Field(description="Problem type URI, e.g. urn:rems:problem:refused")
    title: str = Field(description="Short summary of the problem type")
    status: int = Field(description="HTTP status code")
    detail: str = Field(description="What went wrong, for a person")
    instance: str | None = Field(default=None, description="The request path")
    request_id: str | None = Field(default=None, description="Request id, as recorded in the audit log")
    field: str | None = Field(default=None, description="422: the first invalid field")
    errors: list[FieldError] | None = Field(default=None, description="422: every invalid field")
    failures: list[RequirementOut] | None = Field(
        default=None, description="409 refused: every failing requirement with its rule id")
