"""Multi-Region KMS keys with boto3, one client per region: a primary in us-east-1 replicated to
eu-west-1 shares its key id and material (ciphertexts and signatures cross regions), each side
describes the relationship, the primary Region moves, replicas of imported material take only
the primary's material, AWS's errors and deletion order hold, ReplicateKey needs kms:CreateKey
in the replica Region, and everything survives a restart."""

import json
import os
import time

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from conftest import Server, advance

EAST, WEST, SOUTH = "us-east-1", "eu-west-1", "ap-south-1"


def code(call):
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def clients(server, **creds):
    return server.client("kms", region=EAST, **creds), server.client("kms", region=WEST, **creds)


def config(kms, key_id):
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]


def test_a_replica_decrypts_the_primarys_ciphertext_and_both_sides_describe_it(server):
    east, west = clients(server)
    meta = east.create_key(MultiRegion=True, Description="primary")["KeyMetadata"]
    key_id = meta["KeyId"]
    assert key_id.startswith("mrk-") and len(key_id) == 36
    assert meta["MultiRegion"] is True
    assert meta["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "PRIMARY",
        "PrimaryKey": {"Arn": meta["Arn"], "Region": EAST},
        "ReplicaKeys": [],
    }

    out = east.replicate_key(
        KeyId=key_id,
        ReplicaRegion=WEST,
        Description="replica",
        Tags=[{"TagKey": "team", "TagValue": "west"}],
    )
    replica = out["ReplicaKeyMetadata"]
    assert replica["KeyId"] == key_id
    assert replica["Arn"] == meta["Arn"].replace(EAST, WEST)
    assert replica["KeyState"] == "Enabled"
    assert replica["Description"] == "replica"
    assert out["ReplicaTags"] == [{"TagKey": "team", "TagValue": "west"}]
    assert json.loads(out["ReplicaPolicy"])["Statement"][0]["Action"] == "kms:*"

    # The same material on both sides: each decrypts what the other encrypted, without KeyId.
    blob = east.encrypt(KeyId=key_id, Plaintext=b"from the east")["CiphertextBlob"]
    back = west.decrypt(CiphertextBlob=blob)
    assert back["Plaintext"] == b"from the east"
    assert back["KeyId"] == replica["Arn"]
    blob = west.encrypt(KeyId=key_id, Plaintext=b"from the west", EncryptionContext={"a": "b"})[
        "CiphertextBlob"
    ]
    assert east.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == (
        b"from the west"
    )
    assert code(lambda: east.decrypt(CiphertextBlob=blob)) == "InvalidCiphertextException"

    # Both sides describe the relationship; each region lists its own member.
    for kms, kind in ((east, "PRIMARY"), (west, "REPLICA")):
        c = config(kms, key_id)
        assert c["MultiRegionKeyType"] == kind
        assert c["PrimaryKey"] == {"Arn": meta["Arn"], "Region": EAST}
        assert c["ReplicaKeys"] == [{"Arn": replica["Arn"], "Region": WEST}]
        assert {"KeyId": key_id, "KeyArn": kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]} in (
            kms.list_keys(Limit=1000)["Keys"]
        )
    # Independent properties stay apart.
    assert east.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "primary"
    assert east.list_resource_tags(KeyId=key_id)["Tags"] == []
    west.disable_key(KeyId=key_id)
    assert east.describe_key(KeyId=key_id)["KeyMetadata"]["Enabled"] is True
    assert code(lambda: west.encrypt(KeyId=key_id, Plaintext=b"x")) == "DisabledException"
    west.create_alias(AliasName="alias/west-only", TargetKeyId=key_id)
    assert code(lambda: east.describe_key(KeyId="alias/west-only")) == "NotFoundException"


def test_signatures_cross_regions(server):
    east, west = clients(server)
    key_id = east.create_key(MultiRegion=True, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")[
        "KeyMetadata"
    ]["KeyId"]
    east.replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    sig = east.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    ok = west.verify(KeyId=key_id, Message=b"m", Signature=sig, SigningAlgorithm="ECDSA_SHA_256")
    assert ok["SignatureValid"] is True
    assert west.get_public_key(KeyId=key_id)["PublicKey"] == east.get_public_key(KeyId=key_id)[
        "PublicKey"
    ]


