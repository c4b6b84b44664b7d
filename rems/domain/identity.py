"""R34: who a person is, for matching enrollments to one person (normalised name + birth date + sex)."""

from __future__ import annotations

import unicodedata


def name_key(name: str) -> str:
    """The form two spellings of one name share: Unicode-compatible, case-folded, accents, dots,
    commas, hyphens and apostrophes removed, words sorted so "Doe, Jane" matches "Jane Doe"."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = "".join(c if c.isalnum() else " " for c in letters.casefold())
    return " ".join(sorted(cleaned.split()))
