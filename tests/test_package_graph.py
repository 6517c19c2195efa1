"""Packages import one way (issue #14): each module of instrument_share
imports only from its own layer or the layers below it. README.md,
"Architecture", draws the same layers."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "instrument_share"

# Lowest first. A name is a top-level module or package of instrument_share.
LAYERS = (
    # what everything stands on
    {"config", "extensions", "errors", "timeutil", "formats", "db_types", "sql", "text", "routing", "database",
     "transaction",
     "bulk"},
    {"web", "api", "spreadsheets", "icons"},  # what every page and endpoint uses
    {"mail"},        # the outbox and its delivery; composers are handed to it
    {"accounts"},    # cities, institutions, firms, users; the policy layer's base
    {"catalogue"},   # categories, instruments, their record and audit trail
    {"booking"},
    {"search"},      # finding instruments: text, place, price, free time
    {"invites"},
    {"vouchers"},
    {"orders"},      # entrusted testing (委托测试)
    {"stats"},
    # on top: the pages and jobs that use everything, and the app's assembly
    {"desk", "workspace", "admin", "scheduler", "labels", "site", "integrity", "demo", "tools", "cli", "docs_site",
     "__init__"},
)
def _layer_of(name: str) -> int:
    for number, layer in enumerate(LAYERS):
        if name in layer:
            return number
    raise AssertionError(f"{name} is in no layer of tests/test_package_graph.py: place it")


def _imports() -> set[tuple[str, str, str]]:
    """(importing unit, imported unit, file) for every relative import."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        unit = parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")
        package = list(parts[:-1])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            base = package[: len(package) - (node.level - 1)]
            target = [*base, *(node.module.split(".") if node.module else [])]
            names = [target[0]] if target else [alias.name for alias in node.names]
            for name in names:
                name = "__init__" if name == "create_app" else name
                if name != unit:
                    found.add((unit, name, str(path.relative_to(PACKAGE))))
    return found


def test_every_import_goes_down_or_sideways():
    upward = {}
    for unit, imported, where in _imports():
        if _layer_of(imported) > _layer_of(unit):
            upward.setdefault((unit, imported), set()).add(where)
    assert not upward, f"imports that go up a layer: { {edge: sorted(files) for edge, files in upward.items()} }"


def test_the_core_imports_no_domain():
    core = LAYERS[0] | LAYERS[1] | LAYERS[2]
    domains = set().union(*LAYERS[3:])
    leaks = sorted((unit, imported, where) for unit, imported, where in _imports()
                   if unit in core and imported in domains)
    assert not leaks
