"""An EHR for the CDS Hooks JWT tests: its own keys (made here) and a real JWK Set HTTP server on loopback."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.interop.loopback import serving


@dataclass
class Key:
    kid: str
    alg: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        as_jwk = ECAlgorithm.to_jwk if self.alg.startswith("ES") else RSAAlgorithm.to_jwk
        found: dict[str, Any] = as_jwk(public, as_dict=True)
        return {**found, "kid": self.kid, "alg": self.alg, "use": "sig"}


def new_key(alg: str = "ES384") -> Key:
    private = ec.generate_private_key(ec.SECP384R1()) if alg.startswith("ES") else \
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Key(f"k-{uuid.uuid4().hex[:8]}", alg, private)


@dataclass
class Ehr:
    """The JWK Set it publishes (`keys`, changeable), and how often it was fetched."""

    issuer: str
    url: str = ""
    keys: list[Key] = field(default_factory=list)
    fetches: int = 0

    def sign(self, claims: dict[str, Any], key: Key | None = None, **header: Any) -> str:
        key = key or self.keys[0]
        return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid, "typ": "JWT", **header})


def serve(ehr: Ehr) -> Iterator[Ehr]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ehr.fetches += 1
            body = json.dumps({"keys": [k.jwk() for k in ehr.keys]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as base:
        ehr.url = f"{base}/jwks.json"
        yield ehr