def test_errors_have_aws_codes(server):
    east, west = clients(server)
    key_id = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    assert code(lambda: east.replicate_key(KeyId=key_id, ReplicaRegion=WEST)) == (
        "AlreadyExistsException"
    )
    assert code(lambda: east.replicate_key(KeyId=key_id, ReplicaRegion=EAST)) == (
        "UnsupportedOperationException"
    )
    # Only the primary replicates.
    assert code(lambda: west.replicate_key(KeyId=key_id, ReplicaRegion=SOUTH)) == (
        "UnsupportedOperationException"
    )
    single = east.create_key()["KeyMetadata"]["KeyId"]
    assert code(lambda: east.replicate_key(KeyId=single, ReplicaRegion=WEST)) == (
        "UnsupportedOperationException"
    )
    assert code(lambda: east.update_primary_region(KeyId=single, PrimaryRegion=WEST)) == (
        "UnsupportedOperationException"
    )
    assert code(lambda: east.replicate_key(KeyId="alias/nope", ReplicaRegion=WEST)) == (
        "NotFoundException"
    )
    assert code(lambda: east.update_primary_region(KeyId=key_id, PrimaryRegion=SOUTH)) == (
        "NotFoundException"
    )
    assert code(lambda: east.replicate_key(KeyId=key_id, ReplicaRegion="mars-1")) == (
        "ValidationException"
    )
    # Rotation is set on the primary and shared.
    assert code(lambda: west.enable_key_rotation(KeyId=key_id)) == "UnsupportedOperationException"
    east.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
    status = west.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 180
    east.rotate_key_on_demand(KeyId=key_id)
    east_meta = east.describe_key(KeyId=key_id)["KeyMetadata"]
    west_meta = west.describe_key(KeyId=key_id)["KeyMetadata"]
    assert east_meta["CurrentKeyMaterialId"] == west_meta["CurrentKeyMaterialId"]


def import_material(kms, key_id, material):
    params = kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    public = serialization.load_der_public_key(params["PublicKey"])
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return kms.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=public.encrypt(material, oaep),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )


def test_replicas_of_imported_material_take_only_the_same_material(server):
    east, west = clients(server)
    meta = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]
    key_id = meta["KeyId"]
    assert meta["KeyState"] == "PendingImport" and meta["MultiRegion"] is True
    replica = east.replicate_key(KeyId=key_id, ReplicaRegion=WEST)["ReplicaKeyMetadata"]
    assert replica["KeyState"] == "PendingImport"
    material = os.urandom(32)
    import_material(east, key_id, material)
    assert west.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    assert code(lambda: import_material(west, key_id, os.urandom(32))) == (
        "IncorrectKeyMaterialException"
    )
    import_material(west, key_id, material)
    blob = east.encrypt(KeyId=key_id, Plaintext=b"imported")["CiphertextBlob"]
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"


def test_update_primary_region_swaps_the_roles(server):
    east, west = clients(server)
    south = server.client("kms", region=SOUTH)
    key_id = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    east.replicate_key(KeyId=key_id, ReplicaRegion=SOUTH)
    assert east.update_primary_region(KeyId=key_id, PrimaryRegion=WEST)["ResponseMetadata"][
        "HTTPStatusCode"
    ] == 200
    for kms in (east, west, south):
        c = config(kms, key_id)
        assert c["PrimaryKey"]["Region"] == WEST
        assert [r["Region"] for r in c["ReplicaKeys"]] == [EAST, SOUTH]
    assert config(west, key_id)["MultiRegionKeyType"] == "PRIMARY"
    assert config(east, key_id)["MultiRegionKeyType"] == "REPLICA"
    # The new primary replicates and rotates; the old one no longer does.
    assert code(lambda: east.update_primary_region(KeyId=key_id, PrimaryRegion=WEST)) == (
        "UnsupportedOperationException"
    )
    assert code(lambda: east.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2")) == (
        "UnsupportedOperationException"
    )
    west.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2")
    assert len(config(east, key_id)["ReplicaKeys"]) == 3


def test_a_primary_is_deleted_only_after_its_replicas(dev_server):
    east, west = clients(dev_server)
    key_id = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    out = east.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingReplicaDeletion"
    assert out["PendingWindowInDays"] == 7
    assert "DeletionDate" not in out
    meta = east.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingReplicaDeletion"
    assert meta["PendingDeletionWindowInDays"] == 7
    assert "DeletionDate" not in meta
    assert code(lambda: east.encrypt(KeyId=key_id, Plaintext=b"x")) == "KMSInvalidStateException"
    # The replica still works, and the primary waits however long its replicas live.
    blob = west.encrypt(KeyId=key_id, Plaintext=b"kept")["CiphertextBlob"]
    advance(dev_server, 30 * 86400)
    assert east.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingReplicaDeletion"

    west.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    advance(dev_server, 7 * 86400 + 60)
    assert code(lambda: west.describe_key(KeyId=key_id)) == "NotFoundException"
    meta = wait_for_state(east, key_id, "PendingDeletion")
    assert meta["MultiRegionConfiguration"]["ReplicaKeys"] == []
    assert meta["DeletionDate"]
    # Until its own window ends, cancelling brings the primary back.
    east.cancel_key_deletion(KeyId=key_id)
    east.enable_key(KeyId=key_id)
    assert east.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
    east.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    advance(dev_server, 7 * 86400 + 60)
    assert code(lambda: east.describe_key(KeyId=key_id)) == "NotFoundException"


