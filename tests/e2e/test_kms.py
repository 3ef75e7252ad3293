"""KMS with boto3, the aws CLI and `cryptography`: Rampart's signatures verify with the public
key GetPublicKey returns, ciphertexts made with that public key decrypt in Rampart, data keys
work for envelope encryption, and errors have AWS's codes and statuses."""

import base64
import hashlib
import json
import time
import os
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from conftest import advance

MESSAGE = b"Rampart signs this"

HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}

SIGNING = [
    ("RSA_2048", "RSASSA_PSS_SHA_256"),
    ("RSA_2048", "RSASSA_PSS_SHA_384"),
    ("RSA_2048", "RSASSA_PSS_SHA_512"),
    ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"),
    ("RSA_3072", "RSASSA_PKCS1_V1_5_SHA_384"),
    ("RSA_4096", "RSASSA_PKCS1_V1_5_SHA_512"),
    ("RSA_4096", "RSASSA_PSS_SHA_256"),
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("ECC_NIST_P384", "ECDSA_SHA_384"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
]


def _verify(public_key, algorithm, signature, message, prehashed=False):
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    h = HASHES[algorithm[-3:]]()
    chosen = Prehashed(h) if prehashed else h
    if algorithm.startswith("ECDSA"):
        public_key.verify(signature, message, ec.ECDSA(chosen))
    elif algorithm.startswith("RSASSA_PSS"):
        public_key.verify(
            signature,
            message,
            padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size),
            chosen,
        )
    else:
        public_key.verify(signature, message, padding.PKCS1v15(), chosen)


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


@pytest.mark.parametrize("spec,algorithm", SIGNING)
def test_signatures_verify_with_cryptography(kms, spec, algorithm):
    key_id = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    public_key = serialization.load_der_public_key(der)
    if spec.startswith("ECC"):
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
    else:
        assert isinstance(public_key, rsa.RSAPublicKey)
        assert public_key.key_size == int(spec[4:])

    sig = kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm=algorithm)["Signature"]
    _verify(public_key, algorithm, sig, MESSAGE)
    with pytest.raises(InvalidSignature):
        _verify(public_key, algorithm, sig, MESSAGE + b"!")

    # DIGEST: the caller hashes; the signature is the same kind.
    digest = hashlib.new("sha" + algorithm[-3:], MESSAGE).digest()
    sig = kms.sign(
        KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm=algorithm
    )["Signature"]
    _verify(public_key, algorithm, sig, digest, prehashed=True)
    _verify(public_key, algorithm, sig, MESSAGE)


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_encryption_with_the_public_key_decrypts_in_rampart(kms, algorithm):
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    public_key = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    h = hashes.SHA1() if algorithm.endswith("_1") else hashes.SHA256()
    ciphertext = public_key.encrypt(
        b"offline secret", padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)
    )
    out = kms.decrypt(KeyId=key_id, CiphertextBlob=ciphertext, EncryptionAlgorithm=algorithm)
    assert out["Plaintext"] == b"offline secret"


def test_envelope_encryption_and_data_key_pairs(kms):
    key_id = kms.create_key(Description="envelope")["KeyMetadata"]["KeyId"]
    context = {"bucket": "reports", "object": "2024.csv"}
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
    nonce = os.urandom(12)
    sealed = AESGCM(dk["Plaintext"]).encrypt(nonce, b"the report", None)
    # Later: only the encrypted data key is kept.
    plain_key = kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext=context)["Plaintext"]
    assert AESGCM(plain_key).decrypt(nonce, sealed, None) == b"the report"
    with pytest.raises(ClientError) as err:
        kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"bucket": "other"})
    assert err.value.response["Error"]["Code"] == "InvalidCiphertextException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    for spec in ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_SECG_P256K1"]:
        pair = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec=spec)
        private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
        public_der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert public_der == pair["PublicKey"]
        again = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"])["Plaintext"]
        assert again == pair["PrivateKeyPlaintext"]


