"""Organizations CreateGovCloudAccount with boto3: in the commercial partition's management
account it creates a commercial member account and pairs it with an account of the
aws-us-gov partition, whose id DescribeCreateAccountStatus shows as GovCloudAccountId; the
pairing is recorded (the status, the CloudTrail records, a hand-over file for the GovCloud
installation), and an aws-us-gov installation started with that id serves the GovCloud
account. Refused as AWS refuses it: outside an organization, from a member account, with a
bad email, and on a server of another partition."""

import json
import os
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Server
from orgs import member_client, wait_created

GOV = "us-gov-west-1"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def events(server, name):
    """The CloudTrail records of `name` (polled: the audit writer commits a moment later)."""
    trail = server.client("cloudtrail")
    by_name = [{"AttributeKey": "EventName", "AttributeValue": name}]
    for _ in range(50):
        found = trail.lookup_events(LookupAttributes=by_name)["Events"]
        if found:
            return [json.loads(e["CloudTrailEvent"]) for e in found]
        time.sleep(0.1)
    raise AssertionError(f"no {name} record")


def test_govcloud_account_is_created_paired_and_recorded(fresh_server, monkeypatch):
    server = fresh_server
    orgs = server.client("organizations")
    with pytest.raises(ClientError) as e:
        orgs.create_gov_cloud_account(Email="gov@example.com", AccountName="gov")
    assert code(e) == "AWSOrganizationsNotInUseException"
    orgs.create_organization(FeatureSet="ALL")

    started = orgs.create_gov_cloud_account(
        Email="gov@example.com",
        AccountName="gov",
        IamUserAccessToBilling="DENY",
        Tags=[{"Key": "team", "Value": "federal"}],
    )["CreateAccountStatus"]
    assert started["State"] == "IN_PROGRESS"
    assert started["Id"].startswith("car-")
    assert "GovCloudAccountId" not in started
    done = wait_created(orgs, started["Id"])
    assert done["State"] == "SUCCEEDED", done
    commercial, gov = done["AccountId"], done["GovCloudAccountId"]
    assert len(gov) == 12 and gov.isdigit() and gov != commercial
    listed = orgs.list_create_account_status(States=["SUCCEEDED"])["CreateAccountStatuses"]
    assert [s["GovCloudAccountId"] for s in listed if s["Id"] == started["Id"]] == [gov]

    # The commercial account is a member with the request's tags and access role; the
    # GovCloud account is not an account of this (commercial) installation.
    account = orgs.describe_account(AccountId=commercial)["Account"]
    assert (account["Email"], account["JoinedMethod"]) == ("gov@example.com", "CREATED")
    assert orgs.list_tags_for_resource(ResourceId=commercial)["Tags"] == [
        {"Key": "team", "Value": "federal"}
    ]
    sts = member_client(server, "sts", commercial)
    assert sts.get_caller_identity()["Account"] == commercial
    with pytest.raises(ClientError) as e:
        orgs.describe_account(AccountId=gov)
    assert code(e) == "AccountNotFoundException"

    # The call and its result are in the management account's trail.
    call = events(server, "CreateGovCloudAccount")[0]
    # Its sensitive members are hidden, as AWS records them.
    assert call["requestParameters"]["email"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert call["requestParameters"]["accountName"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    result = events(server, "CreateAccountResult")[0]
    status = result["serviceEventDetails"]["createAccountStatus"]
    assert (status["accountId"], status["govCloudAccountId"]) == (commercial, gov)

    # The hand-over for the GovCloud installation, beside the commercial root key.
    path = os.path.join(server.data_dir, "accounts", commercial, "govcloud-account.json")
    with open(path) as f:
        handover = json.load(f)
    assert handover["GovCloudAccountId"] == gov
    assert handover["PairedAccountId"] == commercial
    assert handover["Email"] == "gov@example.com"
    assert handover["Partition"] == "aws-us-gov"

    # Started with that id, an aws-us-gov installation serves the GovCloud account.
    monkeypatch.setenv("RAMPART_ACCOUNT_ID", gov)
    monkeypatch.setenv("RAMPART_ROOT_EMAIL", handover["Email"])
    gov_server = Server("--region", GOV)
    try:
        me = gov_server.client("sts", region=GOV).get_caller_identity()
        assert me["Account"] == gov
        assert me["Arn"] == f"arn:aws-us-gov:iam::{gov}:root"
        # There it is the installation's own account: it cannot pair another GovCloud
        # account (GovCloud serves no CreateGovCloudAccount).
        gov_orgs = gov_server.client("organizations", region=GOV)
        gov_orgs.create_organization(FeatureSet="ALL")
        assert gov_orgs.describe_organization()["Organization"]["MasterAccountEmail"] == (
            "gov@example.com"
        )
        with pytest.raises(ClientError) as e:
            gov_orgs.create_gov_cloud_account(Email="other@example.com", AccountName="x")
        assert code(e) == "UnsupportedAPIEndpointException"
        assert gov_orgs.list_create_account_status()["CreateAccountStatuses"] == []
    finally:
        gov_server.stop()


def test_refusals_change_nothing(fresh_server):
    server = fresh_server
    orgs = server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    member = orgs.create_account(Email="member@example.com", AccountName="member")
    member_id = wait_created(orgs, member["CreateAccountStatus"]["Id"])["AccountId"]
    before = orgs.list_create_account_status()["CreateAccountStatuses"]

    for email in ("not-an-email", "abc@example"):
        with pytest.raises(ClientError) as e:
            orgs.create_gov_cloud_account(Email=email, AccountName="gov")
        # The model's EmailAddress pattern, answered as Organizations answers any pattern.
        assert code(e) == "InvalidInputException"
        assert e.value.response["Reason"] == "INVALID_PATTERN"
    with pytest.raises(ClientError) as e:
        orgs.create_gov_cloud_account(Email="gov@example.com", AccountName="gov", RoleName="bad/role")
    assert e.value.response["Reason"] == "INVALID_PATTERN"

    # Only the management account may call it.
    with pytest.raises(ClientError) as e:
        member_client(server, "organizations", member_id).create_gov_cloud_account(
            Email="gov@example.com", AccountName="gov"
        )
    assert code(e) == "AccessDeniedException"

    # An email an account already has: the request fails as CreateAccount's does.
    failed = orgs.create_gov_cloud_account(Email="member@example.com", AccountName="again")
    done = wait_created(orgs, failed["CreateAccountStatus"]["Id"])
    assert (done["State"], done["FailureReason"]) == ("FAILED", "EMAIL_ALREADY_EXISTS")
    assert "GovCloudAccountId" not in done and "AccountId" not in done
    after = orgs.list_create_account_status()["CreateAccountStatuses"]
    assert len(after) == len(before) + 1
    assert len(orgs.list_accounts()["Accounts"]) == 2
