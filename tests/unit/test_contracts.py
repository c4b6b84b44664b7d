"""The import contracts of pyproject.toml hold, so `pytest` alone enforces them as `make lint` does
(issue 19 item 4; what each package may import: docs/architecture.md, "The folder map").

Expected answers come from the issue's text (the contracts it names) and from the source files
(an import written in a file), not from import-linter's own report of itself."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
ENTRY_POINTS = {"rems.api", "rems.web", "rems.cli", "rems.interop", "workers"}


def contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def lint_imports(*config: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} missing: run `make install` (import-linter is a dev extra)"
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", *map(str, config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_the_import_contracts_hold() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(contracts())} kept, 0 broken." in result.stdout


def test_the_contracts_the_issue_names_are_declared_whole() -> None:
    declared = contracts()
    pure = declared["pure"]  # "domain and workflows do no I/O"
    assert pure["type"] == "forbidden" and set(pure["source_modules"]) == {"rems.domain", "workflows"}
    assert {"sqlalchemy", "fastapi", "starlette", "celery", "redis", "httpx", "socket", "subprocess", "os",
            "pathlib", "time"} <= set(pure["forbidden_modules"])
    services = declared["services"]  # "services import no FastAPI, Celery or web code"
    assert set(services["source_modules"]) == {"rems.services"}
    assert {"fastapi", "starlette", "celery", *ENTRY_POINTS} <= set(services["forbidden_modules"])
    sql = declared["services-sql"]  # "... no SQLAlchemy": direct imports only, until item 1 lands
    assert set(sql["source_modules"]) == {"rems.services"} and sql["forbidden_modules"] == ["sqlalchemy"]
    entry = declared["entry-points"]  # "entry points (api, web, cli, interop, workers) do not import one another"
    assert entry["type"] == "independence" and set(entry["modules"]) == ENTRY_POINTS
    layers = declared["layers"]  # "workers -> rems -> workflows"
    assert layers["type"] == "layers" and layers["layers"] == ["workers", "rems", "workflows"]


def test_only_the_declared_loaders_read_files_in_the_pure_layer() -> None:
    # The pure layer's only allowance: a loader in workflows reading its own data files and logging
    # what it declares at load (T4), never a network, process or database library.
    loaders = set()
    for line in contracts()["pure"]["ignore_imports"]:
        importer, imported = (part.strip() for part in line.split("->"))
        assert importer.startswith("workflows.") and imported in {"pathlib", "logging"}, line
        loaders.add(importer)
    assert "path.read_text(" in (ROOT / "workflows/program.py").read_text(encoding="utf-8")
    assert "workflows.program" in loaders
    reads = re.compile(r"\.(read_text|read_bytes|write_text|write_bytes|open)\(|\bopen\(")
    for package in ("workflows", "rems/domain"):
        for path in (ROOT / package).glob("*.py"):
            module = f"{package.replace('/', '.')}.{path.stem}"
            if module not in loaders:  # a builtin such as open() escapes import-linter: grep for it
                assert not reads.search(path.read_text(encoding="utf-8")), f"{module} reads a file"


def test_every_ignored_import_is_marked_as_a_violation_to_move() -> None:
    text = PYPROJECT.read_text(encoding="utf-8")
    blocks = text.split("[[tool.importlinter.contracts]]")[1:]
    for block in blocks:
        contract_id = re.search(r'^id = "([^"]+)"', block, re.MULTILINE)
        assert contract_id
        if "ignore_imports" in block and contract_id.group(1) != "pure":
            assert "issue 19: to move" in block, contract_id.group(1)


def test_the_contracts_catch_the_violations_they_exist_for(tmp_path: Path) -> None:
    # The same contracts without their ignore lists must break, naming imports written in the source.
    declared = contracts()
    # a service module that still writes SQL (issue 19 item 1 moves them one by one): the first listed
    sql_module = declared["services-sql"]["ignore_imports"][0].split(" -> ")[0]
    sql_path = ROOT / (sql_module.replace(".", "/") + ".py")
    assert re.search(r"^from sqlalchemy", sql_path.read_text(encoding="utf-8"), re.MULTILINE)
    assert "from workers.app import app" in (ROOT / "rems/cli/notifications.py").read_text(encoding="utf-8")
    assert "from pathlib import Path" in (ROOT / "workflows/program.py").read_text(encoding="utf-8")
    bare = []
    for contract_id in ("pure", "services-sql", "layers"):
        lines = [f"{key} = {json.dumps(value)}"  # JSON strings, lists and booleans are TOML
                 for key, value in declared[contract_id].items() if key != "ignore_imports"]
        bare.append("[[tool.importlinter.contracts]]\n" + "\n".join(lines))
    config = tmp_path / "bare.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["rems", "workflows", "workers"]\n'
                      "include_external_packages = true\n\n" + "\n\n".join(bare) + "\n", encoding="utf-8")
    result = lint_imports(config)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 0 kept, 3 broken." in result.stdout, result.stdout
    flat = " ".join(result.stdout.split())
    for violation in ("workflows.program -> pathlib", f"{sql_module} -> sqlalchemy",
                      "rems.cli.notifications -> workers.app"):
        assert violation in flat, violation
