"""Secrets Manager replication end to end with boto3 clients in two regions: replicas are
read-only copies (same name, ARN in the other region, PrimaryRegion, ReplicationStatus),
sealed with a KMS key of the replica region, kept in step with the primary's values and labels,
removed with RemoveRegionsFromReplication and promoted with StopReplicationToReplica."""

import json
import time

import pytest
from botocore.exceptions import ClientError

PRIMARY = "us-east-1"
REPLICA = "eu-west-1"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def wait_in_sync(sm, secret_id, region=REPLICA, timeout=15):
    deadline = time.time() + timeout
    while True:
        status = {s["Region"]: s for s in sm.describe_secret(SecretId=secret_id)["ReplicationStatus"]}
        if status[region]["Status"] != "InProgress" or time.time() > deadline:
            return status[region]
        time.sleep(0.2)


@pytest.fixture(scope="module")
def clients(server):
    return (server.client("secretsmanager", region=PRIMARY),
            server.client("secretsmanager", region=REPLICA),
            server.client("kms", region=REPLICA))


def test_replicas_follow_their_primary_and_refuse_writes(clients):
    primary, replica, _ = clients
    out = primary.create_secret(Name="repl/app", SecretString="v1", Description="d",
                                Tags=[{"Key": "team", "Value": "blue"}],
                                AddReplicaRegions=[{"Region": REPLICA}])
    arn = out["ARN"]
    assert out["ReplicationStatus"][0]["Region"] == REPLICA
    assert wait_in_sync(primary, arn)["Status"] == "InSync"
    replica_arn = arn.replace(f":{PRIMARY}:", f":{REPLICA}:")

    described = replica.describe_secret(SecretId="repl/app")
    assert described["ARN"] == replica_arn
    assert described["PrimaryRegion"] == PRIMARY
    assert described["Description"] == "d"
    assert described["Tags"] == [{"Key": "team", "Value": "blue"}]
    assert primary.describe_secret(SecretId=arn)["PrimaryRegion"] == PRIMARY
    assert replica.get_secret_value(SecretId=replica_arn)["SecretString"] == "v1"

    # The primary's new value and labels reach the replica.
    v2 = primary.put_secret_value(SecretId=arn, SecretString="v2")["VersionId"]
    assert wait_in_sync(primary, arn)["Status"] == "InSync"
    assert replica.get_secret_value(SecretId="repl/app")["SecretString"] == "v2"
    previous = replica.get_secret_value(SecretId="repl/app", VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == "v1"
    assert replica.describe_secret(SecretId="repl/app")["VersionIdsToStages"][v2] == ["AWSCURRENT"]

    # ListSecrets finds both by their primary region.
    for sm, expected in ((primary, arn), (replica, replica_arn)):
        listed = sm.list_secrets(Filters=[{"Key": "primary-region", "Values": [PRIMARY]}])
        assert [s["ARN"] for s in listed["SecretList"]] == [expected]
        assert listed["SecretList"][0]["PrimaryRegion"] == PRIMARY

    # Writes go through the primary.
    for call in (
        lambda: replica.put_secret_value(SecretId="repl/app", SecretString="nope"),
        lambda: replica.update_secret(SecretId="repl/app", Description="nope"),
        lambda: replica.tag_resource(SecretId="repl/app", Tags=[{"Key": "k", "Value": "v"}]),
        lambda: replica.delete_secret(SecretId="repl/app"),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert code(err) == "InvalidRequestException"
    # A primary with replicas is not deleted.
    with pytest.raises(ClientError) as err:
        primary.delete_secret(SecretId=arn)
    assert code(err) == "InvalidRequestException"

    # Removing the region deletes the replica.
    left = primary.remove_regions_from_replication(SecretId=arn, RemoveReplicaRegions=[REPLICA])
    assert left["ReplicationStatus"] == []
    with pytest.raises(ClientError) as err:
        replica.describe_secret(SecretId="repl/app")
    assert code(err) == "ResourceNotFoundException"
    assert "PrimaryRegion" not in primary.describe_secret(SecretId=arn)


def test_replica_values_are_sealed_with_the_replica_regions_key(server, clients):
    primary, replica, kms = clients
    key = kms.create_key(Description="replica key")["KeyMetadata"]["Arn"]
    arn = primary.create_secret(Name="repl/cmk", SecretString="sealed")["ARN"]
    out = primary.replicate_secret_to_regions(
        SecretId=arn, AddReplicaRegions=[{"Region": REPLICA, "KmsKeyId": key}])
    assert out["ARN"] == arn
    assert out["ReplicationStatus"] == [
        {"Region": REPLICA, "KmsKeyId": key, "Status": "InProgress"}]
    assert wait_in_sync(primary, arn)["Status"] == "InSync"
    assert replica.describe_secret(SecretId="repl/cmk")["KmsKeyId"] == key
    assert replica.get_secret_value(SecretId="repl/cmk")["SecretString"] == "sealed"
    # The replication's KMS calls are in the trail, made through Secrets Manager.
    trail = server.client("cloudtrail", region=REPLICA)
    events = [json.loads(e["CloudTrailEvent"]) for e in trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "GenerateDataKey"}])["Events"]]
    sealed_here = [e for e in events if e["awsRegion"] == REPLICA
                   and e["requestParameters"]["keyId"] == key]
    assert sealed_here, events
    assert sealed_here[0]["userIdentity"]["invokedBy"] == "secretsmanager.amazonaws.com"
    # The replica's key disabled: the replica is unreadable, the primary is not.
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as err:
        replica.get_secret_value(SecretId="repl/cmk")
    assert code(err) == "DecryptionFailure"
    assert primary.get_secret_value(SecretId=arn)["SecretString"] == "sealed"
    # A new value cannot be sealed there: the replica fails with the reason.
    primary.put_secret_value(SecretId=arn, SecretString="next")
    failed = wait_in_sync(primary, arn)
    assert failed["Status"] == "Failed" and failed["StatusMessage"]
    kms.enable_key(KeyId=key)
    primary.put_secret_value(SecretId=arn, SecretString="after")
    assert wait_in_sync(primary, arn)["Status"] == "InSync"
    assert replica.get_secret_value(SecretId="repl/cmk")["SecretString"] == "after"


