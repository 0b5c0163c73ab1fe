"""A real nginx of the test's own, running a config block taken from docs/deploy.md.

The block is used as written; only what names this machine changes: the ``listen`` line (a free port on
127.0.0.1, still ``ssl``), the certificate (a self-signed one made for the test) and the service's address
in ``proxy_pass``/``upstream``. nginx runs in the foreground as this test's child, with its own prefix, pid
file, logs and temp directories: a system nginx, if any, is never touched.
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.web.live import free_port
from tests.support import missing_dependency

DEPLOY_DOC = Path(__file__).resolve().parents[3] / "docs" / "deploy.md"
NGINX = "/usr/sbin/nginx"
START_DEADLINE = 30.0  # a deadline for nginx to listen, not a speed assertion


def documented_blocks() -> list[str]:
    """Every ```nginx block of docs/deploy.md, in order."""
    return re.findall(r"^```nginx\n(.*?)^```", DEPLOY_DOC.read_text(), flags=re.S | re.M)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written to ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def adapt(block: str, *, port: int, service_port: int, cert: Path, key: Path) -> str:
    """The documented block with this machine's port, certificate and service address."""
    adapted, listens = re.subn(r"listen\s+443\s+ssl;", f"listen 127.0.0.1:{port} ssl;", block)
    assert listens == 1, "the documented block no longer listens on 443 ssl"
    adapted, certs = re.subn(
        r"#\s*ssl_certificate …; ssl_certificate_key …;",
        f"ssl_certificate {cert}; ssl_certificate_key {key};",
        adapted,
    )
    assert certs == 1, "the documented block lost its certificate placeholder"
    adapted, services = re.subn(r"127\.0\.0\.1:800\d", f"127.0.0.1:{service_port}", adapted)
    assert services >= 1, "the documented block no longer names the service"
    return adapted


class Nginx:
    """nginx in the foreground with ``prefix`` as its own world; :meth:`stop` ends it."""

    def __init__(self, prefix: Path, block: str) -> None:
        if not Path(NGINX).exists():
            missing_dependency(
                "nginx (/usr/sbin/nginx)", "install Debian's nginx (make test does it as root)"
            )
        self.prefix = prefix
        self.port = free_port()
        self.block = block
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def config(self, service_port: int) -> str:
        cert, key = self_signed(self.prefix)
        temp = {name: self.prefix / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for path in temp.values():
            path.mkdir(exist_ok=True)
        server = adapt(self.block, port=self.port, service_port=service_port, cert=cert, key=key)
        return f"""daemon off;
user root;
worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {self.prefix}/access.log;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
{server}
}}
"""

    def start(self, service_port: int) -> None:
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.config(service_port))
        argv = [NGINX, "-p", str(self.prefix), "-c", str(conf)]
        checked = subprocess.run([*argv, "-t"], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr
        log = (self.prefix / "stderr.log").open("ab")
        self._process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_DEADLINE
        while not (self.prefix / "nginx.pid").exists() or not _listening(self.port):
            assert self._process.poll() is None, (self.prefix / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()  # SIGTERM: fast shutdown of this nginx (its own master process)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=30)
        self._process = None
        shutil.rmtree(self.prefix / "proxy", ignore_errors=True)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
