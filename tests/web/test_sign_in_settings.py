"""Issue 18 item 4, issue 16 item 4: the sign-in settings are refused at start when unsafe or
inconsistent, and the client secret is read from its file and never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from rems.settings import Settings

ISSUER = "https://login.example.org"


def test_the_client_secret_comes_from_its_file_and_is_never_printed(tmp_path: Path) -> None:
    secret = tmp_path / "oidc-secret"
    secret.write_text("s3cret-value\n")
    settings = Settings(oidc_issuer=ISSUER, oidc_client_id="rems", oidc_client_secret_file=secret)
    assert settings.oidc_client_secret is not None
    assert settings.oidc_client_secret.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(settings) and "s3cret-value" not in str(settings.model_dump())


def test_a_secret_given_twice_or_a_file_missing_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s").write_text("x")
    with pytest.raises(ValueError, match="both set"):
        Settings(oidc_client_secret="y", oidc_client_secret_file=tmp_path / "s")
    with pytest.raises(ValueError, match="cannot be read"):
        Settings(oidc_client_secret_file=tmp_path / "missing")


def test_an_issuer_needs_a_client_id_and_https_in_production() -> None:
    with pytest.raises(ValueError, match="REMS_OIDC_CLIENT_ID"):
        Settings(oidc_issuer=ISSUER)
    with pytest.raises(ValueError, match="https in production"):
        Settings(env="production", database_url="postgresql://db/rems", session_secret="x" * 40,
                 public_base_url="https://rems.example.org", oidc_issuer="http://login.example.org",
                 oidc_client_id="rems")


@pytest.mark.parametrize("actor", ["patient:pat_1", "prescriber:", "root", "superuser:x"])
def test_a_subject_maps_only_to_a_prescriber_pharmacy_or_administrator(actor: str) -> None:
    with pytest.raises(ValueError, match="REMS_OIDC_SUBJECTS"):
        Settings(oidc_subjects={"alice": actor})


def test_a_smart_issuer_must_name_an_allow_listed_cds_issuer() -> None:
    with pytest.raises(ValueError, match="not in REMS_CDS_ISSUERS"):
        Settings(smart_issuers={"https://ehr.example.org/fhir": "https://ehr.example.org"})
    with pytest.raises(ValueError, match="trailing /"):
        Settings(cds_issuers={"https://ehr.example.org": "https://ehr.example.org/jwks"},
                 smart_issuers={"https://ehr.example.org/fhir/": "https://ehr.example.org"})
    ok = Settings(cds_issuers={"https://ehr.example.org": "https://ehr.example.org/jwks"},
                  smart_issuers={"https://ehr.example.org/fhir": "https://ehr.example.org"})
    assert ok.smart_issuers == {"https://ehr.example.org/fhir": "https://ehr.example.org"}
