"""One typed settings object, read from the environment (REMS_*), validated at start (STYLE 8)."""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workflows.program import PROGRAM_DIR

DEFAULT_DATABASE_URL = "sqlite:///var/rems.db"
# Placeholders people copy from examples; a session secret equal to one of these is no secret.
WEAK_SESSION_SECRETS = frozenset({"", "changeme", "change-me", "secret", "development", "dev", "test"})


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@cache
def _process_session_secret() -> str:
    """Development and test: one random secret per process (sessions end when it restarts)."""
    return secrets.token_urlsafe(32)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REMS_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    program_dir: Path = PROGRAM_DIR
    default_program: str = "pomalidomide"
    # Signs the web dashboard's session cookie (issue 7); required, and strong, in production.
    session_secret: SecretStr | None = None
    # Issue 18 item 4: a dashboard session unused this long ends (shared workstations), beside
    # the absolute limit of rems.web.session.SESSION_HOURS.
    web_idle_minutes: int = Field(default=15, ge=1, le=720)
    # Issue 18 item 5: the reminders' language (workers have no Accept-Language; the contacts
    # table carries no language per recipient). The dashboard negotiates per browser.
    default_locale: Literal["en", "es"] = "en"
    # Issue 4, Celery workers and reminders. The default broker is an embedded SQLite file
    # (kombu's SQLAlchemy transport) so `make run` needs no server; production uses redis://.
    broker_url: str = "sqla+sqlite:///var/broker.db"
    broker_visibility_timeout_seconds: int = 3600  # > task_time_limit: no redelivery of a live task
    task_time_limit_seconds: int = 300
    sweep_interval_seconds: int = 300
    relay_interval_seconds: int = 30
    reminder_lead_days: int = 3  # "coming due" reminders go this many days before the due date
    reminder_lookback_days: int = 7  # overdue/expired items older than this are not reminded again
    notify_max_attempts: int = 5  # then parked, visible in `rems notifications parked` and the API
    notify_backoff_seconds: int = 60  # doubled on each failed attempt
    notify_backoff_max_seconds: int = 3600
    notify_lease_seconds: int = 120  # a send claimed longer ago than this may be claimed again
    smtp_host: str | None = None  # email channel off when unset
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "rems-reminders@localhost"
    smtp_timeout_seconds: float = 30.0
    webhook_url: str | None = None  # SMS/messaging gateway; webhook channel off when unset
    webhook_secret: SecretStr | None = None  # signs each body (X-REMS-Signature: HMAC-SHA256)
    webhook_timeout_seconds: float = 10.0
    # Issue 15 items 3, 4, 8 (ops lane; docs/operations.md): logs, /metrics, anonymous refusals.
    access_log: bool = True  # one JSON line per API request (route, status, time, request id)
    metrics_token: SecretStr | None = None  # /metrics wants `Authorization: Bearer <it>` when set
    anonymous_refusals_per_minute: int = 60  # per client; past it a 429 with Retry-After
    anonymous_refusals_flush_seconds: float = 10.0  # counts are written at most this often

    @model_validator(mode="after")
    def _ops_limits(self) -> Settings:  # ops lane
        if self.anonymous_refusals_per_minute < 1:
            raise ValueError("REMS_ANONYMOUS_REFUSALS_PER_MINUTE must be >= 1")
        if self.anonymous_refusals_flush_seconds < 0:
            raise ValueError("REMS_ANONYMOUS_REFUSALS_FLUSH_SECONDS must not be negative")
        return self

    # -- standards lane (issue 16 items 1, 2): CDS Hooks 2.0 JWTs, CORS, absolute links ----------
    # Our own public address: the `aud` an EHR's JWT must carry (with /cds-services), the base of
    # Card.link URLs and of our FHIR canonical URLs. Absolute http(s); https in production.
    public_base_url: str = "http://127.0.0.1:8000"
    # Allow-listed EHRs: issuer (`iss`) -> the URL of its JWK Set. No entry, no JWT accepted.
    cds_issuers: dict[str, str] = {}
    # Per issuer, the EHR's user (context.userId / fhirUser, e.g. "Practitioner/123") -> our
    # prescriber id. Only these users act as a prescriber; anyone else is refused (403, audited).
    cds_practitioners: dict[str, dict[str, str]] = {}
    cds_jwt_algorithms: list[str] = ["ES384", "RS384"]  # CDS Hooks 2.0: clients sign with these
    cds_jwt_max_lifetime_seconds: int = 300  # exp - iat at most this (bounds the jti store too)
    cds_jwt_leeway_seconds: int = 30  # clock skew tolerated on exp and iat
    cds_jwks_cache_seconds: int = 300  # an issuer's JWK Set is re-fetched after this (or on a new kid)
    cds_jwks_timeout_seconds: float = 5.0
    cds_jwks_refetch_cooldown_seconds: float = 30.0  # an unknown kid re-fetches at most this often
    # Browser origins allowed to call /cds-services and /fhir (exact "scheme://host[:port]").
    cors_origins: list[str] = []
    cors_max_age_seconds: int = 600
    # Issue 16 item 5, closing the loop: a refused authorization or a confirmation that ended without
    # a dispense goes back to the prescriber's system. FHIR: per allow-listed EHR issuer, the FHIR
    # base URL a Communication is created at (for the prescribers mapped under that issuer in
    # REMS_CDS_PRACTITIONERS only); NCPDP: one endpoint (a switch) an RxFill NotDispensed is posted
    # to. Unset: nothing is queued. Tokens are sent as `Authorization: Bearer`.
    loop_fhir_endpoints: dict[str, str] = {}
    loop_fhir_token: SecretStr | None = None
    loop_ncpdp_url: str | None = None
    loop_ncpdp_token: SecretStr | None = None

    # hotread lane (issue 14 item 2): a bearer token found usable is trusted again for this long
    # without a database read, so a revocation takes effect within this bound in every process
    # (docs/hot-path.md); 0 reads the token on every request.
    token_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # Worker threads the async read routes (the pharmacy check) hand their database work to
    # (0: none, the work runs on the event loop; docs/hot-path.md).
    read_threads: int = Field(default=8, ge=0, le=64)

    # Scale lane (issue 14 items 4, 5; issue 15 item 7). Admission control per server process:
    # requests in flight at once, beyond which the next gets 503 + Retry-After (0: no limit).
    max_concurrent_requests: int = 32
    retry_after_seconds: int = 1
    # The database password apart from REMS_DATABASE_URL (which then names no password): any
    # character allowed, escaped into the URL here, so `@ : /` in it cannot break the URL.
    database_password: SecretStr | None = None

    @model_validator(mode="after")
    def _password_into_url(self) -> Settings:
        if self.database_password is not None:
            from sqlalchemy.engine import make_url
            url = make_url(self.database_url)
            if url.password is not None:
                raise ValueError("REMS_DATABASE_URL names a password and REMS_DATABASE_PASSWORD is "
                                 "set: give the password in one of them")
            self.database_url = url.set(password=self.database_password.get_secret_value()) \
                .render_as_string(hide_password=False)
        if self.max_concurrent_requests < 0 or self.retry_after_seconds < 1:
            raise ValueError("REMS_MAX_CONCURRENT_REQUESTS must be >= 0 (0: no limit) and "
                             "REMS_RETRY_AFTER_SECONDS >= 1")
        return self

    # hotwrite lane (issue 14 item 3, docs/audit.md): who chains committed audit entries.
    # "background": a sealer thread per process (the default outside tests); "inline": right after
    # each commit (the default in tests, so a test sees its entries chained when its call returns).
    audit_seal: Literal["inline", "background"] | None = None
    audit_seal_interval_seconds: float = 0.5  # an idle sealer looks for left-over entries this often

    # Sweep lane (issue 14 items 6, 7): the relay publishes one `rems.send_notifications` task per
    # this many reminders, and a worker claims them, and records their outcomes, in one commit each.
    notify_batch_size: int = 100

    # Issue 15 item 6 (hygiene lane): a request body over this many bytes is refused with 413
    # (docs/input.md); the largest real body, an enrollment, is a few kilobytes.
    max_body_bytes: int = Field(default=512 * 1024, ge=1024)

    @model_validator(mode="after")
    def _safe_outside_development(self) -> Settings:
        if self.env == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("REMS_DATABASE_URL must name PostgreSQL in production")
        return self

    @model_validator(mode="after")
    def _session_secret_set(self) -> Settings:
        given = self.session_secret.get_secret_value() if self.session_secret else ""
        if self.env == "production" and (given.lower() in WEAK_SESSION_SECRETS or len(given) < 32):
            raise ValueError("REMS_SESSION_SECRET must be set in production to a random value of at "
                             "least 32 characters (e.g. `python -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))'`)")
        if not given:
            self.session_secret = SecretStr(_process_session_secret())
        return self

    @model_validator(mode="after")
    def _audit_sealed(self) -> Settings:
        if self.audit_seal is None:
            self.audit_seal = "inline" if self.env == "test" else "background"
        if not 0 < self.audit_seal_interval_seconds <= 60:
            raise ValueError("REMS_AUDIT_SEAL_INTERVAL_SECONDS must be > 0 and <= 60")
        return self

    @model_validator(mode="after")
    def _workers_lose_nothing(self) -> Settings:
        # Issue 4: a task must finish (or be killed) before the broker hands it to another worker,
        # and a claimed send must outlive the channel's own time-outs before it can be re-claimed.
        if self.broker_visibility_timeout_seconds <= self.task_time_limit_seconds:
            raise ValueError("REMS_BROKER_VISIBILITY_TIMEOUT_SECONDS must exceed REMS_TASK_TIME_LIMIT_SECONDS")
        if self.notify_lease_seconds <= max(self.smtp_timeout_seconds, self.webhook_timeout_seconds):
            raise ValueError("REMS_NOTIFY_LEASE_SECONDS must exceed the SMTP and webhook time-outs")
        if not 1 <= self.notify_batch_size <= 1000:
            raise ValueError("REMS_NOTIFY_BATCH_SIZE must be between 1 and 1000")
        if self.notify_max_attempts < 1 or self.reminder_lead_days < 0 or self.reminder_lookback_days < 0:
            raise ValueError("REMS_NOTIFY_MAX_ATTEMPTS must be >= 1; reminder days must not be negative")
        return self

    @model_validator(mode="after")
    def _standards_safe(self) -> Settings:
        # Standards lane: a JWT is only as good as its algorithm and the keys' address.
        if not _absolute(self.public_base_url) or self.public_base_url.endswith("/"):
            raise ValueError("REMS_PUBLIC_BASE_URL must be an absolute http(s) URL without a trailing /")
        weak = [a for a in self.cds_jwt_algorithms if a.lower() == "none" or a.upper().startswith("HS")]
        if weak or not self.cds_jwt_algorithms:
            raise ValueError("REMS_CDS_JWT_ALGORITHMS must name asymmetric algorithms (ES384, RS384), "
                             f"not {weak or 'nothing'}")
        for issuer, jwks in self.cds_issuers.items():
            if not _absolute(jwks):
                raise ValueError(f"REMS_CDS_ISSUERS: the JWKS URL of {issuer!r} must be absolute http(s)")
        unknown = sorted(set(self.cds_practitioners) - set(self.cds_issuers))
        if unknown:
            raise ValueError(f"REMS_CDS_PRACTITIONERS names issuers not in REMS_CDS_ISSUERS: {unknown}")
        if any(o == "*" or not _absolute(o) or o.endswith("/") for o in self.cors_origins):
            raise ValueError("REMS_CORS_ORIGINS must list exact origins (scheme://host[:port]), never *")
        if self.env == "production" and (not self.public_base_url.startswith("https://") or any(
                not u.startswith("https://") for u in self.cds_issuers.values())):
            raise ValueError("REMS_PUBLIC_BASE_URL and every JWKS URL must be https in production")
        loop = [*self.loop_fhir_endpoints.values(), *([self.loop_ncpdp_url] if self.loop_ncpdp_url else [])]
        if any(not _absolute(u) or (self.env == "production" and not u.startswith("https://")) for u in loop):
            raise ValueError("REMS_LOOP_FHIR_ENDPOINTS and REMS_LOOP_NCPDP_URL must be absolute http(s) URLs "
                             "(https in production)")
        if unknown := sorted(set(self.loop_fhir_endpoints) - set(self.cds_issuers)):
            raise ValueError(f"REMS_LOOP_FHIR_ENDPOINTS names issuers not in REMS_CDS_ISSUERS: {unknown}")
        if self.cds_jwt_max_lifetime_seconds < 1 or self.cds_jwt_leeway_seconds < 0:
            raise ValueError("REMS_CDS_JWT_MAX_LIFETIME_SECONDS must be >= 1; the leeway must not be negative")
        return self

    # -- oidc lane (issue 18 item 4, issue 16 item 4; docs/sign-in.md) ---------------------------
    # Sign-in through an OpenID Connect provider, beside the token sign-in. Off unless an issuer is
    # named. The client secret comes from REMS_OIDC_CLIENT_SECRET or, better, a file
    # (REMS_OIDC_CLIENT_SECRET_FILE, e.g. a container secret); it is never logged.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_client_secret_file: Path | None = None
    oidc_scope: str = "openid email profile"
    oidc_label: str = "your organisation's sign-in"  # "Sign in with …" on the sign-in page
    # The provider's subject (`sub`) -> our actor, "role:id" (e.g. "prescriber:prs_0a1b2c3d4e5f",
    # "admin:alice"). Explicit: a subject not listed is refused, whatever its other claims.
    oidc_subjects: dict[str, str] = {}
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)  # clock skew on the ID token's exp/iat
    oidc_timeout_seconds: float = 5.0  # discovery, JWKS and token requests to the provider
    # SMART App Launch (EHR launch) from a CDS card: the EHR's FHIR base URL (the launch's `iss`)
    # -> the CDS issuer whose REMS_CDS_PRACTITIONERS mapping turns its fhirUser into our
    # prescriber. An `iss` not listed is refused. REMS_SMART_CLIENT_ID: our client id at the EHRs
    # (a public client: PKCE, no secret).
    smart_issuers: dict[str, str] = {}
    smart_client_id: str = "rems-dashboard"
    smart_scope: str = "launch openid fhirUser patient/Patient.rs"

    @model_validator(mode="after")
    def _oidc_configured(self) -> Settings:  # oidc lane
        if self.oidc_client_secret_file is not None:
            if self.oidc_client_secret is not None:
                raise ValueError("REMS_OIDC_CLIENT_SECRET and REMS_OIDC_CLIENT_SECRET_FILE are both set: give one")
            try:
                self.oidc_client_secret = SecretStr(self.oidc_client_secret_file.read_text().strip())
            except OSError as error:
                raise ValueError(f"REMS_OIDC_CLIENT_SECRET_FILE cannot be read: {error.strerror}") from None
        if self.oidc_issuer is not None:
            if not _absolute(self.oidc_issuer) or not self.oidc_client_id:
                raise ValueError("REMS_OIDC_ISSUER must be an absolute http(s) URL and REMS_OIDC_CLIENT_ID set")
            if self.env == "production" and not self.oidc_issuer.startswith("https://"):
                raise ValueError("REMS_OIDC_ISSUER must be https in production")
        roles = ("prescriber", "pharmacy", "admin")
        bad = sorted(s for s, a in self.oidc_subjects.items() if a.partition(":")[0] not in roles
                     or not a.partition(":")[2])
        if bad:
            raise ValueError(f"REMS_OIDC_SUBJECTS: map each subject to 'prescriber:<id>', 'pharmacy:<id>' or "
                             f"'admin:<name>', not for {bad}")
        for iss, cds in self.smart_issuers.items():
            if not _absolute(iss) or iss.endswith("/"):
                raise ValueError(f"REMS_SMART_ISSUERS: {iss!r} must be an absolute FHIR base URL without a trailing /")
            if cds not in self.cds_issuers:
                raise ValueError(f"REMS_SMART_ISSUERS: {iss!r} names {cds!r}, which is not in REMS_CDS_ISSUERS")
            if self.env == "production" and not iss.startswith("https://"):
                raise ValueError("REMS_SMART_ISSUERS must be https in production")
        return self

    # prefetch lane (issue 16, IG STU2 Prefetch, G-3): a hook lacking a prefetch we declare is
    # completed from the EHR's FHIR server (`fhirServer`, with the hook's `fhirAuthorization`
    # token) only when that base is allow-listed here for the EHR's issuer (the JWT's `iss`):
    # issuer -> FHIR base URLs. Any other fhirServer is refused (audited) and never contacted.
    cds_fhir_servers: dict[str, list[str]] = {}
    cds_fhir_timeout_seconds: float = Field(default=2.0, gt=0, le=30)  # the whole of one read

    @model_validator(mode="after")
    def _fhir_servers_safe(self) -> Settings:  # prefetch lane
        if unknown := sorted(set(self.cds_fhir_servers) - set(self.cds_issuers)):
            raise ValueError(f"REMS_CDS_FHIR_SERVERS names issuers not in REMS_CDS_ISSUERS: {unknown}")
        for issuer, bases in self.cds_fhir_servers.items():
            for base in bases:
                parts = urlsplit(base)
                if not _absolute(base) or parts.query or parts.fragment or \
                        (self.env == "production" and parts.scheme != "https"):
                    raise ValueError(f"REMS_CDS_FHIR_SERVERS: {base!r} of {issuer!r} must be an absolute "
                                     "http(s) base URL without query or fragment (https in production)")
        return self
