"""The --web-config-file: TLS, basic auth and extra response headers, in the file format of
Prometheus' exporter-toolkit, validated into a frozen WebConfig (or one ConfigError line).

Relative file names are resolved against the directory of the web config file."""

from __future__ import annotations

import hashlib
import os
import re
import ssl
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from exporter.config import ConfigError, load_yaml_file

MAX_FILE_BYTES = 1024 * 1024
TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
CLIENT_AUTH_TYPES = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
# Accepted by Go but not by this exporter: OpenSSL cannot ask for a certificate without
# verifying it. The toolkit's own documentation calls these insecure.
UNVERIFIED_CLIENT_AUTH_TYPES = ("RequestClientCert", "RequireAnyClientCert", "RequireClientCert")
# Go's names (IANA) of the cipher suites Go offers for TLS 1.0-1.2 -> OpenSSL's names.
CIPHER_SUITES = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
}
# TLS 1.3 suites are not configurable, in Go as in OpenSSL: accepted and ignored, as Go does.
TLS13_CIPHER_SUITES = frozenset(
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
)
# The only headers exporter-toolkit lets a web config set, with their allowed values (None: any).
ALLOWED_HEADERS: dict[str, tuple[str, ...] | None] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}
BCRYPT_HASH = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")

TOP_LEVEL_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users")
TLS_KEYS = (
    "cert_file",
    "key_file",
    "client_ca_file",
    "client_auth_type",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
)
HTTP_KEYS = ("headers", "http2")
# Keys of the toolkit's format that this exporter does not implement: named, not "unknown".
UNSUPPORTED = {
    "rate_limit": "put a reverse proxy in front for rate limiting",
    "tls_server_config.cert": "give the certificate as cert_file",
    "tls_server_config.key": "give the key as key_file",
    "tls_server_config.client_ca": "give the CA as client_ca_file",
    "tls_server_config.client_allowed_sans": "use a dedicated client CA instead",
    "tls_server_config.curve_preferences": "OpenSSL's default curves are used",
}


@dataclass(frozen=True)
class TlsSettings:
    """What the listening socket's TLS depends on, the files' contents included (by digest), so
    that two equal TlsSettings serve identically and a changed certificate compares unequal."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None
    verify_mode: ssl.VerifyMode
    min_version: ssl.TLSVersion
    max_version: ssl.TLSVersion
    ciphers: tuple[str, ...]
    prefer_server_ciphers: bool
    material_digest: str = field(repr=False)


@dataclass(frozen=True)
class WebConfig:
    path: Path
    tls: TlsSettings | None
    users: Mapping[str, bytes] = field(repr=False)
    headers: Mapping[str, str]
    watched_files: tuple[Path, ...]
    signature: Hashable = field(repr=False, compare=False)
    ssl_context: ssl.SSLContext | None = field(repr=False, compare=False)


def file_signature(paths: tuple[Path, ...]) -> Hashable:
    """Changes when any of the files is replaced, rewritten or removed."""
    signature: list[tuple[str, int, int, int] | tuple[str, str]] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:
            signature.append((str(path), type(exc).__name__))
        else:
            signature.append((str(path), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(signature)


class _Problem(Exception):
    """One thing wrong in the file: `where` is the dotted key path."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)


