"""Issue 18 item 5: the patient's pages and the reminder texts in English and Spanish.

Catalogues are gettext `.po` files under rems/locales/<lang>/LC_MESSAGES/messages.po, extracted
by `make translations` (pybabel, babel.cfg) from the templates and the Python strings marked
with `N_`. Only the `.po` files are committed: each is compiled in memory with Babel's own API the
first time it is used, so a fresh clone needs no build step and no `.mo` can drift from its `.po`.

Dates and times are formatted with Babel for the reader's locale, in the patient's zone, and
always name that zone (T1).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DEFAULT = "en"  # the language the source strings are written in
LOCALES = ("en", "es")  # every language a catalogue exists for (English is the msgids themselves)
NAMES = {"en": "English", "es": "Español"}  # each language named in itself (the switch links)
COOKIE = "rems_lang"  # the reader's choice from the language switch; outranks Accept-Language
CATALOGUES = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a string for extraction (`make translations`); it is translated where it is shown."""
    return message


def supported(lang: str | None) -> str | None:
    """`lang` if a catalogue exists for it (`es`, `es-US`, `es_MX` all mean `es`), else None."""
    if not lang:
        return None
    primary = lang.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LOCALES else None


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The reader's language: the switch's cookie if it names one we have, else the first of the
    browser's Accept-Language (by q, then by order) that we have, else English."""
    chosen = supported(cookie)
    if chosen:
        return chosen
    offers: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            offers.append((-quality, position, tag))
    for _, _, tag in sorted(offers):
        found = supported(tag)
        if found:
            return found
    return DEFAULT


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of `lang` (English, or a language without one: the msgids)."""
    source = CATALOGUES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == DEFAULT or not source.exists():
        return NullTranslations()
    with source.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(lang: str, message: str) -> str:
    return translations(supported(lang) or DEFAULT).gettext(message)


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(supported(lang) or DEFAULT).ngettext(singular, plural, n)


def zone_name(moment: datetime) -> str:
    """T1: the zone's abbreviation (EST, EDT, CET...) or its UTC offset when it has none."""
    name = moment.tzname()
    if name and not name.startswith(("+", "-")):
        return name
    minutes = int((moment.utcoffset() or timedelta()).total_seconds() // 60)
    return f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_moment(value: datetime | date | str | None, zone: str | None, lang: str) -> str:
    """A moment as a reader of `lang` writes it, in `zone` (UTC when none), the zone named (T1):
    "December 1, 2026, 9:05 AM EST", "1 de diciembre de 2026, 9:05 EST". A plain day (already a
    calendar day in the patient's zone) is shown as a long date."""
    lang = supported(lang) or DEFAULT
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == len("2026-12-01") else datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return format_date(value, "long", locale=lang)
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)  # the store keeps UTC; SQLite hands it back naive
    local = value.astimezone(ZoneInfo(zone) if zone else UTC)
    day = format_date(local.date(), "long", locale=lang)
    return f"{day}, {format_time(local, 'short', locale=lang)} {zone_name(local)}"


def format_day(value: date, lang: str) -> str:
    """A calendar day (a due date, already in the patient's zone, T1) as a long date of `lang`."""
    return format_date(value, "long", locale=supported(lang) or DEFAULT)
