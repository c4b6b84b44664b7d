"""The process's Prometheus counters (issue 15 item 4): defined once, served by /metrics.

Counters live in the process that counts (API, CLI, worker); the API's /metrics serves its own and
the figures it reads from the database (rems/api/metrics.py). Nothing here does I/O."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Histogram

from rems.domain.requirements import Requirement

REQUEST_SECONDS = Histogram(
    "rems_http_request_duration_seconds", "API request latency by route template",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
REFUSALS = Counter("rems_refusals", "Failing requirements of refused requests, by rule and code",
                   ["rule", "code"])
ANONYMOUS_REFUSALS = Counter("rems_anonymous_refusals", "Refused requests without an identity "
                             "(not audited one by one: counted per minute in anonymous_refusals)",
                             ["route", "code"])


def count_refusal(failures: Iterable[Requirement]) -> None:
    for failure in failures:
        if not failure.met:
            REFUSALS.labels(failure.rule, failure.code).inc()
