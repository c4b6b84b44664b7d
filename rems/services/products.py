"""The product named on a prescription (issue 17 item 7): an NDC of the patient's program that day."""

from __future__ import annotations

from datetime import datetime

from rems.domain.calendar import local_date
from rems.domain.errors import InvalidInput
from workflows.products import NDC_FORMS, ndc11, product_on
from workflows.program import Program


def prescribed_ndc(program: Program, given: str | None, now: datetime) -> str | None:
    """The 11-digit NDC of a product `program` lists on today's date (program's calendar, T1),
    None when no NDC is given; anything else is bad input naming the field `ndc` (422)."""
    if given is None:
        return None
    ndc = ndc11(given)
    if ndc is None:
        raise InvalidInput("ndc", f"must be {NDC_FORMS}")
    day = local_date(now, program.time_zone)
    if product_on(program, ndc, day) is None:
        raise InvalidInput("ndc", f"NDC {ndc} is not a product of {program.name} on {day}")
    return ndc
