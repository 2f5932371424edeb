"""The Portfolio Margin accounts to watch: `--accounts-file` (a YAML list of accounts) or the
one-account shorthand `--account-product`, validated into `Account`s.

Every problem is one line naming the entry (its position, and its name when it has one) and
the key at fault; a key or secret is never shown, nor the content of a file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from exporter.config import ConfigError, load_yaml_file
from exporter.margin import Product

ACCOUNT_KEYS = ("name", "product", "api_key_file", "api_secret_file")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}")
CREDENTIAL_PATTERN = re.compile(r"[\x21-\x7e]+")
SHORTHAND_NAME = "default"
PRODUCTS = ", ".join(product.value for product in Product)


class AccountsError(ConfigError):
    """A bad accounts file or account setting: the message is the one line to show."""


@dataclass(frozen=True)
class Account:
    name: str
    product: Product
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)


def read_credential(path: Path, where: str) -> str:
    """A key or secret file's text, trailing newline stripped; its content is never shown."""
    try:
        text = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise AccountsError(f"{where}: cannot read the file: {reason}") from None
    if not text:
        raise AccountsError(f"{where}: the file is empty")
    if not CREDENTIAL_PATTERN.fullmatch(text):
        raise AccountsError(f"{where}: the file holds whitespace or control characters")
    return text


def product_of(value: object, where: str) -> Product:
    if isinstance(value, str):
        try:
            return Product(value.strip().lower())
        except ValueError:
            pass
    shown = repr(value) if isinstance(value, str) and len(value) <= 32 else "that value"
    raise AccountsError(f"{where}: product {shown} is not one of {PRODUCTS}")


def _entry(index: int, raw: object, base: Path, source: str) -> Account:
    where = f"{source}: entry {index}"
    if not isinstance(raw, dict):
        raise AccountsError(f"{where}: expected a mapping with {', '.join(ACCOUNT_KEYS)}")
    name = raw.get("name")
    if isinstance(name, str) and NAME_PATTERN.fullmatch(name):
        where = f"{where} ({name!r})"
    unknown = sorted(str(key) for key in raw if key not in ACCOUNT_KEYS)
    if unknown:
        shown = unknown[0][:40]
        raise AccountsError(f"{where}: unknown key {shown!r} (expected {', '.join(ACCOUNT_KEYS)})")
    missing = [key for key in ACCOUNT_KEYS if key not in raw]
    if missing:
        raise AccountsError(f"{where}: missing {', '.join(missing)}")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise AccountsError(
            f"{where}: name must be 1 to 63 letters, digits or _.:- starting with a letter or digit"
        )
    product = product_of(raw["product"], where)
    credentials = []
    for key in ("api_key_file", "api_secret_file"):
        value = raw[key]
        if not isinstance(value, str) or not value.strip():
            raise AccountsError(f"{where}: {key} must be a path")
        path = Path(value.strip())
        credentials.append(
            read_credential(path if path.is_absolute() else base / path, f"{where}: {key}")
        )
    return Account(name, product, credentials[0], credentials[1])


def accounts_from_document(document: object, base: Path, source: str) -> tuple[Account, ...]:
    """Accounts from the loaded YAML document: a list of mappings, names unique."""
    if not isinstance(document, list) or not document:
        raise AccountsError(f"{source}: expected a non-empty YAML list of accounts")
    accounts: list[Account] = []
    names: set[str] = set()
    for index, raw in enumerate(document, start=1):
        account = _entry(index, raw, base, source)
        if account.name in names:
            raise AccountsError(f"{source}: entry {index} ({account.name!r}): duplicate name")
        names.add(account.name)
        accounts.append(account)
    check_unique_keys(tuple(accounts), source)
    return tuple(accounts)


def load_accounts_file(path: Path, source: str = "--accounts-file") -> tuple[Account, ...]:
    """The accounts of a file, read with the exporter's one safe YAML reader. Relative key and
    secret paths are taken from the accounts file's directory."""
    document = load_yaml_file(path, source)
    return accounts_from_document(document, path.parent, source)


def shorthand_account(
    product: str, api_key: str | None, api_secret: str | None, source: str
) -> Account:
    """The one account of `--account-product`: the exporter's own key and secret."""
    chosen = product_of(product, source)
    if not api_key or not api_secret:
        raise AccountsError(
            f"{source}: the account needs both an API key and an API secret "
            "(--api-key-file and --api-secret-file)"
        )
    return Account(SHORTHAND_NAME, chosen, api_key, api_secret)


def check_unique_keys(accounts: tuple[Account, ...], source: str) -> None:
    """Two entries with one key would watch the same account twice, at twice the weight."""
    by_key: dict[str, str] = {}
    for account in accounts:
        other = by_key.get(account.api_key)
        if other is not None:
            raise AccountsError(
                f"{source}: entry {account.name!r}: same API key as {other!r} (the same account "
                "twice)"
            )
        by_key[account.api_key] = account.name


def accounts_of(
    accounts_file: Path | None,
    account_product: str | None,
    api_key: str | None,
    api_secret: str | None,
) -> tuple[Account, ...]:
    """The accounts the configuration names: the accounts file's, or the shorthand's one."""
    if accounts_file is not None and account_product is not None:
        raise AccountsError("--accounts-file and --account-product: give only one")
    if accounts_file is not None:
        return load_accounts_file(accounts_file)
    if account_product is not None:
        return (shorthand_account(account_product, api_key, api_secret, "--account-product"),)
    return ()
