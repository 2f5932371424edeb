"""The documentation: every relative link and anchor resolves, every flag of `--help` and every
metric family the exporter publishes is documented, every alert has its runbook entry, and the
README stays short and links every page of docs/."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from exporter import metrics
from exporter.config import SETTINGS
from tests.support.paths import REPO
from tests.support.process import exporter_help, exporter_process

README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))
ALL_MARKDOWN = [README, *PAGES]
README_MAX_LINES = 150

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9.-]*[a-z0-9]")
TABLE_ROW = re.compile(r"^\|\s*`([a-z_][a-z0-9_]*)`\s*\|\s*([a-z]+)\s*\|", re.M)


def prose_lines(text: str) -> list[str]:
    """The lines of a markdown text outside fenced code blocks."""
    lines: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
                continue
            lines.append(line)
        elif match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
            fence = None
    return lines


def github_slug(heading: str) -> str:
    """GitHub's anchor of a heading: link targets dropped, lowercase, punctuation other than
    `-` and `_` removed, each space a `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = "".join(char for char in text if char.isalnum() or char in " -_")
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor of a markdown text; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: Counter[str] = Counter()
    found: set[str] = set()
    for line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        found.add(slug if seen[slug] == 0 else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return found


def links(text: str) -> list[str]:
    """Every link and image target outside code (fenced blocks and inline code spans)."""
    targets: list[str] = []
    for line in prose_lines(text):
        targets.extend(LINK.findall(CODE_SPAN.sub("", line)))
    return targets


def broken_links(page: Path) -> list[str]:
    """The relative links of a page whose file does not exist, or whose #anchor matches no
    heading of the target markdown file. http(s) and other absolute links are not followed."""
    problems: list[str] = []
    for target in links(page.read_text(encoding="utf-8")):
        if SCHEME.match(target):
            continue
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            problems.append(f"{target}: no file {resolved}")
            continue
        if not fragment:
            continue
        if resolved.suffix != ".md" or not resolved.is_file():
            problems.append(f"{target}: an anchor into a file that is not markdown")
        elif fragment not in anchors(resolved.read_text(encoding="utf-8")):
            problems.append(f"{target}: no heading #{fragment} in {resolved.name}")
    return problems


def test_github_slug_rules() -> None:
    assert github_slug("Failure semantics") == "failure-semantics"
    assert github_slug("TLS and basic auth (`--web-config-file`)") == (
        "tls-and-basic-auth---web-config-file"
    )
    assert github_slug("The `endpoint` label, and which `up` is which") == (
        "the-endpoint-label-and-which-up-is-which"
    )
    assert github_slug("1. Cached scrape vs. a bare server") == "1-cached-scrape-vs-a-bare-server"
    assert github_slug("snake_case and **bold**") == "snake_case-and-bold"
    assert github_slug("### BinancePMIPBanned".lstrip("# ")) == "binancepmipbanned"
    text = "# A\n\n## Same\n\n```\n## Not a heading\n```\n\n## Same\n\n### Same\n"
    assert anchors(text) == {"a", "same", "same-1", "same-2"}


def test_broken_links_are_found(tmp_path: Path) -> None:
    """The checker itself: it must report a missing file, a missing anchor and a missing
    in-page anchor, and must skip code and absolute URLs."""
    (tmp_path / "other.md").write_text("# Other\n\n## Real heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[ok](other.md) [ok](other.md#real-heading) [ok](#page) [web](https://example.invalid/x)\n"
        "[bad](missing.md) [bad](other.md#no-such-heading) [bad](#nowhere)\n"
        "`[code](missing-in-code.md)`\n\n```\n[fenced](missing-in-fence.md)\n```\n",
        encoding="utf-8",
    )
    problems = broken_links(page)
    assert len(problems) == 3, problems
    assert any(problem.startswith("missing.md:") for problem in problems)
    assert any(problem.startswith("other.md#no-such-heading:") for problem in problems)
    assert any(problem.startswith("#nowhere:") for problem in problems)


def test_there_are_pages() -> None:
    names = {page.name for page in PAGES}
    assert {"configuration.md", "metrics.md", "alerts.md", "layout.md"} <= names


