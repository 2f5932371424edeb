"""The web config file: what a good one turns into, and the one clear line a bad one stops
start-up with."""

from __future__ import annotations

import ssl
from pathlib import Path

import bcrypt
import pytest

from exporter.cli import main
from exporter.config import ConfigError
from exporter.web.webconfig import load_web_config
from tests.support.pki import Pki, make_pki

PASSWORD = "correct horse battery staple"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "tls")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "web.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_file_with_relative_paths(tmp_path: Path, pki: Pki) -> None:
    path = write(
        tmp_path,
        f"""
tls_server_config:
  cert_file: tls/server.crt
  key_file: tls/server.key
  client_ca_file: tls/ca.crt
  client_auth_type: RequireAndVerifyClientCert
  min_version: TLS13
  prefer_server_cipher_suites: false
http_server_config:
  http2: true
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ""
basic_auth_users:
  alice: {HASH}
  "bob": '{HASH}'
""",
    )
    config = load_web_config(path)
    assert config.tls is not None
    assert config.tls.cert_file == pki.cert_file
    assert config.tls.client_ca_file == pki.ca_file
    assert config.tls.verify_mode == ssl.CERT_REQUIRED
    assert config.tls.min_version == ssl.TLSVersion.TLSv1_3
    assert config.tls.max_version == ssl.TLSVersion.TLSv1_3
    assert not config.tls.prefer_server_ciphers
    assert config.ssl_context is not None
    assert config.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert not config.ssl_context.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    assert dict(config.headers) == {
        "X-Frame-Options": "deny",
        "X-Content-Type-Options": "nosniff",
        "Strict-Transport-Security": "max-age=31536000",
    }
    assert set(config.users) == {"alice", "bob"}
    assert config.watched_files == (path, pki.cert_file, pki.key_file, pki.ca_file)


def test_empty_file_means_plain_http_without_auth(tmp_path: Path) -> None:
    config = load_web_config(write(tmp_path, "# nothing configured yet\n"))
    assert config.tls is None
    assert config.ssl_context is None
    assert not config.users
    assert not config.headers


def test_go_cipher_suite_names_map_to_openssl(tmp_path: Path, pki: Pki) -> None:
    path = write(
        tmp_path,
        """
tls_server_config:
  cert_file: tls/server.crt
  key_file: tls/server.key
  max_version: TLS12
  cipher_suites: [TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
""",
    )
    config = load_web_config(path)
    assert config.tls is not None
    assert config.ssl_context is not None
    assert config.tls.ciphers == ("ECDHE-ECDSA-AES256-GCM-SHA384",)
    tls12 = [c["name"] for c in config.ssl_context.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12 == ["ECDHE-ECDSA-AES256-GCM-SHA384"]


TLS = "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n"

BAD_FILES = [
    ("tls_server_config: [\n", "invalid YAML at line 2"),
    ("tls_server_config:\n  cert_file: a\n   key_file: b\n", "invalid YAML at line 3"),
    ("- just\n- a list\n", "must be a mapping, not a list"),
    ("tls_config:\n  cert_file: x\n", ": tls_config: unknown key (expected one of"),
    ("rate_limit:\n  interval: 1 second\n", "rate_limit.interval: must be a duration"),
    ("rate_limit:\n  interval: 1s\n  burst: -1\n", "rate_limit.burst: must be a whole number"),
    (TLS + "  certfile: x\n", "tls_server_config.certfile: unknown key"),
    (TLS + "  curve_preferences: [CurveP257]\n", "unknown curve 'CurveP257'"),
    (
        TLS + "  curve_preferences: [X25519, CurveP256]\n",
        "can restrict the key exchange to one curve only",
    ),
    (TLS + "  client_allowed_sans: [one]\n", "client_allowed_sans: needs client_auth_type"),
    (TLS + "  cert: ''\n", "cert: must be a non-empty PEM string"),
    (TLS + "  cert: x\n", "give cert_file or cert, not both"),
    (
        "tls_server_config:\n  cert_file: tls/server.crt\n",
        "key_file: is required when tls_server_config is given (or key",
    ),
    (
        "tls_server_config:\n  cert_file: tls/missing.crt\n  key_file: tls/server.key\n",
        "tls_server_config.cert_file: cannot read",
    ),
    (
        "tls_server_config:\n  cert_file: tls/server.key\n  key_file: tls/server.key\n",
        "holds no PEM certificate",
    ),
    (
        "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/other.key\n",
        "are not a usable pair",
    ),
    (TLS + "  min_version: TLS14\n", "min_version: 'TLS14' is not one of TLS10"),
    (TLS + "  min_version: TLS13\n  max_version: TLS12\n", "min_version is higher than"),
    (TLS + "  cipher_suites: [TLS_FANCY_CHACHA]\n", "unknown cipher suite 'TLS_FANCY_CHACHA'"),
    (
        TLS + "  client_auth_type: RequireAnyClientCert\n",
        "verifies every client certificate it asks for; use RequireAndVerifyClientCert",
    ),
    (TLS + "  client_auth_type: Sometimes\n", "'Sometimes' is not one of NoClientCert"),
    (TLS + "  client_ca_file: tls/ca.crt\n", "client_ca_file: is set but client_auth_type is"),
    (
        TLS + "  client_ca_file: tls/server.key\n  client_auth_type: VerifyClientCertIfGiven\n",
        "client_ca_file: holds no usable CA certificate",
    ),
    (TLS + "  prefer_server_cipher_suites: maybe\n", "must be true or false"),
    ("http_server_config:\n  headers:\n    Server: nginx\n", "headers.Server: cannot be set"),
    (
        "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
        "'allow' is not one of deny, sameorigin",
    ),
    ("http_server_config:\n  gzip: true\n", "http_server_config.gzip: unknown key"),
    (f"basic_auth_users:\n  alice: {HASH}\n  alice: {HASH}\n", "key 'alice' is given twice"),
    ("basic_auth_users:\n  'a:b': x\n", "must be non-empty, printable, without ':'"),
    ("basic_auth_users:\n  alice: [1, 2]\n", "basic_auth_users.alice: must be a bcrypt hash"),
    (f"basic_auth_users:\n  alice: {HASH.replace('$04$', '$99$')}\n", "cost must be 4..31"),
    ("[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_bad_file_is_one_clear_line(tmp_path: Path, pki: Pki, text: str, expected: str) -> None:
    make_pki(tmp_path / "tls", prefix="other-").key_file.rename(tmp_path / "tls" / "other.key")
    path = write(tmp_path, text.replace("{HASH}", HASH))
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"--web-config-file {str(path)!r}: ")
    assert expected in message


def test_plaintext_password_is_refused_and_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, f"basic_auth_users:\n  alice: {PASSWORD}\n")
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    assert "basic_auth_users.alice: is not a bcrypt hash" in str(caught.value)
    assert "plaintext passwords are not accepted" in str(caught.value)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tls_server_config:\n  cert_file: nowhere.crt\n  key_file: nowhere.key\n", "cannot read"),
        ("basic_auth_users:\n  alice: hunter2hunter2\n", "is not a bcrypt hash"),
        ("oops: [\n", "invalid YAML"),
        ("unknown: 1\n", "unknown key"),
    ],
)
def test_start_up_stops_with_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    status = main(["--demo", "--listen-address", "127.0.0.1:0", "--web-config-file", str(path)])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("binance-pm-exporter: --web-config-file ")
    assert expected in lines[0]
    assert "hunter2" not in captured.err
