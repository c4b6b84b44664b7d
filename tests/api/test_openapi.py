"""The OpenAPI document is complete (every field and parameter described, every error declared as
problem+json), and a property-based run over it (schemathesis) finds no 500 and no response that
breaks its schema."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rems.asgi import create_app
from tests.api.world import ADMIN, World

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Per operation and mode: 26 operations stay well under a minute; raise it for a deeper hunt.
EXAMPLES = int(os.environ.get("REMS_API_FUZZ_EXAMPLES", "8"))


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from schema.get("properties", {}).items()


def test_every_field_and_parameter_is_described(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    undescribed = [f"{name}.{field}" for name, schema in document["components"]["schemas"].items()
                   for field, spec in _properties(schema) if not spec.get("description")]
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            assert op.get("summary"), (method, path)
            undescribed += [f"{method} {path} {p['name']}" for p in op.get("parameters", [])
                            if not p.get("description")]
    assert undescribed == []


def test_every_operation_declares_its_errors_as_problem_details(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            errors = {code: r for code, r in op["responses"].items() if int(code) >= 400}
            assert {"401", "403", "422"} <= set(errors), (method, path)
            for response in errors.values():
                assert response["content"] == {"application/problem+json": {"schema": problem}}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def _real_ids(w: World) -> dict[str, str]:
    """Path parameters naming records that exist, so generated bodies also reach the services."""
    return {"number": w.number, "patient_id": w.male, "prescription_id": w.rx, "record_id": w.pharm,
            "entity_id": w.rx}


def _role(path: str) -> str:
    return path.split("/")[2]


@pytest.fixture
def api(rems_app: Any, clock: Any) -> FastAPI:
    return create_app(rems_app, clock)


def test_no_input_gets_a_500_and_every_response_matches_its_schema(api: FastAPI, w: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    callers = {"pharmacy": w.pharm, "prescriber": w.doc, "patient": w.male, "admin": ADMIN}
    real = _real_ids(w)
    for result in schema.get_all_operations():
        operation = result.ok()
        headers = w.auth(callers[_role(operation.path)])
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in real.items() if k in names}
        strategies = [operation.as_strategy(generation_mode=mode)
                      for mode in (schemathesis.GenerationMode.POSITIVE,
                                   schemathesis.GenerationMode.NEGATIVE)]
        if fixed:
            strategies.append(operation.as_strategy(path_parameters=fixed))

        _fuzz(st.one_of(strategies), headers, EXAMPLES * len(strategies))()


def _fuzz(cases: st.SearchStrategy[schemathesis.Case], headers: dict[str, str],
          examples: int) -> Callable[[], None]:
    @given(case=cases)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)
    return run
