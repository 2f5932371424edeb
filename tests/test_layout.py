"""The package's import direction: web -> service -> scrape -> gate -> upstream, the collector
reads the snapshots, nothing in upstream/ imports the rest, and only the entry point imports
web/. Each decision has its module: faults in upstream/faults.py, the scrape's in scrape.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "exporter"

# What each part may import besides itself and the package root (`exporter.__version__`).
ALLOWED: dict[str, frozenset[str]] = {
    "upstream": frozenset(),
    "config": frozenset(),
    "margin": frozenset({"upstream"}),
    "accounts": frozenset({"config", "margin", "upstream"}),
    "fakebinance": frozenset({"upstream"}),
    "logs": frozenset({"upstream"}),
    "eventloop": frozenset(),
    "state": frozenset({"upstream"}),
    "changes": frozenset(),
    "gate": frozenset({"state", "upstream"}),
    "metrics": frozenset({"gate", "state", "margin", "upstream"}),
    "exposition": frozenset({"metrics", "gate", "state", "upstream"}),
    "scrape": frozenset({"exposition", "metrics", "gate", "state", "upstream"}),
    "service": frozenset(
        {"config", "scrape", "exposition", "metrics", "gate", "state", "upstream"}
        | {"accounts", "margin", "fakebinance", "changes"}
    ),
    "web": frozenset(
        {"config", "service", "scrape", "exposition", "metrics", "gate", "state", "upstream"}
        | {"accounts", "margin", "changes"}
    ),
    # --check: the exporter's own endpoints, each requested once.
    "check": frozenset({"config", "accounts", "service", "gate", "upstream"}),
    "cli": frozenset(
        {"config", "logs", "eventloop", "service", "web", "scrape", "exposition", "metrics"}
        | {"gate", "state", "upstream", "accounts", "margin", "check", "changes"}
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


SETTINGS_MODULE = "exporter.config.settings"
ENVIRONMENT_NAME = re.compile(r"\bBINANCE_[A-Z0-9_]+\b")


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes of a module and its classes and functions."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def settings_outside_the_table(module: str, source: str) -> list[str]:
    """What declares or reads a setting outside the settings table: a command-line parser, or
    an environment variable of the exporter named in code (docstrings may mention them)."""
    if module == SETTINGS_MODULE:
        return []
    tree = ast.parse(source)
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("add_argument", "ArgumentParser"):
            found.append(f"{module}: {node.attr}")
        elif isinstance(node, ast.Name) and node.id == "ArgumentParser":
            found.append(f"{module}: ArgumentParser")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and ENVIRONMENT_NAME.search(node.value)
        ):
            found.append(f"{module}: {ENVIRONMENT_NAME.search(node.value).group()}")  # type: ignore[union-attr]
    return found


def test_every_setting_is_declared_once_in_the_settings_table() -> None:
    modules = package_modules()
    assert SETTINGS_MODULE in modules
    found = [
        bad
        for module, source in modules.items()
        for bad in settings_outside_the_table(module, source)
    ]
    assert found == []
    defining = [
        module for module, source in modules.items() if re.search(r"^SETTINGS\b", source, re.M)
    ]
    assert defining == [SETTINGS_MODULE]


def test_the_settings_check_sees_a_second_declaration() -> None:
    parser = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--x')\n"
    assert settings_outside_the_table("exporter.cli", parser) == [
        "exporter.cli: ArgumentParser",
        "exporter.cli: add_argument",
    ]
    reading = '"""Reads BINANCE_PM_X."""\nimport os\nx = os.environ.get("BINANCE_PM_X")\n'
    assert settings_outside_the_table("exporter.web.app", reading) == [
        "exporter.web.app: BINANCE_PM_X"
    ]
    assert settings_outside_the_table(SETTINGS_MODULE, reading) == []


# Fault policy: every failure is classified in exporter/upstream/faults.py. Elsewhere no module
# names a reason, builds a fault, judges an HTTP status or Binance code, or catches what the
# transport raises; they call faults.py, which decides. The web side and the fake Binance serve
# HTTP rather than read Binance's answers, so the rule is for the rest of the package.
FAULTS_MODULE = "exporter.upstream.faults"
NOT_READING_BINANCE = frozenset({"web", "fakebinance"})
JUDGED_NAMES = frozenset({"status", "code"})
TRANSPORT_EXCEPTIONS = frozenset(
    {"TimeoutError", "OSError", "ConnectionError", "ClientError", "ClientResponseError"}
)


def _names_in(node: ast.expr | None) -> set[str]:
    """Exception class names an `except` clause names (aiohttp.ClientError -> ClientError)."""
    if node is None:
        return set()
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def _judged_name(node: ast.expr) -> str | None:
    """`status`/`code` for `resp.status`, `status`, `fault.code`: an HTTP status or Binance
    error code, which only faults.py judges (a plain variable `code` is anyone's)."""
    if isinstance(node, ast.Attribute):
        return node.attr if node.attr in JUDGED_NAMES else None
    return "status" if isinstance(node, ast.Name) and node.id == "status" else None


def _is_int_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def fault_classifications(module: str, source: str) -> list[str]:
    if module == FAULTS_MODULE or part_of(module) in NOT_READING_BINANCE:
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "Reason"
        ):
            found.append(f"{module}:{line} names Reason.{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "UpstreamFault"
        ):
            found.append(f"{module}:{line} builds an UpstreamFault")
        elif isinstance(node, ast.Compare):
            sides = (node.left, *node.comparators)
            judged = {name for name in map(_judged_name, sides) if name is not None}
            if "code" in judged or ("status" in judged and any(map(_is_int_literal, sides))):
                found.extend(f"{module}:{line} compares {name}" for name in sorted(judged))
        elif isinstance(node, ast.ExceptHandler) and part_of(module) == "upstream":
            caught = _names_in(node.type) & TRANSPORT_EXCEPTIONS
            found.extend(f"{module}:{line} catches {name}" for name in sorted(caught))
    return sorted(found)


