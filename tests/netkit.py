"""A make-believe internet on loopback: test-controlled DNS and address translation.

SSRF tests need a "public" host: a name that resolves to a public address and serves
pages, so that a URL passes the bot's address check and is then fetched. Nothing may
leave this machine, so :class:`FakeInternet` patches the two boundaries the HTTP stack
crosses, ``socket.getaddrinfo`` (DNS) and ``socket.socket.connect`` (the wire):

- names under ``.test`` answer what the test scripted, in order (``rebind`` answers a
  different address on each lookup, as a rebinding DNS server does);
- a connect to a scripted public address and port is translated to a real server on
  127.0.0.1 (like NAT in front of a web host);
- a connect to any other non-loopback address is refused and recorded, without a
  packet being sent, so a test that goes wrong cannot reach the network.

Connects to 127.0.0.1 go through untouched and are recorded too: a test asserts that
the victim server on loopback was never reached.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

PUBLIC = "93.184.216.34"  # example.com's old address: public, never actually contacted
PUBLIC_2 = "93.184.216.35"


@dataclass
class FakeInternet:
    """Scripted DNS for ``*.test`` names and NAT from public addresses to loopback."""

    names: dict[str, list[list[str]]] = field(default_factory=dict)
    nat: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    connects: list[tuple[str, int]] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)

    def dns(self, name: str, *answers: Sequence[str]) -> None:
        """``name`` answers ``answers[0]`` first, then ``answers[1]``…; the last repeats."""
        self.names[name.lower()] = [list(a) for a in answers]

    def host(self, address: str, port: int, local_port: int) -> None:
        """Connections to ``address:port`` reach the server on ``127.0.0.1:local_port``."""
        self.nat[(address, port)] = ("127.0.0.1", local_port)

    def resolve(self, host: str, port: int) -> list[str]:
        """The scripted answer for ``host`` (what ``getaddrinfo`` returns, as addresses)."""
        self.lookups.append(host)
        answers = self.names[host.lower().rstrip(".")]
        return answers.pop(0) if len(answers) > 1 else list(answers[0])

    def loopback_hits(self, port: int) -> int:
        """How many connections went straight to ``127.0.0.1:port``."""
        return sum(1 for c in self.connects if c == ("127.0.0.1", port))


@pytest.fixture
def internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeInternet]:
    """A :class:`FakeInternet` patched into ``socket`` for the test's duration."""
    net = FakeInternet()
    lock = threading.Lock()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                    flags: int = 0) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        if name.lower().rstrip(".") not in net.names:
            if name.endswith((".test", ".test.")):
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return real_getaddrinfo(host, port, family, type, proto, flags)
        with lock:
            addresses = net.resolve(name, int(port or 0))
        infos = []
        for address in addresses:
            ip = ipaddress.ip_address(address)
            fam = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            if family not in (0, fam):
                continue
            sockaddr: tuple[Any, ...] = ((address, int(port or 0), 0, 0) if ip.version == 6
                                         else (address, int(port or 0)))
            infos.append((fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return infos

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            real_connect(sock, address)
            return
        host, port = str(address[0]), int(address[1])
        with lock:
            target = net.nat.get((host, port))
            if target is None and not ipaddress.ip_address(host.split("%")[0]).is_loopback:
                net.refused.append((host, port))
                raise ConnectionRefusedError(111, f"netkit: {host}:{port} is not on loopback")
            net.connects.append((host, port))
        if target is not None:
            if sock.family != socket.AF_INET:
                raise ConnectionRefusedError(111, "netkit: NAT serves IPv4 only")
            address = target
        real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield net


# ---------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class Certs:
    """A throw-away CA and a server certificate signed by it, as PEM files."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for a test server presenting the certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certs(directory: Path, *names: str) -> Certs:
    """A CA and a certificate for ``names`` (DNS SANs), written under ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netkit test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = Certs(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return paths
