"""Every service of the security module is routed: one operation of each not built yet, called
with the aws CLI (awsQuery, awsJson 1.1 and restJson1), decodes and answers a clean
`NotImplemented`; an
unsigned call is refused with the authentication error; the calls are audited under the
service's event source."""

import time

import pytest

# (CLI arguments, operation name, CloudTrail event source)
CALLS = [
    (["guardduty", "list-malware-protection-plans"], "ListMalwareProtectionPlans",
     "guardduty.amazonaws.com"),
    (["securityhub", "describe-action-targets"], "DescribeActionTargets",
     "securityhub.amazonaws.com"),
    (["accessanalyzer", "create-service-linked-analyzer", "--type", "ACCOUNT"],
     "CreateServiceLinkedAnalyzer", "access-analyzer.amazonaws.com"),
    (["inspector2", "list-coverage"], "ListCoverage", "inspector2.amazonaws.com"),
    (["macie2", "get-macie-session"], "GetMacieSession", "macie2.amazonaws.com"),
    (["artifact", "list-reports"], "ListReports", "artifact.amazonaws.com"),
    (["configservice", "list-stored-queries"], "ListStoredQueries", "config.amazonaws.com"),
    (["wafv2", "list-api-keys", "--scope", "REGIONAL"], "ListAPIKeys", "wafv2.amazonaws.com"),
    (["shield", "describe-drt-access"], "DescribeDRTAccess", "shield.amazonaws.com"),
    (["events", "list-archives"], "ListArchives", "events.amazonaws.com"),
    (["elbv2", "describe-trust-stores"], "DescribeTrustStores",
     "elasticloadbalancing.amazonaws.com"),
    (["acm", "list-certificates"], "ListCertificates", "acm.amazonaws.com"),
    (["acm-pca", "list-certificate-authorities"], "ListCertificateAuthorities",
     "acm-pca.amazonaws.com"),
]

BAD_CODES = ("MissingAction", "UnknownOperationException", "SerializationException",
             "InvalidAction", "ValidationException")


@pytest.mark.parametrize("args,operation,source", CALLS, ids=[c[0][0] for c in CALLS])
def test_each_service_answers_not_implemented(server, args, operation, source):
    proc = server.cli(*args, check=False)
    assert proc.returncode != 0, proc.stdout
    err = proc.stderr
    assert f"(NotImplemented) when calling the {operation} operation" in err, err
    for bad in BAD_CODES:
        assert bad not in err, err


def test_calls_are_audited_with_their_event_source(server):
    server.cli("guardduty", "list-detectors", check=False)
    server.cli("accessanalyzer", "list-analyzers", check=False)
    trail = server.client("cloudtrail")
    for source, name in [("guardduty.amazonaws.com", "ListDetectors"),
                         ("access-analyzer.amazonaws.com", "ListAnalyzers")]:
        events = []
        for _ in range(50):
            events = trail.lookup_events(LookupAttributes=[
                {"AttributeKey": "EventSource", "AttributeValue": source}])["Events"]
            if events:
                break
            time.sleep(0.1)
        assert events, f"no audit record from {source}"
        assert events[0]["EventName"] == name
        assert events[0]["EventSource"] == source


@pytest.mark.parametrize("args", [["guardduty", "list-detectors"],
                                  ["accessanalyzer", "list-analyzers"],
                                  ["configservice", "describe-config-rules"]],
                         ids=["restJson1", "restJson1-2", "awsJson"])
def test_unsigned_calls_are_refused(server, args):
    proc = server.cli("--no-sign-request", *args, check=False)
    assert proc.returncode != 0
    assert "(MissingAuthenticationTokenException)" in proc.stderr, proc.stderr


def test_unknown_rest_path_is_unknown_operation(server):
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    import urllib.request

    req = botocore.awsrequest.AWSRequest(method="GET", url=server.endpoint + "/no/such/path")
    creds = botocore.credentials.Credentials(server.root_key, server.root_secret)
    botocore.auth.SigV4Auth(creds, "guardduty", "us-east-1").add_auth(req)
    prepared = req.prepare()
    http = urllib.request.Request(prepared.url, headers=dict(prepared.headers), method="GET")
    try:
        urllib.request.urlopen(http)
        raise AssertionError("expected an error")
    except urllib.error.HTTPError as e:
        assert e.code == 404
        assert e.headers["x-amzn-ErrorType"] == "UnknownOperationException"
