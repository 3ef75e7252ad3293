#!/usr/bin/env bash
# Proxy benchmark of an application load balancer listener with and without a web ACL, side by
# side with nginx and the bare upstream, in one run, same connections and duration:
#   a. a Rampart ALB listener (HTTP) forwarding to the upstream, no web ACL;
#   b. the same kind of listener (a second load balancer on the same server) with a web ACL of
#      AWS's common rule set (AWSManagedRulesCommonRuleSet, 23 rules) and a rate-based rule
#      (limit far above the load, so it counts every request and never blocks): 24 rules
#      evaluate on every request;
#   c. nginx proxying to the same upstream (proxy_pass, HTTP/1.1 keep-alive upstream pool);
#   d. the upstream directly: nginx answering a small fixed body (`return 200`).
# Prints requests/s, p50 and p99 latency for each, the ratios b/a and b/c, and the p99 that the
# web ACL adds (b - a). Targets (issue 24): b >= 0.5 a, b >= 0.5 c, added p99 under 1 ms.
# The upstream and the proxying nginx run from their own temporary prefix and config, on
# random loopback ports, and stop (with the server) when the script exits.
# Needs wrk, nginx and boto3 (`apt-get install -y wrk nginx`, `pip install -r tests/e2e/requirements.txt`).
# RAMPART_BIN runs another build instead of building the release binary (bench/lib.sh).
# Usage: bench/waf_proxy.sh [seconds] [connections] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
threads=${3:-2}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || { echo "nginx is missing: apt-get install -y nginx" >&2; exit 1; }
python3 -c "import boto3" 2>/dev/null || {
    echo "boto3 is missing: pip install -r tests/e2e/requirements.txt" >&2; exit 1; }

source bench/lib.sh
# All the load comes from one address: Shield Standard's per-address request rate (1,000/s by
# default, docs/SHIELD.md) is lifted so that the run measures the proxy path, not the 429s.
start_server --shield-max-requests-per-second 0
nginx_dir=$(mktemp -d)
nginx_pids=()
trap 'kill $pid "${nginx_pids[@]}" 2>/dev/null || true; rm -rf "$data" "$nginx_dir"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port)
proxy_port=$(free_port)

# One nginx instance from its own prefix: $1 its name, $2 the worker count, $3 its server block.
start_nginx() {
    local dir="$nginx_dir/$1"
    mkdir -p "$dir/logs" "$dir/tmp"
    cat > "$dir/nginx.conf" <<CONF
daemon off;
worker_processes $2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 1000000;
    $3
}
CONF
    "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" 2>"$dir/logs/start.log" &
    nginx_pids+=($!)
}

