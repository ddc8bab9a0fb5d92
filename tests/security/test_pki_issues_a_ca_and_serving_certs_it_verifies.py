"""cli/pki.py: the cluster CA (key 0600, kept), serving certificates that verify against it
in a real TLS handshake (Python's ssl on both ends, in memory) for exactly the hosts they
name, re-issued when the hosts, the expiry or the CA change."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from jetkube.cli import pki


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def load(p: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(p.read_bytes())


def sans(cert: x509.Certificate) -> set[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(n.value) for n in ext}


def handshake(ca: Path, crt: Path, key: Path, server_hostname: str) -> None:
    """A TLS handshake between ``client_ssl_context(ca)`` and a server on ``crt``/``key``,
    through memory BIOs; raises ssl.SSLCertVerificationError when the client refuses."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(crt, key)
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = pki.client_ssl_context(ca).wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, end in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError(f"handshake did not finish: {done}")


def test_ca_key_is_private_and_kept(tmp_path: Path) -> None:
    ca = pki.ensure_ca(tmp_path / "pki")
    assert (ca.cert, ca.key) == (tmp_path / "pki" / "ca.crt", tmp_path / "pki" / "ca.key")
    assert mode(ca.key) == 0o600
    assert mode(ca.cert) == 0o644
    assert mode(tmp_path / "pki") == 0o700
    cert = load(ca.cert)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    life = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=3640) < life <= dt.timedelta(days=3650)
    key_bytes, cert_bytes = ca.key.read_bytes(), ca.cert.read_bytes()
    pki.ensure_ca(tmp_path / "pki")
    assert (ca.key.read_bytes(), ca.cert.read_bytes()) == (key_bytes, cert_bytes)


def test_ca_cert_is_remade_from_the_kept_key_when_deleted(tmp_path: Path) -> None:
    ca = pki.ensure_ca(tmp_path)
    key_bytes, old = ca.key.read_bytes(), load(ca.cert)
    ca.cert.unlink()
    pki.ensure_ca(tmp_path)
    assert ca.key.read_bytes() == key_bytes
    assert load(ca.cert).public_key() == old.public_key()


def test_serving_cert_verifies_against_the_ca_for_its_hosts_only(tmp_path: Path) -> None:
    crt, key = pki.ensure_serving_cert(tmp_path, "nats", ["10.1.2.3", "nats.example"])
    ca = tmp_path / "ca.crt"
    assert (crt, key) == (tmp_path / "nats.crt", tmp_path / "nats.key")
    assert mode(key) == 0o600
    cert = load(crt)
    cert.verify_directly_issued_by(load(ca))
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(ext.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("10.1.2.3"), ipaddress.ip_address("127.0.0.1")}
    assert set(ext.get_values_for_type(x509.DNSName)) == {"nats.example", "localhost"}
    life = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=360) < life <= dt.timedelta(days=365)
    for host in ("10.1.2.3", "nats.example", "127.0.0.1", "localhost"):
        handshake(ca, crt, key, host)
    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        handshake(ca, crt, key, "10.1.2.4")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        handshake(ca, crt, key, "other.example")


def test_a_client_of_another_ca_refuses_the_server(tmp_path: Path) -> None:
    crt, key = pki.ensure_serving_cert(tmp_path / "ours", "nats", [])
    other = pki.ensure_ca(tmp_path / "theirs").cert
    handshake(tmp_path / "ours" / "ca.crt", crt, key, "127.0.0.1")  # the counterpart works
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(other, crt, key, "127.0.0.1")


def test_serving_cert_is_kept_while_it_covers_the_hosts(tmp_path: Path) -> None:
    crt, key = pki.ensure_serving_cert(tmp_path, "nats", ["10.1.2.3"])
    before = crt.read_bytes(), key.read_bytes()
    pki.ensure_serving_cert(tmp_path, "nats", ["10.1.2.3"])
    pki.ensure_serving_cert(tmp_path, "nats", ["127.0.0.1"])  # covered: always named
    assert (crt.read_bytes(), key.read_bytes()) == before


def test_serving_cert_is_reissued_when_hosts_change(tmp_path: Path) -> None:
    crt, key = pki.ensure_serving_cert(tmp_path, "nats", ["10.1.2.3"])
    old_serial, old_key = load(crt).serial_number, key.read_bytes()
    pki.ensure_serving_cert(tmp_path, "nats", ["10.1.2.3", "10.9.9.9"])
    assert load(crt).serial_number != old_serial
    assert key.read_bytes() != old_key
    assert mode(key) == 0o600
    assert sans(load(crt)) == {"10.1.2.3", "10.9.9.9", "127.0.0.1", "localhost"}
    handshake(tmp_path / "ca.crt", crt, key, "10.9.9.9")


def test_serving_cert_is_reissued_when_it_expires_within_30_days(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pki, "SERVING_VALIDITY", dt.timedelta(days=20))
    crt, _ = pki.ensure_serving_cert(tmp_path, "nats", [])
    short = load(crt)
    monkeypatch.setattr(pki, "SERVING_VALIDITY", dt.timedelta(days=365))
    pki.ensure_serving_cert(tmp_path, "nats", [])
    assert load(crt).serial_number != short.serial_number
    assert load(crt).not_valid_after_utc > short.not_valid_after_utc + dt.timedelta(days=300)


@pytest.mark.parametrize("missing", ["nats.crt", "nats.key"])
def test_serving_cert_is_reissued_when_a_file_is_missing(tmp_path: Path, missing: str) -> None:
    crt, key = pki.ensure_serving_cert(tmp_path, "nats", [])
    old = load(crt).serial_number
    (tmp_path / missing).unlink()
    pki.ensure_serving_cert(tmp_path, "nats", [])
    assert load(crt).serial_number != old
    handshake(tmp_path / "ca.crt", crt, key, "localhost")


def test_a_new_ca_reissues_the_serving_cert(tmp_path: Path) -> None:
    crt, key = pki.ensure_serving_cert(tmp_path, "nats", [])
    (tmp_path / "ca.crt").unlink()
    (tmp_path / "ca.key").unlink()  # rotation: delete the CA, run again
    pki.ensure_serving_cert(tmp_path, "nats", [])
    handshake(tmp_path / "ca.crt", crt, key, "127.0.0.1")
