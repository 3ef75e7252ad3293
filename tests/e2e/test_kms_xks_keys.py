"""KMS keys in an external key store with boto3, against a small XKS proxy written here: it
checks every request's SigV4 signature (service `kms-xks-proxy`), keeps AES-256 keys and
answers the XKS proxy API's GetKeyMetadata, Encrypt, Decrypt and GetHealthStatus over HTTPS.
Rampart double-encrypts (its own key material, then the external key through the proxy),
and a proxy that refuses, or a disconnected store, fails the call."""

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler

import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from xks_proxy import create_store, proxy_and_server, sigv4_ok

PREFIX = "/kms/xks/v1"


def _code(err):
    return err.value.response["Error"]["Code"]


class _Xks(BaseHTTPRequestHandler):
    """The proxy: `keys` maps an external key id to (key bytes, spec, usage, status)."""

    keys = {}
    seen = []
    # (entered, release): when set, an encrypt request signals `entered` and waits for
    # `release`, as a slow proxy would.
    gate = None

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.loads(raw or b"{}")
        _Xks.seen.append((self.path, body))
        if not sigv4_ok(self, raw):
            return self._answer(401, {"errorName": "AuthenticationFailedException"})
        if self.path == PREFIX + "/health":
            return self._answer(200, {"xksProxyFleetSize": 1, "xksProxyVendor": "test",
                                      "xksProxyModel": "tiny", "ekmVendor": "none",
                                      "ekmFleetDetails": []})
        parts = self.path[len(PREFIX):].split("/")
        if not self.path.startswith(PREFIX + "/keys/") or len(parts) != 4:
            return self._answer(404, {"errorName": "InvalidUriPathException"})
        key = _Xks.keys.get(parts[2])
        if key is None:
            return self._answer(404, {"errorName": "KeyNotFoundException"})
        secret, spec, usage, status = key
        if parts[3] == "metadata":
            return self._answer(200, {"keySpec": spec, "keyUsage": usage, "keyStatus": status})
        if status != "ENABLED":
            return self._answer(400, {"errorName": "InvalidStateException"})
        aad = base64.b64decode(body.get("additionalAuthenticatedData", ""))
        if parts[3] == "encrypt":
            if _Xks.gate is not None:
                entered, release = _Xks.gate
                entered.set()
                release.wait(30)
            iv = os.urandom(12)
            out = AESGCM(secret).encrypt(iv, base64.b64decode(body["plaintext"]), aad)
            return self._answer(200, {
                "ciphertext": base64.b64encode(out[:-16]).decode(),
                "authenticationTag": base64.b64encode(out[-16:]).decode(),
                "initializationVector": base64.b64encode(iv).decode(),
                "ciphertextMetadata": base64.b64encode(b"v=1").decode(),
            })
        if parts[3] == "decrypt":
            if base64.b64decode(body.get("ciphertextMetadata", "")) != b"v=1":
                return self._answer(400, {"errorName": "InvalidCiphertextException"})
            data = base64.b64decode(body["ciphertext"]) + base64.b64decode(body["authenticationTag"])
            try:
                plain = AESGCM(secret).decrypt(base64.b64decode(body["initializationVector"]), data, aad)
            except InvalidTag:
                return self._answer(400, {"errorName": "InvalidCiphertextException"})
            return self._answer(200, {"plaintext": base64.b64encode(plain).decode()})
        return self._answer(404, {"errorName": "InvalidUriPathException"})

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def xks():
    """The proxy on localhost:443 (the model's endpoint has no port), a Rampart trusting its
    certificate, and a connected external key store."""
    with proxy_and_server(_Xks) as server:
        kms = server.client("kms")
        store = create_store(kms, "external", "https://localhost")
        kms.connect_custom_key_store(CustomKeyStoreId=store)
        assert kms.describe_custom_key_stores(CustomKeyStoreId=store)["CustomKeyStores"][0][
            "ConnectionState"] == "CONNECTED"
        yield server, kms, store


def _external_key(name, spec="AES_256", usage=("ENCRYPT", "DECRYPT"), status="ENABLED"):
    _Xks.keys[name] = (os.urandom(32), spec, list(usage), status)


def _create(kms, store, xks_key):
    return kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store, XksKeyId=xks_key)


def _calls(op):
    """The proxy requests made since the list was last cleared, for `op` (encrypt, ...)."""
    return [(p, b) for p, b in _Xks.seen if p.endswith("/" + op)]


