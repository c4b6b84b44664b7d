"""CDS Hooks 2.0 security: the EHR's JWT (iss allow-listed, signature by a key of its JWK Set, aud,
exp, jti never twice), its user mapped to our prescriber by configuration, all audited; our own
bearer tokens still work. The JWK Set is served by a real HTTP server; the keys are made here."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select

from rems.adapters import orm
from rems.asgi import create_app
from rems.bootstrap import App
from rems.http import anonymous
from rems.settings import Settings
from tests.api.conftest import Clock
from tests.interop.conftest import Population
from tests.interop.jwks import Ehr, new_key, serve
from tests.interop.test_cds_hooks import hook

BASE = "https://rems.example.org"
ISSUER = "https://ehr.example.org"
SERVICE = "/cds-services/rems-order-sign"
USER = "Practitioner/1"  # the userId of tests.interop.test_cds_hooks.hook


@pytest.fixture
def ehr() -> Iterator[Ehr]:
    yield from serve(Ehr(ISSUER, keys=[new_key("ES384")]))


def configured(app: App, ehr: Ehr, p: Population, **more: Any) -> App:
    settings = app.settings.model_copy(update={
        "public_base_url": BASE, "cds_issuers": {ISSUER: ehr.url},
        "cds_practitioners": {ISSUER: {USER: p.w.doc}}, **more})
    return dataclasses.replace(app, settings=settings)


@pytest.fixture
def ehr_client(app: App, clock: Clock, ehr: Ehr, p: Population) -> Iterator[TestClient]:
    with TestClient(create_app(configured(app, ehr, p), clock)) as test_client:
        yield test_client


def claims(clock: Clock, **changes: Any) -> dict[str, Any]:
    now = int(clock().timestamp())
    found = {"iss": ISSUER, "sub": "ehr-client-1", "aud": BASE + SERVICE, "iat": now, "exp": now + 300,
             "jti": uuid.uuid4().hex}
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}


def call(client: TestClient, token: str, body: dict[str, Any] | None = None, path: str = SERVICE) -> Any:
    return client.post(path, json=body or hook(None), headers={"Authorization": f"Bearer {token}"})


def refusals(app: App, code: str) -> int:
    """Refusals with this code: audited ones (a known actor) plus the counted anonymous ones
    (issue 15 item 8: a caller without a verified identity is counted, never chained)."""
    with app.uow(write=False) as uow:
        rows = uow.session.execute(select(orm.audit_log.c.reasons).where(
            orm.audit_log.c.trigger == "access_refused")).scalars().all()
    audited = sum(1 for reasons in rows if any(r["code"] == code for r in reasons))
    return audited + sum(n for (_, _, counted), n in anonymous.stored(app).items() if counted == code)


def test_a_signed_jwt_of_an_allow_listed_issuer_acts_as_the_mapped_prescriber(
        ehr_client: TestClient, ehr: Ehr, clock: Clock, p: Population, app: App) -> None:
    # CDS Hooks 2.0: the client signs a JWT; the service verifies it with the issuer's JWK Set and
    # the user acts as the prescriber configured for it (R5: only the prescriber's own patients).
    response = call(ehr_client, ehr.sign(claims(clock)), hook(p.w.frp))
    assert response.status_code == 200, response.text
    assert {c["source"]["topic"]["code"] for c in response.json()["cards"]} >= {"R9"}
    with app.uow(write=False) as uow:
        entry = uow.session.execute(select(orm.audit_log).where(orm.audit_log.c.entity == "cds_jwt")).one()
    assert (entry.actor, entry.entity_id, entry.trigger) == (f"prescriber:{p.w.doc}", p.w.doc, "accepted")
    assert entry.refs["iss"] == ISSUER and entry.refs["sub"] == "ehr-client-1"


def test_rs384_is_accepted_too_and_the_aud_may_be_the_discovery_url(
        app: App, clock: Clock, ehr: Ehr, p: Population) -> None:
    ehr.keys.append(new_key("RS384"))
    with TestClient(create_app(configured(app, ehr, p), clock)) as client:
        token = ehr.sign(claims(clock, aud=BASE + "/cds-services"), ehr.keys[1])
        assert call(client, token, hook(p.ready)).status_code == 200


def test_a_replayed_jwt_is_refused(ehr_client: TestClient, ehr: Ehr, clock: Clock, p: Population,
                                   app: App) -> None:
    token = ehr.sign(claims(clock))
    assert call(ehr_client, token, hook(p.ready)).status_code == 200
    again = call(ehr_client, token, hook(p.ready))
    assert again.status_code == 401 and "already used" in again.json()["detail"]
    assert 'error="invalid_token"' in again.headers["www-authenticate"]
    assert refusals(app, "AUTH_JWT_REPLAYED") == 1


@pytest.mark.parametrize(("change", "code"), [
    ({"aud": BASE + "/cds-services/another"}, "AUTH_JWT_AUDIENCE"),
    ({"aud": "https://someone-else.example/cds-services"}, "AUTH_JWT_AUDIENCE"),
    ({"exp": -100, "iat": -400}, "AUTH_JWT_EXPIRED"),
    ({"exp": 3600}, "AUTH_JWT_LIFETIME"),
    ({"iss": "https://unknown-ehr.example"}, "AUTH_JWT_ISSUER_UNKNOWN"),
    ({"jti": None}, "AUTH_JWT_CLAIM_INVALID"),
    ({"sub": None}, "AUTH_JWT_CLAIM_INVALID"),
])
def test_a_jwt_with_a_wrong_claim_is_refused_naming_it(ehr_client: TestClient, ehr: Ehr, clock: Clock,
                                                       p: Population, app: App, change: dict[str, Any],
                                                       code: str) -> None:
    now = int(clock().timestamp())
    relative = {k: now + v if k in ("exp", "iat") and v is not None else v for k, v in change.items()}
    response = call(ehr_client, ehr.sign(claims(clock, **relative)), hook(p.ready))
    assert response.status_code == 401, response.text
    assert refusals(app, code) == 1


def test_a_jwt_signed_by_a_key_outside_the_jwk_set_is_refused(ehr_client: TestClient, ehr: Ehr,
                                                              clock: Clock, p: Population, app: App) -> None:
    impostor = dataclasses.replace(new_key("ES384"), kid=ehr.keys[0].kid)  # same kid, other key
    assert call(ehr_client, ehr.sign(claims(clock), impostor), hook(p.ready)).status_code == 401
    assert refusals(app, "AUTH_JWT_SIGNATURE") == 1
    stranger = new_key("ES384")  # a kid the JWK Set does not have
    assert call(ehr_client, ehr.sign(claims(clock), stranger), hook(p.ready)).status_code == 401
    assert refusals(app, "AUTH_JWT_KEY_UNKNOWN") == 1


def test_symmetric_and_unsigned_tokens_are_refused(ehr_client: TestClient, ehr: Ehr, clock: Clock,
                                                   p: Population, app: App) -> None:
    hs = jwt.encode(claims(clock), "a-shared-secret-that-is-long-enough!", algorithm="HS256",
                    headers={"kid": ehr.keys[0].kid})
    unsigned = jwt.encode(claims(clock), None, algorithm="none", headers={"kid": ehr.keys[0].kid})
    for token in (hs, unsigned):
        assert call(ehr_client, token, hook(p.ready)).status_code == 401
    assert refusals(app, "AUTH_JWT_ALGORITHM") == 2


def test_a_jku_other_than_the_configured_jwks_url_is_refused(ehr_client: TestClient, ehr: Ehr,
                                                             clock: Clock, p: Population, app: App) -> None:
    token = ehr.sign(claims(clock), jku="https://attacker.example/jwks.json")
    assert call(ehr_client, token, hook(p.ready)).status_code == 401
    assert refusals(app, "AUTH_JWT_JKU") == 1
    assert ehr.fetches == 0  # never a URL the token names


def test_a_user_mapped_to_no_prescriber_is_refused_and_audited(ehr_client: TestClient, ehr: Ehr,
                                                               clock: Clock, p: Population, app: App) -> None:
    body = hook(p.ready)
    body["context"]["userId"] = "Practitioner/somebody-else"
    response = call(ehr_client, ehr.sign(claims(clock)), body)
    assert response.status_code == 403 and "mapped to no prescriber" in response.json()["detail"]
    assert refusals(app, "AUTH_PRACTITIONER_UNMAPPED") == 1
    with_fhir_user = ehr.sign(claims(clock, fhirUser=f"{ISSUER}/fhir/Practitioner/other"))
    assert call(ehr_client, with_fhir_user, hook(p.ready)).status_code == 403  # differs from userId


def test_the_mapped_prescriber_sees_only_own_patients(ehr_client: TestClient, ehr: Ehr, clock: Clock,
                                                      p: Population) -> None:
    token = ehr.sign(claims(clock, aud=BASE + "/cds-services/rems-patient-view"))
    found = call(ehr_client, token, hook(p.w.stranger, "patient-view"),
                 "/cds-services/rems-patient-view").json()["cards"]
    assert [c["summary"] for c in found] == ["REMS patient id not found for this prescriber"]


def test_the_jwk_set_is_fetched_once_and_again_for_a_new_key(app: App, clock: Clock, ehr: Ehr,
                                                             p: Population) -> None:
    with TestClient(create_app(configured(app, ehr, p, cds_jwks_refetch_cooldown_seconds=0), clock)) as client:
        for _ in range(3):
            assert call(client, ehr.sign(claims(clock)), hook(p.ready)).status_code == 200
        assert ehr.fetches == 1
        rotated = new_key("ES384")
        ehr.keys.append(rotated)  # the EHR rotates: a kid we have not seen makes us fetch again
        assert call(client, ehr.sign(claims(clock), rotated), hook(p.ready)).status_code == 200
        assert ehr.fetches == 2


def test_made_up_kids_do_not_make_us_fetch_again_within_the_cool_down(
        ehr_client: TestClient, ehr: Ehr, clock: Clock, p: Population) -> None:
    assert call(ehr_client, ehr.sign(claims(clock)), hook(p.ready)).status_code == 200
    for _ in range(3):
        assert call(ehr_client, ehr.sign(claims(clock), new_key("ES384")), hook(p.ready)).status_code == 401
    assert ehr.fetches == 1


def test_an_unreachable_jwk_set_refuses_the_call(app: App, clock: Clock, ehr: Ehr, p: Population) -> None:
    closed = dataclasses.replace(ehr, url="http://127.0.0.1:9/jwks.json")
    with TestClient(create_app(configured(app, closed, p, cds_jwks_timeout_seconds=2), clock)) as client:
        assert call(client, ehr.sign(claims(clock)), hook(p.ready)).status_code == 401
    assert refusals(app, "AUTH_JWKS_UNAVAILABLE") == 1


def test_seen_jtis_are_kept_only_until_they_expire(ehr_client: TestClient, ehr: Ehr, clock: Clock,
                                                   p: Population, app: App) -> None:
    assert call(ehr_client, ehr.sign(claims(clock)), hook(p.ready)).status_code == 200
    clock.advance(seconds=600)
    assert call(ehr_client, ehr.sign(claims(clock)), hook(p.ready)).status_code == 200
    with app.uow(write=False) as uow:
        assert uow.session.execute(select(func.count()).select_from(orm.cds_jwt_ids)).scalar_one() == 1


def test_discovery_takes_a_jwt_without_a_user(ehr_client: TestClient, ehr: Ehr, clock: Clock) -> None:
    token = ehr.sign(claims(clock, aud=BASE + "/cds-services"))
    response = ehr_client.get("/cds-services", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and len(response.json()["services"]) == 3


def test_our_own_bearer_tokens_still_work(ehr_client: TestClient, p: Population) -> None:
    response = ehr_client.post(SERVICE, json=hook(p.ready), headers=p.auth(p.w.doc))
    assert response.status_code == 200 and response.json() == {"cards": []}


@pytest.mark.parametrize(("change", "variable"), [
    ({"cds_jwt_algorithms": ["HS256"]}, "REMS_CDS_JWT_ALGORITHMS"),
    ({"cds_jwt_algorithms": ["none"]}, "REMS_CDS_JWT_ALGORITHMS"),
    ({"cds_issuers": {ISSUER: "file:///etc/jwks.json"}}, "REMS_CDS_ISSUERS"),
    ({"cds_practitioners": {"https://other.example": {USER: "pre_1"}}}, "REMS_CDS_PRACTITIONERS"),
])
def test_unsafe_jwt_settings_are_refused_at_start(change: dict[str, Any], variable: str) -> None:
    with pytest.raises(ValidationError, match=variable):
        Settings(env="test", **change)


def test_production_needs_https_for_the_service_and_the_jwks() -> None:
    strong = {"env": "production", "database_url": "postgresql+psycopg://db/rems", "session_secret": "s" * 40}
    with pytest.raises(ValidationError, match="https in production"):
        Settings(**strong, public_base_url="https://rems.example.org",
                 cds_issuers={ISSUER: "http://ehr.example.org/jwks.json"})


def test_no_token_is_a_401_challenge_without_an_error_code(ehr_client: TestClient, p: Population) -> None:
    response = ehr_client.post(SERVICE, json=hook(p.ready))
    assert response.status_code == 401 and response.headers["www-authenticate"] == 'Bearer realm="rems"'
