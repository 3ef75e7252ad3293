"""KMS GetKeyLastUsage with boto3: a key's last successful cryptographic use, with the request
id and the CloudTrail event id of that call's record (the caller's own call, or the call a
service made on the caller's behalf), written a moment after the call; non-cryptographic and
failed calls do not count; ReEncrypt counts for both of its keys; aliases are refused. The
server's own work counts as AWS counts any successful cryptographic call: Secrets Manager
sealing a replica (here), CloudTrail's SSE-KMS log files (test_cloudtrail_trails.py)."""

import json
import time

import pytest
from botocore.exceptions import ClientError


def _last(kms, key, operation, tries=100):
    """The key's last use once it is `operation` (uses are written within about half a second)."""
    for _ in range(tries):
        out = kms.get_key_last_usage(KeyId=key)
        if out.get("KeyLastUsage", {}).get("Operation") == operation:
            return out
        time.sleep(0.05)
    raise AssertionError(f"last use of {key} never became {operation}: {out}")


def _event(server, event_id, name, region="us-east-1"):
    trail = server.client("cloudtrail", region=region)
    by_name = [{"AttributeKey": "EventName", "AttributeValue": name}]
    for e in trail.lookup_events(LookupAttributes=by_name, MaxResults=50)["Events"]:
        if e["EventId"] == event_id:
            return json.loads(e["CloudTrailEvent"])
    raise AssertionError(f"no {name} record with eventID {event_id}")


def test_last_use_names_the_call_and_its_trail_record(server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    fresh = kms.get_key_last_usage(KeyId=key["KeyId"])
    assert "KeyLastUsage" not in fresh
    assert fresh["KeyId"] == key["Arn"]
    assert fresh["KeyCreationDate"] == key["CreationDate"]

    sealed = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hello", EncryptionContext={"a": "b"})
    used = _last(kms, key["KeyId"], "Encrypt")
    last = used["KeyLastUsage"]
    assert last["KmsRequestId"] == sealed["ResponseMetadata"]["RequestId"]
    record = _event(server, last["CloudTrailEventId"], "Encrypt")
    assert record["requestID"] == last["KmsRequestId"]
    assert key["CreationDate"] <= last["Timestamp"]
    # Tracking began when this server first ran, before the key was made.
    assert used["TrackingStartDate"] <= used["KeyCreationDate"]

    # A failed decryption and a call that is not cryptographic leave it as it was.
    with pytest.raises(ClientError):
        kms.decrypt(CiphertextBlob=sealed["CiphertextBlob"], EncryptionContext={"a": "c"})
    kms.describe_key(KeyId=key["KeyId"])
    time.sleep(1.2)
    assert kms.get_key_last_usage(KeyId=key["KeyId"])["KeyLastUsage"] == last

    kms.decrypt(CiphertextBlob=sealed["CiphertextBlob"], EncryptionContext={"a": "b"})
    _last(kms, key["KeyId"], "Decrypt")

    # ReEncrypt is a use of both keys.
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    moved = kms.re_encrypt(
        CiphertextBlob=sealed["CiphertextBlob"],
        SourceEncryptionContext={"a": "b"},
        DestinationKeyId=other,
    )
    for k in (key["KeyId"], other):
        assert _last(kms, k, "ReEncrypt")["KeyLastUsage"]["KmsRequestId"] == (
            moved["ResponseMetadata"]["RequestId"]
        )

    # A disabled key still answers; an alias is not a key id here.
    kms.disable_key(KeyId=key["KeyId"])
    assert kms.get_key_last_usage(KeyId=key["Arn"])["KeyLastUsage"]["Operation"] == "ReEncrypt"
    kms.create_alias(AliasName="alias/last-usage", TargetKeyId=other)
    for bad in ("alias/last-usage", "1234abcd-12ab-34cd-56ef-1234567890ab"):
        with pytest.raises(ClientError) as err:
            kms.get_key_last_usage(KeyId=bad)
        assert err.value.response["Error"]["Code"] == "NotFoundException", bad


def test_a_service_calling_for_the_caller_uses_the_key(server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    sm = server.client("secretsmanager")
    sm.create_secret(Name="last-usage-sealed", SecretString="s3cr3t", KmsKeyId=key)
    last = _last(kms, key, "GenerateDataKey")["KeyLastUsage"]
    record = _event(server, last["CloudTrailEventId"], "GenerateDataKey")
    assert record["userIdentity"].get("invokedBy") == "secretsmanager.amazonaws.com"
    assert record["requestID"] == last["KmsRequestId"]
    sm.get_secret_value(SecretId="last-usage-sealed")
    _last(kms, key, "Decrypt")


def test_a_background_job_calling_kms_uses_the_key(server):
    """Secrets Manager's replication job seals the replica's value with a key of the replica
    region, on the owner's behalf and with no client request: that is a use of the key."""
    region = "eu-west-1"
    kms = server.client("kms", region=region)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    sm = server.client("secretsmanager")
    sm.create_secret(
        Name="last-usage-replicated",
        SecretString="s3cr3t",
        AddReplicaRegions=[{"Region": region, "KmsKeyId": key}],
    )
    last = _last(kms, key, "GenerateDataKey")["KeyLastUsage"]
    record = _event(server, last["CloudTrailEventId"], "GenerateDataKey", region)
    assert record["userIdentity"].get("invokedBy") == "secretsmanager.amazonaws.com"
    assert record["requestID"] == last["KmsRequestId"]
    assert record["awsRegion"] == region