def test_every_fault_is_classified_in_faults_py() -> None:
    found = [
        bad
        for module, source in package_modules().items()
        for bad in fault_classifications(module, source)
    ]
    assert found == []


def test_the_check_sees_a_classification_outside_faults_py() -> None:
    source = (
        "try:\n    pass\nexcept aiohttp.ClientError:\n"
        "    raise UpstreamFault(Reason.CONNECTION, 'x')\n"
        "if resp.status == 429:\n    pass\n"
    )
    assert fault_classifications("exporter.upstream.client", source) == [
        "exporter.upstream.client:3 catches ClientError",
        "exporter.upstream.client:4 builds an UpstreamFault",
        "exporter.upstream.client:4 names Reason.CONNECTION",
        "exporter.upstream.client:5 compares status",
    ]
    assert fault_classifications(FAULTS_MODULE, source) == []
    assert fault_classifications("exporter.gate", "if fault.reason is Reason.AUTH:\n    x = 1\n")
    assert fault_classifications("exporter.gate", "x = fault.code == INVALID_TIMESTAMP\n")
    assert fault_classifications("exporter.metrics", "x = summary.status == known\n") == []


# The scrape decision: whether a scrape waits for a request, for how long, or is served the cache
# is decided in exporter/scrape.py alone. No other module joins or starts a source's request for
# a scrape, works out a scrape's wait, or tells the exposition what to render again.
SCRAPE_MODULE = "exporter.scrape"
SCRAPE_DECISIONS = frozenset(
    {
        "in_flight",
        "forget_exporter_metrics",
        "forget_own_metrics",
        "wait_budget",
        "requests_to_wait_for",
        "wait_until",
        "cache_holds_until",
    }
)


def scrape_decisions(module: str, source: str) -> list[str]:
    if module == SCRAPE_MODULE:
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in SCRAPE_DECISIONS:
                found.append(f"{module}:{node.lineno} calls {name}")
    return found


def test_the_scrape_decision_is_made_in_scrape_py() -> None:
    found = [
        bad
        for module, source in package_modules().items()
        for bad in scrape_decisions(module, source)
    ]
    assert found == []


def test_the_check_sees_a_scrape_decision_elsewhere() -> None:
    source = "if gate.in_flight() is None:\n    exposition.forget_exporter_metrics()\n"
    assert scrape_decisions("exporter.service", source) == [
        "exporter.service:1 calls in_flight",
        "exporter.service:2 calls forget_exporter_metrics",
    ]
    assert scrape_decisions(SCRAPE_MODULE, source) == []


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


PROCESS_MODULE = "tests.support.process"


