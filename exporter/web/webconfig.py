"""The --web-config-file: TLS, basic auth and extra response headers, in the file format of
Prometheus' exporter-toolkit, validated into a frozen WebConfig (or one ConfigError line).

Relative file names are resolved against the directory of the web config file."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import re
import ssl
import tempfile
from collections.abc import Hashable, Iterator, Mapping
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
# Accepted by Go but not here: they take a client certificate without verifying it, which
# needs a verification callback that Python's ssl module does not offer (it always verifies a
# certificate it asked for, and fails the handshake when that fails).
UNVERIFIED_CLIENT_AUTH_TYPES = ("RequestClientCert", "RequireAnyClientCert", "RequireClientCert")
# Go's curve names -> OpenSSL's. Python's ssl can restrict the key exchange to one group
# (set_ecdh_curve); OpenSSL's default groups are these four and X448.
CURVES = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}
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

TOP_LEVEL_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users", "rate_limit")
TLS_KEYS = (
    "cert_file",
    "key_file",
    "cert",
    "key",
    "client_ca_file",
    "client_ca",
    "client_auth_type",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "curve_preferences",
    "prefer_server_cipher_suites",
)
HTTP_KEYS = ("headers", "http2")
RATE_LIMIT_KEYS = ("interval", "burst")
# Keys of the toolkit's format that this exporter does not implement: named, not "unknown".
UNSUPPORTED: dict[str, str] = {}
DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
DURATION = re.compile(rf"(?:{DURATION_PART.pattern})+")
DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


@dataclass(frozen=True)
class TlsSettings:
    """What the listening socket's TLS depends on, the files' contents included (by digest), so
    that two equal TlsSettings serve identically and a changed certificate compares unequal."""

    cert_file: Path | None  # None: given inline, as `cert`
    key_file: Path | None  # None: given inline, as `key`
    client_ca_file: Path | None  # None: inline (`client_ca`), or the system's roots, or none
    verify_mode: ssl.VerifyMode
    min_version: ssl.TLSVersion
    max_version: ssl.TLSVersion
    ciphers: tuple[str, ...]
    prefer_server_ciphers: bool
    curve: str | None  # the one key-exchange group allowed; None: OpenSSL's defaults
    allowed_sans: tuple[str, ...]  # a client certificate must name one of these, if any
    material_digest: str = field(repr=False)
    cert_pem: bytes = field(repr=False, compare=False, default=b"")
    key_pem: bytes = field(repr=False, compare=False, default=b"")
    client_ca_pem: bytes | None = field(repr=False, compare=False, default=None)


@dataclass(frozen=True)
class RateLimit:
    """At most `burst` requests at once, one more every `interval` seconds (Go's
    rate.NewLimiter(rate.Every(interval), burst)): a burst of 0 allows none."""

    interval: float
    burst: int


@dataclass(frozen=True)
class WebConfig:
    path: Path
    tls: TlsSettings | None
    users: Mapping[str, bytes] = field(repr=False)
    headers: Mapping[str, str]
    watched_files: tuple[Path, ...]
    rate_limit: RateLimit | None
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
            f"{name} (a client certificate taken without verification) cannot be served: "
            "Python's ssl module verifies every client certificate it asks for; use "
            "RequireAndVerifyClientCert with client_ca_file naming the CA of the client "
            "certificates (or a self-signed client certificate itself)",
        )
    if name not in CLIENT_AUTH_TYPES:
        raise _Problem(dotted, f"{name!r} is not one of {', '.join(CLIENT_AUTH_TYPES)}")
    mode = CLIENT_AUTH_TYPES[name]
    if mode == ssl.CERT_NONE and has_ca:
        raise _Problem(
            f"{where}.client_ca_file",
            "is set but client_auth_type is NoClientCert: set client_auth_type to "
            "RequireAndVerifyClientCert (or VerifyClientCertIfGiven)",
        )
    return mode


def _curve(section: Mapping[str, Any], where: str) -> str | None:
    value = section.get("curve_preferences")
    dotted = f"{where}.curve_preferences"
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Problem(dotted, "must be a list of curve names")
    for name in value:
        if name not in CURVES:
            raise _Problem(dotted, f"unknown curve {name!r} (one of {', '.join(CURVES)})")
    if len(set(value)) == 1:
        return CURVES[value[0]]
    if set(value) == set(CURVES) or not value:
        return None  # OpenSSL's default groups: these four, and X448
    raise _Problem(
        dotted,
        "Python's ssl module can restrict the key exchange to one curve only, or leave "
        "OpenSSL's defaults (all four): list one curve, or all four",
    )


def _allowed_sans(section: Mapping[str, Any], mode: ssl.VerifyMode, where: str) -> tuple[str, ...]:
    value = section.get("client_allowed_sans")
    dotted = f"{where}.client_allowed_sans"
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _Problem(dotted, "must be a list of names")
    if mode == ssl.CERT_NONE:
        raise _Problem(
            dotted, "needs client_auth_type RequireAndVerifyClientCert (or VerifyClientCertIfGiven)"
        )
    return tuple(_normal_san(v) for v in value)


def _normal_san(value: str) -> str:
    """A SAN as compared: IP addresses in their canonical form, anything else as written."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return value


