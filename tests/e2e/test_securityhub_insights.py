"""Security Hub insights end to end with boto3: a custom insight's results group the hub's
current findings by its attribute and follow them as findings are imported and updated;
updating, listing (paged) and deleting insights; AWS's managed insights by ARN; AWS's errors
(bad grouping attribute or filters, unknown or managed insights, the 100-insight quota)."""

import uuid

import pytest
from botocore.exceptions import ClientError

import test_securityhub
from test_securityhub import code, finding, fresh_hub

REGION = "ca-central-1"


@pytest.fixture(autouse=True)
def _account(server):
    """`finding` builds findings for the caller's account."""
    test_securityhub.ACCOUNT = server.client("sts").get_caller_identity()["Account"]


def clear_insights(sh):
    for i in sh.get_insights()["Insights"]:
        sh.delete_insight(InsightArn=i["InsightArn"])


def results(sh, arn):
    """The insight's result values as (value, count) pairs, in the order returned."""
    out = sh.get_insight_results(InsightArn=arn)["InsightResults"]
    assert out["InsightArn"] == arn
    return [(v["GroupByAttributeValue"], v["Count"]) for v in out["ResultValues"]]


def resources(*ids):
    return [{"Type": "Other", "Id": i} for i in ids]


def test_insight_results_follow_findings(server):
    sh = fresh_hub(server, REGION, EnableDefaultStandards=False)
    clear_insights(sh)
    account = server.client("sts").get_caller_identity()["Account"]
    tag = uuid.uuid4().hex[:8]
    mine = {"Id": [{"Value": tag, "Comparison": "PREFIX"}]}
    arn = sh.create_insight(Name="Mine by severity", Filters=mine, GroupByAttribute="SeverityLabel")[
        "InsightArn"
    ]
    assert arn.startswith(f"arn:aws:securityhub:{REGION}:{account}:insight/{account}/custom/")
    assert results(sh, arn) == []

    sh.batch_import_findings(
        Findings=[
            finding(REGION, f"{tag}/1", Resources=resources(f"{tag}-r1")),
            finding(REGION, f"{tag}/2", Resources=resources(f"{tag}-r1", f"{tag}-r2")),
            finding(REGION, f"{tag}/3", Severity={"Label": "LOW"}, Resources=resources(f"{tag}-r3")),
            finding(REGION, f"other-{tag}", Severity={"Label": "CRITICAL"}),
        ]
    )
    assert results(sh, arn) == [("HIGH", 2), ("LOW", 1)]

    # A customer's update and a provider's re-import both move the counts.
    ident = {"Id": f"{tag}/1", "ProductArn": finding(REGION, "x")["ProductArn"]}
    sh.batch_update_findings(FindingIdentifiers=[ident], Severity={"Label": "LOW"})
    assert results(sh, arn) == [("LOW", 2), ("HIGH", 1)]
    sh.batch_import_findings(Findings=[finding(REGION, f"{tag}/3", Severity={"Label": "MEDIUM"}, Resources=resources(f"{tag}-r3"))])
    assert results(sh, arn) == [("HIGH", 1), ("LOW", 1), ("MEDIUM", 1)]

    # Regrouped by resource: a finding counts under each of its resources.
    sh.update_insight(InsightArn=arn, Name="Mine by resource", GroupByAttribute="ResourceId")
    assert results(sh, arn) == [(f"{tag}-r1", 2), (f"{tag}-r2", 1), (f"{tag}-r3", 1)]
    open_high = {**mine, "SeverityLabel": [{"Value": "HIGH", "Comparison": "EQUALS"}]}
    sh.update_insight(InsightArn=arn, Filters=open_high)
    assert results(sh, arn) == [(f"{tag}-r1", 1), (f"{tag}-r2", 1)]
    [got] = sh.get_insights(InsightArns=[arn])["Insights"]
    assert got["Name"] == "Mine by resource" and got["GroupByAttribute"] == "ResourceId"
    assert got["Filters"]["SeverityLabel"] == [{"Value": "HIGH", "Comparison": "EQUALS"}]

    # Listing pages through every custom insight.
    second = sh.create_insight(Name="Mine by workflow", Filters=mine, GroupByAttribute="WorkflowStatus")[
        "InsightArn"
    ]
    assert results(sh, second) == [("NEW", 3)]
    page = sh.get_insights(MaxResults=1)
    assert [i["InsightArn"] for i in page["Insights"]] == [arn] and page["NextToken"]
    rest = sh.get_insights(MaxResults=1, NextToken=page["NextToken"])
    assert [i["InsightArn"] for i in rest["Insights"]] == [second] and "NextToken" not in rest

    assert sh.delete_insight(InsightArn=arn)["InsightArn"] == arn
    for call in (
        lambda: sh.get_insight_results(InsightArn=arn),
        lambda: sh.get_insights(InsightArns=[arn]),
        lambda: sh.delete_insight(InsightArn=arn),
        lambda: sh.update_insight(InsightArn=arn, Name="again"),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "ResourceNotFoundException"
    assert [i["InsightArn"] for i in sh.get_insights()["Insights"]] == [second]

    # AWS's managed insight 1 (resources with the most open findings) by ARN.
    managed = "arn:aws:securityhub:::insight/securityhub/default/1"
    [one] = sh.get_insights(InsightArns=[managed])["Insights"]
    assert one["Name"] == "AWS resources with the most findings"
    assert one["GroupByAttribute"] == "ResourceId"
    counts = dict(results(sh, managed))
    assert counts[f"{tag}-r1"] == 2 and counts[f"{tag}-r3"] == 1
    sh.batch_update_findings(FindingIdentifiers=[ident], Workflow={"Status": "RESOLVED"})
    assert dict(results(sh, managed))[f"{tag}-r1"] == 1
    for call in (
        lambda: sh.update_insight(InsightArn=managed, Name="mine now"),
        lambda: sh.delete_insight(InsightArn=managed),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "InvalidInputException"
    clear_insights(sh)


def test_insight_errors_and_quota(server):
    sh = fresh_hub(server, REGION, EnableDefaultStandards=False)
    clear_insights(sh)
    with pytest.raises(ClientError) as e:
        sh.create_insight(Name="bad", Filters={}, GroupByAttribute="Severity")
    assert code(e) == "InvalidInputException"
    mixed = {"Title": [{"Value": "a", "Comparison": "EQUALS"}, {"Value": "b", "Comparison": "NOT_EQUALS"}]}
    with pytest.raises(ClientError) as e:
        sh.create_insight(Name="bad", Filters=mixed, GroupByAttribute="Title")
    assert code(e) == "InvalidInputException"
    assert sh.get_insights()["Insights"] == []
    with pytest.raises(ClientError) as e:
        sh.get_insight_results(InsightArn="arn:aws:securityhub:::insight/securityhub/default/999")
    assert code(e) == "ResourceNotFoundException"

    arn = sh.create_insight(Name="ok", Filters={}, GroupByAttribute="Title")["InsightArn"]
    with pytest.raises(ClientError) as e:
        sh.update_insight(InsightArn=arn, GroupByAttribute="NotAnAttribute")
    assert code(e) == "InvalidInputException"
    assert sh.get_insights(InsightArns=[arn])["Insights"][0]["GroupByAttribute"] == "Title"

    for n in range(99):
        sh.create_insight(Name=f"insight {n}", Filters={}, GroupByAttribute="ResourceType")
    with pytest.raises(ClientError) as e:
        sh.create_insight(Name="one too many", Filters={}, GroupByAttribute="ResourceType")
    assert code(e) == "LimitExceededException"
    listed = sh.get_insights(MaxResults=100)
    assert len(listed["Insights"]) == 100 and "NextToken" not in listed
    clear_insights(sh)

    sh.disable_security_hub()
    with pytest.raises(ClientError) as e:
        sh.get_insights()
    assert code(e) == "InvalidAccessException"
