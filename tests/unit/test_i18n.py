"""Issue 18 item 5: the catalogues are complete and in step with the sources, languages are
negotiated as the brief says, and reminders go out in REMS_DEFAULT_LOCALE."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from pydantic import ValidationError

from rems import i18n
from rems.adapters.notify.smtp import SmtpChannel
from rems.domain.model import Contact, Notification
from rems.services.reminders import delivery
from rems.services.reminders.claims import Claim
from rems.settings import Settings
from workers.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
POT = i18n.CATALOGUES / "messages.pot"
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)[sd]")


def _catalogue(path: Path, locale: str | None = None):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _ids(catalog) -> set[object]:  # type: ignore[no-untyped-def]
    return {m.id for m in catalog if m.id}


@pytest.mark.parametrize("lang", [lang for lang in i18n.LOCALES if lang != i18n.DEFAULT])
def test_every_msgid_of_the_template_has_a_translation(lang: str) -> None:
    po = _catalogue(i18n.CATALOGUES / lang / "LC_MESSAGES" / "messages.po", lang)
    missing = sorted(str(m) for m in _ids(_catalogue(POT)) - _ids(po))
    assert missing == [], f"run `make translations` and translate: {missing}"
    empty = [m.id for m in po if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple)
                                                               else [m.string]))]
    assert empty == [], f"{lang}: untranslated or fuzzy: {empty}"


@pytest.mark.parametrize("lang", [lang for lang in i18n.LOCALES if lang != i18n.DEFAULT])
def test_each_translation_keeps_the_placeholders_of_its_msgid(lang: str) -> None:
    for m in _catalogue(i18n.CATALOGUES / lang / "LC_MESSAGES" / "messages.po", lang):
        if not m.id:
            continue
        source = m.id if isinstance(m.id, str) else m.id[-1]
        for text in (m.string if isinstance(m.string, tuple) else (m.string,)):
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source)), m.id


def test_the_template_is_in_step_with_the_sources(tmp_path: Path) -> None:
    """A string wrapped in a template or marked with N_ but not yet extracted fails here."""
    fresh = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "N_", "-k", "ngettext:1,2",
                    "--no-location", "-o", str(fresh), "."], cwd=ROOT, check=True, timeout=120)
    assert _ids(_catalogue(fresh)) == _ids(_catalogue(POT)), "run `make translations`"


def test_every_reminder_kind_has_a_text_and_a_subject() -> None:
    assert set(delivery.TEXTS) == set(delivery.KINDS)


@pytest.mark.parametrize(("cookie", "header", "expected"), [
    (None, None, "en"),
    (None, "es-MX,es;q=0.9", "es"),
    (None, "fr-FR,fr;q=0.9,es;q=0.8,en;q=0.7", "es"),  # the first one we have, by preference
    (None, "en;q=0.4,es;q=0.8", "es"),  # by q, not by order
    (None, "es;q=0,en", "en"),  # q=0: not acceptable
    (None, "fr, de", "en"),
    ("es", "en-US", "es"),  # the switch outranks the browser
    ("xx", "es", "es"),  # a cookie naming no catalogue is ignored
    (None, "es_US;q=bogus, en", "en"),
])
def test_the_readers_language(cookie: str | None, header: str | None, expected: str) -> None:
    assert i18n.negotiate(cookie, header) == expected


def test_t1_a_moment_is_written_for_the_locale_in_the_zone_it_names() -> None:
    summer = datetime(2026, 7, 1, 14, 5, tzinfo=UTC)  # New York in July: EDT, UTC-4
    assert i18n.format_moment(summer, "America/New_York", "es") == "1 de julio de 2026, 10:05 EDT"
    assert i18n.format_moment(summer, None, "es") == "1 de julio de 2026, 14:05 UTC"
    assert i18n.format_moment(summer, "Asia/Kolkata", "es") == "1 de julio de 2026, 19:35 IST"
    assert i18n.format_moment("2026-12-01", "America/New_York", "es") == "1 de diciembre de 2026"
    assert i18n.format_moment(None, "America/New_York", "es") == "—"


def _claim(kind: str = "pregnancy_test_due_soon") -> Claim:
    moment = datetime(2026, 11, 28, 12, tzinfo=UTC)
    notification = Notification("ntf_1", "patient:pat_1", kind, "pat_1", date(2026, 12, 1), "R11", "email",
                                moment, moment)
    return Claim(notification, "tok", Contact("patient:pat_1", moment, email="p@example.org"))


def test_reminders_are_written_in_rems_default_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMS_DEFAULT_LOCALE", "es")
    policy = Runtime(Settings(), None, {}).policy  # type: ignore[arg-type]
    assert policy.locale == "es"
    sent = delivery.message(_claim(), policy.locale)
    assert sent.text == "La prueba de embarazo del paciente pat_1 debe hacerse el 1 de diciembre de 2026 (R11)."
    assert sent.due_on == "2026-12-01"  # the machine-readable day is unchanged
    email = SmtpChannel("localhost", 25, "rems@clinic.example").compose(sent)
    assert email["Subject"] == "Recordatorio REMS (R11): prueba de embarazo próxima"
    assert email["Content-Language"] == "es"


def test_reminders_are_in_english_by_default() -> None:
    assert Settings().default_locale == "en"
    sent = delivery.message(_claim())
    assert sent.text == "A pregnancy test for patient pat_1 is due on December 1, 2026 (R11)."
    assert SmtpChannel("localhost", 25, "rems@clinic.example").compose(sent)["Subject"] == \
        "REMS reminder (R11): pregnancy test due soon"


def test_a_locale_without_a_catalogue_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMS_DEFAULT_LOCALE", "fr")
    with pytest.raises(ValidationError, match="default_locale"):
        Settings()
