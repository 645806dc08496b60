"""Test certificates (openssl CLI) and a Kafka node with TLS and SASL/PLAIN listeners.

The broker reads PEM directly (`ssl.keystore.type=PEM`: one file holding the unencrypted
PKCS#8 key and the certificate chain), so no JKS and no keytool.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from streams.stack.kafka import KafkaNode, Listener
from streams.stack.ports import free_port


def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command (Debian package openssl) is required"
    result = subprocess.run([openssl, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"openssl {' '.join(args)} failed:\n{result.stderr}"


def make_ca(directory: Path, name: str) -> Path:
    """A self-signed CA: `<name>.pem` (certificate) and `<name>.key`; returns the certificate."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )
    return directory / f"{name}.pem"


def make_server_keystore(directory: Path, ca: Path, host: str = "127.0.0.1") -> Path:
    """A server certificate for `host` signed by `ca`, as one PEM file: key, then certificate."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={host}", cwd=directory)
    (directory / "server.ext").write_text(
        f"subjectAltName=IP:{host},DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", str(ca), "-CAkey", str(ca.with_suffix(".key")), "-CAcreateserial",
        "-days", "2", "-out", "server.crt", "-extfile", "server.ext",
        cwd=directory,
    )
    keystore = directory / "server-keystore.pem"
    keystore.write_text((directory / "server.key").read_text() + (directory / "server.crt").read_text())
    return keystore


@dataclass
class SecureBroker:
    node: KafkaNode
    ssl_port: int
    sasl_port: int
    ca: Path  # signed the broker's certificate
    wrong_ca: Path  # a CA that did not
    sasl_username: str
    sasl_password: str

    @property
    def plaintext(self) -> str:
        return self.node.bootstrap_servers

    @property
    def ssl(self) -> str:
        return f"127.0.0.1:{self.ssl_port}"

    @property
    def sasl(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"


def secure_kafka_node(base_dir: Path, sasl_username: str, sasl_password: str) -> SecureBroker:
    """A node with PLAINTEXT (admin, producers, readiness), SSL and SASL_PLAINTEXT listeners."""
    certs = base_dir / "certs"
    ca = make_ca(certs, "kpi-test-ca")
    wrong_ca = make_ca(certs, "some-other-ca")
    keystore = make_server_keystore(certs, ca)
    ssl_port, sasl_port = free_port(), free_port()
    jaas = f'org.apache.kafka.common.security.plain.PlainLoginModule required user_{sasl_username}="{sasl_password}";'
    node = KafkaNode(
        base_dir / "kafka",
        ready_timeout_seconds=120.0,
        extra_listeners=[
            Listener("SSL", ssl_port, "SSL", {
                "ssl.keystore.type": "PEM",
                "ssl.keystore.location": str(keystore),
                "ssl.truststore.type": "PEM",
                "ssl.truststore.location": str(ca),
            }),
            Listener("SASL", sasl_port, "SASL_PLAINTEXT", {
                "sasl.enabled.mechanisms": "PLAIN",
                "plain.sasl.jaas.config": jaas,
            }),
        ],
        extra_properties={"sasl.enabled.mechanisms": "PLAIN"},
    )
    return SecureBroker(node, ssl_port, sasl_port, ca, wrong_ca, sasl_username, sasl_password)
