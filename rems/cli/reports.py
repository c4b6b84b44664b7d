"""Placeholder CLI group for issue 6; the issue's work replaces this file."""

from __future__ import annotations

import typer

report = typer.Typer(help="Compliance reports (CSV/JSON) and plots.", no_args_is_help=True)
