"""Instants as text: ISO 8601 UTC with microseconds and `Z` (the export format's, docs/export-import.md)."""

from __future__ import annotations

from datetime import UTC, datetime


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("an instant needs its offset")
    return moment.astimezone(UTC)
