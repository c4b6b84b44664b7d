"""The import contracts of pyproject.toml hold, so `pytest` alone enforces them as `make lint` does
(issue 19 item 4; what each package may import: docs/architecture.md, "The folder map").

Expected answers come from the issue's text (the contracts it names) and from the source files
(an import written in a file), not from import-linter's own report of itself."""

from __future__ import annotations

import re
import shutil
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


# One module planted per contract in a copy of the tree, importing what the contract forbids.
# Expected answers from the issue's text.
PLANTED = {
    "pure": ("workflows/planted.py", "socket"),  # "domain and workflows do no I/O"
    "domain-core": ("rems/domain/planted.py", "rems.logs"),  # "the domain imports no other part of rems"
    "adapters": ("rems/adapters/planted.py", "rems.services.context"),
    "services": ("rems/services/planted_web.py", "starlette"),  # "services import no ... web code"
    "services-sql": ("rems/services/planted_sql.py", "sqlalchemy"),  # "... no SQLAlchemy"
    "services-ports": ("rems/services/planted_port.py", "rems.adapters.uow"),  # "services speak to their ports"
    "entry-points": ("rems/web/planted.py", "rems.cli.output"),  # "entry points do not import one another"
    "shared-http": ("rems/http/planted.py", "rems.cli.output"),  # authentication is shared, not an entry point
    "layers": ("rems/planted.py", "workers.health"),  # "workers -> rems -> workflows"
    "schemas": ("rems/schemas/planted.py", "fastapi"),  # "the shared models import no framework"
}


def _plant(tmp_path: Path) -> Path:
    """The packages' Python files copied under tmp_path, with the planted modules."""
    def not_code(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if name == "__pycache__"
                or (not name.endswith(".py") and not (Path(folder) / name).is_dir())]
    for package in ("rems", "workflows", "workers"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=not_code)
    for path, imported in PLANTED.values():
        (tmp_path / path).write_text(f"import {imported}  # planted by {__name__}\n", encoding="utf-8")
    config = tmp_path / "contracts.toml"
    shutil.copyfile(PYPROJECT, config)  # the contracts as declared, with their ignore lines
    return config


def test_the_contracts_catch_the_violations_they_exist_for(tmp_path: Path) -> None:
    # Every contract, as declared (ignore lines included), breaks on the module planted against it,
    # naming its import; test_the_import_contracts_hold shows the tree without them keeps them all.
    assert set(PLANTED) == set(contracts()), "a contract without a planted violation"
    config = _plant(tmp_path)
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", str(config)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Contracts: 0 kept, {len(PLANTED)} broken." in result.stdout, result.stdout
    report = result.stdout.split("\nBroken contracts\n", 1)[1]
    names = {contract["name"]: contract_id for contract_id, contract in contracts().items()}
    sections = dict(zip(*[iter(re.split(r"^(.+)\n-+\n", report, flags=re.MULTILINE)[1:])] * 2, strict=True))
    assert {names[name] for name in sections} == set(PLANTED)
    for name, section in sections.items():
        path, imported = PLANTED[names[name]]
        module = path.removesuffix(".py").replace("/", ".")
        assert f"{module} -> {imported}" in " ".join(section.split()), (names[name], section)
