"""A small SMART App Launch 2.2 authorization server standing in for an EHR, for the tests only.

No OpenID provider on PyPI speaks SMART's launch context, so this one is built on authlib's own
pieces (joserfc signs the ID tokens, authlib's RFC 7636 helper checks PKCE) and served by uvicorn
in its own process (`python -m tests.setup.smart_ehr PORT`). It offers what an EHR offers a SMART
app: `/fhir/.well-known/smart-configuration`, a JWK Set, `/authorize` (the EHR's user is already
signed in, so it approves at once) and `/token`, which answers with the launch context (`patient`,
`appContext`) and an ID token carrying `fhirUser`. The test plays the EHR's side of a launch with
`POST /_test/launch` ({"fhirUser", "patient", "appContext"}), which returns the `launch` value.
"""

from __future__ import annotations

import secrets
import sys
import time
from typing import Any
from urllib.parse import urlencode

import uvicorn
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

KEY = RSAKey.generate_key(2048, parameters={"kid": "ehr-1", "use": "sig", "alg": "RS256"})
LAUNCHES: dict[str, dict[str, Any]] = {}
CODES: dict[str, dict[str, Any]] = {}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def configuration(request: Request) -> Response:
    base = _base(request)
    return JSONResponse({"issuer": base, "jwks_uri": f"{base}/jwks", "authorization_endpoint": f"{base}/authorize",
                         "token_endpoint": f"{base}/token", "grant_types_supported": ["authorization_code"],
                         "code_challenge_methods_supported": ["S256"],
                         "scopes_supported": ["launch", "openid", "fhirUser", "patient/Patient.rs"],
                         "capabilities": ["launch-ehr", "client-public", "context-ehr-patient", "sso-openid-connect",
                                          "permission-v2"]})


async def jwks(request: Request) -> Response:
    return JSONResponse({"keys": [KEY.as_dict(private=False)]})


async def new_launch(request: Request) -> Response:
    launch = secrets.token_hex(8)
    LAUNCHES[launch] = await request.json()
    return JSONResponse({"launch": launch})


async def authorize(request: Request) -> Response:
    q = request.query_params
    problems = [name for name, good in [
        ("response_type", q.get("response_type") == "code"),
        ("launch", q.get("launch") in LAUNCHES), ("scope", "launch" in q.get("scope", "").split()),
        ("aud", q.get("aud") == f"{_base(request)}/fhir"),
        ("code_challenge", q.get("code_challenge_method") == "S256" and bool(q.get("code_challenge")))] if not good]
    if problems:
        return JSONResponse({"error": "invalid_request", "error_description": f"bad {problems}"}, 400)
    code = secrets.token_urlsafe(16)
    CODES[code] = {**{k: q[k] for k in ("client_id", "redirect_uri", "code_challenge", "scope")},
                   "nonce": q.get("nonce"), "context": LAUNCHES[q["launch"]]}
    return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}", 302)


async def token(request: Request) -> Response:
    form = await request.form()
    grant = CODES.pop(str(form.get("code")), None)
    verifier = str(form.get("code_verifier", ""))
    if grant is None or form.get("grant_type") != "authorization_code" or form.get("redirect_uri") != grant[
            "redirect_uri"] or form.get("client_id") != grant["client_id"] or \
            create_s256_code_challenge(verifier) != grant["code_challenge"]:
        return JSONResponse({"error": "invalid_grant"}, 400)
    context, now = grant["context"], int(time.time())
    claims = {"iss": _base(request), "sub": context["fhirUser"].rsplit("/", 1)[-1], "aud": grant["client_id"],
              "iat": now, "exp": now + 300, "fhirUser": context["fhirUser"]}
    if grant["nonce"]:
        claims["nonce"] = grant["nonce"]
    id_token = jwt.encode({"alg": "RS256", "kid": "ehr-1"}, claims, KEY)
    return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                         "scope": grant["scope"], "id_token": id_token, "patient": context.get("patient"),
                         "appContext": context.get("appContext", "")}, headers={"Cache-Control": "no-store"})


app = Starlette(routes=[Route("/fhir/.well-known/smart-configuration", configuration), Route("/jwks", jwks),
                        Route("/_test/launch", new_launch, methods=["POST"]), Route("/authorize", authorize),
                        Route("/token", token, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
