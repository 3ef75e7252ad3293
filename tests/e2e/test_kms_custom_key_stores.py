"""KMS custom key stores with boto3: AWS's parameter rules per store type, the connection
states and codes, and a real connection to an external key store proxy: a tiny HTTPS proxy
here checks the SigV4 signature (service `kms-xks-proxy`) of Rampart's health request."""

import json
from http.server import BaseHTTPRequestHandler

import pytest
from botocore.exceptions import ClientError

from xks_proxy import ACCESS_KEY, SECRET, create_store, proxy_and_server, self_signed, sigv4_ok


def _code(err):
    return err.value.response["Error"]["Code"]


def _one(kms, store_id):
    return kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"][0]


def test_cloudhsm_store_lifecycle(fresh_server):
    kms = fresh_server.client("kms")
    anchor, _ = self_signed("hsm")
    sid = kms.create_custom_key_store(
        CustomKeyStoreName="hsm-store",
        CloudHsmClusterId="cluster-234abcdefgh",
        TrustAnchorCertificate=anchor,
        KeyStorePassword="kmsuser-pass",
    )["CustomKeyStoreId"]
    assert sid.startswith("cks-")
    entry = _one(kms, sid)
    assert entry["CustomKeyStoreType"] == "AWS_CLOUDHSM"
    assert entry["ConnectionState"] == "DISCONNECTED"
    assert "ConnectionErrorCode" not in entry
    assert entry["CloudHsmClusterId"] == "cluster-234abcdefgh"
    assert entry["TrustAnchorCertificate"] == anchor
    assert "kmsuser-pass" not in json.dumps(entry, default=str)

    # Rampart has no CloudHSM: the connection fails as for a cluster AWS cannot find.
    kms.connect_custom_key_store(CustomKeyStoreId=sid)
    entry = _one(kms, sid)
    assert (entry["ConnectionState"], entry["ConnectionErrorCode"]) == ("FAILED", "CLUSTER_NOT_FOUND")
    for call in (kms.connect_custom_key_store, kms.delete_custom_key_store):
        with pytest.raises(ClientError) as err:
            call(CustomKeyStoreId=sid)
        assert _code(err) == "CustomKeyStoreInvalidStateException"
    with pytest.raises(ClientError) as err:
        kms.update_custom_key_store(CustomKeyStoreId=sid, KeyStorePassword="another-pass")
    assert _code(err) == "CustomKeyStoreInvalidStateException"
    kms.disconnect_custom_key_store(CustomKeyStoreId=sid)
    with pytest.raises(ClientError) as err:
        kms.disconnect_custom_key_store(CustomKeyStoreId=sid)
    assert _code(err) == "CustomKeyStoreInvalidStateException"
    assert _one(kms, sid)["ConnectionState"] == "DISCONNECTED"
    kms.update_custom_key_store(CustomKeyStoreId=sid, NewCustomKeyStoreName="renamed")
    assert kms.describe_custom_key_stores(CustomKeyStoreName="renamed")["CustomKeyStores"][0][
        "CustomKeyStoreId"
    ] == sid
    # A key cannot go into a store that is not connected.
    with pytest.raises(ClientError) as err:
        kms.create_key(CustomKeyStoreId=sid, Origin="AWS_CLOUDHSM")
    assert _code(err) == "CustomKeyStoreInvalidStateException"
    kms.delete_custom_key_store(CustomKeyStoreId=sid)
    for call in (
        lambda: kms.describe_custom_key_stores(CustomKeyStoreId=sid),
        lambda: kms.connect_custom_key_store(CustomKeyStoreId=sid),
        lambda: kms.create_key(CustomKeyStoreId=sid, Origin="AWS_CLOUDHSM"),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "CustomKeyStoreNotFoundException"
    assert kms.describe_custom_key_stores()["CustomKeyStores"] == []


def test_parameters_are_checked_per_store_type(fresh_server):
    kms = fresh_server.client("kms")
    anchor, _ = self_signed("hsm")
    cases = [
        (dict(CustomKeyStoreName="a", CloudHsmClusterId="cluster-234abcdefgh"), "ValidationException"),
        (
            dict(
                CustomKeyStoreName="a",
                CloudHsmClusterId="cluster-234abcdefgh",
                TrustAnchorCertificate="not a certificate",
                KeyStorePassword="kmsuser-pass",
            ),
            "IncorrectTrustAnchorException",
        ),
        (
            dict(
                CustomKeyStoreName="a",
                CustomKeyStoreType="EXTERNAL_KEY_STORE",
                XksProxyUriEndpoint="https://xks.example.com",
                XksProxyUriPath="/kms/xks/v1",
                XksProxyConnectivity="PUBLIC_ENDPOINT",
                XksProxyVpcEndpointServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                XksProxyAuthenticationCredential={"AccessKeyId": ACCESS_KEY, "RawSecretAccessKey": SECRET},
            ),
            "XksProxyInvalidConfigurationException",
        ),
        (
            dict(
                CustomKeyStoreName="a",
                CustomKeyStoreType="EXTERNAL_KEY_STORE",
                XksProxyUriEndpoint="https://xks.example.com",
                XksProxyUriPath="/kms/xks/v1",
                XksProxyConnectivity="VPC_ENDPOINT_SERVICE",
                XksProxyAuthenticationCredential={"AccessKeyId": ACCESS_KEY, "RawSecretAccessKey": SECRET},
            ),
            "XksProxyInvalidConfigurationException",
        ),
        (
            dict(
                CustomKeyStoreName="a",
                CustomKeyStoreType="EXTERNAL_KEY_STORE",
                XksProxyUriEndpoint="https://xks.example.com",
                XksProxyUriPath="/kms/xks/v1",
                XksProxyConnectivity="PUBLIC_ENDPOINT",
                KeyStorePassword="kmsuser-pass",
                XksProxyAuthenticationCredential={"AccessKeyId": ACCESS_KEY, "RawSecretAccessKey": SECRET},
            ),
            "ValidationException",
        ),
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as err:
            kms.create_custom_key_store(**params)
        assert _code(err) == code, params
    # The model's patterns: the endpoint is https without a port, the path ends in /kms/xks/v<n>.
    with pytest.raises(ClientError) as err:
        create_store(kms, "b", "http://xks.example.com")
    assert _code(err) == "ValidationException"

    create_store(kms, "first", "https://xks.example.com")
    with pytest.raises(ClientError) as err:
        create_store(kms, "first", "https://other.example.com")
    assert _code(err) == "CustomKeyStoreNameInUseException"
    with pytest.raises(ClientError) as err:
        create_store(kms, "second", "https://xks.example.com")
    assert _code(err) == "XksProxyUriInUseException"
    create_store(kms, "second", "https://xks.example.com", path="/tenant/kms/xks/v1")
    kms.create_custom_key_store(
        CustomKeyStoreName="hsm",
        CloudHsmClusterId="cluster-234abcdefgh",
        TrustAnchorCertificate=anchor,
        KeyStorePassword="kmsuser-pass",
    )
    with pytest.raises(ClientError) as err:
        kms.create_custom_key_store(
            CustomKeyStoreName="hsm2",
            CloudHsmClusterId="cluster-234abcdefgh",
            TrustAnchorCertificate=anchor,
            KeyStorePassword="kmsuser-pass",
        )
    assert _code(err) == "CloudHsmClusterInUseException"
    page = kms.describe_custom_key_stores(Limit=2)
    assert len(page["CustomKeyStores"]) == 2 and page["Truncated"] is True
    rest = kms.describe_custom_key_stores(Marker=page["NextMarker"])
    assert len(rest["CustomKeyStores"]) == 1 and rest["Truncated"] is False
    # Stores are regional.
    assert fresh_server.client("kms", region="eu-west-1").describe_custom_key_stores()[
        "CustomKeyStores"
    ] == []


def test_unreachable_proxy_fails_with_aws_code(fresh_server):
    kms = fresh_server.client("kms")
    sid = create_store(kms, "far", "https://xks-proxy.invalid")
    entry = _one(kms, sid)
    assert entry["XksProxyConfiguration"] == {
        "Connectivity": "PUBLIC_ENDPOINT",
        "AccessKeyId": ACCESS_KEY,
        "UriEndpoint": "https://xks-proxy.invalid",
        "UriPath": "/kms/xks/v1",
    }
    assert SECRET not in json.dumps(entry, default=str)
    kms.connect_custom_key_store(CustomKeyStoreId=sid)
    entry = _one(kms, sid)
    assert (entry["ConnectionState"], entry["ConnectionErrorCode"]) == (
        "FAILED",
        "XKS_PROXY_NOT_REACHABLE",
    )
    # A VPC endpoint service does not exist for Rampart.
    vpc = create_store(
        kms,
        "vpc",
        "https://xks.example.com",
        connectivity="VPC_ENDPOINT_SERVICE",
        XksProxyVpcEndpointServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
    )
    kms.connect_custom_key_store(CustomKeyStoreId=vpc)
    assert _one(kms, vpc)["ConnectionErrorCode"] == "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND"


class _Proxy(BaseHTTPRequestHandler):
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ok = self.path.endswith("/kms/xks/v1/health") and sigv4_ok(self, body)
        _Proxy.seen.append((self.path, ok, json.loads(body or b"{}")))
        answer = (
            {"xksProxyFleetSize": 1, "xksProxyVendor": "test", "xksProxyModel": "tiny", "ekmVendor": "none", "ekmFleetDetails": []}
            if ok
            else {"errorName": "AuthenticationFailedException"}
        )
        data = json.dumps(answer).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy_server():
    """The proxy above over TLS on localhost:443, and a Rampart trusting its certificate."""
    with proxy_and_server(_Proxy) as server:
        yield server


def test_connects_through_a_real_proxy_with_sigv4(proxy_server):
    kms = proxy_server.client("kms")
    good = create_store(kms, "good", "https://localhost")
    bad = create_store(kms, "bad", "https://localhost", path="/other/kms/xks/v1", secret="B" * 44)
    _Proxy.seen.clear()
    kms.connect_custom_key_store(CustomKeyStoreId=good)
    entry = _one(kms, good)
    assert entry["ConnectionState"] == "CONNECTED", entry
    assert "ConnectionErrorCode" not in entry
    path, ok, body = _Proxy.seen[-1]
    assert (path, ok) == ("/kms/xks/v1/health", True)
    assert body["requestMetadata"]["kmsOperation"] == "ConnectCustomKeyStore"
    # Connecting a connected store is accepted and changes nothing.
    kms.connect_custom_key_store(CustomKeyStoreId=good)
    # Connected: the endpoint cannot change, the name can.
    with pytest.raises(ClientError) as err:
        kms.update_custom_key_store(CustomKeyStoreId=good, XksProxyUriEndpoint="https://xks.example.com")
    assert _code(err) == "CustomKeyStoreInvalidStateException"
    kms.update_custom_key_store(CustomKeyStoreId=good, NewCustomKeyStoreName="good2")
    # This proxy answers only health checks (401 to the rest): CreateKey's GetKeyMetadata
    # fails as AWS reports a proxy's AuthenticationFailedException.
    with pytest.raises(ClientError) as err:
        kms.create_key(CustomKeyStoreId=good, Origin="EXTERNAL_KEY_STORE", XksKeyId="key-1")
    assert _code(err) == "CustomKeyStoreInvalidStateException"
    assert _Proxy.seen[-1][0] == "/kms/xks/v1/keys/key-1/metadata"
    # Keys in a connected store need the EXTERNAL_KEY_STORE origin (Rampart has no CloudHSM).
    with pytest.raises(ClientError) as err:
        kms.create_key(CustomKeyStoreId=good)
    assert _code(err) == "UnsupportedOperationException"

    # The proxy refuses a wrong secret with 401: AWS's INVALID_CREDENTIALS.
    kms.connect_custom_key_store(CustomKeyStoreId=bad)
    entry = _one(kms, bad)
    assert (entry["ConnectionState"], entry["ConnectionErrorCode"]) == ("FAILED", "INVALID_CREDENTIALS")
    assert _Proxy.seen[-1][:2] == ("/other/kms/xks/v1/health", False)
    # The right credential, set while disconnected, connects it.
    kms.disconnect_custom_key_store(CustomKeyStoreId=bad)
    kms.update_custom_key_store(
        CustomKeyStoreId=bad,
        XksProxyAuthenticationCredential={"AccessKeyId": ACCESS_KEY, "RawSecretAccessKey": SECRET},
    )
    kms.connect_custom_key_store(CustomKeyStoreId=bad)
    assert _one(kms, bad)["ConnectionState"] == "CONNECTED"
    assert _Proxy.seen[-1][:2] == ("/other/kms/xks/v1/health", True)
    # A connected store is not deleted; a disconnected one is.
    with pytest.raises(ClientError) as err:
        kms.delete_custom_key_store(CustomKeyStoreId=bad)
    assert _code(err) == "CustomKeyStoreInvalidStateException"
    kms.disconnect_custom_key_store(CustomKeyStoreId=bad)
    kms.delete_custom_key_store(CustomKeyStoreId=bad)
