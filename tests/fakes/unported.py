"""The one stand-in left for the tests on the fake (issue 19 item 1): the outbox has no in-memory
adapter, so the closing-the-loop routes (rems/services/reminders/loop.py), which the outbox holds,
are none: nothing is queued. The gate's reads, the program's recorded changes, the audit log's
staged entries and the retry's attempts are the fake's own (tests/fakes/uow.py)."""

from __future__ import annotations

import pytest


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    from rems.services.reminders import loop

    monkeypatch.setattr(loop, "_routes", lambda uow: loop.Routes())
