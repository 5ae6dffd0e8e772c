"""A private MariaDB server with TLS for tests: its own data directory, port and certificates.

The machine's shared MariaDB runs without TLS (``have_ssl`` is DISABLED) and restarting it would
disturb every other user, so TLS tests start their own ``mariadbd`` on a free loopback port with a
test certificate authority made here (``CertificateAuthority``): a server certificate for ``127.0.0.1``
and ``localhost`` signed by it, and a second authority that signed nothing, to see verification
refuse a server it cannot vouch for.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.conftest import free_port


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(key: rsa.RSAPrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass(frozen=True)
class CertificateAuthority:
    """A certificate authority of one test: its PEM file and what it signs."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    path: Path

    @classmethod
    def create(cls, directory: Path, name: str) -> CertificateAuthority:
        key = _key()
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        path = directory / f"{name}.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(key, cert, path)

    def server_certificate(self, directory: Path) -> tuple[Path, Path]:
        """A certificate for 127.0.0.1 and localhost and its key, as PEM files."""
        key = _key()
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("localhost"))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = directory / "server-cert.pem", directory / "server-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
        return cert_path, key_path


@dataclass
class TlsMariaDB:
    """A running private MariaDB with TLS; ``admin`` runs SQL as root over its socket."""

    port: int
    socket: Path
    authority: CertificateAuthority
    process: subprocess.Popen[bytes]

    def admin(self, sql: str) -> str:
        result = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-e", sql],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return result.stdout.strip()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_tls_mariadb(directory: Path) -> TlsMariaDB:
    """Initialise and start a MariaDB with TLS under ``directory``, or skip if it cannot."""
    if shutil.which("mariadbd") is None and not Path("/usr/sbin/mariadbd").exists():
        pytest.skip("no mariadbd on this machine to start a TLS server")
    mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    data = directory / "data"
    data.mkdir(parents=True)
    authority = CertificateAuthority.create(directory, "bakusoku-test-ca")
    cert, key = authority.server_certificate(directory)
    init = subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={data}",
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if init.returncode != 0:
        pytest.skip(f"mariadb-install-db failed: {init.stderr[-500:]}")
    port, sock = free_port(), directory / "mariadb.sock"
    process = subprocess.Popen(
        [
            mariadbd,
            "--no-defaults",
            f"--datadir={data}",
            "--user=root",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={sock}",
            f"--pid-file={directory / 'mariadb.pid'}",
            f"--log-error={directory / 'error.log'}",
            f"--ssl-ca={authority.path}",
            f"--ssl-cert={cert}",
            f"--ssl-key={key}",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=16M",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = TlsMariaDB(port, sock, authority, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (directory / "error.log").read_text()[-1000:]
            pytest.skip(f"the TLS MariaDB did not start: {log}")
        try:
            if server.admin("SELECT @@have_ssl") == "YES":
                return server
        except subprocess.CalledProcessError:
            pass
        time.sleep(0.2)
    server.stop()
    pytest.skip("the TLS MariaDB did not answer within 60 s")
