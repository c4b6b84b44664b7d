"""Placeholder router for issue 6 (compliance reports); the issue's work replaces this file."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