def test_hmac_matches_a_local_hmac_only_through_kms(kms):
    key_id = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    mac = kms.generate_mac(KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert len(mac) == 32
    assert kms.verify_mac(KeyId=key_id, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"]
    with pytest.raises(ClientError) as err:
        kms.verify_mac(KeyId=key_id, Message=b"n", Mac=mac, MacAlgorithm="HMAC_SHA_256")
    assert err.value.response["Error"]["Code"] == "KMSInvalidMacException"


def test_errors_have_aws_codes(kms):
    with pytest.raises(ClientError) as err:
        kms.describe_key(KeyId="11111111-2222-3333-4444-555555555555")
    assert err.value.response["Error"]["Code"] == "NotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as err:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert err.value.response["Error"]["Code"] == "DisabledException"
    with pytest.raises(ClientError) as err:
        kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=3)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy="{")
    assert err.value.response["Error"]["Code"] == "MalformedPolicyDocumentException"
    # The failed calls changed nothing.
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Disabled"
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])["Statement"]


def test_aws_cli_round_trip(server, tmp_path):
    key_id = json.loads(server.cli("kms", "create-key").stdout)["KeyMetadata"]["KeyId"]
    server.cli("kms", "create-alias", "--alias-name", "alias/cli", "--target-key-id", key_id)
    # aws CLI v1 sends a blob argument's text as the bytes; binary goes through fileb://.
    enc = json.loads(
        server.cli(
            "kms", "encrypt", "--key-id", "alias/cli",
            "--plaintext", "from the cli",
            "--encryption-context", "app=cli",
        ).stdout
    )
    blob_path = os.path.join(tmp_path, "blob")
    with open(blob_path, "wb") as f:
        f.write(base64.b64decode(enc["CiphertextBlob"]))
    dec = json.loads(
        server.cli(
            "kms", "decrypt", "--ciphertext-blob", "fileb://" + blob_path,
            "--encryption-context", "app=cli",
        ).stdout
    )
    assert base64.b64decode(dec["Plaintext"]) == b"from the cli"
    aliases = json.loads(server.cli("kms", "list-aliases", "--key-id", key_id).stdout)["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/cli"]




def test_test_clock_is_dev_only(server):
    with pytest.raises(urllib.error.HTTPError) as err:
        advance(server, 60)
    assert err.value.code == 404


def test_test_clock_expires_sts_sessions_and_ends_deletion_windows(dev_server):
    iam = dev_server.client("iam")
    iam.create_user(UserName="clocked")
    key = iam.create_access_key(UserName="clocked")["AccessKey"]
    sts = dev_server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    session = dev_server.client(
        "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    assert session.get_caller_identity()["Arn"].endswith(":user/clocked")
    before = advance(dev_server, 0)["epoch_seconds"]
    after = advance(dev_server, 901)["epoch_seconds"]
    assert after - before >= 901
    with pytest.raises(ClientError) as err:
        session.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "ExpiredToken"

    kms = dev_server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    out = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion"
    advance(dev_server, 6 * 86400)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    advance(dev_server, 86400 + 60)
    with pytest.raises(ClientError) as err:
        kms.describe_key(KeyId=key_id)
    assert err.value.response["Error"]["Code"] == "NotFoundException"


def test_sign_messages_stay_out_of_the_trail_which_reaches_back_90_days(dev_server):
    kms = dev_server.client("kms")
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    message = b"a very private message"
    kms.sign(KeyId=key_id, Message=message, SigningAlgorithm="ECDSA_SHA_256")
    trail = dev_server.client("cloudtrail")
    by_name = [{"AttributeKey": "EventName", "AttributeValue": "Sign"}]
    deadline = time.time() + 5
    while True:
        events = trail.lookup_events(LookupAttributes=by_name)["Events"]
        if events or time.time() > deadline:
            break
        time.sleep(0.1)
    assert len(events) == 1
    raw = events[0]["CloudTrailEvent"]
    assert base64.b64encode(message).decode() not in raw
    record = json.loads(raw)
    # As in AWS's records of Sign: the message is left out, the rest is shown.
    assert "message" not in record["requestParameters"]
    assert record["requestParameters"]["keyId"] == key_id
    assert record["requestParameters"]["signingAlgorithm"] == "ECDSA_SHA_256"
    # Event history covers 90 days, even for a start time long before them.
    advance(dev_server, 91 * 86_400)
    assert trail.lookup_events(LookupAttributes=by_name)["Events"] == []
    assert trail.lookup_events(LookupAttributes=by_name, StartTime=0)["Events"] == []


CURVES = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1, "ECC_NIST_P521": ec.SECP521R1}


