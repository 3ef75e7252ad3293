"""WAF's Captcha and Challenge rule actions end to end with boto3: a web ACL on a load
balancer in front of a small local HTTP app answers a challenged request with AWS's 202 and
`x-amzn-waf-action: challenge` (and the proof-of-work page when HTML is accepted), a CAPTCHA
one with 405 and `x-amzn-waf-action: captcha` (and the puzzle); solving the proof of work
(in Python, the page's algorithm) or the puzzle and posting the answer gets the
`aws-waf-token` cookie, with which the request reaches the app; a tampered token, a token of
another host and an expired one (immunity times, on the dev clock) are refused again; token
domains; AWS's refusals of bad configurations."""

import hashlib
import re
import json
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError
from conftest import Server, advance
from local_http import request, wait_for
from test_elb_waf import load_balancer

POW_BITS = 16
# The seven-segment strokes the puzzle draws (a to g) and the segments each digit lights.
SEGMENTS = [(2, 2, 18, 2), (18, 2, 18, 20), (18, 20, 18, 38), (2, 38, 18, 38),
            (2, 20, 2, 38), (2, 2, 2, 20), (2, 20, 18, 20)]
LIT = [0b0111111, 0b0000110, 0b1011011, 0b1001111, 0b1100110, 0b1101101, 0b1111101,
       0b0000111, 0b1111111, 0b1101111]


@pytest.fixture(scope="module")
def server():
    s = Server("--dev")
    yield s
    s.stop()


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def starts_with(path):
    return {"ByteMatchStatement": {
        "SearchString": path.encode(), "FieldToMatch": {"UriPath": {}},
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        "PositionalConstraint": "STARTS_WITH"}}


def vis(name):
    return {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False,
            "MetricName": name}


RULES = [
    {"Name": "challenge-app", "Priority": 0, "Statement": starts_with("/app"),
     "Action": {"Challenge": {"CustomRequestHandling": {
         "InsertHeaders": [{"Name": "passed", "Value": "challenge"}]}}},
     "VisibilityConfig": vis("challenge-app")},
    {"Name": "captcha-admin", "Priority": 1, "Statement": starts_with("/admin"),
     "Action": {"Captcha": {}},
     "CaptchaConfig": {"ImmunityTimeProperty": {"ImmunityTime": 60}},
     "VisibilityConfig": vis("captcha-admin")},
]


