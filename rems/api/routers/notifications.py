"""Placeholder router for issue 4 (reminder outbox and parked notifications); the issue's work replaces this file."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
