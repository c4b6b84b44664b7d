"""The product named on a prescription (issue 17 item 7): an NDC of the patient's program that day."""

from __future__ import annotations

from datetime import datetime

from rems.domain.calendar import local_date
from rems.domain.errors import InvalidInput
from workflows.products import product_on
from workflows.program import Program


def prescribed_ndc(program: Program, ndc: str | None, now: datetime) -> str | None:
    """`ndc` (11 digits, RequestAuthorization normalised it) when `program` lists that product on
    today's date (program's calendar, T1); None when none is given; else bad input naming `ndc` (422)."""
    if ndc is None:
        return None
    day = local_date(now, program.time_zone)
    if product_on(program, ndc, day) is None:
        raise InvalidInput("ndc", f"NDC {ndc} is not a product of {program.name} on {day}")
    return ndc
