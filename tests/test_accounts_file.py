"""The accounts file: valid lists load, every bad one is refused with one line naming the entry,
and no key or secret is ever shown."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from exporter.accounts import AccountsError, load_accounts_file, shorthand_account
from exporter.config import ConfigError
from exporter.margin import Product
from tests.support.process import run_exporter as run_process

REPO = Path(__file__).resolve().parent.parent
KEY = "alice-key-0123456789abcdef"
SECRET = "alice-secret-0123456789abcdef"


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    (tmp_path / "alice.key").write_text(KEY + "\n")
    (tmp_path / "alice.secret").write_text(SECRET + "\n")
    (tmp_path / "bob.key").write_text("bob-key-0123456789\n")
    (tmp_path / "bob.secret").write_text("bob-secret-0123456789\n")
    (tmp_path / "empty").write_text("\n")
    return tmp_path


def write(directory: Path, text: str) -> Path:
    path = directory / "accounts.yml"
    path.write_text(text)
    return path


GOOD = """\
- name: alice
  product: pm_pro
  api_key_file: alice.key
  api_secret_file: {dir}/alice.secret
- name: bob
  product: PM
  api_key_file: bob.key
  api_secret_file: bob.secret
"""


def test_a_valid_file_loads_with_paths_beside_it(secrets: Path) -> None:
    accounts = load_accounts_file(write(secrets, GOOD.format(dir=secrets)))
    assert [(a.name, a.product) for a in accounts] == [
        ("alice", Product.PM_PRO),
        ("bob", Product.PM),
    ]
    assert accounts[0].api_key == KEY
    assert accounts[0].api_secret == SECRET
    assert KEY not in repr(accounts)
    assert SECRET not in repr(accounts)


ALICE = "- {{name: alice, product: pm_pro, api_key_file: alice.key, api_secret_file: {s}}}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.format(dir=".") + "  extra: 1\n", "entry 2 ('bob'): unknown key 'extra'"),
        (
            "- {name: alice, product: pm_pro, api_key_file: alice.key, "
            "api_secret_file: alice.secret, api_key: x}\n",
            "entry 1 ('alice'): unknown key 'api_key'",
        ),
        (
            ALICE.format(s="alice.secret")
            + "- {name: alice, product: pm, api_key_file: bob.key, api_secret_file: bob.secret}\n",
            "entry 2 ('alice'): duplicate name",
        ),
        (ALICE.format(s="missing.secret"), "entry 1 ('alice'): api_secret_file: cannot read"),
        (ALICE.format(s="empty"), "entry 1 ('alice'): api_secret_file: the file is empty"),
        (
            "- {name: carol, product: spot, api_key_file: a, api_secret_file: b}\n",
            "entry 1 ('carol'): product 'spot' is not one of pm_pro, pm",
        ),
        (
            "- {name: dave, product: pm}\n",
            "entry 1 ('dave'): missing api_key_file, api_secret_file",
        ),
        ("- !!python/object/apply:os.system [echo hi]\n", "invalid YAML at line 1"),
        ("- [unclosed\n", "invalid YAML at line"),
        ("- {name: a, name: b, product: pm}\n", "key 'name' is given twice"),
        ("- {name: a, product: !!int x}\n", "the value cannot be read as int"),
        ("name: alice\n", "expected a non-empty YAML list"),
        ("[]\n", "expected a non-empty YAML list"),
        ("- just-a-string\n", "entry 1: expected a mapping"),
        (
            "- {name: 'bad name', product: pm, api_key_file: a, api_secret_file: b}\n",
            "entry 1: name must be",
        ),
        (
            ALICE.format(s="alice.secret")
            + "- {name: alice2, product: pm, api_key_file: alice.key, "
            "api_secret_file: bob.secret}\n",
            "entry 'alice2': same API key as 'alice'",
        ),
    ],
)
def test_a_bad_file_is_one_line_naming_the_entry(secrets: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_accounts_file(write(secrets, text))
    line = str(caught.value)
    assert message in line
    assert line.startswith("--accounts-file")
    assert "\n" not in line
    assert KEY not in line
    assert SECRET not in line


def test_an_unreadable_accounts_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--accounts-file '.*nowhere\.yml': cannot read"):
        load_accounts_file(tmp_path / "nowhere.yml")


def test_the_shorthand_needs_a_key_and_a_secret() -> None:
    account = shorthand_account("pm", KEY, SECRET, "--account-product")
    assert (account.name, account.product) == ("default", Product.PM)
    with pytest.raises(AccountsError, match="both an API key and an API secret"):
        shorthand_account("pm_pro", KEY, None, "--account-product")
    with pytest.raises(AccountsError, match="not one of pm_pro, pm"):
        shorthand_account("margin", KEY, SECRET, "--account-product")


def run_exporter(*args: str) -> subprocess.CompletedProcess[str]:
    return run_process(["--api-key", "rates-key-0123456789", *args], timeout=60)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + "  api_key: leaked\n", "entry 2 ('bob'): unknown key 'api_key'"),
        (GOOD.replace("bob.secret", "gone.secret"), "entry 2 ('bob'): api_secret_file: cannot"),
        (GOOD.replace("name: bob", "name: alice"), "entry 2 ('alice'): duplicate name"),
        (GOOD.replace("product: PM", "product: futures"), "entry 2 ('bob'): product 'futures'"),
        ("- !!python/object/apply:os.system [touch /tmp/x]\n", "invalid YAML at line 1"),
    ],
)
@pytest.mark.slow
def test_the_exporter_exits_2_with_one_line(secrets: Path, text: str, message: str) -> None:
    path = write(secrets, text.format(dir=secrets))
    done = run_exporter("--accounts-file", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("binance-pm-exporter: --accounts-file")
    assert message in lines[0]
    for secret in (KEY, SECRET, "bob-key-0123456789", "bob-secret-0123456789"):
        assert secret not in done.stderr


def test_the_file_and_the_shorthand_together_are_refused(secrets: Path) -> None:
    path = write(secrets, GOOD.format(dir=secrets))
    done = run_exporter(
        "--accounts-file",
        str(path),
        "--account-product",
        "pm",
        "--api-secret-file",
        str(secrets / "alice.secret"),
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "binance-pm-exporter: --accounts-file and --account-product: give only one"
    )
