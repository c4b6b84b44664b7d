"""In-memory stand-ins for the two service functions whose ports have no in-memory adapter in
FakeUnitOfWork (issue 19 item 1): the outbox and the audit chain's pending rows. `install(monkeypatch)`
puts them in place for a test on the fake; the gate's reads and the program's recorded changes are
the fake's own (FakeGateReads, FakeProgramRecords).

- the closing-the-loop routes (rems/services/reminders/loop.py): none configured, so nothing is
  queued;
- the safety retry (rems/services/dispensing/retry.py): the use case runs once (one thread, no race).
"""

from __future__ import annotations

import pytest


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    from rems.services.dispensing import retry
    from rems.services.reminders import loop

    monkeypatch.setattr(loop, "_routes", lambda uow: loop.Routes())
    monkeypatch.setattr(retry, "_fresh", lambda uow: False)
