"""The EHR's FHIR server for the prefetch tests (G-3): a real HTTP server on loopback serving FHIR
reads and identifier searches of the resources it holds, recording every request it sees; it can be
told to answer slowly, with a status of its choice, or a redirect."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.interop.loopback import serving


@dataclass
class FhirEhr:
    base: str = ""  # http://127.0.0.1:<port>/fhir
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # "Patient/ehr-1" -> resource
    seen: list[dict[str, Any]] = field(default_factory=list)  # {"path": "/fhir/Patient/ehr-1?...", "headers"}
    status: int | None = None  # answer every request with this status (and `location` for a 3xx)
    location: str = ""
    slow: float = 0.0  # seconds to wait before answering (cut short when the test ends)
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, resource: dict[str, Any]) -> None:
        self.resources[f"{resource['resourceType']}/{resource['id']}"] = resource

    def requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.seen)

    def answer(self, target: str) -> tuple[int, dict[str, Any] | None]:
        parts = urlsplit(target)
        path = parts.path.removeprefix("/fhir/")
        if path in self.resources:
            return 200, self.resources[path]
        if "/" not in path and parts.query:  # a search: identifier=system|value
            wanted = parse_qs(parts.query).get("identifier", [""])[0]
            found = [r for key, r in self.resources.items() if key.startswith(f"{path}/") and any(
                f"{i.get('system')}|{i.get('value')}" == wanted for i in r.get("identifier", []))]
            return 200, {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                         "entry": [{"resource": r} for r in found]}
        return 404, {"resourceType": "OperationOutcome",
                     "issue": [{"severity": "error", "code": "not-found"}]}


@pytest.fixture
def fhir_ehr() -> Iterator[FhirEhr]:
    ehr = FhirEhr()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with ehr.lock:
                ehr.seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
            if ehr.slow:
                ehr.done.wait(ehr.slow)
            status, resource = (ehr.status, None) if ehr.status else ehr.answer(self.path)
            body = json.dumps(resource).encode() if resource is not None else b""
            try:
                self.send_response(status)
                if ehr.location:
                    self.send_header("Location", ehr.location)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the caller gave up (the time-out test)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as base:
        ehr.base = f"{base}/fhir"
        yield ehr
        ehr.done.set()