def certificate_sans(peercert: Mapping[str, Any] | None) -> set[str]:
    """The DNS names, e-mail addresses, IP addresses and URIs a client certificate names (what
    Go's toolkit compares with client_allowed_sans), from ssl's getpeercert()."""
    found: set[str] = set()
    for kind, value in (peercert or {}).get("subjectAltName", ()):
        if kind in ("DNS", "email", "URI"):
            found.add(value)
        elif kind == "IP Address":
            found.add(_normal_san(value))
    return found


def _pem(
    section: Mapping[str, Any], key: str, file_key: str, base: Path, where: str
) -> tuple[Path | None, bytes | None]:
    """(file, contents) of a PEM given as a file name (`file_key`) or inline (`key`)."""
    name = _string(section, file_key, where)
    inline = section.get(key)
    if inline is not None and (not isinstance(inline, str) or not inline.strip()):
        raise _Problem(f"{where}.{key}", "must be a non-empty PEM string")
    if name is not None and inline is not None:
        raise _Problem(where, f"give {file_key} or {key}, not both")
    if name is not None:
        path = base / name
        return path, _read(path, f"{where}.{file_key}")
    if inline is not None:
        return None, inline.encode("utf-8")
    return None, None


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
    before = file_signature(
        tuple(
            base / n
            for k in ("cert_file", "key_file", "client_ca_file")
            if (n := _string(section, k, where))
        )
    )
    for file_key, inline_key in (("cert_file", "cert"), ("key_file", "key")):
        if section.get(file_key) is None and section.get(inline_key) is None:
            raise _Problem(
                f"{where}.{file_key}",
                f"is required when tls_server_config is given (or {inline_key}, inline)",
            )
    cert_file, cert_pem = _pem(section, "cert", "cert_file", base, where)
    key_file, key_pem = _pem(section, "key", "key_file", base, where)
    if cert_pem is None or key_pem is None:
        raise _Problem(where, "cert_file or cert, and key_file or key, are required")
    if b"-----BEGIN CERTIFICATE-----" not in cert_pem:
        raise _Problem(
            f"{where}.{'cert_file' if cert_file else 'cert'}", "holds no PEM certificate"
        )
    if b"PRIVATE KEY-----" not in key_pem:
        raise _Problem(f"{where}.{'key_file' if key_file else 'key'}", "holds no PEM private key")
    ca_file, ca_pem = _pem(section, "client_ca", "client_ca_file", base, where)
    verify_mode = _client_auth(section, ca_pem is not None, where)
    min_version = _tls_version(section, "min_version", "TLS12", where)
    max_version = _tls_version(section, "max_version", "TLS13", where)
    if min_version > max_version:
        raise _Problem(where, "min_version is higher than max_version")
    ciphers = _ciphers(section, where)
    prefer = section.get("prefer_server_cipher_suites", True)
    if not isinstance(prefer, bool):
        raise _Problem(f"{where}.prefer_server_cipher_suites", "must be true or false")
    curve = _curve(section, where)
    allowed_sans = _allowed_sans(section, verify_mode, where)

    digest = hashlib.sha256()
    for material in (cert_pem, key_pem, ca_pem or b""):
        digest.update(hashlib.sha256(material).digest())
    settings = TlsSettings(
        cert_file=cert_file,
        key_file=key_file,
        client_ca_file=ca_file,
        verify_mode=verify_mode,
        min_version=min_version,
        max_version=max_version,
        ciphers=ciphers,
        prefer_server_ciphers=prefer,
        curve=curve,
        allowed_sans=allowed_sans,
        material_digest=digest.hexdigest(),
        cert_pem=cert_pem,
        key_pem=key_pem,
        client_ca_pem=ca_pem,
    )
    return _LoadedTls(settings, server_ssl_context(settings), before)