@pytest.fixture(scope="module")
def site(server, app):
    """A load balancer forwarding to the app, with the web ACL above: its listener's port."""
    _, lb, _, _, port = load_balancer(server, "captcha-lb", app)
    waf = server.client("wafv2")
    acl = waf.create_web_acl(
        Name="captcha-acl", Scope="REGIONAL", DefaultAction={"Allow": {}}, Rules=RULES,
        VisibilityConfig=vis("captcha-acl"),
        ChallengeConfig={"ImmunityTimeProperty": {"ImmunityTime": 300}},
        TokenDomains=["example.test"])["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
    wait_for(lambda: request(port, "/app", headers={"Accept": "text/html"})[0] == 202,
             what="web ACL in force")
    return {"port": port, "waf": waf, "acl": acl}


def solve_pow(seed):
    nonce = 0
    while True:
        digest = hashlib.sha256((seed + str(nonce)).encode()).digest()
        if int.from_bytes(digest[:4], "big") >> (32 - POW_BITS) == 0:
            return str(nonce)
        nonce += 1


def form_value(page, name):
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no {name} in the page"
    return m.group(1).replace("&amp;", "&")


def read_puzzle(page):
    """The digits the CAPTCHA draws, read back from the strokes of each digit's group."""
    digits = ""
    for group in re.findall(r"<g [^>]*>(.*?)</g>", page):
        lit = 0
        for line in re.findall(r'<line x1="(\d+)" y1="(\d+)" x2="(\d+)" y2="(\d+)"/>', group):
            lit |= 1 << SEGMENTS.index(tuple(int(v) for v in line))
        digits += str(LIT.index(lit))
    return digits


def cookie_of(headers):
    m = re.match(r"aws-waf-token=([^;]+)", headers.get("set-cookie", ""))
    assert m, headers
    return m.group(1)


def post(port, path, fields, host=None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if host:
        headers["Host"] = host
    return request(port, path, "POST", headers, urlencode(fields).encode())


def test_web_acl_shows_its_token_settings_and_refuses_bad_ones(site):
    waf = site["waf"]
    got = waf.get_web_acl(Name="captcha-acl", Scope="REGIONAL", Id=site["acl"]["Id"])["WebACL"]
    assert got["ChallengeConfig"] == {"ImmunityTimeProperty": {"ImmunityTime": 300}}
    assert got["TokenDomains"] == ["example.test"]
    assert got["Rules"][1]["CaptchaConfig"] == {"ImmunityTimeProperty": {"ImmunityTime": 60}}
    assert "Captcha" in got["Rules"][1]["Action"]

    def create(**kw):
        args = dict(Name="bad", Scope="REGIONAL", DefaultAction={"Allow": {}}, Rules=[],
                    VisibilityConfig=vis("bad"))
        args.update(kw)
        with pytest.raises(ClientError) as e:
            waf.create_web_acl(**args)
        return code(e)

    # A challenge immunity below 300 s, as AWS bounds it (botocore itself refuses below 60).
    assert create(ChallengeConfig={"ImmunityTimeProperty": {"ImmunityTime": 100}}) == \
        "WAFInvalidParameterException"
    assert create(Rules=[dict(RULES[0], ChallengeConfig={
        "ImmunityTimeProperty": {"ImmunityTime": 120}})]) == "WAFInvalidParameterException"
    # A space is outside the API's pattern (WAF's own error for it); an empty label is not a
    # domain.
    assert create(TokenDomains=["bad domain"]) == "WAFInvalidParameterException"
    assert create(TokenDomains=["bad..domain"]) == "WAFInvalidParameterException"
    # Rampart runs CAPTCHA and Challenge in web ACL rules only, not in rule groups.
    with pytest.raises(ClientError) as e:
        waf.create_rule_group(Name="captcha-group", Scope="REGIONAL", Capacity=10,
                              Rules=[RULES[1]], VisibilityConfig=vis("captcha-group"))
    assert code(e) == "WAFInvalidParameterException"


def test_challenge_interstitial_then_proof_of_work_then_the_app(server, site):
    port = site["port"]
    # No token: AWS's 202 and header; the page only for a client that accepts HTML.
    status, headers, body = request(port, "/app?x=1", headers={"Accept": "text/html"})
    assert status == 202 and headers["x-amzn-waf-action"] == "challenge"
    page = body.decode()
    assert "<script>" in page and "/.rampart-waf/challenge" in page
    status, headers, body = request(port, "/app", headers={"Accept": "application/json"})
    assert (status, headers["x-amzn-waf-action"], body) == (202, "challenge", b"")
    # Requests no rule challenges reach the app.
    assert request(port, "/other")[0] == 200

    seed = form_value(page, "seed")
    assert form_value(page, "return") == "/app?x=1"
    # A wrong nonce gets a new challenge, no cookie.
    nonce = solve_pow(seed)
    wrong = str(int(nonce) + 1)
    if hashlib.sha256((seed + wrong).encode()).digest()[:2] != b"\0\0":
        status, headers, _ = post(port, "/.rampart-waf/challenge",
                                  {"seed": seed, "nonce": wrong, "return": "/app?x=1"})
        assert status == 202 and "set-cookie" not in headers
    # A forged seed is refused even with a proof of work for it.
    forged = seed.rsplit(":", 1)[0] + ":AAAA"
    status, headers, _ = post(port, "/.rampart-waf/challenge",
                              {"seed": forged, "nonce": solve_pow(forged), "return": "/"})
    assert status == 202 and "set-cookie" not in headers

    status, headers, _ = post(port, "/.rampart-waf/challenge",
                              {"seed": seed, "nonce": nonce, "return": "/app?x=1"})
    assert status == 303 and headers["location"] == "/app?x=1"
    assert "Path=/" in headers["set-cookie"] and "Domain" not in headers["set-cookie"]
    token = cookie_of(headers)

    # The retried request reaches the app, with the rule's inserted header.
    status, headers, body = request(port, "/app?x=1", headers={"Cookie": f"aws-waf-token={token}"})
    assert status == 200
    echoed = json.loads(body)
    assert echoed["path"] == "/app?x=1"
    assert echoed["headers"]["x-amzn-waf-passed"] == "challenge"

    # A tampered token (a later solve time), a garbage one and one of another host: refused.
    parts = token.split(":")
    parts[1] = str(int(parts[1]) + 1000)
    for bad in [":".join(parts), "garbage", token + "x"]:
        status, headers, _ = request(port, "/app", headers={"Cookie": f"aws-waf-token={bad}"})
        assert (status, headers["x-amzn-waf-action"]) == (202, "challenge"), bad
    status, _, _ = request(port, "/app", headers={"Cookie": f"aws-waf-token={token}",
                                                  "Host": "elsewhere.test"})
    assert status == 202

    # A challenge does not satisfy a CAPTCHA rule.
    status, headers, _ = request(port, "/admin", headers={"Cookie": f"aws-waf-token={token}"})
    assert (status, headers["x-amzn-waf-action"]) == (405, "captcha")

    # Past the web ACL's challenge immunity (300 s on the dev clock) the token is refused.
    advance(server, 299)
    assert request(port, "/app", headers={"Cookie": f"aws-waf-token={token}"})[0] == 200
    advance(server, 2)
    assert request(port, "/app", headers={"Cookie": f"aws-waf-token={token}"})[0] == 202


def test_captcha_puzzle_then_the_app_until_its_immunity_ends(server, site):
    port = site["port"]
    status, headers, body = request(port, "/admin/panel", headers={"Accept": "text/html"})
    assert (status, headers["x-amzn-waf-action"]) == (405, "captcha")
    page = body.decode()
    puzzle = form_value(page, "puzzle")
    answer = read_puzzle(page)
    assert re.fullmatch(r"\d{5}", answer)
    assert answer not in re.sub(r"<svg.*</svg>", "", page, flags=re.S)

    wrong = str((int(answer) + 1) % 100000).zfill(5)
    status, headers, body = post(port, "/.rampart-waf/captcha",
                                 {"puzzle": puzzle, "answer": wrong, "return": "/admin/panel"})
    assert status == 405 and "set-cookie" not in headers and b"<svg" in body

    status, headers, _ = post(port, "/.rampart-waf/captcha",
                              {"puzzle": puzzle, "answer": answer, "return": "/admin/panel"})
    assert status == 303 and headers["location"] == "/admin/panel"
    token = cookie_of(headers)
    cookie = {"Cookie": f"aws-waf-token={token}"}
    assert request(port, "/admin/panel", headers=cookie)[0] == 200
    # A solved CAPTCHA also counts as a solved challenge.
    assert request(port, "/app", headers=cookie)[0] == 200
    # The rule's CAPTCHA immunity is 60 s.
    advance(server, 61)
    status, headers, _ = request(port, "/admin/panel", headers=cookie)
    assert (status, headers["x-amzn-waf-action"]) == (405, "captcha")
    assert request(port, "/app", headers=cookie)[0] == 200


def test_token_domains_cover_their_subdomains(site):
    port = site["port"]
    status, _, body = request(port, "/app", headers={"Accept": "text/html",
                                                     "Host": "a.example.test"})
    assert status == 202
    seed = form_value(body.decode(), "seed")
    status, headers, _ = post(port, "/.rampart-waf/challenge",
                              {"seed": seed, "nonce": solve_pow(seed), "return": "/app"},
                              host="a.example.test")
    assert status == 303 and "Domain=example.test" in headers["set-cookie"]
    cookie = f"aws-waf-token={cookie_of(headers)}"
    for host, want in [("a.example.test", 200), ("b.example.test", 200),
                       ("example.test", 200), ("other.test", 202)]:
        assert request(port, "/app", headers={"Cookie": cookie, "Host": host})[0] == want, host


def test_a_return_path_never_leaves_the_site(site):
    port = site["port"]
    _, _, body = request(port, "/app", headers={"Accept": "text/html"})
    seed = form_value(body.decode(), "seed")
    status, headers, _ = post(port, "/.rampart-waf/challenge",
                              {"seed": seed, "nonce": solve_pow(seed),
                               "return": "//evil.example/"})
    assert status == 303 and headers["location"] == "/"
