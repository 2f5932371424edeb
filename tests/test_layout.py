"""The package's import direction: web -> service -> gate -> upstream, the collector reads the
snapshots, nothing in upstream/ imports the rest, and only the entry point imports web/."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "exporter"

# What each part may import besides itself and the package root (`exporter.__version__`).
ALLOWED: dict[str, frozenset[str]] = {
    "upstream": frozenset(),
    "config": frozenset(),
    "logs": frozenset({"upstream"}),
    "eventloop": frozenset(),
    "state": frozenset({"upstream"}),
    "gate": frozenset({"state", "upstream"}),
    "metrics": frozenset({"gate", "state", "upstream"}),
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


TESTS = PACKAGE.parent / "tests"
SUPPORT = TESTS / "support"


def modules_of_the_tests() -> dict[str, str]:
    """Every module under tests/, by dotted name (`tests.test_cli`, `tests.support.process`)."""
    return {
        ".".join(path.relative_to(TESTS.parent).with_suffix("").parts): path.read_text()
        for path in sorted(TESTS.rglob("*.py"))
    }


def imports_of(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if base == "tests")
    return found


def support_violations(module: str, source: str) -> list[str]:
    """A test module may import tests.support, never another test module or conftest; a
    helper (a module of tests/ that is neither a test module nor conftest) lives in
    tests/support/."""
    bad = []
    if module.startswith("tests.") and not module.startswith("tests.support"):
        leaf = module.rsplit(".", 1)[-1]
        if leaf not in {"__init__", "conftest"} and not leaf.startswith("test_"):
            bad.append(f"{module} is a helper outside tests/support/")
    for imported in sorted(imports_of(source)):
        names = imported.split(".")
        if names[0] == "tests":
            names = names[1:]
        elif names[0] not in {"conftest"} and not names[0].startswith("test_"):
            continue
        if names and (names[0] == "conftest" or names[0].startswith("test_")):
            bad.append(f"{module} imports {imported}")
    return bad


def test_test_modules_import_only_the_support_package() -> None:
    found = [
        bad
        for module, source in modules_of_the_tests().items()
        for bad in support_violations(module, source)
    ]
    assert found == []


def test_the_test_rule_sees_a_test_importing_a_test_or_conftest_and_a_stray_helper() -> None:
    assert support_violations("tests.test_a", "from tests.test_b import X\n") == [
        "tests.test_a imports tests.test_b"
    ]
    assert support_violations("tests.test_a", "from tests.conftest import API_KEY\n") == [
        "tests.test_a imports tests.conftest"
    ]
    assert support_violations("tests.test_a", "from tests import conftest\n") == [
        "tests.test_a imports tests.conftest"
    ]
    assert support_violations("tests.support.x", "from tests.test_b import X\n") == [
        "tests.support.x imports tests.test_b"
    ]
    assert support_violations("tests.test_a", "import conftest\n") == [
        "tests.test_a imports conftest"
    ]
    assert support_violations("tests.helpers", "") == [
        "tests.helpers is a helper outside tests/support/"
    ]
    assert support_violations("tests.test_a", "from tests.support.process import REPO\n") == []
    assert (
        support_violations("tests.conftest", "from tests.support.exporter import Running\n") == []
    )
