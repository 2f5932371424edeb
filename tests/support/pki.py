"""Throwaway certificates for TLS tests: a CA, a server certificate for 127.0.0.1, client
certificates, written as PEM files the web config can name."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class Pki:
    ca: trustme.CA
    directory: Path
    cert_file: Path
    key_file: Path
    ca_file: Path

    def client_context(
        self, *, client_cert: trustme.LeafCert | None = None, trust: trustme.CA | None = None
    ) -> ssl.SSLContext:
        """A verifying TLS client that trusts `trust` (default: this CA)."""
        context = ssl.create_default_context()
        (trust or self.ca).configure_trust(context)
        if client_cert is not None:
            client_cert.configure_cert(context)
        return context

    def client_cert(self, name: str = "scraper@example.test") -> trustme.LeafCert:
        return self.ca.issue_cert(name)


def make_pki(directory: Path, prefix: str = "") -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    cert_file = directory / f"{prefix}server.crt"
    key_file = directory / f"{prefix}server.key"
    ca_file = directory / f"{prefix}ca.crt"
    server.cert_chain_pems[0].write_to_path(str(cert_file))
    server.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    return Pki(ca, directory, cert_file, key_file, ca_file)
