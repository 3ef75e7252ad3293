"""An external key store proxy for the KMS end-to-end tests: its SigV4 credential and the
signature check of the XKS proxy API (service `kms-xks-proxy`), self-signed certificates,
and a proxy served over TLS on localhost:443 to a Rampart that trusts its certificate."""

import contextlib
import datetime
import hashlib
import hmac
import os
import ssl
import tempfile
import threading
from http.server import HTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import Server

ACCESS_KEY = "ABCDEFGHIJKLMNOPQRSTUV"
SECRET = "A" * 20 + "abcdefghij0123456789+/=xyz"


def self_signed(name="localhost"):
    """A self-signed certificate for `name` and its key, PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def sigv4_ok(handler, body):
    """Checks the request's SigV4 signature with the proxy's credential."""
    auth = handler.headers.get("Authorization", "")
    try:
        cred = auth.split("Credential=")[1].split(",")[0]
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        signature = auth.split("Signature=")[1].strip()
    except IndexError:
        return False
    key_id, date, region, service, _ = cred.split("/")
    if key_id != ACCESS_KEY or service != "kms-xks-proxy" or "host" not in signed:
        return False
    headers = "".join(f"{h}:{handler.headers[h].strip()}\n" for h in signed)
    canonical = "\n".join(
        ["POST", handler.path, "", headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", handler.headers["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    k = ("AWS4" + SECRET).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest(), signature)


def create_store(kms, name, endpoint, path="/kms/xks/v1", secret=SECRET, **extra):
    """Creates an external key store on `endpoint` with the proxy's credential; its id."""
    return kms.create_custom_key_store(
        CustomKeyStoreName=name,
        CustomKeyStoreType="EXTERNAL_KEY_STORE",
        XksProxyUriEndpoint=endpoint,
        XksProxyUriPath=path,
        XksProxyConnectivity=extra.pop("connectivity", "PUBLIC_ENDPOINT"),
        XksProxyAuthenticationCredential={"AccessKeyId": ACCESS_KEY, "RawSecretAccessKey": secret},
        **extra,
    )["CustomKeyStoreId"]


@contextlib.contextmanager
def proxy_and_server(handler):
    """`handler` served over TLS on localhost:443 (the model's endpoint has no port) and a
    Rampart trusting its certificate through SSL_CERT_FILE; yields the Rampart. Skips the
    test when port 443 cannot be taken."""
    cert, key = self_signed("localhost")
    tmp = tempfile.mkdtemp()
    cert_file, key_file = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    with open(cert_file, "w") as f:
        f.write(cert)
    with open(key_file, "w") as f:
        f.write(key)
    try:
        httpd = HTTPServer(("127.0.0.1", 443), handler)
    except OSError as e:
        pytest.skip(f"cannot listen on 443: {e}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    old = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = cert_file
    try:
        server = Server()
    finally:
        if old is None:
            os.environ.pop("SSL_CERT_FILE")
        else:
            os.environ["SSL_CERT_FILE"] = old
    try:
        yield server
    finally:
        server.stop()
        httpd.shutdown()
        httpd.server_close()
