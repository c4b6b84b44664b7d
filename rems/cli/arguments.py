"""No control character in any argument (issue 15 item 6): refused with exit 2 naming the option,
before a command runs or a database is opened (PostgreSQL refuses NUL; CR/LF/ESC corrupt records)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rems.domain.inputs import control_character

EXIT_BAD_INPUT = 2


def refused_argument(argv: Sequence[str]) -> str | None:
    """The message for the first argument holding a control character, naming its option."""
    for index, arg in enumerate(argv):
        option, _, value = arg.partition("=") if arg.startswith("--") and "=" in arg else ("", "", arg)
        if not option:
            before = argv[index - 1] if index else ""
            option = before if before.startswith("-") else f"argument {index + 1} ({arg[:20]!r})"
        found = control_character(value) or control_character(option)
        if found is not None:
            return f"Invalid value for {option!s}: must not contain control characters (found {found})"
    return None


def check_arguments(argv: Sequence[str]) -> None:
    message = refused_argument(argv)
    if message is not None:
        print(f"Error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)
