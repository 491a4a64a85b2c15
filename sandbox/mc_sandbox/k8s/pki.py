"""Certificates and keys for one sandbox cluster: its own CA, serving and client certificates.

Every cluster gets a fresh CA, like a managed cluster does, so a kubeconfig for one cluster
never authenticates to another.
"""

from __future__ import annotations

import datetime
import ipaddress
import pathlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mc_sandbox.core.files import write_file

VALIDITY = datetime.timedelta(days=365)


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class CertificateAuthority:
    def __init__(self, key, cert: x509.Certificate):
        self.key = key
        self.cert = cert

    @classmethod
    def create(cls, common_name: str) -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        name = _name(common_name)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY * 10)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @classmethod
    def load(cls, cert_path: pathlib.Path, key_path: pathlib.Path) -> CertificateAuthority:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        return cls(key, cert)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        common_name: str,
        *,
        organizations: tuple[str, ...] = (),
        server_names: tuple[str, ...] = (),
        server_ips: tuple[str, ...] = (),
        client: bool = False,
    ) -> tuple[bytes, bytes]:
        """(certificate PEM, key PEM) for a server (with SANs) and/or a client identity."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
        if server_names or server_ips:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organizations))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        if server_names or server_ips:
            sans = [x509.DNSName(n) for n in server_names] + [
                x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips
            ]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


class ClusterPKI:
    """The files one control plane needs, written under `directory` (0600 for private keys)."""

    def __init__(self, directory: pathlib.Path):
        self.dir = directory

    def path(self, name: str) -> pathlib.Path:
        return self.dir / name

    @property
    def ca_pem(self) -> str:
        return self.path("ca.crt").read_text()

    def exists(self) -> bool:
        return self.path("admin.key").exists()

    def create(self, cluster_name: str, service_ip: str) -> None:
        ca = CertificateAuthority.create(f"{cluster_name}-ca")
        write_file(self.path("ca.crt"), ca.cert_pem)
        write_file(self.path("ca.key"), _key_pem(ca.key), private=True)
        names = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
        names += ("kubernetes.default.svc.cluster.local",)
        cert, key = ca.issue("kube-apiserver", server_names=names, server_ips=("127.0.0.1", service_ip))
        write_file(self.path("apiserver.crt"), cert)
        write_file(self.path("apiserver.key"), key, private=True)
        clients = {
            "admin": ("kubernetes-admin", ("system:masters",)),
            "controller-manager": ("system:kube-controller-manager", ()),
            "scheduler": ("system:kube-scheduler", ()),
            # the sandbox's own controllers (kwok, node pools, load balancers) act as cluster admins
            "sandbox": ("mc-sandbox", ("system:masters",)),
        }
        for file, (cn, orgs) in clients.items():
            cert, key = ca.issue(cn, organizations=orgs, client=True)
            write_file(self.path(f"{file}.crt"), cert)
            write_file(self.path(f"{file}.key"), key, private=True)
        # The aggregation layer's front proxy has a CA of its own; without it the controller
        # manager and scheduler complain about a missing requestheader CA bundle forever.
        front = CertificateAuthority.create(f"{cluster_name}-front-proxy-ca")
        write_file(self.path("front-proxy-ca.crt"), front.cert_pem)
        cert, key = front.issue("front-proxy-client", client=True)
        write_file(self.path("front-proxy-client.crt"), cert)
        write_file(self.path("front-proxy-client.key"), key, private=True)
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        write_file(self.path("sa.key"), _key_pem(sa_key), private=True)
        write_file(
            self.path("sa.pub"),
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )


def sandbox_tls(directory: pathlib.Path):
    """The sandbox-wide CA and a 127.0.0.1/localhost serving certificate (created once per state)."""
    from mc_sandbox.core.runtime import TlsFiles  # noqa: PLC0415 - runtime imports nothing from here

    files = TlsFiles(ca=directory / "sandbox-ca.crt", cert=directory / "sandbox.crt", key=directory / "sandbox.key")
    if not files.key.exists():
        ca = CertificateAuthority.create("mc-sandbox-ca")
        cert, key = ca.issue("mc-sandbox", server_names=("localhost",), server_ips=("127.0.0.1",))
        write_file(files.ca, ca.cert_pem)
        write_file(files.cert, cert)
        write_file(files.key, key, private=True)
    return files
