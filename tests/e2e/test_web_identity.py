"""Web identity federation with the aws CLI and boto3: an OpenID Connect issuer started by the
test (an RSA key made per run, discovery and JWKS over HTTPS on loopback with a self-signed
certificate), an IAM OIDC provider pinning that certificate, and tokens exchanged for role
sessions, including through the CLI's own web identity credential provider
(AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)."""

import base64
import datetime
import hashlib
import http.server
import json
import ssl
import tempfile
import threading
import time

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

CLIENT_ID = "rampart-cli"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


class Issuer:
    """An OIDC issuer on https://localhost:PORT/oidc with a self-signed certificate."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(cert_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(cert_key, hashes.SHA256())
        )
        self.thumbprint = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        self.dir = tempfile.mkdtemp(prefix="rampart-oidc-")
        cert_file, key_file = f"{self.dir}/cert.pem", f"{self.dir}/key.pem"
        with open(cert_file, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_file, "wb") as f:
            f.write(
                cert_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                docs = {
                    "/oidc/.well-known/openid-configuration": {
                        "issuer": issuer.url,
                        "jwks_uri": issuer.url + "/jwks",
                    },
                    "/oidc/jwks": {"keys": [issuer.jwk()]},
                }
                body = json.dumps(docs.get(self.path, {})).encode()
                self.send_response(200 if self.path in docs else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://localhost:{self.httpd.server_address[1]}/oidc"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def jwk(self):
        numbers = self.key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": "k1",
            "use": "sig",
            "alg": "RS256",
            "n": b64url(int_bytes(numbers.n)),
            "e": b64url(int_bytes(numbers.e)),
        }

    def token(self, sub, aud=CLIENT_ID, lifetime=600, key=None):
        now = int(time.time())
        claims = {"iss": self.url, "sub": sub, "aud": aud, "iat": now, "exp": now + lifetime}
        head = b64url(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
        body = b64url(json.dumps(claims).encode())
        signer = key or self.key
        sig = signer.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{b64url(sig)}"

    def stop(self):
        self.httpd.shutdown()


@pytest.fixture
def federation(fresh_server):
    issuer = Issuer()
    iam = fresh_server.client("iam")
    name = issuer.url.removeprefix("https://")
    created = fresh_server.cli(
        "iam", "create-open-id-connect-provider",
        "--url", issuer.url,
        "--client-id-list", CLIENT_ID,
        "--thumbprint-list", issuer.thumbprint,
    )
    provider_arn = json.loads(created.stdout)["OpenIDConnectProviderArn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{name}:sub": "ci-runner", f"{name}:aud": CLIENT_ID}},
        }],
    }
    role_arn = iam.create_role(RoleName="CiRunner", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    yield fresh_server, issuer, provider_arn, role_arn
    issuer.stop()


def test_cli_exchanges_a_token_and_uses_the_web_identity_credential_provider(federation):
    server, issuer, provider_arn, role_arn = federation
    got = server.cli("iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", provider_arn)
    assert json.loads(got.stdout)["ThumbprintList"] == [issuer.thumbprint]

    out = server.cli(
        "sts", "assume-role-with-web-identity",
        "--role-arn", role_arn,
        "--role-session-name", "build-42",
        "--web-identity-token", issuer.token("ci-runner"),
    )
    body = json.loads(out.stdout)
    assert body["SubjectFromWebIdentityToken"] == "ci-runner"
    assert body["Provider"] == provider_arn
    assert body["Audience"] == CLIENT_ID
    assert body["AssumedRoleUser"]["Arn"].endswith(":assumed-role/CiRunner/build-42")
    assert body["Credentials"]["AccessKeyId"].startswith("ASIA")

    # The CLI's own provider: no keys at all, only a role and a token file.
    token_file = f"{issuer.dir}/token"
    with open(token_file, "w") as f:
        f.write(issuer.token("ci-runner"))
    who = server.cli(
        "sts", "get-caller-identity",
        env={
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_ROLE_ARN": role_arn,
            "AWS_ROLE_SESSION_NAME": "from-file",
            "AWS_WEB_IDENTITY_TOKEN_FILE": token_file,
            "AWS_ENDPOINT_URL": server.endpoint,
        },
    )
    assert json.loads(who.stdout)["Arn"].endswith(":assumed-role/CiRunner/from-file")


def test_boto3_gets_aws_errors_for_bad_tokens(federation):
    server, issuer, _, role_arn = federation
    sts = server.client("sts")

    def code(token):
        with pytest.raises(ClientError) as e:
            sts.assume_role_with_web_identity(
                RoleArn=role_arn, RoleSessionName="bad-token", WebIdentityToken=token
            )
        return e.value.response["Error"]["Code"]

    assert code(issuer.token("ci-runner", aud="other")) == "InvalidIdentityToken"
    assert code(issuer.token("ci-runner", lifetime=-60)) == "ExpiredTokenException"
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert code(issuer.token("ci-runner", key=impostor)) == "InvalidIdentityToken"
    head, body, _ = issuer.token("ci-runner").split(".")
    none = b64url(json.dumps({"alg": "none"}).encode())
    assert code(f"{none}.{body}.") == "InvalidIdentityToken"
    assert code(issuer.token("someone-else")) == "AccessDenied"
    # The same role is assumed with a good token.
    creds = sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="ok", WebIdentityToken=issuer.token("ci-runner")
    )["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
