"""The package's import direction: web -> service -> gate -> upstream, the collector reads the
snapshots, nothing in upstream/ imports the rest, and only the entry point imports web/."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "exporter"

# What each part may import besides itself and the package root (`exporter.__version__`).
ALLOWED: dict[str, frozenset[str]] = {
    "upstream": frozenset(),
    "config": frozenset({"accounts", "margin", "upstream"}),
    "margin": frozenset({"upstream"}),
    "accounts": frozenset({"margin", "upstream"}),
    "logs": frozenset({"upstream"}),
    "eventloop": frozenset(),
    "state": frozenset({"upstream"}),
    "gate": frozenset({"state", "upstream"}),
    "metrics": frozenset({"gate", "state", "margin", "upstream"}),
    "exposition": frozenset({"metrics", "gate", "state", "upstream"}),
    "service": frozenset({"config", "exposition", "metrics", "gate", "state", "upstream"}),
    "web": frozenset({"config", "service", "exposition", "metrics", "gate", "state", "upstream"}),
    "cli": frozenset(
        {"config", "logs", "eventloop", "service", "web", "exposition", "metrics", "gate"}
        | {"state", "upstream"}
    ),
    "__main__": frozenset({"cli"}),
}


def part_of(module: str) -> str:
    """`exporter.upstream.client` -> `upstream`, `exporter.gate` -> `gate`, `exporter` -> ``."""
    names = module.split(".")
    return names[1] if len(names) > 1 else ""


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    names = list(relative.parts)
    if names[-1] == "__init__":
        names.pop()
    return ".".join(names)


def imported_modules(tree: ast.AST, module: str) -> set[str]:
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            # `from exporter import web` imports the module exporter.web
            found.update(f"{base}.{alias.name}" for alias in node.names if base == "exporter")
    return {name for name in found if name == "exporter" or name.startswith("exporter.")}


def violations(module: str, source: str) -> list[str]:
    part = part_of(module)
    allowed = ALLOWED.get(part, frozenset()) | {part, ""}
    bad = []
    for imported in sorted(imported_modules(ast.parse(source), module)):
        target = part_of(imported)
        if target and not (PACKAGE / target).exists() and not (PACKAGE / f"{target}.py").exists():
            continue  # a name imported from the package root, e.g. __version__
        if target not in allowed:
            bad.append(f"{module} imports {imported}")
    return bad


def package_modules() -> dict[str, str]:
    return {module_name(path): path.read_text() for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_part_of_the_package_is_placed() -> None:
    parts = {part_of(module) for module in package_modules()} - {""}
    assert parts == set(ALLOWED)


def test_imports_run_one_way() -> None:
    found = [
        bad for module, source in package_modules().items() for bad in violations(module, source)
    ]
    assert found == []


def test_upstream_imports_nothing_of_the_exporter_but_itself() -> None:
    for module, source in package_modules().items():
        if part_of(module) == "upstream":
            imported = imported_modules(ast.parse(source), module)
            assert all(name.startswith("exporter.upstream") for name in imported), module


def test_the_check_sees_an_import_against_the_flow() -> None:
    against = "from exporter.gate import RefreshGate\n"
    assert violations("exporter.upstream.endpoints", against) == [
        "exporter.upstream.endpoints imports exporter.gate"
    ]
    assert violations("exporter.service", "from exporter.web import app\n") == [
        "exporter.service imports exporter.web"
    ]
    assert violations("exporter.gate", "from exporter import metrics\n") == [
        "exporter.gate imports exporter.metrics"
    ]
    assert violations("exporter.web.app", "from . import guard\nfrom ..service import X\n") == []