def wait_for_state(kms, key_id, state):
    """The scheduler runs when the clock moves; its transaction may land a moment later."""
    for _ in range(50):
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        if meta["KeyState"] == state:
            return meta
        time.sleep(0.1)
    raise AssertionError(f"{key_id} never reached {state}: {meta['KeyState']}")


def test_replicate_key_needs_create_key_in_the_replica_region(fresh_server):
    iam = fresh_server.client("iam")
    iam.create_user(UserName="replicator")
    key = iam.create_access_key(UserName="replicator")["AccessKey"]
    creds = dict(key=key["AccessKeyId"], secret=key["SecretAccessKey"])

    def allow(statements):
        iam.put_user_policy(
            UserName="replicator",
            PolicyName="kms",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )

    base = [
        {"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:Encrypt", "kms:Decrypt"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": EAST},
                       "Bool": {"kms:MultiRegion": "true"}}},
        {"Effect": "Allow", "Action": "kms:ReplicateKey", "Resource": "*",
         "Condition": {"StringEquals": {"kms:ReplicaRegion": WEST,
                                        "kms:MultiRegionKeyType": "PRIMARY"}}},
    ]
    allow(base)
    east, west = clients(fresh_server, **creds)
    # kms:MultiRegion gates CreateKey.
    assert code(lambda: east.create_key()) == "AccessDeniedException"
    key_id = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    # kms:ReplicateKey alone is not enough: kms:CreateKey must be allowed in the replica Region.
    assert code(lambda: east.replicate_key(KeyId=key_id, ReplicaRegion=WEST)) == (
        "AccessDeniedException"
    )
    allow(base + [{"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*",
                   "Condition": {"StringEquals": {"aws:RequestedRegion": [WEST, SOUTH],
                                                  "kms:MultiRegionKeyType": "REPLICA"}}}])
    # A replica's Policy passes the lockout safety check: this user could not put it again.
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account(fresh_server)}:root"},
        "Action": "kms:*", "Resource": "*"}]})
    assert code(lambda: east.replicate_key(KeyId=key_id, ReplicaRegion=WEST, Policy=policy)) == (
        "MalformedPolicyDocumentException"
    )
    # kms:ReplicaRegion limits where the key goes.
    assert code(lambda: east.replicate_key(KeyId=key_id, ReplicaRegion=SOUTH)) == (
        "AccessDeniedException"
    )
    # Tags need kms:TagResource in the replica Region too.
    tags = [{"TagKey": "t", "TagValue": "v"}]
    assert code(lambda: east.replicate_key(KeyId=key_id, ReplicaRegion=WEST, Tags=tags)) == (
        "AccessDeniedException"
    )
    east.replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    assert config(west, key_id)["MultiRegionKeyType"] == "REPLICA"

    # UpdatePrimaryRegion asks on both keys.
    allow(base + [{"Effect": "Allow", "Action": "kms:UpdatePrimaryRegion",
                   "Resource": f"arn:aws:kms:{EAST}:*:key/*"}])
    assert code(lambda: east.update_primary_region(KeyId=key_id, PrimaryRegion=WEST)) == (
        "AccessDeniedException"
    )
    allow(base + [{"Effect": "Allow", "Action": "kms:UpdatePrimaryRegion", "Resource": "*",
                   "Condition": {"StringEquals": {"kms:PrimaryRegion": WEST}}}])
    east.update_primary_region(KeyId=key_id, PrimaryRegion=WEST)
    assert config(west, key_id)["MultiRegionKeyType"] == "PRIMARY"


def account(server):
    return server.client("sts").get_caller_identity()["Account"]


def test_multi_region_keys_survive_a_restart():
    first = Server()
    east, west = clients(first)
    key_id = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key_id, ReplicaRegion=WEST, Description="kept")
    blob = east.encrypt(KeyId=key_id, Plaintext=b"durable")["CiphertextBlob"]
    first.stop()
    again = Server(data_dir=first.data_dir)
    try:
        east, west = clients(again)
        assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"durable"
        assert west.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "kept"
        assert config(east, key_id)["ReplicaKeys"][0]["Region"] == WEST
        # The call is audited like every KMS call, in the caller's (the primary's) region.
        trail = again.client("cloudtrail", region=EAST)
        by_name = [{"AttributeKey": "EventName", "AttributeValue": "ReplicateKey"}]
        deadline = time.time() + 5
        while not (events := trail.lookup_events(LookupAttributes=by_name)["Events"]):
            assert time.time() < deadline, "no ReplicateKey event"
            time.sleep(0.1)
        record = json.loads(events[0]["CloudTrailEvent"])
        assert record["awsRegion"] == EAST
        assert record["requestParameters"]["replicaRegion"] == WEST
        assert record["requestParameters"]["keyId"] == key_id
    finally:
        again.stop()