def test_create_key_checks_the_external_key_with_the_proxy(xks):
    server, kms, store = xks
    _external_key("create-ok")
    _Xks.seen.clear()
    meta = _create(kms, store, "create-ok")["KeyMetadata"]
    assert meta["Origin"] == "EXTERNAL_KEY_STORE"
    assert meta["CustomKeyStoreId"] == store
    assert meta["XksKeyConfiguration"] == {"Id": "create-ok"}
    assert (meta["KeySpec"], meta["KeyUsage"], meta["KeyState"]) == (
        "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Enabled")
    (path, body), = _Xks.seen
    assert path == PREFIX + "/keys/create-ok/metadata"
    caller = server.client("sts").get_caller_identity()["Arn"]
    assert body["requestMetadata"]["kmsOperation"] == "CreateKey"
    assert body["requestMetadata"]["awsPrincipalArn"] == caller
    described = kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]
    assert described["XksKeyConfiguration"] == {"Id": "create-ok"}

    _external_key("aes128", spec="AES_128")
    _external_key("encrypt-only", usage=("ENCRYPT",))
    _external_key("disabled", status="DISABLED")
    cases = [
        (dict(XksKeyId="missing"), "XksKeyNotFoundException"),
        (dict(XksKeyId="aes128"), "XksKeyInvalidConfigurationException"),
        (dict(XksKeyId="encrypt-only"), "XksKeyInvalidConfigurationException"),
        (dict(XksKeyId="disabled"), "XksKeyInvalidConfigurationException"),
        (dict(XksKeyId="create-ok"), "XksKeyAlreadyInUseException"),
        (dict(XksKeyId="rsa", KeySpec="RSA_2048"), "UnsupportedOperationException"),
        (dict(XksKeyId="bad/id"), "ValidationException"),
        (dict(XksKeyId="x", CustomKeyStoreId="cks-1234567890abcdef0"), "CustomKeyStoreNotFoundException"),
    ]
    for extra, code in cases:
        args = dict(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store)
        args.update(extra)
        with pytest.raises(ClientError) as err:
            kms.create_key(**args)
        assert _code(err) == code, (extra, err.value.response)
    # A store that is not connected takes no keys.
    idle = create_store(kms, "idle", "https://localhost", path="/idle/kms/xks/v1")
    with pytest.raises(ClientError) as err:
        _create(kms, idle, "create-ok")
    assert _code(err) == "CustomKeyStoreInvalidStateException"


