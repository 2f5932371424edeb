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
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
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
    help_text = exporter_help()
    flags = sorted(set(FLAG.findall(help_text)))
    assert "--listen-address" in flags
    assert "--demo" in flags
    documented = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [flag for flag in flags if not re.search(f"`{re.escape(flag)}( [^`]*)?`", documented)]
    assert missing == [], f"flags of --help not in docs/configuration.md: {missing}"


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


async def test_documented_families_exist() -> None:
    """No table row of docs/metrics.md names a family the exporter does not publish."""
    published = set(await scraped_families()) | defined_families()
    published |= {f"{name}_total" for name in published}
    unknown = sorted(set(documented_families()) - published)
    assert unknown == [], f"documented in docs/metrics.md but never published: {unknown}"


def test_every_alert_has_a_runbook_entry() -> None:
    rules = yaml.safe_load((REPO / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    alerts = [
        rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule
    ]
    assert alerts
    text = (DOCS / "alerts.md").read_text(encoding="utf-8")
    runbook = text.split("\n## Runbook\n", 1)
    assert len(runbook) == 2, "docs/alerts.md has no '## Runbook' section"
    headings = set(re.findall(r"^### (\S+)\s*$", runbook[1], re.M))
    missing = [alert for alert in alerts if alert not in headings]
    assert missing == [], f"alerts without a '### <alert>' runbook entry: {missing}"
    assert all(alert.lower() in anchors(text) for alert in alerts)
