"""Placeholder for the web dashboard (issue 7); the issue's work replaces this package."""

from __future__ import annotations

from fastapi import FastAPI


def install(api: FastAPI) -> None:
    """Mount the dashboard's routes on the API application (none yet)."""
