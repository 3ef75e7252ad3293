"""HTTPS listeners end to end with boto3 and Python's ssl module: an IAM server certificate
serves an application load balancer's HTTPS listener in front of a small local HTTP app
(X-Forwarded-Proto https), a second certificate added with AddListenerCertificates is chosen
by SNI, the security policy decides the TLS versions the listener accepts, and ModifyListener
switches policy and certificate; AWS's errors for a missing certificate, an unknown
certificate or policy, and removing the default certificate."""

import datetime
import json
import socket
import ssl
import uuid

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from conftest import Server
from local_http import free_port, wait_for

# A listener still starting refuses the connection or the handshake.
NOT_YET = (OSError, ssl.SSLError)


@pytest.fixture(scope="module")
def server():
    """A server of this module's own, so its certificates do not show in other modules' lists."""
    s = Server()
    yield s
    s.stop()


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def certificate(names, key):
    """A self-signed certificate for `names` (DNS subject alternative names), as PEM."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def upload(iam, names, key):
    """Uploads a server certificate for `names`; (ARN, certificate PEM)."""
    pem = certificate(names, key)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    meta = iam.upload_server_certificate(
        ServerCertificateName=f"cert-{uuid.uuid4().hex[:8]}", CertificateBody=pem,
        PrivateKey=private)["ServerCertificateMetadata"]
    return meta["Arn"], pem


def fetch(port, sni, cafile_pem, version=None):
    """GET / over TLS with SNI `sni`, trusting only `cafile_pem`: (the echoed request, the
    server certificate's DER, the TLS version); raises ssl.SSLError when the handshake fails."""
    ctx = ssl.create_default_context(cadata=cafile_pem)
    if version:
        ctx.minimum_version = version
        ctx.maximum_version = version
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as tls:
            tls.sendall(f"GET /hello HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            return json.loads(body), tls.getpeercert(binary_form=True), tls.version()


def served_cert_pem(port, sni):
    """The certificate the listener presents for `sni`, whatever it is (no verification)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as tls:
            der = tls.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()


def https_listener(server, app_port, cert_arn, **extra):
    elb = server.client("elbv2")
    lb = elb.create_load_balancer(Name=f"tls-{uuid.uuid4().hex[:6]}", Subnets=["subnet-0a"],
                                  Type="application")["LoadBalancers"][0]
    tg = elb.create_target_group(Name=f"tg-{uuid.uuid4().hex[:6]}", Protocol="HTTP",
                                 Port=app_port, VpcId="vpc-0abc",
                                 TargetType="ip")["TargetGroups"][0]
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                         Targets=[{"Id": "127.0.0.1", "Port": app_port}])
    port = free_port()
    listener = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=port,
        Certificates=[{"CertificateArn": cert_arn}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
        **extra)["Listeners"][0]
    return elb, lb, tg, listener, port


def test_https_listener_terminates_tls_with_sni_and_policies(server, app):
    iam = server.client("iam")
    main_arn, main_pem = upload(iam, ["shop.example.test"], rsa.generate_private_key(65537, 2048))
    api_arn, api_pem = upload(iam, ["*.api.example.test"], ec.generate_private_key(ec.SECP256R1()))
    elb, lb, tg, listener, port = https_listener(server, app, main_arn)
    assert listener["Protocol"] == "HTTPS"
    assert listener["SslPolicy"] == "ELBSecurityPolicy-2016-08"
    assert listener["Certificates"] == [{"CertificateArn": main_arn}]

    echoed, _, version = wait_for(lambda: fetch(port, "shop.example.test", main_pem),
                                  what="the HTTPS listener", errors=NOT_YET)
    assert echoed["path"] == "/hello"
    assert echoed["headers"]["x-forwarded-proto"] == "https"
    assert echoed["headers"]["x-forwarded-port"] == str(port)
    assert version == "TLSv1.2", "ELBSecurityPolicy-2016-08 has no TLS 1.3"
    with pytest.raises(ssl.SSLError):
        fetch(port, "shop.example.test", main_pem, ssl.TLSVersion.TLSv1_3)
    # A name no certificate covers gets the default certificate (and fails verification).
    with pytest.raises(ssl.SSLCertVerificationError):
        fetch(port, "v1.api.example.test", main_pem)

    # A second certificate, chosen by SNI (wildcard), besides the default one.
    added = elb.add_listener_certificates(ListenerArn=listener["ListenerArn"],
                                          Certificates=[{"CertificateArn": api_arn}])
    assert added["Certificates"] == [{"CertificateArn": api_arn, "IsDefault": False}]
    listed = elb.describe_listener_certificates(ListenerArn=listener["ListenerArn"])
    assert {(c["CertificateArn"], c["IsDefault"]) for c in listed["Certificates"]} == {
        (main_arn, True), (api_arn, False)}
    echoed, _, _ = wait_for(lambda: fetch(port, "v1.api.example.test", api_pem),
                            what="the SNI certificate", errors=NOT_YET)
    assert echoed["headers"]["host"] == "v1.api.example.test"
    assert served_cert_pem(port, "shop.example.test") == main_pem

    # A TLS 1.3-only policy: TLS 1.2 clients are refused.
    elb.modify_listener(ListenerArn=listener["ListenerArn"],
                        SslPolicy="ELBSecurityPolicy-TLS13-1-3-2021-06")
    wait_for(lambda: fetch(port, "shop.example.test", main_pem)[2] == "TLSv1.3",
             what="the TLS 1.3 policy", errors=NOT_YET)
    with pytest.raises(ssl.SSLError):
        fetch(port, "shop.example.test", main_pem, ssl.TLSVersion.TLSv1_2)

    # The default certificate replaced; the old one no longer served.
    elb.modify_listener(ListenerArn=listener["ListenerArn"],
                        Certificates=[{"CertificateArn": api_arn}])
    wait_for(lambda: served_cert_pem(port, "shop.example.test") == api_pem,
             what="the new default certificate", errors=NOT_YET)
    shown = elb.describe_listeners(ListenerArns=[listener["ListenerArn"]])["Listeners"][0]
    assert shown["Certificates"] == [{"CertificateArn": api_arn}]
    assert shown["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"


def test_https_listener_errors(server, app):
    iam = server.client("iam")
    cert_arn, _ = upload(iam, ["errors.example.test"], ec.generate_private_key(ec.SECP256R1()))
    elb = server.client("elbv2")
    lb = elb.create_load_balancer(Name=f"tls-{uuid.uuid4().hex[:6]}", Subnets=["subnet-0a"],
                                  Type="application")["LoadBalancers"][0]
    forward = [{"Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain",
                                        "MessageBody": "ok"}}]
    base = dict(LoadBalancerArn=lb["LoadBalancerArn"], Port=free_port(), DefaultActions=forward)
    with pytest.raises(ClientError) as e:
        elb.create_listener(Protocol="HTTPS", **base)
    assert code(e) == "ValidationError"
    assert "certificate must be specified" in str(e.value)
    with pytest.raises(ClientError) as e:
        elb.create_listener(Protocol="HTTP", Certificates=[{"CertificateArn": cert_arn}], **base)
    assert code(e) == "ValidationError"
    missing = cert_arn.rsplit("/", 1)[0] + "/no-such-cert"
    with pytest.raises(ClientError) as e:
        elb.create_listener(Protocol="HTTPS", Certificates=[{"CertificateArn": missing}], **base)
    assert code(e) == "CertificateNotFound"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    acm = f"arn:aws:acm:us-east-1:{cert_arn.split(':')[4]}:certificate/{uuid.uuid4()}"
    with pytest.raises(ClientError) as e:
        elb.create_listener(Protocol="HTTPS", Certificates=[{"CertificateArn": acm}], **base)
    assert code(e) == "CertificateNotFound"
    with pytest.raises(ClientError) as e:
        elb.create_listener(Protocol="HTTPS", SslPolicy="ELBSecurityPolicy-Nope",
                            Certificates=[{"CertificateArn": cert_arn}], **base)
    assert code(e) == "SSLPolicyNotFound"
    assert elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"] == []

    listener = elb.create_listener(Protocol="HTTPS", Certificates=[{"CertificateArn": cert_arn}],
                                   **base)["Listeners"][0]
    with pytest.raises(ClientError) as e:
        elb.remove_listener_certificates(ListenerArn=listener["ListenerArn"],
                                         Certificates=[{"CertificateArn": cert_arn}])
    assert code(e) == "OperationNotPermitted"

    policies = elb.describe_ssl_policies(Names=["ELBSecurityPolicy-TLS13-1-2-2021-06"])
    (policy,) = policies["SslPolicies"]
    assert policy["SslProtocols"] == ["TLSv1.2", "TLSv1.3"]
    assert policy["Ciphers"][0] == {"Name": "TLS_AES_128_GCM_SHA256", "Priority": 1}
    every = elb.describe_ssl_policies()["SslPolicies"]
    assert "ELBSecurityPolicy-2016-08" in {p["Name"] for p in every}
    with pytest.raises(ClientError) as e:
        elb.describe_ssl_policies(Names=["ELBSecurityPolicy-Nope"])
    assert code(e) == "SSLPolicyNotFound"
