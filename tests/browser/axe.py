"""axe-core in the browser journeys (issue #19).

axe-core comes from npm into `.cache/axe/` (git-ignored): `make install`
puts it there (`make axe` alone), and the first test that needs it runs the
same step when it is missing. It is never committed nor served by the app.

The site's Content-Security-Policy allows scripts from 'self' only, so
`page.add_script_tag` (an inline <script>) would be blocked and reported as
a violation by the journeys. The source goes in through Playwright's
`page.evaluate` instead (the DevTools protocol, which no page policy
governs): the page and its policy stay as they are served.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE_PREFIX = ROOT / ".cache" / "axe"
AXE_JS = AXE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"

# WCAG 2.0 and 2.1, levels A and AA.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")

RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary || "", html: n.html.slice(0, 200)})),
  }));
}"""


def _unavailable(reason: str):
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def install_axe() -> None:
    """`make axe`'s step, for a test run without `make install`: one pytest
    worker installs while the others wait on the lock."""
    AXE_PREFIX.mkdir(parents=True, exist_ok=True)
    with open(AXE_PREFIX / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if AXE_JS.is_file():
            return
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("axe-core is not installed and there is no npm (make axe installs both)")
        done = subprocess.run([npm, "install", "--prefix", str(AXE_PREFIX), "--no-audit", "--no-fund",
                               "--silent", "axe-core@4"], capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not AXE_JS.is_file():
            _unavailable(f"npm could not install axe-core: {done.stderr.strip()[-500:]}")


@cache
def axe_source() -> str:
    if not AXE_JS.is_file():
        install_axe()
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page, tags=WCAG_21_AA) -> list[dict]:
    """axe's violations of `tags` on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    return page.evaluate(RUN_AXE, list(tags))


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} elements)")
        for node in v["nodes"][:12]:
            lines.append(f"    {node['target']}: {node['html']}")
            lines.extend(f"        {line}" for line in node["summary"].splitlines()[1:3])
    return "\n".join(lines)


def assert_accessible(page, where: str = "") -> list[dict]:
    """No serious or critical WCAG 2.1 A/AA violation on the page; returns
    the lesser ones (moderate, minor) for whoever wants to list them."""
    violations = axe_violations(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe-core on {where or page.url}:\n{describe(blocking)}"
    return violations
