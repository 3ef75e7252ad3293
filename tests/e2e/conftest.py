"""Starts the real `rampart` binary for the end-to-end suite and hands out real clients."""

import atexit
import configparser
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config

from local_http import EchoApp, serve
from orgs import create_account

BIN = os.environ.get("RAMPART_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "target", "debug", "rampart"
)


# Every server's data dir lives under one directory removed when the run ends (a test may
# restart a server on a stopped one's data dir, so they outlive each server).
RUN_DIR = tempfile.mkdtemp(prefix="rampart-e2e-run-")
atexit.register(shutil.rmtree, RUN_DIR, ignore_errors=True)


def advance(server, seconds):
    """Moves a dev-mode server's request clock forward; returns the clock's answer."""
    req = urllib.request.Request(
        server.endpoint + "/_rampart/clock",
        data=json.dumps({"advance_seconds": seconds}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def signin(server, **body):
    """One console sign-in through `POST /_rampart/signin`: (HTTP status, JSON answer)."""
    req = urllib.request.Request(
        server.endpoint + "/_rampart/signin",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class Server:
    """One running `rampart serve` on a free loopback port with its own data dir."""

    def __init__(self, *extra_args, data_dir=None):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="rampart-e2e-", dir=RUN_DIR)
        env = dict(os.environ)
        for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.pop(var, None)
        env.setdefault("RAMPART_LOG", "warn")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir, *extra_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.output = []
        self.endpoint = None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            match = re.search(r"endpoint:\s+(http://\S+)", line)
            if match:
                self.endpoint = match.group(1)
            if line.strip() == "Ready.":
                break
        if self.endpoint is None:
            self.stop()
            raise RuntimeError("rampart did not start:\n" + "".join(self.output))
        creds = configparser.ConfigParser()
        creds.read(os.path.join(self.data_dir, "root-credentials"))
        self.root_key = creds["default"]["aws_access_key_id"]
        self.root_secret = creds["default"]["aws_secret_access_key"]

    def client(self, service, key=None, secret=None, token=None, region="us-east-1", config=None):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=key or self.root_key,
            aws_secret_access_key=secret or self.root_secret,
            aws_session_token=token,
            config=Config(retries={"max_attempts": 1}).merge(config or Config()),
        )

    def cli(self, *args, key=None, secret=None, region="us-east-1", check=True, env=None):
        """Runs the aws CLI against this server (with `env` added); returns the completed
        process."""
        extra_env = env
        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID=key or self.root_key,
            AWS_SECRET_ACCESS_KEY=secret or self.root_secret,
            AWS_DEFAULT_REGION=region,
            AWS_MAX_ATTEMPTS="1",
        )
        env.pop("AWS_PROFILE", None)
        env.update(extra_env or {})
        proc = subprocess.run(
            ["aws", "--endpoint-url", self.endpoint, *args],
            capture_output=True,
            text=True,
            env=env,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed: {proc.stderr}")
        return proc

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def fresh_server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def dev_server():
    s = Server("--dev")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def app():
    """The user's application behind a load balancer (`local_http.EchoApp`): its port."""
    httpd = serve(EchoApp)
    yield httpd.server_address[1]
    httpd.shutdown()


@pytest.fixture
def security_org(fresh_server):
    """A fresh server's organization with two member accounts, `security` (to be made a
    delegated administrator) and `workload`: (server, Organizations client, security's id,
    workload's id)."""
    orgs = fresh_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    admin = create_account(orgs, "security", "security@example.com")
    member = create_account(orgs, "workload", "workload@example.com")
    return fresh_server, orgs, admin, member
