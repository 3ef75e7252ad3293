"""Security Hub cross-Region aggregation end to end with boto3: one finding aggregator per
account, managed from its aggregation Region; that Region's `GetFindings` sees the linked
Regions' findings and its `BatchUpdateFindings` changes them where they live."""

import uuid

import pytest
from botocore.exceptions import ClientError

import test_securityhub
from test_securityhub import fresh_hub

HOME = "us-east-1"
LINKED = "eu-west-1"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def by_id(sh, fid):
    fs = sh.get_findings(Filters={"Id": [{"Value": fid, "Comparison": "EQUALS"}]})["Findings"]
    return fs[0] if fs else None


def clear(sh):
    for a in sh.list_finding_aggregators()["FindingAggregators"]:
        sh.delete_finding_aggregator(FindingAggregatorArn=a["FindingAggregatorArn"])


def test_aggregation_region_sees_and_updates_linked_findings(server):
    test_securityhub.ACCOUNT = server.client("sts").get_caller_identity()["Account"]
    home = fresh_hub(server, HOME, EnableDefaultStandards=False)
    linked = fresh_hub(server, LINKED, EnableDefaultStandards=False)
    clear(home)
    tag = uuid.uuid4().hex[:8]
    here = test_securityhub.finding(HOME, f"agg-{tag}/home")
    there = test_securityhub.finding(LINKED, f"agg-{tag}/linked")
    assert home.batch_import_findings(Findings=[here])["FailedCount"] == 0
    assert linked.batch_import_findings(Findings=[there])["FailedCount"] == 0
    assert by_id(home, there["Id"]) is None  # no aggregator yet

    with pytest.raises(ClientError) as e:
        home.create_finding_aggregator(RegionLinkingMode="ALL_REGIONS", Regions=[LINKED])
    assert code(e) == "InvalidInputException"
    with pytest.raises(ClientError) as e:
        home.create_finding_aggregator(RegionLinkingMode="SPECIFIED_REGIONS")
    assert code(e) == "InvalidInputException"

    made = home.create_finding_aggregator(RegionLinkingMode="ALL_REGIONS")
    arn = made["FindingAggregatorArn"]
    assert arn.startswith(f"arn:aws:securityhub:{HOME}:{test_securityhub.ACCOUNT}:finding-aggregator/")
    assert made["FindingAggregationRegion"] == HOME and made["RegionLinkingMode"] == "ALL_REGIONS"
    with pytest.raises(ClientError) as e:
        linked.create_finding_aggregator(RegionLinkingMode="ALL_REGIONS")
    assert code(e) == "LimitExceededException"  # one per account
    assert [a["FindingAggregatorArn"] for a in linked.list_finding_aggregators()["FindingAggregators"]] == [arn]
    got = home.get_finding_aggregator(FindingAggregatorArn=arn)
    assert got["FindingAggregationRegion"] == HOME
    with pytest.raises(ClientError) as e:
        home.get_finding_aggregator(FindingAggregatorArn=arn[:-4] + "0000")
    assert code(e) == "ResourceNotFoundException"

    # The aggregation Region sees both; the linked Region only its own.
    seen = by_id(home, there["Id"])
    assert seen and seen["Region"] == LINKED
    assert by_id(home, here["Id"]) is not None
    assert by_id(linked, here["Id"]) is None

    # An update from the aggregation Region changes the linked Region's finding.
    out = home.batch_update_findings(
        FindingIdentifiers=[{"Id": there["Id"], "ProductArn": there["ProductArn"]}],
        Workflow={"Status": "NOTIFIED"},
        Note={"Text": "triaged centrally", "UpdatedBy": "soc"},
    )
    assert out["UnprocessedFindings"] == [] and len(out["ProcessedFindings"]) == 1
    back = by_id(linked, there["Id"])
    assert back["Workflow"]["Status"] == "NOTIFIED" and back["Note"]["Text"] == "triaged centrally"

    # Linking other Regions only (or all but this one) drops it from the view.
    upd = home.update_finding_aggregator(FindingAggregatorArn=arn, RegionLinkingMode="SPECIFIED_REGIONS", Regions=["us-west-2"])
    assert upd["Regions"] == ["us-west-2"]
    assert by_id(home, there["Id"]) is None
    home.update_finding_aggregator(FindingAggregatorArn=arn, RegionLinkingMode="ALL_REGIONS_EXCEPT_SPECIFIED", Regions=[LINKED])
    assert by_id(home, there["Id"]) is None
    home.update_finding_aggregator(FindingAggregatorArn=arn, RegionLinkingMode="ALL_REGIONS_EXCEPT_SPECIFIED", Regions=["us-west-2"])
    assert by_id(home, there["Id"]) is not None

    # Managed from its aggregation Region only; deleting it ends the view.
    with pytest.raises(ClientError) as e:
        linked.delete_finding_aggregator(FindingAggregatorArn=arn)
    assert code(e) == "InvalidInputException"
    home.delete_finding_aggregator(FindingAggregatorArn=arn)
    assert home.list_finding_aggregators()["FindingAggregators"] == []
    assert by_id(home, there["Id"]) is None
    with pytest.raises(ClientError) as e:
        home.get_finding_aggregator(FindingAggregatorArn=arn)
    assert code(e) == "ResourceNotFoundException"
