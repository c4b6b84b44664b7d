"""docs/architecture.md's folder map matches the tree (issue 19 item 5): every package has its
paragraph, every folder of code inside one is named in it, and the map names no folder that is
gone; each paragraph says what the package may import, citing the contracts of pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
HEADING = re.compile(r"^### `([^`]+)/`\s*$", re.MULTILINE)
FOLDER = re.compile(r"`([\w./-]+/)`")
CONTRACT = re.compile(r"contracts? ((?:`[\w-]+`(?:, | and )?)+)")


def folder_map(text: str) -> dict[str, str]:
    """The map's paragraphs by folder: each `### \\`path/\\`` heading of "## The folder map"."""
    section = text.split("\n## The folder map\n", 1)[1].split("\n## ", 1)[0]
    parts = HEADING.split(section)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def packages(root: Path) -> set[str]:
    """Top-level packages of the repository, and the packages directly under rems/."""
    top = {path.parent.name for path in root.glob("*/__init__.py")}
    return top | {f"rems/{path.parent.name}" for path in (root / "rems").glob("*/__init__.py")}


def code_folders(root: Path, package: str, own: set[str]) -> set[str]:
    """Folders holding Python below `package`, relative to it, but not in a package of `own` below it
    (a package with, or missing, its own paragraph)."""
    base = root / package
    inner = [root / other for other in own if other != package and (root / other).is_relative_to(base)]
    return {source.parent.relative_to(base).as_posix() + "/" for source in base.rglob("*.py")
            if source.parent != base and "__pycache__" not in source.parts
            and not any(source.is_relative_to(other) for other in inner)}


def problems(root: Path, text: str) -> list[str]:
    paragraphs = folder_map(text)
    mapped = set(paragraphs)
    found = packages(root)
    wrong = [f"{name}/: a package without a paragraph in the folder map" for name in sorted(found - mapped)]
    wrong += [f"{name}/: in the folder map, but no such package" for name in sorted(mapped - found)]
    for name, paragraph in sorted(paragraphs.items()):
        if name not in found:
            continue
        paragraph = " ".join(paragraph.split())
        named = set(FOLDER.findall(paragraph))
        wrong += [f"{name}/{folder}: a folder of code not named in {name}/'s paragraph"
                  for folder in sorted(code_folders(root, name, mapped | found) - named)]
        wrong += [f"{name}/: names `{folder}`, which exists neither there nor at the top"
                  for folder in sorted(named)
                  if not (root / name / folder).is_dir() and not (root / folder).is_dir()]
        if "May import" not in paragraph:
            wrong.append(f"{name}/: the paragraph does not say what it may import ('May import: ...')")
    return wrong


def test_the_folder_map_matches_the_tree() -> None:
    assert problems(ROOT, ARCHITECTURE.read_text(encoding="utf-8")) == []


def test_the_folder_map_cites_every_import_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    declared = {contract["id"] for contract in config["contracts"]}
    section = " ".join(ARCHITECTURE.read_text(encoding="utf-8").split("\n## The folder map\n", 1)[1].split())
    cited = {name for group in CONTRACT.findall(section) for name in re.findall(r"`([\w-]+)`", group)}
    table = set(re.findall(r"\| `([\w-]+)` \|", section))
    assert table == declared, "the contracts table of the folder map differs from pyproject.toml"
    assert cited <= declared, f"the map cites contracts that do not exist: {sorted(cited - declared)}"
    assert declared <= cited, f"contracts no paragraph cites: {sorted(declared - cited)}"


def test_the_check_finds_a_missing_paragraph_a_stale_one_and_an_unnamed_folder(tmp_path: Path) -> None:
    for folder in ("rems/domain", "rems/api/routers", "rems/gone_soon", "workflows/programs"):
        (tmp_path / folder).mkdir(parents=True)
    for init in ("rems", "rems/domain", "rems/api", "rems/api/routers", "workflows"):
        (tmp_path / init / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "rems/gone_soon/__init__.py").write_text("", encoding="utf-8")
    text = ("# A\n\n## The folder map\n\n### `rems/`\nMay import: x.\n\n### `rems/domain/`\nMay import: x.\n\n"
            "### `rems/api/`\nNo word on imports; names `schemas/`.\n\n### `rems/old/`\nMay import: x.\n\n"
            "### `workflows/`\n`programs/`. May import: x.\n\n## Next\n\n### `elsewhere/`\n")
    assert problems(tmp_path, text) == [
        "rems/gone_soon/: a package without a paragraph in the folder map",
        "rems/old/: in the folder map, but no such package",
        "rems/api/routers/: a folder of code not named in rems/api/'s paragraph",
        "rems/api/: names `schemas/`, which exists neither there nor at the top",
        "rems/api/: the paragraph does not say what it may import ('May import: ...')",
    ]
