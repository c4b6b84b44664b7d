"""Container health checks: `python -m workers.health worker|beat` exits 0 when healthy.

worker: this host's worker answers a broker ping. beat: some scheduler holds the redbeat lock
(a standby replica is healthy while another one runs the schedule)."""

from __future__ import annotations

import socket
import sys

from rems.settings import Settings


def worker_alive() -> bool:
    from workers.app import app
    replies = app.control.ping(destination=[f"celery@{socket.gethostname()}"], timeout=5.0)
    return bool(replies)


def schedule_kept(settings: Settings) -> bool:
    import redis
    client = redis.Redis.from_url(settings.broker_url, socket_timeout=5)
    try:
        return bool(client.exists("rems:redbeat:lock"))
    finally:
        client.close()


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else ""
    try:
        healthy = worker_alive() if role == "worker" else role == "beat" and schedule_kept(Settings())
    except Exception as error:  # unhealthy, with the reason, never a stack trace
        print(f"unhealthy: {type(error).__name__}", file=sys.stderr)
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