def test_a_name_taken_in_the_region_needs_force_overwrite(clients):
    primary, replica, _ = clients
    replica.create_secret(Name="repl/taken", SecretString="theirs")
    arn = primary.create_secret(Name="repl/taken", SecretString="ours")["ARN"]
    primary.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[{"Region": REPLICA}])
    failed = wait_in_sync(primary, arn)
    assert failed["Status"] == "Failed"
    assert replica.get_secret_value(SecretId="repl/taken")["SecretString"] == "theirs"
    primary.remove_regions_from_replication(SecretId=arn, RemoveReplicaRegions=[REPLICA])
    # The standalone secret was not the replica: it is still there.
    assert replica.get_secret_value(SecretId="repl/taken")["SecretString"] == "theirs"
    primary.replicate_secret_to_regions(
        SecretId=arn, AddReplicaRegions=[{"Region": REPLICA}], ForceOverwriteReplicaSecret=True)
    assert wait_in_sync(primary, arn)["Status"] == "InSync"
    assert replica.get_secret_value(SecretId="repl/taken")["SecretString"] == "ours"


def test_stop_replication_promotes_the_replica(clients):
    primary, replica, _ = clients
    arn = primary.create_secret(Name="repl/promote", SecretString="one",
                                AddReplicaRegions=[{"Region": REPLICA}])["ARN"]
    assert wait_in_sync(primary, arn)["Status"] == "InSync"
    replica_arn = arn.replace(f":{PRIMARY}:", f":{REPLICA}:")
    with pytest.raises(ClientError) as err:
        primary.stop_replication_to_replica(SecretId=arn)
    assert code(err) == "InvalidRequestException"
    assert replica.stop_replication_to_replica(SecretId=replica_arn)["ARN"] == replica_arn
    described = replica.describe_secret(SecretId=replica_arn)
    assert "PrimaryRegion" not in described
    assert "PrimaryRegion" not in primary.describe_secret(SecretId=arn)
    # Standalone now: it takes writes, and the old primary's changes no longer reach it.
    replica.put_secret_value(SecretId=replica_arn, SecretString="mine")
    primary.put_secret_value(SecretId=arn, SecretString="two")
    time.sleep(1.5)
    assert replica.get_secret_value(SecretId=replica_arn)["SecretString"] == "mine"


def test_bad_regions_are_refused(clients):
    primary, _, _ = clients
    arn = primary.create_secret(Name="repl/bad", SecretString="x")["ARN"]
    # The model's pattern refuses a malformed region before the service sees it.
    for regions, expected in (([{"Region": PRIMARY}], "InvalidParameterException"),
                              ([{"Region": "not a region"}], "ValidationException")):
        with pytest.raises(ClientError) as err:
            primary.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=regions)
        assert code(err) == expected
    with pytest.raises(ClientError) as err:
        primary.create_secret(Name="repl/bad2", SecretString="x",
                              AddReplicaRegions=[{"Region": PRIMARY}])
    assert code(err) == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        primary.remove_regions_from_replication(SecretId=arn, RemoveReplicaRegions=[REPLICA])
    assert code(err) == "InvalidParameterException"
