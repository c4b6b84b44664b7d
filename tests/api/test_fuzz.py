"""Issue 15 item 6: schemathesis over every operation with every role's token (and none), on
SQLite and PostgreSQL: no input is a server error, and every answer matches the document.

Short profile here (REMS_FUZZ_API_EXAMPLES, default 1 per operation, role and mode); `make fuzz`
runs the long one. The corpus for the routes outside the OpenAPI document (forms, FHIR, CDS
Hooks, NCPDP) is test_fuzz_corpus.py.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import strategies as st

from rems.asgi import create_app
from rems.bootstrap import App
from tests.api.conftest import Clock
from tests.api.test_openapi import _fuzz, _real_ids, _role
from tests.api.world import ADMIN, World

# What a generator rarely draws but PostgreSQL refuses (NUL) or a log would carry (CR/LF, ESC).
HOSTILE = ["\x00", "a\x00b", "\r\nX-Injected: 1", "\x1b[2J", "\t", "x" * 3000]
EXAMPLES = int(os.environ.get("REMS_FUZZ_API_EXAMPLES", "1"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def w(app: App, clock: Clock) -> World:
    return World(app, clock).cast()


def test_no_input_from_any_role_is_a_server_error_on_either_store(app: App, clock: Clock, w: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(app, clock))
    tokens = {"pharmacy": w.pharm, "prescriber": w.doc, "patient": w.male, "admin": ADMIN}
    real = _real_ids(w)
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in real.items() if k in names}
        own = _role(operation.path)
        for role, actor in [*tokens.items(), ("anonymous", None)]:
            headers: dict[str, Any] = w.auth(actor) if actor else {}
            modes = [schemathesis.GenerationMode.POSITIVE]
            if role == own:  # the operation's own role reaches the services: invalid input too
                modes.append(schemathesis.GenerationMode.NEGATIVE)
            strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
            if fixed and role == own:
                strategies.append(operation.as_strategy(path_parameters=fixed))
            if role == own:
                strategies += _hostile_addresses(operation, fixed)
            _fuzz(st.one_of(strategies), headers, EXAMPLES * len(strategies))()


def _hostile_addresses(operation: Any, fixed: dict[str, str]) -> list[st.SearchStrategy[schemathesis.Case]]:
    """A hostile value in each path parameter (the others real) and in each query parameter."""
    found: list[st.SearchStrategy[schemathesis.Case]] = []
    for name in [p.name for p in operation.path_parameters]:
        found.append(st.sampled_from(HOSTILE).flatmap(
            lambda v, name=name: operation.as_strategy(path_parameters={**fixed, name: v})))
    for name in [p.name for p in operation.query]:
        found.append(st.sampled_from(HOSTILE).flatmap(
            lambda v, name=name: operation.as_strategy(query={name: v})))
    return found
