"""Placeholder router for issue 9 (CDS Hooks services); the issue's work replaces this file."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
