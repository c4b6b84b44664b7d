"""axe-core in the page (issue 18): every serious or critical WCAG 2 A/AA finding fails the test.

axe-core is the npm package pinned in tests/browser/package.json; `axe_source()` installs it with
`npm ci` the first time (the npm registry is reachable wherever the tests run) and Playwright
evaluates it in the page through the DevTools protocol, which the pages' CSP (no scripts at all)
does not apply to. Nothing of it is served by the application.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path

from playwright.sync_api import Page

HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
RUN = """async () => {
  const found = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
                                         resultTypes: ["violations"]});
  return found.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                     nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


@cache
def axe_source() -> str:
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("axe-core is missing and npm is not installed (apt-get install npm)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)], check=True,
                       capture_output=True, timeout=300)
    return AXE.read_text(encoding="utf-8")


def assert_axe_clean(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    found: list[dict[str, object]] = page.evaluate(RUN)
    blocking = [v for v in found if v["impact"] in BLOCKING]
    assert blocking == [], f"{page.url}: {json.dumps(blocking, indent=1)}"
