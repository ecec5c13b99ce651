"""HTTPS for the built-in target: a certificate made at start for 127.0.0.1,
::1 and localhost, and the server's `ssl.SSLContext`.

The certificate is self-signed (it is its own trust anchor) and lives as long as
the server; whoever runs traffic against it trusts exactly that certificate
(`z6 run` hands it to the run as its ``ca_file``). It is made with the
``cryptography`` package, imported only when HTTPS is asked for.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl

from z6.errors import ConfigError

__all__ = ["make_certificate", "server_context"]


def make_certificate(cert_path: str, key_path: str) -> None:
    """Write a fresh self-signed certificate (PEM) for 127.0.0.1, ::1 and
    localhost to ``cert_path``, its private key to ``key_path`` (mode 0600)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise ConfigError("the built-in target over HTTPS makes its certificate with the 'cryptography' "
                          "package: pip install cryptography") from None
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "z6 built-in target (127.0.0.1)")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))


def server_context(cert_path: str, key_path: str) -> ssl.SSLContext:
    """TLS 1.2 and 1.3, ALPN http/1.1, session tickets on (clients resume)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    context.set_alpn_protocols(["http/1.1"])
    return context
