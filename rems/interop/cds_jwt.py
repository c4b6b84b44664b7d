"""CDS Hooks 2.0 security: the EHR's signed JWT, checked against its JWK Set (issue 16 item 1).

Only allow-listed issuers are trusted, each with the JWKS URL configured for it (a `jku` header
naming any other URL is refused: we never fetch a URL a token names). The signature, `aud` (our
CDS endpoint), `exp`, `iat`, `sub` and `jti` are required; times are judged on the app's clock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from rems.settings import Settings

REQUIRED = ("iss", "aud", "exp", "iat", "jti", "sub")


class BadJwt(ValueError):
    """A JWT we do not accept: an audited 401 naming why (`code` is the AUTH_JWT_* reason)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class Claims:
    issuer: str
    subject: str  # the EHR's client id
    jti: str
    expires_at: datetime
    fhir_user: str | None  # a `fhirUser` claim, when the EHR sends one


def looks_like_jwt(credential: str) -> bool:
    """Our own bearer tokens are URL-safe base64 without dots; a compact JWS has exactly two."""
    return credential.count(".") == 2


class JwksCache:
    """One PyJWKClient per allow-listed issuer: its JWK Set is cached for `cds_jwks_cache_seconds`
    and re-fetched when a token names an unknown `kid`, at most once per cool-down (so a stream of
    made-up kids cannot make us hammer the EHR)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def client(self, issuer: str) -> jwt.PyJWKClient:
        with self._lock:
            if issuer not in self._clients:
                s = self._settings
                self._clients[issuer] = jwt.PyJWKClient(
                    s.cds_issuers[issuer], cache_jwk_set=True, lifespan=s.cds_jwks_cache_seconds,
                    timeout=s.cds_jwks_timeout_seconds, cooldown_duration=s.cds_jwks_refetch_cooldown_seconds)
            return self._clients[issuer]


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise BadJwt("AUTH_JWT_MALFORMED", f"the JWT cannot be read: {error}") from None
    return header, claims


def _seconds(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadJwt("AUTH_JWT_CLAIM_INVALID", f"the JWT claim {name!r} must be an integer (seconds)")
    return value


def _times(claims: dict[str, Any], settings: Settings, now: datetime) -> datetime:
    exp, iat, at = _seconds(claims, "exp"), _seconds(claims, "iat"), int(now.timestamp())
    leeway = settings.cds_jwt_leeway_seconds
    if at > exp + leeway:
        raise BadJwt("AUTH_JWT_EXPIRED", "the JWT has expired (exp)")
    if iat > at + leeway:
        raise BadJwt("AUTH_JWT_CLAIM_INVALID", "the JWT was issued in the future (iat)")
    if exp - iat > settings.cds_jwt_max_lifetime_seconds:
        raise BadJwt("AUTH_JWT_LIFETIME", f"the JWT lives {exp - iat} s (exp - iat); at most "
                     f"{settings.cds_jwt_max_lifetime_seconds} s are accepted")
    if "nbf" in claims and _seconds(claims, "nbf") > at + leeway:
        raise BadJwt("AUTH_JWT_NOT_YET_VALID", "the JWT is not valid yet (nbf)")
    return datetime.fromtimestamp(exp + leeway, UTC)


def verify(token: str, settings: Settings, keys: JwksCache, audiences: list[str], now: datetime) -> Claims:
    header, unverified = _unverified(token)
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or issuer not in settings.cds_issuers:
        raise BadJwt("AUTH_JWT_ISSUER_UNKNOWN", f"the issuer {issuer!r} is not allow-listed")
    algorithm = header.get("alg")
    if algorithm not in settings.cds_jwt_algorithms:
        raise BadJwt("AUTH_JWT_ALGORITHM", f"alg {algorithm!r} is not accepted; use one of "
                     f"{', '.join(settings.cds_jwt_algorithms)}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise BadJwt("AUTH_JWT_MALFORMED", "the JWT header has no kid")
    if "jku" in header and header["jku"] != settings.cds_issuers[issuer]:
        raise BadJwt("AUTH_JWT_JKU", "the jku header is not the JWKS URL configured for this issuer")
    try:
        key = keys.client(issuer).get_signing_key(kid)
    except jwt.PyJWKClientConnectionError:
        raise BadJwt("AUTH_JWKS_UNAVAILABLE", f"the JWK Set of {issuer} cannot be fetched") from None
    except jwt.PyJWKClientError as error:
        raise BadJwt("AUTH_JWT_KEY_UNKNOWN", f"no key {kid!r} in the JWK Set of {issuer}: {error}") from None
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[algorithm], audience=audiences, issuer=issuer,
            options={"require": list(REQUIRED), "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False})
    except jwt.InvalidAudienceError:
        raise BadJwt("AUTH_JWT_AUDIENCE", f"aud must be {audiences[0]}") from None
    except jwt.InvalidSignatureError:
        raise BadJwt("AUTH_JWT_SIGNATURE", "the JWT signature does not verify") from None
    except jwt.PyJWTError as error:
        raise BadJwt("AUTH_JWT_CLAIM_INVALID", f"the JWT is not acceptable: {error}") from None
    expires_at = _times(claims, settings, now)
    jti, subject, user = claims["jti"], claims["sub"], claims.get("fhirUser")
    if not isinstance(jti, str) or not 0 < len(jti) <= 200 or not isinstance(subject, str):
        raise BadJwt("AUTH_JWT_CLAIM_INVALID", "jti and sub must be strings (jti of 200 characters at most)")
    return Claims(issuer, subject, jti, expires_at, user if isinstance(user, str) else None)


def practitioner(settings: Settings, claims: Claims, context_user: str | None) -> tuple[str | None, str]:
    """Our prescriber id for the EHR's user (configured per issuer), and why when there is none."""
    if claims.fhir_user and context_user and claims.fhir_user.rsplit("/", 2)[-2:] != context_user.split("/")[-2:]:
        return None, "context.userId is not the JWT's fhirUser"
    given = context_user or claims.fhir_user
    if not given:
        return None, "the call names no user (context.userId or fhirUser)"
    user = "/".join(given.split("/")[-2:])  # "Practitioner/123", also from an absolute fhirUser
    mapped = settings.cds_practitioners.get(claims.issuer, {}).get(user)
    if mapped is None:
        return None, f"{user} of {claims.issuer} is mapped to no prescriber here"
    return mapped, ""