@pytest.mark.parametrize("spec", sorted(CURVES))
def test_derive_shared_secret_agrees_with_a_local_ecdh_peer(kms, spec):
    key = kms.create_key(KeySpec=spec, KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
    assert key["KeyAgreementAlgorithms"] == ["ECDH"] and "SigningAlgorithms" not in key
    public = kms.get_public_key(KeyId=key["KeyId"])
    assert public["KeyAgreementAlgorithms"] == ["ECDH"] and public["KeyUsage"] == "KEY_AGREEMENT"
    theirs = serialization.load_der_public_key(public["PublicKey"])
    # Bob's key pair, made outside Rampart, on the same curve.
    bob = ec.generate_private_key(CURVES[spec]())
    bob_public = bob.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    out = kms.derive_shared_secret(
        KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=bob_public
    )
    assert out["KeyId"] == key["Arn"] and out["KeyAgreementAlgorithm"] == "ECDH"
    assert out["KeyOrigin"] == "AWS_KMS"
    assert out["SharedSecret"] == bob.exchange(ec.ECDH(), theirs)


def test_derive_shared_secret_errors_and_trail(dev_server):
    kms = dev_server.client("kms")
    alice = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
    bob = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
    alice_pub = kms.get_public_key(KeyId=alice)["PublicKey"]
    bob_pub = kms.get_public_key(KeyId=bob)["PublicKey"]
    # Two KMS key pairs agree with each other.
    ab = kms.derive_shared_secret(KeyId=alice, KeyAgreementAlgorithm="ECDH", PublicKey=bob_pub)
    ba = kms.derive_shared_secret(KeyId=bob, KeyAgreementAlgorithm="ECDH", PublicKey=alice_pub)
    assert ab["SharedSecret"] == ba["SharedSecret"] and len(ab["SharedSecret"]) == 32

    def code(call):
        with pytest.raises(ClientError) as e:
            call()
        return e.value.response["Error"]["Code"]

    # A peer on another curve, and bytes that are no key.
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for bad in (p384, b"not a key"):
        assert code(lambda: kms.derive_shared_secret(
            KeyId=alice, KeyAgreementAlgorithm="ECDH", PublicKey=bad)) == "ValidationException"
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    assert code(lambda: kms.derive_shared_secret(
        KeyId=signing, KeyAgreementAlgorithm="ECDH", PublicKey=bob_pub)) == "InvalidKeyUsageException"
    assert code(lambda: kms.create_key(
        KeySpec="ECC_SECG_P256K1", KeyUsage="KEY_AGREEMENT")) == "ValidationException"
    assert code(lambda: kms.sign(
        KeyId=alice, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")) == "InvalidKeyUsageException"
    assert code(lambda: kms.derive_shared_secret(
        KeyId=alice, KeyAgreementAlgorithm="ECDH", PublicKey=bob_pub, DryRun=True)) == "DryRunOperationException"
    kms.disable_key(KeyId=alice)
    assert code(lambda: kms.derive_shared_secret(
        KeyId=alice, KeyAgreementAlgorithm="ECDH", PublicKey=bob_pub)) == "DisabledException"

    # The trail records the calls, never the secret.
    trail = dev_server.client("cloudtrail")
    by_name = [{"AttributeKey": "EventName", "AttributeValue": "DeriveSharedSecret"}]
    events = trail.lookup_events(LookupAttributes=by_name)["Events"]
    assert len(events) >= 2
    secret = base64.b64encode(ab["SharedSecret"]).decode()
    assert all(secret not in e["CloudTrailEvent"] for e in events)
