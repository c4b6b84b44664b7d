"""The session secret (issue 7): refused when missing or weak in production, random per process elsewhere."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rems.settings import Settings

PG = "postgresql+psycopg://rems:pw@db/rems"


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "short-but-not-a-placeholder"])
def test_production_refuses_a_missing_placeholder_or_short_session_secret(secret: str | None) -> None:
    given = {} if secret is None else {"session_secret": secret}
    with pytest.raises(ValidationError, match="REMS_SESSION_SECRET"):
        Settings(env="production", database_url=PG, **given)


def test_production_takes_a_strong_secret_and_never_shows_it() -> None:
    secret = "k" * 16 + "Q" * 16 + "z"
    settings = Settings(env="production", database_url=PG, session_secret=secret,
                        public_base_url="https://rems.example.org")
    assert settings.session_secret is not None and settings.session_secret.get_secret_value() == secret
    assert secret not in repr(settings)


def test_development_gets_one_random_secret_per_process() -> None:
    first, second = Settings(env="development"), Settings(env="test")
    assert first.session_secret is not None and second.session_secret is not None
    assert first.session_secret.get_secret_value() == second.session_secret.get_secret_value()
    assert len(first.session_secret.get_secret_value()) >= 32
