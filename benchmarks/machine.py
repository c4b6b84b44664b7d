"""What the figures were taken on: cores, CPU model, RAM, Python, date, load before the run."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def describe() -> dict[str, Any]:
    mem = _first("/proc/meminfo", "MemTotal")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": _first("/proc/cpuinfo", "model name"),
        "ram_gib": round(int(mem.split()[0]) / 2**20, 1) if mem != "unknown" else None,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        "load_before": os.getloadavg()[0],
    }