@pytest.mark.parametrize(
    "page", ALL_MARKDOWN, ids=[p.relative_to(REPO).as_posix() for p in ALL_MARKDOWN]
)
def test_links_and_anchors_resolve(page: Path) -> None:
    assert broken_links(page) == []


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_has_a_title_and_a_link_back(page: Path) -> None:
    lines = [line for line in page.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert re.match(r"^# \S", lines[0]), f"{page.name} does not start with a '# Title'"
    assert "(../README.md)" in lines[1], f"{page.name}: the line after the title links back"


def test_readme_is_short_and_links_every_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < README_MAX_LINES
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in links(text)}
    missing = [page.name for page in PAGES if page.resolve() not in linked]
    assert missing == [], f"README.md does not link {missing}"


def test_readme_keeps_the_first_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert (
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/binance-pm-exporter --demo"
        in text
    )
    assert "bash scripts/test.sh" in text


def test_every_flag_is_documented() -> None:
    """Every flag and alias of --help is a row of the settings table, and every row's flags and
    variable are in docs/configuration.md (the flag with its value, as `--flag VALUE`)."""
    help_text = exporter_help()
    flags = set(FLAG.findall(help_text)) - {"--help", "--version"}
    declared = {flag for setting in SETTINGS for flag in setting.spellings}
    assert "--web.listen-address" in flags
    assert flags == declared
    documented = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [flag for flag in sorted(declared) if not documented_flag(flag, documented)]
    missing += [
        setting.env
        for setting in SETTINGS
        if setting.env is not None and f"`{setting.env}`" not in documented
    ]
    assert missing == [], f"settings not in docs/configuration.md: {missing}"


def documented_flag(flag: str, text: str) -> bool:
    return re.search(f"`{re.escape(flag)}( [^`]*)?`", text) is not None


def documented_families() -> dict[str, str]:
    """The metric tables of docs/metrics.md: name -> type."""
    return dict(TABLE_ROW.findall((DOCS / "metrics.md").read_text(encoding="utf-8")))


def is_documented(name: str, kind: str, documented: dict[str, str]) -> bool:
    """The parser names a counter family without `_total`; the docs may use either form."""
    names = [name, f"{name}_total"] if kind == "counter" else [name]
    return any(documented.get(candidate) == kind for candidate in names)


async def scraped_families() -> dict[str, str]:
    """The families of the real exporter in demo mode (which collects the v2 tiers too): the
    first scrape starts the fetch, the second sees its result."""
    families: dict[str, str] = {}
    async with (
        exporter_process(["--demo", "--min-interval", "1"]) as running,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session,
    ):
        for _ in range(2):
            async with session.get(
                f"{running.url}/metrics", headers={"Accept": "text/plain;version=0.0.4"}
            ) as response:
                assert response.status == 200
                text = await response.text()
            for family in text_string_to_metric_families(text):
                families[family.name] = family.type
    return families


@pytest.mark.slow
async def test_every_published_family_is_documented() -> None:
    families = await scraped_families()
    assert "binance_pm_collateral_rate" in families
    assert "binance_pm_tiered_collateral_rate" in families, "the demo should collect v2 too"
    documented = documented_families()
    missing = [
        f"{name} ({kind})"
        for name, kind in sorted(families.items())
        if not is_documented(name, kind, documented)
    ]
    assert missing == [], f"families not in a table of docs/metrics.md, with their type: {missing}"


def defined_families() -> set[str]:
    """Every family exporter/metrics.py defines, as the parser names it (counters without
    `_total`), whether or not the demo shows it: some appear only in some states."""
    return {
        value.full_name for value in vars(metrics).values() if isinstance(value, metrics.Family)
    }


def test_every_defined_family_is_documented() -> None:
    documented = documented_families()
    defined = defined_families()
    assert "binance_pm_upstream_used_weight_1m" in defined
    forms = ("", "_total", "_info")
    missing = [name for name in sorted(defined) if not {name + f for f in forms} & set(documented)]
    assert missing == [], f"families of exporter/metrics.py not in docs/metrics.md: {missing}"


@pytest.mark.slow
async def test_documented_families_exist() -> None:
    """No table row of docs/metrics.md names a family the exporter does not publish."""
    published = set(await scraped_families()) | defined_families()
    published |= {f"{name}_total" for name in published}
    unknown = sorted(set(documented_families()) - published)
    assert unknown == [], f"documented in docs/metrics.md but never published: {unknown}"