# The upstream: a fixed 13-byte body, as a small static page.
start_nginx upstream 1 "server { listen 127.0.0.1:$up_port; location / { default_type text/plain; return 200 'hello, world\n'; } }"
# nginx as the reverse proxy to compare with (c), with a keep-alive pool to the upstream.
start_nginx proxy auto "upstream app { server 127.0.0.1:$up_port; keepalive 64; }
    server { listen 127.0.0.1:$proxy_port; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"

wait_http() { # url: bounded wait for a 200
    local i
    for i in $(seq 1 200); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
        sleep 0.05
    done
    echo "no answer from $1" >&2
    cat "$nginx_dir"/*/logs/*.log >&2 || true
    exit 1
}
wait_http "http://127.0.0.1:$up_port/"
wait_http "http://127.0.0.1:$proxy_port/"

# Two load balancers on the same server forwarding to the upstream; the second one's web ACL.
# Prints "PLAIN_PORT WAF_PORT" once the web ACL is in force on the second one.
read -r plain_port waf_port < <(python3 - "$data/root-credentials" "$port" "$up_port" <<'PY'
import configparser, http.client, socket, sys, time
import boto3

c = configparser.ConfigParser(); c.read(sys.argv[1])
endpoint = f"http://127.0.0.1:{sys.argv[2]}"
up_port = int(sys.argv[3])
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id=c["default"]["aws_access_key_id"],
          aws_secret_access_key=c["default"]["aws_secret_access_key"])
elb, waf = boto3.client("elbv2", **kw), boto3.client("wafv2", **kw)

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def load_balancer(name):
    lb = elb.create_load_balancer(Name=name, Subnets=["subnet-0a", "subnet-0b"],
                                  Type="application")["LoadBalancers"][0]
    tg = elb.create_target_group(Name=f"{name}-tg", Protocol="HTTP", Port=up_port,
                                 VpcId="vpc-0abc", TargetType="ip")["TargetGroups"][0]
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                         Targets=[{"Id": "127.0.0.1", "Port": up_port}])
    port = free_port()
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    return lb, port

def status(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"User-Agent": "wrk"})
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()

def wait(check, what):
    for _ in range(200):
        if check():
            return
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")

def vis(name):
    return {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": name}

plain, plain_port = load_balancer("bench-plain")
guarded, waf_port = load_balancer("bench-waf")
rules = [
    {"Name": "crs", "Priority": 1, "OverrideAction": {"None": {}}, "VisibilityConfig": vis("crs"),
     "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS",
                                                  "Name": "AWSManagedRulesCommonRuleSet"}}},
    {"Name": "rate", "Priority": 2, "Action": {"Block": {}}, "VisibilityConfig": vis("rate"),
     "Statement": {"RateBasedStatement": {"Limit": 2000000000, "AggregateKeyType": "IP",
                                          "EvaluationWindowSec": 300}}},
]
acl = waf.create_web_acl(Name="bench", Scope="REGIONAL", DefaultAction={"Allow": {}},
                         Rules=rules, VisibilityConfig=vis("bench"))["Summary"]
waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=guarded["LoadBalancerArn"])
wait(lambda: status(plain_port, "/") == 200, "the plain listener")
xss = "/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
wait(lambda: status(waf_port, xss) == 403 and status(waf_port, "/") == 200, "the web ACL")
assert status(plain_port, xss) == 200
print(plain_port, waf_port)
PY
)
[ -n "${waf_port:-}" ] || { echo "the load balancers did not come up" >&2; exit 1; }

# One wrk run: name url. wrk sends no User-Agent unless told (the rule set blocks that).
run() {
    echo "== $1: $2, $conns connections, $threads threads, ${secs}s"
    wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -H "User-Agent: wrk/4" "$2" | tee "$data/$1"
}
run upstream "http://127.0.0.1:$up_port/"
run nginx "http://127.0.0.1:$proxy_port/"
run alb "http://127.0.0.1:$plain_port/"
run alb_waf "http://127.0.0.1:$waf_port/"

python3 - "$data" <<'PY'
import os, re, sys

def ms(text):
    n, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(n) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

def parse(name):
    out = open(os.path.join(sys.argv[1], name)).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return rps, p50, p99, int(bad.group(1)) if bad else 0, errors.group(0) if errors else ""

rows = {n: parse(n) for n in ("alb", "alb_waf", "nginx", "upstream")}
labels = {"alb": "a. ALB listener", "alb_waf": "b. ALB listener + web ACL",
          "nginx": "c. nginx proxy", "upstream": "d. upstream"}
print(f"\n{'':28}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
for name, (rps, p50, p99, bad, errors) in rows.items():
    print(f"{labels[name]:28}{rps:>10.0f}{p50:>9.2f}{p99:>9.2f}{bad:>9} {errors}")
a, b, c = rows["alb"], rows["alb_waf"], rows["nginx"]
print(f"RESULT b/a={b[0] / a[0]:.3f} (target >= 0.5) b/c={b[0] / c[0]:.3f} (target >= 0.5)"
      f" added_p99_ms={b[2] - a[2]:.3f} (target < 1)")
PY
