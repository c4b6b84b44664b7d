"""A prescriber's system on loopback, for the closing-the-loop tests: a FHIR server that honours
conditional create (If-None-Exist: a second create of one identifier makes nothing) and an NCPDP
endpoint answering Status 000; either can be told to fail its next answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.interop.loopback import serving

STATUS = (b'<?xml version="1.0"?><Message xmlns="http://www.ncpdp.org/schema/SCRIPT"><Header>'
          b'<From>EHR</From><MessageID>r-1</MessageID><SentTime>2026-03-02T09:00:00Z</SentTime></Header>'
          b'<Body><Status><Code>000</Code></Status></Body></Message>')
ERROR = STATUS.replace(b"<Status><Code>000</Code></Status>", b"<Error><Code>900</Code><Description>no"
                                                                 b"</Description></Error>")


@dataclass
class Receiver:
    base: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    created: dict[str, bytes] = field(default_factory=dict)  # Communication identifier -> body
    fail: int = 0  # answer this many requests with 503
    ncpdp_error: bool = False  # answer RxFill with an NCPDP Error (HTTP 200)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        with self.lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            if self.fail > 0:
                self.fail -= 1
                return 503, b""
            if path == "/fhir/Communication":
                key = headers.get("if-none-exist", "")
                if key in self.created:
                    return 200, self.created[key]  # FHIR conditional create: it exists already
                self.created[key] = body
                return 201, body
            if path == "/ncpdp":
                return 200, ERROR if self.ncpdp_error else STATUS
            return 404, b""

    def to(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, content = state.answer(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as state.base:
        yield state