def test_every_alert_has_a_runbook_entry() -> None:
    rules = yaml.safe_load((REPO / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    # Each alert's runbook is on the page its runbook_url names (alerts.md, accounts.md).
    pages: dict[str, set[str]] = {}
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                page = rule["annotations"]["runbook_url"].partition("#")[0].rsplit("/", 1)[1]
                pages.setdefault(page, set()).add(rule["alert"])
    assert set(pages) == {"alerts.md", "accounts.md"}
    for page, alerts in pages.items():
        text = (DOCS / page).read_text(encoding="utf-8")
        runbook = text.split("\n## Runbook\n", 1)
        assert len(runbook) == 2, f"docs/{page} has no '## Runbook' section"
        headings = set(re.findall(r"^### (\S+)\s*$", runbook[1], re.M))
        missing = sorted(alerts - headings)
        assert missing == [], f"alerts without a '### <alert>' runbook entry in {page}: {missing}"
        assert all(alert.lower() in anchors(text) for alert in alerts)


# --- What the docs say agrees with what the rules, the package and the dashboard are -------------

RULES = REPO / "prometheus" / "alerts.yml"
PROM_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
PROM_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# A range selector's duration, [1h] or [1h30m] (not a template's %[1]q argument index).
RANGE = re.compile(r"\[((?:\d+(?:ms|s|m|h|d))+)\]")
# A duration in prose: "5 minutes", "10 min", "an hour", "1 h 30 min", "600 seconds".
PROSE_DURATION = re.compile(
    r"\b(\d+|an|one)\s+(h|hours?|min|minutes?|seconds?)\b(?:\s+(\d+)\s+(min|minutes?)\b)?"
)
PROSE_UNITS = {"h": 3600, "hour": 3600, "min": 60, "minute": 60, "second": 1}
SEVERITY = re.compile(r"\b(critical|warning)\b")
# Durations a runbook states that are Binance's, not the rule's.
BINANCE_DURATIONS = {"BinancePMIPBanned": {120}}


def prom_seconds(text: str) -> int:
    parts = PROM_DURATION.findall(text)
    assert "".join(n + u for n, u in parts) == text, text
    return int(sum(int(n) * PROM_UNITS[u] for n, u in parts))


def prose_durations(text: str) -> set[int]:
    """Every duration the text states, in seconds."""
    found = set()
    for count, unit, more, more_unit in PROSE_DURATION.findall(text):
        seconds = (1 if count in {"an", "one"} else int(count)) * PROSE_UNITS[unit.rstrip("s")]
        if more:
            seconds += int(more) * PROSE_UNITS[more_unit.rstrip("s")]
        found.add(seconds)
    return found


def rendered_alerts() -> dict[str, list[dict[str, object]]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    alerts: dict[str, list[dict[str, object]]] = {}
    for group in groups:
        for rule in group["rules"]:
            if "alert" in rule:
                alerts.setdefault(rule["alert"], []).append(rule)
    return alerts


def recorded_exprs() -> dict[str, str]:
    """The expressions of the recording rules, by recorded name (rules of one name joined)."""
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    found: dict[str, str] = {}
    for group in groups:
        for rule in group["rules"]:
            if "record" in rule:
                found[rule["record"]] = found.get(rule["record"], "") + " " + rule["expr"]
    return found


def with_recordings(expr: str) -> str:
    """An expression followed by those of the recordings it reads, and theirs: the ranges an
    alert depends on include those of the series it reads."""
    recorded = recorded_exprs()
    text, seen = expr, set[str]()
    while names := set(re.findall(r"\b\w+:\w+:\w+\b", text)) & set(recorded) - seen:
        seen |= names
        text += " " + " ".join(recorded[name] for name in sorted(names))
    return text


def rule_timing(rules: list[dict[str, object]]) -> tuple[set[int], set[int]]:
    """What prose may say of an alert's timing, and what it must say, in seconds: its `for:`,
    `keep_firing_for:`, the ranges and age limits of its queries (and of the recordings they
    read), and how long it lasts after the event (the range plus keep_firing_for) when it is
    held."""
    allowed: set[int] = set()
    required: set[int] = set()
    for rule in rules:
        expr = with_recordings(str(rule["expr"]))
        text = expr + " " + str(rule.get("annotations", ""))
        ranges = {prom_seconds(r) for r in re.findall(RANGE, text)}
        ages = {int(n) for n in re.findall(r"time\(\) - [^>]*> (\d+)", expr)}
        allowed |= ranges | ages
        if "for" in rule:
            required.add(prom_seconds(str(rule["for"])))
        if "keep_firing_for" in rule:
            keep = prom_seconds(str(rule["keep_firing_for"]))
            window = max(prom_seconds(r) for r in re.findall(RANGE, expr))
            allowed.add(keep)
            required.add(window + keep)
    return allowed | required, required


def runbook_page(rules: list[dict[str, object]]) -> str:
    """The page of docs/ an alert's runbook_url names (alerts.md, accounts.md)."""
    (url,) = {str(rule["annotations"]["runbook_url"]) for rule in rules}  # type: ignore[index]
    return url.partition("#")[0].rsplit("/", 1)[1]


def runbook_sections(page: str = "alerts.md") -> dict[str, str]:
    text = (DOCS / page).read_text(encoding="utf-8").split("\n## Runbook\n", 1)[1]
    text = text.split("\n## ", 1)[0]
    return dict(re.findall(r"^### (\S+)\n(.*?)(?=^### |\Z)", text, re.M | re.S))


def alert_table_rows(page: str = "alerts.md") -> dict[str, str]:
    """The rows of the alert tables of a page of docs/, by alert."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return dict(re.findall(r"^\| \[`(BinancePM\w+)`\]\(#\w+\) (\|.*)$", text, re.M))


ALERTS = sorted(rendered_alerts())


@pytest.mark.parametrize("alert", ALERTS)
def test_the_runbook_gives_the_rules_severity_and_timing(alert: str) -> None:
    rules = rendered_alerts()[alert]
    severities = {str(rule["labels"]["severity"]) for rule in rules}  # type: ignore[index]
    allowed, required = rule_timing(rules)
    page = runbook_page(rules)
    section = runbook_sections(page)[alert]
    first_paragraph = section.strip().split("\n\n", 1)[0]
    assert set(re.findall(r"\*(critical|warning)\*", first_paragraph)) == severities
    stated = prose_durations(section)
    assert required <= stated, f"{alert}: the runbook does not say {required - stated} s"
    unknown = stated - allowed - BINANCE_DURATIONS.get(alert, set())
    assert not unknown, f"{alert}: the runbook says {unknown} s, which no rule of it has"
    row = alert_table_rows(page)[alert]
    severity_cell = row.split("|")[1]
    assert set(SEVERITY.findall(severity_cell)) == severities, f"{alert}: table severity"
    assert required <= prose_durations(row), f"{alert}: the table row's duration"
    assert not prose_durations(row) - allowed, f"{alert}: the table row's duration"


def test_the_runbook_check_finds_a_wrong_severity_and_duration() -> None:
    _, required = rule_timing(rendered_alerts()["BinancePMAccountCollateralCut"])
    assert required == {5400, 60}
    wrong = "*warning*. The rate fell.\n\n- It resolves by itself an hour after the cut.\n"
    assert set(re.findall(r"\*(critical|warning)\*", wrong)) != {"critical", "warning"}
    assert not required <= prose_durations(wrong)
    assert prose_durations("lasts 1 h 30 min, for 5 minutes, an hour") == {5400, 300, 3600}


def test_every_module_of_the_package_is_in_the_layout_page() -> None:
    text = (DOCS / "layout.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(exporter/[\w/]+\.py)`", text))
    modules = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "exporter").rglob("*.py")
        if path.name != "__init__.py"
    }
    assert len(modules) >= 30
    assert sorted(modules - documented) == [], "modules missing from docs/layout.md"
    assert sorted(documented - modules) == [], "docs/layout.md names modules that do not exist"


PIP_INSTALL = re.compile(r"pip3? install\s+([^`\n#;&|]*)")
LOCKS = sorted((REPO / "docker").glob("*.lock"))


def pip_install_problems(text: str) -> list[str]:
    """The `pip install` arguments of a text that name nothing pyproject.toml or the lock files
    know: the project is installed from its source tree (`.`, `'.[extra]'`), as it is not
    published; other packages must be ones the project depends on or locks."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = set(project["optional-dependencies"])
    known = {
        canonicalize_name(Requirement(line).name)
        for group in [project["dependencies"], *project["optional-dependencies"].values()]
        for line in group
    }
    for lock in LOCKS:
        for line in lock.read_text(encoding="utf-8").splitlines():
            if line and not line[0].isspace() and not line.startswith("#"):
                known.add(canonicalize_name(Requirement(line.split()[0]).name))
    problems = []
    for arguments in PIP_INSTALL.findall(text):
        words = iter(arguments.split())
        for word in words:
            if word in {"-r", "--requirement", "-c", "--constraint"}:
                next(words, None)
                continue
            if word.startswith("-"):
                continue
            target = word.strip("'\"")
            if target.startswith("."):
                named = set(re.findall(r"[\w-]+", target.partition("[")[2]))
                problems += [f"{word}: no extra {extra!r}" for extra in sorted(named - extras)]
            elif canonicalize_name(Requirement(target).name) == canonicalize_name(project["name"]):
                problems.append(f"{word}: {project['name']} is not published; install '.'")
            elif canonicalize_name(Requirement(target).name) not in known:
                problems.append(f"{word}: neither pyproject.toml nor a lock file names it")
    return problems


@pytest.mark.parametrize(
    "page", ALL_MARKDOWN, ids=[p.relative_to(REPO).as_posix() for p in ALL_MARKDOWN]
)
def test_every_pip_install_names_a_package_the_project_knows(page: Path) -> None:
    assert pip_install_problems(page.read_text(encoding="utf-8")) == []


def test_the_pip_install_check_finds_unknown_and_unpublished_packages() -> None:
    text = (
        "```sh\npip install 'binance-pm-exporter[fast]'\n.venv/bin/pip install -q '.[nope]'\n"
        "pip install left-pad && pip install -e '.[test]' uvloop\n```\n"
    )
    assert pip_install_problems(text) == [
        "'binance-pm-exporter[fast]': binance-pm-exporter is not published; install '.'",
        "'.[nope]': no extra 'nope'",
        "left-pad: neither pyproject.toml nor a lock file names it",
    ]


def dashboard_rows() -> list[tuple[str, list[str]]]:
    dashboard = yaml.safe_load(
        (REPO / "grafana" / "dashboards" / "binance-pm-collateral.json").read_text(encoding="utf-8")
    )
    rows: list[tuple[str, list[str]]] = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            rows.append((panel["title"], []))
        else:
            rows[-1][1].append(panel["title"])
    return rows


def documented_rows(text: str) -> list[tuple[str, list[str]]]:
    """The sections of docs/dashboard.md that describe a row ("## <row title> (... row)"), with
    the panels of their table, in the page's order."""
    rows = []
    for title, body in re.findall(
        r"^## ([^\n]+?) \(\w+ row\)\n(.*?)(?=^## |\Z)", text, re.M | re.S
    ):
        panels = re.findall(r"^\| (?!panel |---)([^|]+?) \|", body, re.M)
        rows.append((title, panels))
    return rows


def test_the_dashboard_page_lists_rows_and_panels_in_the_dashboards_order() -> None:
    text = (DOCS / "dashboard.md").read_text(encoding="utf-8")
    rows = dashboard_rows()
    assert len(rows) >= 3
    assert documented_rows(text) == rows


def test_the_row_order_check_sees_a_swap() -> None:
    text = (DOCS / "dashboard.md").read_text(encoding="utf-8")
    sections = re.split(r"(?=^## )", text, flags=re.M)
    rows = [i for i, s in enumerate(sections) if re.match(r"## .+ \(\w+ row\)", s)]
    sections[rows[1]], sections[rows[2]] = sections[rows[2]], sections[rows[1]]
    assert documented_rows("".join(sections)) != dashboard_rows()


def test_license_and_changelog() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    license_text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert project["license"] == "Apache-2.0"
    assert license_text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in license_text
    assert 'org.opencontainers.image.licenses="Apache-2.0"' in (REPO / "Dockerfile").read_text(
        encoding="utf-8"
    )
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## \[([^\]]+)\]", changelog, re.M)
    assert versions[0] == "Unreleased"
    assert project["version"] in versions
    assert broken_links(REPO / "CHANGELOG.md") == []
