"""Every relative link of README.md and docs/*.md names a file of the repository and, with an
`#anchor`, a heading of that file (issue 15 item 10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")


def prose(text: str) -> str:
    """The text a reader sees as Markdown: code blocks and code spans hold no links."""
    return CODE.sub("", FENCE.sub("", text))


def anchors(document: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", document.read_text(encoding="utf-8")),
                              re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        if seen[slug]:
            seen[f"{slug}-{seen[slug]}"] = 0
    return set(seen)


def relative_links(document: Path) -> list[str]:
    return [target for target in LINK.findall(prose(document.read_text(encoding="utf-8")))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]  # http:, https:, mailto:


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_names_a_file_and_heading_that_exist(document: Path) -> None:
    broken = []
    for target in relative_links(document):
        path, _, anchor = target.partition("#")
        found = (document.parent / path).resolve() if path else document
        name = found.relative_to(ROOT).as_posix() if found.is_relative_to(ROOT) else str(found)
        if not found.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif not found.exists():
            broken.append(f"{target}: no such file")
        elif anchor and anchor not in anchors(found):
            broken.append(f"{target}: no heading #{anchor} in {name}")
    assert not broken, f"{document.relative_to(ROOT)}: {broken}"


def test_the_link_check_finds_what_it_should(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title here\n\n## The `x` part, again\n", encoding="utf-8")
    assert anchors(tmp_path / "a.md") == {"title-here", "the-x-part-again"}
    text = "[a](a.md#title-here) `[b](nope.md)`\n```\n[c](nope.md)\n```\n[d](https://example.org) ![e](e.png)"
    (tmp_path / "b.md").write_text(text, encoding="utf-8")
    assert relative_links(tmp_path / "b.md") == ["a.md#title-here", "e.png"]
