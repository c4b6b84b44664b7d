#!/usr/bin/env bash
# What the whole suite needs from the system, beyond Python: a PostgreSQL server (tests/pg.py
# starts throwaway clusters with initdb/pg_ctl), redis-server (worker tests), Debian's Chromium
# (browser tests, through Playwright), docker-compose (validates docker-compose.yml; no engine),
# Caddy (the compose proxy, run by tests/integration/test_proxy.py), wrk (benchmarks) and npm
# (installs the pinned axe-core of tests/browser/package.json for the accessibility checks).
# As root, missing Debian packages are installed; otherwise the exact command is printed and the
# run stops, so `make test` never runs half a suite.
set -euo pipefail

missing=()
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    missing+=(postgresql)
fi
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v caddy >/dev/null 2>&1 || missing+=(caddy)  # the TLS proxy of docker-compose.yml, run by tests
command -v wrk >/dev/null 2>&1 || missing+=(wrk)  # the benchmarks' load generator (tests/benchmarks)
command -v npm >/dev/null 2>&1 || missing+=(npm)  # axe-core for the browser tests' accessibility check (tests/browser/axe.py)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "make test needs these Debian packages; install them, then run make test again:" >&2
        echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "installing Debian packages the suite needs: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# initdb and pg_ctl refuse root: as root, the tests run the server as the `postgres` user.
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