def exporter_launches(module: str, source: str) -> list[str]:
    """Where a module runs `python -m exporter` itself: only tests.support.process may."""
    if module == PROCESS_MODULE:
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        items = node.args if isinstance(node, ast.Call) else getattr(node, "elts", None)
        if not isinstance(items, list):
            continue
        words = [ast.unparse(item) for item in items]
        launch = ["sys.executable", repr("-m"), repr("exporter")]
        if any(words[i : i + 3] == launch for i in range(len(words))):
            found.append(f"{module}:{node.lineno} runs python -m exporter")  # type: ignore[attr-defined]
    return found


def test_one_way_to_start_an_exporter_process() -> None:
    found = [
        bad
        for module, source in modules_of_the_tests().items()
        for bad in exporter_launches(module, source)
    ]
    assert found == []


def test_the_launch_rule_sees_a_second_way() -> None:
    source = "import sys\nsubprocess.run([sys.executable, '-m', 'exporter', '--demo'])\n"
    assert exporter_launches("tests.test_a", source) == ["tests.test_a:2 runs python -m exporter"]
    call = "asyncio.create_subprocess_exec(sys.executable, '-m', 'exporter')\n"
    assert exporter_launches("tests.support.stack", call) == [
        "tests.support.stack:1 runs python -m exporter"
    ]
    assert exporter_launches(PROCESS_MODULE, source) == []


BENCH = PACKAGE.parent / "bench"
BINANCE_PREFIXES = ("/sapi/", "/papi/", "/api/", "/fapi/", "/dapi/")
ROUTE_CALLS = frozenset({"add_get", "add_post", "add_route", "add_put", "add_delete"})


def second_fakes(module: str, source: str) -> list[str]:
    """Where a module outside the package serves a Binance path itself: the fake Binance is
    exporter/fakebinance/ alone; tests and benchmarks script it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ROUTE_CALLS or not node.args:
            continue
        routed = node.func.attr == "add_route" and len(node.args) > 1
        path = node.args[1] if routed else node.args[0]
        literal = path.value if isinstance(path, ast.Constant) else None
        named = ast.unparse(path)
        if (isinstance(literal, str) and literal.startswith(BINANCE_PREFIXES)) or named.endswith(
            "_PATH"
        ):
            found.append(f"{module}:{node.lineno} serves {named}")
    return found


def modules_outside_the_package() -> dict[str, str]:
    return {
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts): path.read_text()
        for root in (TESTS, BENCH)
        for path in sorted(root.rglob("*.py"))
    }


def test_no_second_fake_binance_in_tests_or_bench() -> None:
    found = [
        bad
        for module, source in modules_outside_the_package().items()
        for bad in second_fakes(module, source)
    ]
    assert found == []


def test_the_fake_rule_sees_a_second_fake() -> None:
    source = (
        "app = web.Application()\n"
        "app.router.add_get(V1_PATH, handle)\n"
        "app.router.add_get('/sapi/v1/portfolio/account', handle)\n"
        "app.router.add_route('GET', '/papi/v1/balance', handle)\n"
        "app.router.add_get('/metrics', handle)\n"
    )
    assert second_fakes("bench.soak", source) == [
        "bench.soak:2 serves V1_PATH",
        "bench.soak:3 serves '/sapi/v1/portfolio/account'",
        "bench.soak:4 serves '/papi/v1/balance'",
    ]


def bench_imports(module: str, source: str) -> list[str]:
    """Tests check, the benchmarks measure: a benchmark may use tests/support/, but no module of
    tests/ imports bench/, so the two never import each other in a cycle."""
    return [
        f"{module} imports {imported}"
        for imported in sorted(imports_of(source))
        if imported == "bench" or imported.startswith("bench.")
    ]


def test_no_test_imports_a_benchmark() -> None:
    found = [
        bad
        for module, source in modules_of_the_tests().items()
        for bad in bench_imports(module, source)
    ]
    assert found == []


def test_the_bench_rule_sees_a_test_importing_a_benchmark() -> None:
    assert bench_imports("tests.test_soak", "from bench.soak import memory_figures\n") == [
        "tests.test_soak imports bench.soak"
    ]
    assert bench_imports("tests.test_a", "import bench.procs\n") == [
        "tests.test_a imports bench.procs"
    ]
    assert bench_imports("tests.test_a", "from tests.support.flapping import CYCLE\n") == []
