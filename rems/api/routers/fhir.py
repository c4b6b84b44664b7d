"""Placeholder router for issue 9 (FHIR US Medication REMS ($rems-etasu)); the issue's work replaces this file."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
