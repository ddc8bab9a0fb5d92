"""The cluster CA and its serving certificates (``kctl up``'s PKI).

Layout, in the data dir::

    DIR/pki/ca.crt     the cluster CA (self-signed, 10 years; 0644): what every client trusts
    DIR/pki/ca.key     its private key (0600, created once, never overwritten)
    DIR/pki/nats.crt   nats-server's serving certificate (1 year; signed by the CA)
    DIR/pki/nats.key   its private key (0600)

Keys are ECDSA P-256: Go's TLS (nats-server) and Python's ``ssl`` both speak it.  A
serving certificate names every host it is reached at (IPs as IP SANs, names as DNS
SANs, always 127.0.0.1 and localhost) and is re-issued by :func:`ensure_serving_cert`
when it is missing, expires within 30 days, no longer covers the hosts asked for, or
was not signed by the current CA.

Rotation: delete what should be new and re-run ``kctl up``.  Deleting ``DIR/pki``
entirely makes a new CA, so every serving certificate is re-issued with it, and every
copy of the old ``ca.crt`` (node agents on other machines, kubeconfigs) must be
replaced; deleting only ``nats.crt``/``nats.key`` re-issues the server's certificate
under the same CA.  The same CA will sign the API server's HTTPS certificate
(``ensure_serving_cert(pki_dir, "apiserver", hosts)``) and go into the kubeconfig's
``certificate-authority-data``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "jetkube-ca"
CA_VALIDITY = dt.timedelta(days=3650)
SERVING_VALIDITY = dt.timedelta(days=365)
RENEW_BEFORE = dt.timedelta(days=30)
"""A certificate expiring within this is renewed (the CA's too, with its own key)."""
_BACKDATE = dt.timedelta(hours=1)  # tolerate clocks a little behind ours
ALWAYS_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class CAFiles:
    """Where the CA lives."""

    cert: Path
    key: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a fresh temporary file (O_EXCL, ``mode``) beside ``path``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # whatever the umask


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` (mode ``mode``) all at once: readers see the old or
    the new file, never a partial one, and the file never has a wider mode."""
    tmp = _tmp(path)
    _write_new(tmp, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def create_exclusive(path: Path, data: bytes, mode: int) -> bool:
    """Create ``path`` holding ``data`` unless it exists (then leave it alone and return
    False).  Complete before it appears: written to an O_EXCL temporary file, then
    hard-linked into place, which fails if someone else got there first."""
    tmp = _tmp(path)
    _write_new(tmp, data, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ensure_service_account_key(path: Path) -> None:
    """The ServiceAccount token signing key (EC P-256, PKCS#8, 0600), created once: every
    API server signs and verifies with it, so tokens survive restarts and work on each."""
    if _load_key(path) is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, _key_pem(_new_key()), 0o600)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (FileNotFoundError, ValueError):
        return None
    return key if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


def _fresh(cert: x509.Certificate) -> bool:
    now = _now()
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > RENEW_BEFORE


def _same_key(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    return cert.public_key() == key.public_key()


def _ca_cert(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE).not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                           critical=False)
            .sign(key, hashes.SHA256()))


def ensure_ca(pki_dir: Path) -> CAFiles:
    """The cluster CA in ``pki_dir``, created when missing.  The key is made once (0600,
    exclusively) and kept; the certificate (0644) is re-made from that key when it is
    missing, does not match the key, or expires within 30 days."""
    pki_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = CAFiles(pki_dir / "ca.crt", pki_dir / "ca.key")
    key = _load_key(files.key)
    if key is None:
        if files.key.exists():
            raise ValueError(f"{files.key} is not an ECDSA private key: delete {pki_dir} to "
                             "make a new CA")
        key = _new_key()
        if not create_exclusive(files.key, _key_pem(key), 0o600):
            key = _load_key(files.key)  # another kctl made it meanwhile
            if key is None:
                raise ValueError(f"{files.key} is not an ECDSA private key")
    cert = _load_cert(files.cert)
    if cert is None or not _same_key(cert, key) or not _fresh(cert):
        write_atomic(files.cert, _ca_cert(key).public_bytes(serialization.Encoding.PEM), 0o644)
    return files


def _san_set(hosts: Iterable[str]) -> set[x509.GeneralName]:
    names: set[x509.GeneralName] = set()
    for h in [*hosts, *ALWAYS_HOSTS]:
        h = h.strip()
        if not h or h in ("0.0.0.0", "::"):  # a wildcard bind address names no host
            continue
        try:
            names.add(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.add(x509.DNSName(h.lower()))
    return names


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _covers(cert: x509.Certificate, want: set[x509.GeneralName]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {n if not isinstance(n, x509.DNSName) else x509.DNSName(n.value.lower()) for n in san}
    return want <= have


def _usages(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return set()


def ensure_serving_cert(pki_dir: Path, name: str, hosts: Iterable[str], *,
                        peer: bool = False) -> tuple[Path, Path]:
    """``pki_dir/<name>.crt`` and ``.key``: a serving certificate for ``hosts`` signed by
    the cluster CA (made by :func:`ensure_ca` if missing), re-issued with a new key when
    missing, expiring within 30 days, not covering ``hosts`` (plus 127.0.0.1 and
    localhost), or not issued by the current CA.  ``peer``: also a client certificate
    (NATS routes: each node dials the others and both sides verify).  Returns
    (certificate, key)."""
    usages = [ExtendedKeyUsageOID.SERVER_AUTH, *([ExtendedKeyUsageOID.CLIENT_AUTH] if peer
                                                  else [])]
    ca_files = ensure_ca(pki_dir)
    ca_key = _load_key(ca_files.key)
    ca_cert = _load_cert(ca_files.cert)
    assert ca_key is not None and ca_cert is not None  # ensure_ca made both
    crt_path, key_path = pki_dir / f"{name}.crt", pki_dir / f"{name}.key"
    want = _san_set(hosts)
    cert, key = _load_cert(crt_path), _load_key(key_path)
    if (cert is not None and key is not None and _same_key(cert, key) and _fresh(cert)
            and _covers(cert, want) and _signed_by(cert, ca_cert)
            and _usages(cert) == set(usages)):
        return crt_path, key_path
    key = _new_key()
    now = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(min(now + SERVING_VALIDITY, ca_cert.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName(sorted(want, key=str)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    # the key first: a reader never sees a new certificate next to an old key for long
    write_atomic(key_path, _key_pem(key), 0o600)
    write_atomic(crt_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return crt_path, key_path


def client_ssl_context(ca_file: Path | str) -> ssl.SSLContext:
    """A TLS client context that trusts only the cluster CA and checks the server's name
    (TLS 1.2 at least)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    with contextlib.suppress(AttributeError):  # Python >= 3.13 sets this by default
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx
