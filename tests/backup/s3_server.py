"""moto's S3 app served over HTTPS by uvicorn, as a separate process for pgBackRest's repo2.

Not `moto_server --ssl`: its werkzeug server answers HTTP/1.0 and drops TLS connections without
close_notify, which pgBackRest (OpenSSL 3) reports as "unexpected eof"; uvicorn keeps HTTP/1.1
connections alive and closes TLS cleanly. The certificate is self-signed (made with
`cryptography`), so the client sets repo2-storage-verify-tls=n or trusts CERT as its CA file.

    python tests/backup/s3_server.py PORT CERT_DIR
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import sys
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto.server import DomainDispatcherApplication, create_backend_app
from uvicorn.middleware.wsgi import WSGIMiddleware


def self_signed(folder: Path) -> tuple[Path, Path]:
    """cert.pem/key.pem for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost"),
                                                        # pgBackRest 2.45 matches the host name against DNS entries only
                                                        x509.DNSName("127.0.0.1")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def main(port: int, folder: Path) -> None:
    cert, key = self_signed(folder)
    app = WSGIMiddleware(DomainDispatcherApplication(create_backend_app))
    uvicorn.run(app, host="127.0.0.1", port=port, ssl_certfile=str(cert), ssl_keyfile=str(key), log_level="warning",
                timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
