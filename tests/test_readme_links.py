"""Every relative link of README.md (a link or an image) leads to a file of
the repository (issue #19): a clone has nothing beside it, so a link to
`../shared/API.md` is a dead end for every reader but us."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent

# [text](target "title") and ![alt](target); <target> may hold spaces.
INLINE = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^)\s]+)")
# [label]: target
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.M)
FENCED = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)


def link_targets(markdown: str) -> list[str]:
    text = CODE_SPAN.sub("", FENCED.sub("", markdown))
    return [target.strip("<>") for target in INLINE.findall(text) + REFERENCE.findall(text)]


def relative_targets(markdown: str) -> list[str]:
    """The targets that name a place in the repository (not a URL, not an anchor)."""
    found = []
    for target in link_targets(markdown):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path:
            continue
        found.append(unquote(parts.path))
    return found


def test_the_link_reader_finds_links_and_images_but_not_code():
    markdown = ("See [the API](docs/api.md#auth), ![a screenshot](<docs/a b.png> \"title\"),\n"
                "[the site](https://example.org/x.md), [top](#top) and `[not](code.md)`.\n"
                "```\n[nor](fenced.md)\n```\n[ref]: ../shared/API.md\n")
    assert relative_targets(markdown) == ["docs/api.md", "docs/a b.png", "../shared/API.md"]


def tracked_paths() -> set[Path]:
    """The files git holds and their folders: what a clone has. A file that
    exists here but was never added (a screenshot made locally) is not."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    paths = set()
    for name in filter(None, listed.decode("utf-8").split("\0")):
        path = ROOT / name
        paths.add(path)
        paths.update(path.parents)
    return paths


def test_every_relative_link_of_the_readme_resolves_to_a_file_of_the_repository():
    targets = relative_targets((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "docs/api.md" in targets
    tracked = tracked_paths()
    broken = []
    for target in targets:
        path = (ROOT / target.lstrip("/")).resolve()
        if not path.is_relative_to(ROOT) or path not in tracked:
            broken.append(target)
    assert broken == [], f"README.md links to what a clone does not hold: {broken}"