def _mapping(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Problem(where, f"must be a mapping, not {_kind(value)}")
    for key in value:
        if not isinstance(key, str):
            raise _Problem(where, f"key {key!r} must be a string")
    return value


def _kind(value: object) -> str:
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def _check_keys(section: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in section:
        dotted = f"{where}.{key}" if where else key
        if key in allowed:
            continue
        if dotted in UNSUPPORTED:
            raise _Problem(dotted, f"not supported by this exporter ({UNSUPPORTED[dotted]})")
        raise _Problem(dotted, f"unknown key (expected one of: {', '.join(allowed)})")


def _string(section: Mapping[str, Any], key: str, where: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _Problem(f"{where}.{key}", "must be a non-empty string")
    return value.strip()


def _read(path: Path, where: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _Problem(where, f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _Problem(where, f"{str(path)!r} is larger than {MAX_FILE_BYTES} bytes")
    return data


def _no_password() -> bytes:
    # Never prompt on a terminal for an encrypted key: an empty password makes loading fail.
    return b""


def _tls_version(section: Mapping[str, Any], key: str, default: str, where: str) -> ssl.TLSVersion:
    name = _string(section, key, where) or default
    if name not in TLS_VERSIONS:
        raise _Problem(f"{where}.{key}", f"{name!r} is not one of {', '.join(TLS_VERSIONS)}")
    return TLS_VERSIONS[name]


def _ciphers(section: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = section.get("cipher_suites")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Problem(f"{where}.cipher_suites", "must be a list of cipher suite names")
    names: list[str] = []
    for name in value:
        if name in TLS13_CIPHER_SUITES:
            continue
        if name not in CIPHER_SUITES:
            raise _Problem(f"{where}.cipher_suites", f"unknown cipher suite {name!r}")
        names.append(CIPHER_SUITES[name])
    if not names:
        raise _Problem(f"{where}.cipher_suites", "names no TLS 1.0-1.2 cipher suite")
    return tuple(names)


def _client_auth(section: Mapping[str, Any], has_ca: bool, where: str) -> ssl.VerifyMode:
    name = _string(section, "client_auth_type", where) or "NoClientCert"
    dotted = f"{where}.client_auth_type"
    if name in UNVERIFIED_CLIENT_AUTH_TYPES:
        raise _Problem(
            dotted,
            f"{name} (a client certificate taken without verification) is not supported: "
            "use RequireAndVerifyClientCert with client_ca_file",
        )
    if name not in CLIENT_AUTH_TYPES:
        raise _Problem(dotted, f"{name!r} is not one of {', '.join(CLIENT_AUTH_TYPES)}")
    mode = CLIENT_AUTH_TYPES[name]
    if mode != ssl.CERT_NONE and not has_ca:
        raise _Problem(dotted, f"{name} needs client_ca_file, the CA that signs client certs")
    if mode == ssl.CERT_NONE and has_ca:
        raise _Problem(
            f"{where}.client_ca_file",
            "is set but client_auth_type is NoClientCert: set client_auth_type to "
            "RequireAndVerifyClientCert (or VerifyClientCertIfGiven)",
        )
    return mode


@dataclass(frozen=True)
class _LoadedTls:
    settings: TlsSettings
    context: ssl.SSLContext
    signature: Hashable


def _tls_settings(raw: object, base: Path) -> _LoadedTls | None:
    where = "tls_server_config"
    section = _mapping(raw, where)
    _check_keys(section, TLS_KEYS, where)
    if not section:
        return None
    cert_name = _string(section, "cert_file", where)
    key_name = _string(section, "key_file", where)
    if cert_name is None or key_name is None:
        missing = "cert_file" if cert_name is None else "key_file"
        raise _Problem(f"{where}.{missing}", "is required when tls_server_config is given")
    cert_file, key_file = base / cert_name, base / key_name
    ca_name = _string(section, "client_ca_file", where)
    ca_file = base / ca_name if ca_name else None
    verify_mode = _client_auth(section, ca_file is not None, where)
    min_version = _tls_version(section, "min_version", "TLS12", where)
    max_version = _tls_version(section, "max_version", "TLS13", where)
    if min_version > max_version:
        raise _Problem(where, "min_version is higher than max_version")
    ciphers = _ciphers(section, where)
    prefer = section.get("prefer_server_cipher_suites", True)
    if not isinstance(prefer, bool):
        raise _Problem(f"{where}.prefer_server_cipher_suites", "must be true or false")

    files = (cert_file, key_file) if ca_file is None else (cert_file, key_file, ca_file)
    signature = file_signature(files)
    digest = hashlib.sha256()
    cert_pem = _read(cert_file, f"{where}.cert_file")
    if b"-----BEGIN CERTIFICATE-----" not in cert_pem:
        raise _Problem(f"{where}.cert_file", f"{str(cert_file)!r} holds no PEM certificate")
    key_pem = _read(key_file, f"{where}.key_file")
    if b"PRIVATE KEY-----" not in key_pem:
        raise _Problem(f"{where}.key_file", f"{str(key_file)!r} holds no PEM private key")
    digest.update(cert_pem)
    digest.update(key_pem)
    if ca_file is not None:
        digest.update(_read(ca_file, f"{where}.client_ca_file"))
    settings = TlsSettings(
        cert_file=cert_file,
        key_file=key_file,
        client_ca_file=ca_file,
        verify_mode=verify_mode,
        min_version=min_version,
        max_version=max_version,
        ciphers=ciphers,
        prefer_server_ciphers=prefer,
        material_digest=digest.hexdigest(),
    )
    return _LoadedTls(settings, server_ssl_context(settings), signature)


def server_ssl_context(settings: TlsSettings) -> ssl.SSLContext:
    """The listening socket's TLS context; a _Problem if OpenSSL refuses the material."""
    where = "tls_server_config"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.minimum_version = settings.min_version
        context.maximum_version = settings.max_version
    except (ValueError, ssl.SSLError) as exc:
        raise _Problem(where, f"TLS version range refused by OpenSSL: {exc}") from None
    if settings.prefer_server_ciphers:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    if settings.ciphers:
        try:
            context.set_ciphers(":".join(settings.ciphers))
        except ssl.SSLError:
            raise _Problem(
                f"{where}.cipher_suites", "none of the cipher suites is available in OpenSSL"
            ) from None
    try:
        context.load_cert_chain(settings.cert_file, settings.key_file, password=_no_password)
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        raise _Problem(
            where,
            f"cert_file and key_file are not a usable certificate and key ({reason}; "
            "an encrypted key is not supported)",
        ) from None
    context.verify_mode = settings.verify_mode
    if settings.client_ca_file is not None:
        try:
            context.load_verify_locations(cafile=settings.client_ca_file)
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            raise _Problem(
                f"{where}.client_ca_file", f"holds no usable CA certificate ({reason})"
            ) from None
    context.set_alpn_protocols(["http/1.1"])
    return context


def _users(raw: object) -> dict[str, bytes]:
    where = "basic_auth_users"
    section = _mapping(raw, where)
    users: dict[str, bytes] = {}
    for user, hashed in section.items():
        dotted = f"{where}.{user}"
        if not user or ":" in user or not user.isprintable():
            raise _Problem(where, f"user name {user!r} must be non-empty, printable, without ':'")
        # The value is never shown: it may be a plaintext password put there by mistake.
        if not isinstance(hashed, str):
            raise _Problem(dotted, "must be a bcrypt hash string")
        match = BCRYPT_HASH.fullmatch(hashed.strip())
        if match is None:
            raise _Problem(
                dotted,
                "is not a bcrypt hash ($2a$, $2b$ or $2y$); plaintext passwords are not "
                "accepted; make a hash with: htpasswd -nBC 10 \"\" | tr -d ':\\n'",
            )
        if not 4 <= int(match.group(1)) <= 31:
            raise _Problem(dotted, "bcrypt cost must be 4..31")
        users[user] = hashed.strip().encode("ascii")
    return users


def _headers(raw: object) -> dict[str, str]:
    where = "http_server_config"
    section = _mapping(raw, where)
    _check_keys(section, HTTP_KEYS, where)
    if "http2" in section and not isinstance(section["http2"], bool):
        raise _Problem(f"{where}.http2", "must be true or false")
    headers: dict[str, str] = {}
    for name, value in _mapping(section.get("headers"), f"{where}.headers").items():
        dotted = f"{where}.headers.{name}"
        if name not in ALLOWED_HEADERS:
            raise _Problem(dotted, f"cannot be set (allowed: {', '.join(ALLOWED_HEADERS)})")
        if value is None or value == "":
            continue
        if not isinstance(value, str) or not value.isprintable():
            raise _Problem(dotted, "must be a printable string")
        allowed = ALLOWED_HEADERS[name]
        if allowed is not None and value not in allowed:
            raise _Problem(dotted, f"{value!r} is not one of {', '.join(allowed)}")
        headers[name] = value
    return headers


def load_web_config(path: Path, source: str = "--web-config-file") -> WebConfig:
    """Read and validate the file (and the certificate files it names); ConfigError otherwise."""
    try:
        before = file_signature((path,))
        document = load_yaml_file(path, source)
        top = _mapping(document, "")
        _check_keys(top, TOP_LEVEL_KEYS, "")
        tls = _tls_settings(top.get("tls_server_config"), path.parent)
        users = _users(top.get("basic_auth_users"))
        headers = _headers(top.get("http_server_config"))
    except RecursionError:
        raise ConfigError(f"{source} {str(path)!r}: nested too deeply to be a web config") from None
    except _Problem as exc:
        raise ConfigError(f"{source} {str(path)!r}: {exc}") from None
    watched: tuple[Path, ...] = (path,)
    files_signature: Hashable = ()
    if tls is not None:
        settings = tls.settings
        watched += (settings.cert_file, settings.key_file)
        if settings.client_ca_file is not None:
            watched += (settings.client_ca_file,)
        files_signature = tls.signature
    return WebConfig(
        path=path,
        tls=tls.settings if tls is not None else None,
        users=MappingProxyType(users),
        headers=MappingProxyType(headers),
        watched_files=watched,
        signature=(before, files_signature),
        ssl_context=tls.context if tls is not None else None,
    )


def current_signature(config: WebConfig) -> Hashable:
    """The signature the files have now, comparable with `config.signature`."""
    return (file_signature(config.watched_files[:1]), file_signature(config.watched_files[1:]))
