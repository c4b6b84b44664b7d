"""Closing the loop (issue 16 item 5; R19, R23, R25-R27): the formats of the messages back to the
prescriber's system, a FHIR `Communication` and an NCPDP `RxFill` `NotDispensed`
(rems/interop/loop_render.py), and how an NCPDP endpoint's answer names an Error.

What is queued, when and to whom is decided in rems/services/reminders/loop.py, in the transaction
that refused the authorization or ended the confirmation, and the row and its body are written by
rems/adapters/outbox.py; the workers send the stored bytes through rems/adapters/notify/loop.py.
Those may not import an entry point, so they find these formats through the registry: `FORMATS`
below is registered under the entry point group `rems.loop_formats` (pyproject.toml) and wired by
rems.bootstrap."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rems.adapters.notify.loop import Answers
from rems.domain.model import Prescription
from rems.interop import codes, loop_render, ncpdp_xml
from rems.services.ports.outbox import LoopFormats


class Formats:
    """The FHIR and NCPDP renderings (rems.services.ports.outbox.LoopFormats) and the NCPDP
    answer's Error code (rems.adapters.notify.loop.Answers)."""

    def communication(self, notification_id: str, category: str, rx: Prescription, program_name: str,
                      practitioner: str, npi: str, text: str, rules: Sequence[tuple[str, str]],
                      now: datetime) -> dict[str, Any]:
        return loop_render.communication(notification_id, category, rx, program_name, practitioner, npi, text,
                                         rules, now)

    def rx_fill(self, notification_id: str, npi: str, rx: Prescription, ncpdp_id: str, rxnorm: str | None,
                reasons: tuple[str, ...], note: str, now: datetime) -> str:
        return loop_render.rx_fill(notification_id, npi, rx, ncpdp_id, rxnorm, reasons, note, now)

    def ncpdp_reason(self, rule: str) -> str:
        return codes.ncpdp_reason(rule)

    def error_code(self, content: bytes) -> str | None:
        return ncpdp_xml.error_code(content)


FORMATS = Formats()
_CHECKED: tuple[LoopFormats, Answers] = (FORMATS, FORMATS)  # mypy: both ports are met
