"""EnableAllFeatures with boto3, as AWS runs it: a consolidated-billing organization asks every
account that joined by invitation (not those it created), each accepts its handshake, then
Organizations sends the management account an APPROVE_ALL_FEATURES handshake whose acceptance
turns on all features. Invitations and a second request are refused meanwhile, and canceling
the request cancels its handshakes."""

import pytest
from botocore.exceptions import ClientError

from test_organizations import code, create_account, member_root


def _reason(excinfo):
    return excinfo.value.response.get("Reason")


def _joined_by_invitation(server, orgs, name):
    """An account made by the organization, removed and invited back: it joined by invitation."""
    account = create_account(orgs, name, f"{name}@example.com")
    orgs.remove_account_from_organization(AccountId=account)
    key, secret = member_root(server, account)
    member = server.client("organizations", key=key, secret=secret)
    invite = orgs.invite_account_to_organization(Target={"Id": account, "Type": "ACCOUNT"})
    member.accept_handshake(HandshakeId=invite["Handshake"]["Id"])
    return account, member


def _part_for(member):
    """The member's open ENABLE_ALL_FEATURES handshake."""
    found = [
        h
        for h in member.list_handshakes_for_account(Filter={"ActionType": "ENABLE_ALL_FEATURES"})[
            "Handshakes"
        ]
        if h["State"] == "OPEN"
    ]
    assert len(found) == 1, found
    return found[0]


def test_enable_all_features_through_handshakes(fresh_server):
    server = fresh_server
    orgs = server.client("organizations")
    org = orgs.create_organization(FeatureSet="CONSOLIDATED_BILLING")["Organization"]
    made = create_account(orgs, "made", "made@example.com")
    guest, guest_orgs = _joined_by_invitation(server, orgs, "guest")
    made_key, made_secret = member_root(server, made)
    made_orgs = server.client("organizations", key=made_key, secret=made_secret)
    root_id = orgs.list_roots()["Roots"][0]["Id"]

    # A request canceled by the management account cancels what it sent.
    first = orgs.enable_all_features()["Handshake"]
    orgs.cancel_handshake(HandshakeId=first["Id"])
    assert guest_orgs.list_handshakes_for_account(Filter={"ParentHandshakeId": first["Id"]})[
        "Handshakes"
    ][0]["State"] == "CANCELED"

    request = orgs.enable_all_features()["Handshake"]
    assert request["Action"] == "ENABLE_ALL_FEATURES"
    assert request["State"] == "REQUESTED"
    assert request["Parties"] == [{"Id": org["Id"], "Type": "ORGANIZATION"}]
    assert request["Arn"] == (
        f"arn:aws:organizations::{org['MasterAccountId']}:handshake/{org['Id']}"
        f"/enable_all_features/{request['Id']}"
    )
    with pytest.raises(ClientError) as e:
        orgs.enable_all_features()
    assert code(e) == "HandshakeConstraintViolationException"
    assert _reason(e) == "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION"
    with pytest.raises(ClientError) as e:
        orgs.invite_account_to_organization(Target={"Id": "999988887777", "Type": "ACCOUNT"})
    assert _reason(e) == "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES"
    # Not yet: the invited member has not approved.
    with pytest.raises(ClientError) as e:
        orgs.accept_handshake(HandshakeId=request["Id"])
    assert code(e) == "InvalidHandshakeTransitionException"
    with pytest.raises(ClientError) as e:
        orgs.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    assert code(e) == "PolicyTypeNotAvailableForOrganizationException"

    # Only the invited account is asked.
    part = _part_for(guest_orgs)
    assert {"Type": "PARENT_HANDSHAKE", "Value": request["Id"]} in part["Resources"]
    assert {"Id": guest, "Type": "ACCOUNT"} in part["Parties"]
    assert made_orgs.list_handshakes_for_account()["Handshakes"] == []
    by_parent = orgs.list_handshakes_for_organization(Filter={"ParentHandshakeId": request["Id"]})
    assert [h["Id"] for h in by_parent["Handshakes"]] == [part["Id"]]
    # The management account cannot answer for the member.
    with pytest.raises(ClientError) as e:
        orgs.accept_handshake(HandshakeId=part["Id"])
    assert code(e) == "InvalidHandshakeTransitionException"

    assert guest_orgs.accept_handshake(HandshakeId=part["Id"])["Handshake"]["State"] == "ACCEPTED"
    assert orgs.describe_handshake(HandshakeId=request["Id"])["Handshake"]["State"] == "OPEN"
    approvals = orgs.list_handshakes_for_organization(
        Filter={"ActionType": "APPROVE_ALL_FEATURES"}
    )["Handshakes"]
    assert len(approvals) == 1 and approvals[0]["State"] == "OPEN"
    assert orgs.describe_organization()["Organization"]["FeatureSet"] == "CONSOLIDATED_BILLING"
    # A member is no party to the approval.
    with pytest.raises(ClientError) as e:
        guest_orgs.accept_handshake(HandshakeId=approvals[0]["Id"])
    assert code(e) == "HandshakeNotFoundException"

    final = orgs.accept_handshake(HandshakeId=approvals[0]["Id"])["Handshake"]
    assert final["State"] == "ACCEPTED"
    assert orgs.describe_organization()["Organization"]["FeatureSet"] == "ALL"
    assert orgs.describe_handshake(HandshakeId=request["Id"])["Handshake"]["State"] == "ACCEPTED"
    with pytest.raises(ClientError) as e:
        orgs.enable_all_features()
    assert _reason(e) == "ORGANIZATION_ALREADY_HAS_ALL_FEATURES"
    # Policy types are now available (turned on one by one, as in AWS).
    orgs.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    # Invitations are open again (this account does not exist).
    with pytest.raises(ClientError) as e:
        orgs.invite_account_to_organization(Target={"Id": "999988887777", "Type": "ACCOUNT"})
    assert code(e) == "InvalidInputException"


def test_without_invited_accounts_the_management_account_finalizes_at_once(fresh_server):
    orgs = fresh_server.client("organizations")
    orgs.create_organization(FeatureSet="CONSOLIDATED_BILLING")
    create_account(orgs, "only-made", "only-made@example.com")
    request = orgs.enable_all_features()["Handshake"]
    assert request["State"] == "OPEN"
    # Finalizing through the request itself, as AWS's reference describes it.
    assert orgs.accept_handshake(HandshakeId=request["Id"])["Handshake"]["State"] == "ACCEPTED"
    assert orgs.describe_organization()["Organization"]["FeatureSet"] == "ALL"
    approval = orgs.list_handshakes_for_organization(
        Filter={"ActionType": "APPROVE_ALL_FEATURES"}
    )["Handshakes"]
    assert [h["State"] for h in approval] == ["ACCEPTED"]