@contextlib.contextmanager
def _in_memory_file(data: bytes) -> Iterator[str]:
    """A path OpenSSL can read `data` from without it touching a disk (Linux's memfd), or a
    private temporary file elsewhere."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("pem", os.MFD_CLOEXEC)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.NamedTemporaryFile() as handle:  # created with mode 0600
        handle.write(data)
        handle.flush()
        yield handle.name


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
    if settings.curve is not None:
        try:
            context.set_ecdh_curve(settings.curve)
        except (ValueError, ssl.SSLError):
            raise _Problem(
                f"{where}.curve_preferences", f"{settings.curve} is not available in OpenSSL"
            ) from None
    try:
        with (
            _in_memory_file(settings.cert_pem) as cert_path,
            _in_memory_file(settings.key_pem) as key_path,
        ):
            context.load_cert_chain(cert_path, key_path, password=_no_password)
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        raise _Problem(
            where,
            f"the certificate and key are not a usable pair ({reason}; "
            "an encrypted key is not supported)",
        ) from None
    context.verify_mode = settings.verify_mode
    if settings.client_ca_pem is not None:
        try:
            context.load_verify_locations(cadata=settings.client_ca_pem.decode("ascii", "replace"))
        except (ssl.SSLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            raise _Problem(
                f"{where}.client_ca_file", f"holds no usable CA certificate ({reason})"
            ) from None
    elif settings.verify_mode != ssl.CERT_NONE:
        # As Go does without ClientCAs: client certificates verified against the system's roots.
        context.load_default_certs(ssl.Purpose.CLIENT_AUTH)
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
        if isinstance(value, bool):  # YAML reads `true` as a boolean, Go as the string
            value = "true" if value else "false"
        elif isinstance(value, int | float):  # `X-XSS-Protection: 1`
            value = str(value)
        if not isinstance(value, str) or not value.isprintable():
            raise _Problem(dotted, "must be a printable string")
        allowed = ALLOWED_HEADERS[name]
        if allowed is not None and value not in allowed:
            raise _Problem(dotted, f"{value!r} is not one of {', '.join(allowed)}")
        headers[name] = value
    return headers


def _duration(value: object, where: str) -> float:
    """Seconds, from a Go duration ("1s", "1m30s", "250ms") or a number of nanoseconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value * 1e-9
    elif isinstance(value, str) and value.strip() == "0":
        seconds = 0.0
    elif isinstance(value, str) and DURATION.fullmatch(value.strip()):
        parts = DURATION_PART.findall(value.strip())
        seconds = sum(float(number) * DURATION_UNITS[unit] for number, unit in parts)
    else:
        raise _Problem(where, "must be a duration such as 1s or 250ms")
    if seconds < 0:
        raise _Problem(where, "must not be negative")
    return seconds


def _rate_limit(raw: object) -> RateLimit | None:
    where = "rate_limit"
    section = _mapping(raw, where)
    _check_keys(section, RATE_LIMIT_KEYS, where)
    interval = _duration(section.get("interval", 0), f"{where}.interval")
    burst = section.get("burst", 0)
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 0:
        raise _Problem(f"{where}.burst", "must be a whole number, 0 or more")
    if interval == 0:
        return None  # as the toolkit: no interval, no limit
    return RateLimit(interval, burst)


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
        rate_limit = _rate_limit(top.get("rate_limit"))
    except RecursionError:
        raise ConfigError(f"{source} {str(path)!r}: nested too deeply to be a web config") from None
    except _Problem as exc:
        raise ConfigError(f"{source} {str(path)!r}: {exc}") from None
    watched: tuple[Path, ...] = (path,)
    files_signature: Hashable = ()
    if tls is not None:
        settings = tls.settings
        watched += tuple(
            file
            for file in (settings.cert_file, settings.key_file, settings.client_ca_file)
            if file is not None
        )
        files_signature = tls.signature
    return WebConfig(
        path=path,
        tls=tls.settings if tls is not None else None,
        users=MappingProxyType(users),
        headers=MappingProxyType(headers),
        watched_files=watched,
        rate_limit=rate_limit,
        signature=(before, files_signature),
        ssl_context=tls.context if tls is not None else None,
    )


def current_signature(config: WebConfig) -> Hashable:
    """The signature the files have now, comparable with `config.signature`."""
    return (file_signature(config.watched_files[:1]), file_signature(config.watched_files[1:]))