def test_double_encryption_round_trips_through_the_proxy(xks):
    server, kms, store = xks
    _external_key("crypto")
    key = _create(kms, store, "crypto")["KeyMetadata"]
    caller = server.client("sts").get_caller_identity()["Arn"]
    _Xks.seen.clear()
    secret = b"attack at dawn, twice encrypted"
    context = {"purpose": "test"}
    out = kms.encrypt(KeyId=key["KeyId"], Plaintext=secret, EncryptionContext=context)
    (path, body), = _calls("encrypt")
    assert path == PREFIX + "/keys/crypto/encrypt"
    meta = body["requestMetadata"]
    assert meta == {
        "awsPrincipalArn": caller,
        "kmsKeyArn": key["Arn"],
        "kmsOperation": "Encrypt",
        "kmsRequestId": out["ResponseMetadata"]["RequestId"],
    }
    assert body["encryptionAlgorithm"] == "AES_GCM" and body["additionalAuthenticatedData"]
    # The proxy sees only a ciphertext under the KMS key's own material.
    sent = base64.b64decode(body["plaintext"])
    assert secret not in sent and len(sent) > len(secret)

    plain = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext=context)
    assert plain["Plaintext"] == secret and plain["KeyId"] == key["Arn"]
    (path, body), = _calls("decrypt")
    assert path == PREFIX + "/keys/crypto/decrypt"
    assert body["requestMetadata"]["kmsOperation"] == "Decrypt"
    assert body["requestMetadata"]["kmsRequestId"] == plain["ResponseMetadata"]["RequestId"]
    # Another encryption context: the proxy refuses the AAD, which AWS reports as the key's state.
    with pytest.raises(ClientError) as err:
        kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"purpose": "other"})
    assert _code(err) == "KMSInvalidStateException"

    # Data keys and re-encryption go through the proxy too.
    _Xks.seen.clear()
    dk = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert _calls("encrypt")[0][1]["requestMetadata"]["kmsOperation"] == "GenerateDataKey"
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    plain_key = kms.create_key()["KeyMetadata"]["KeyId"]
    _Xks.seen.clear()
    moved = kms.re_encrypt(CiphertextBlob=dk["CiphertextBlob"], DestinationKeyId=plain_key)
    assert _calls("decrypt")[0][1]["requestMetadata"]["kmsOperation"] == "ReEncrypt"
    back = kms.re_encrypt(CiphertextBlob=moved["CiphertextBlob"], DestinationKeyId=key["KeyId"])
    assert _calls("encrypt")[0][1]["requestMetadata"]["kmsOperation"] == "ReEncrypt"
    assert kms.decrypt(CiphertextBlob=back["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    with pytest.raises(ClientError) as err:
        kms.generate_data_key_pair(KeyId=key["KeyId"], KeyPairSpec="RSA_2048")
    assert _code(err) == "UnsupportedOperationException"

    # A disabled KMS key is refused before the proxy is asked.
    kms.disable_key(KeyId=key["KeyId"])
    _Xks.seen.clear()
    with pytest.raises(ClientError) as err:
        kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext=context)
    assert _code(err) == "DisabledException" and _Xks.seen == []
    kms.enable_key(KeyId=key["KeyId"])


def test_a_refusing_proxy_fails_the_call(xks):
    _, kms, store = xks
    _external_key("doomed")
    key = _create(kms, store, "doomed")["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"data")["CiphertextBlob"]
    # The external key disabled in its key manager: Encrypt fails with AWS's error.
    secret, spec, usage, _ = _Xks.keys["doomed"]
    _Xks.keys["doomed"] = (secret, spec, usage, "DISABLED")
    with pytest.raises(ClientError) as err:
        kms.encrypt(KeyId=key, Plaintext=b"data")
    assert _code(err) == "KMSInvalidStateException"
    assert "not enabled in the external key manager" in err.value.response["Error"]["Message"]
    # The external key deleted: Decrypt fails; nothing falls back to the KMS material.
    del _Xks.keys["doomed"]
    _Xks.seen.clear()
    with pytest.raises(ClientError) as err:
        kms.decrypt(CiphertextBlob=blob)
    assert _code(err) == "KMSInvalidStateException"
    assert "was not found in its external key manager" in err.value.response["Error"]["Message"]
    assert [p for p, _ in _Xks.seen] == [PREFIX + "/keys/doomed/decrypt"]


def test_a_disconnected_store_refuses_and_keeps_its_keys(xks):
    _, kms, store = xks
    _external_key("offline")
    key = _create(kms, store, "offline")["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"data")["CiphertextBlob"]
    kms.disconnect_custom_key_store(CustomKeyStoreId=store)
    try:
        _Xks.seen.clear()
        for call in (
            lambda: kms.encrypt(KeyId=key, Plaintext=b"data"),
            lambda: kms.decrypt(CiphertextBlob=blob),
            lambda: kms.generate_data_key(KeyId=key, NumberOfBytes=32),
        ):
            with pytest.raises(ClientError) as err:
                call()
            assert _code(err) == "KMSInvalidStateException"
        assert _Xks.seen == []
        # A store holding keys is not deleted.
        with pytest.raises(ClientError) as err:
            kms.delete_custom_key_store(CustomKeyStoreId=store)
        assert _code(err) == "CustomKeyStoreHasCMKsException"
    finally:
        kms.connect_custom_key_store(CustomKeyStoreId=store)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"data"


def test_a_service_calling_for_the_caller_is_named_to_the_proxy(xks):
    server, kms, store = xks
    _external_key("for-secrets")
    key = _create(kms, store, "for-secrets")["KeyMetadata"]["Arn"]
    sm = server.client("secretsmanager")
    _Xks.seen.clear()
    sm.create_secret(Name="xks-sealed", SecretString="s3cr3t", KmsKeyId=key)
    assert sm.get_secret_value(SecretId="xks-sealed")["SecretString"] == "s3cr3t"
    ops = [(p.rsplit("/", 1)[1], b["requestMetadata"]) for p, b in _Xks.seen]
    assert [op for op, _ in ops] == ["encrypt", "decrypt"], ops
    for _, meta in ops:
        assert meta["kmsViaService"] == "secretsmanager" and meta["kmsKeyArn"] == key


@pytest.mark.alone  # a 10 s bound on another write, measured with nothing beside it
def test_a_slow_proxy_holds_no_write_transaction(xks):
    """Secrets Manager seals a new value through the proxy before its write transaction: while
    the proxy keeps the seal waiting, other writes commit (inside the transaction they would
    wait for SQLite's one writer until the proxy answered)."""
    server, kms, store = xks
    _external_key("slow")
    key = _create(kms, store, "slow")["KeyMetadata"]["Arn"]
    sm = server.client("secretsmanager")
    iam = server.client("iam")
    entered, release = threading.Event(), threading.Event()
    outcome = {}

    def create_secret():
        try:
            outcome["secret"] = sm.create_secret(Name="slowly-sealed", SecretString="v", KmsKeyId=key)
        except Exception as e:  # noqa: BLE001 (reported below)
            outcome["error"] = e

    sealing = threading.Thread(target=create_secret)
    _Xks.gate = (entered, release)
    try:
        sealing.start()
        assert entered.wait(10), "the seal never reached the proxy"
        written = {}
        writer = threading.Thread(
            target=lambda: written.update(iam.create_user(UserName="written-meanwhile"))
        )
        writer.start()
        writer.join(10)
        assert "User" in written, "a write waited for the proxy"
        assert sealing.is_alive(), "the seal did not wait for the proxy"
    finally:
        release.set()
        _Xks.gate = None
        sealing.join(30)
    assert "error" not in outcome, outcome
    assert sm.get_secret_value(SecretId="slowly-sealed")["SecretString"] == "v"
