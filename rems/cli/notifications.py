"""Placeholder CLI group for issue 4; the issue's work replaces this file."""

from __future__ import annotations

import typer

notifications = typer.Typer(help="The reminder outbox: list, parked, retry.", no_args_is_help=True)
