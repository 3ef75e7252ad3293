"""Local HTTP servers the end-to-end tests put behind Rampart: the user's application a
load balancer forwards to (echoing what it received), Lambda functions behind the
`--lambda-hook`/`--rotation-hook` endpoints, and the plain HTTP client and waits the tests
use with them."""

import http.client
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EchoApp(BaseHTTPRequestHandler):
    """The user's application: answers every GET and POST with what it received, as JSON
    (path, method, headers by lower-cased name, body length)."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        out = json.dumps({"path": self.path, "method": self.command,
                          "headers": {k.lower(): v for k, v in self.headers.items()},
                          "body_length": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    """A threaded HTTP server that says nothing of clients that hang up early (health checks,
    a proxy's timeouts)."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def serve(handler):
    """Starts `handler` on a free loopback port in a thread; the server (`.server_address[1]`
    is its port; `.shutdown()` stops it)."""
    httpd = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def free_port():
    """A loopback port nothing listens on now (for a listener to take)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, path="/", method="GET", headers=None, body=None):
    """One plain HTTP request to a loopback port: (status, headers by lower-cased name,
    body), or (None, {}, b"") when nothing listens."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
        return None, {}, b""
    finally:
        conn.close()


def wait_for(check, timeout=20.0, what="condition", errors=()):
    """Polls `check()` until it returns something true, and returns that; `errors` raised by
    `check` count as not yet."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = check()
        except errors as err:
            last = err
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


class LambdaHook:
    """A Lambda function behind HTTP, the target of a `--lambda-hook` or `--rotation-hook`:
    each POST's JSON event is recorded in `events` as (path, event) and handed to
    `invoke(path, event)`. It answers `null`, or, when `invoke` raises, Lambda's error answer
    (500 with `errorMessage` and `errorType`). `client` is what the function calls back with."""

    def __init__(self):
        self.client = None
        self.events = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.events.append((self.path, event))
                try:
                    hook.invoke(self.path, event)
                    status, answer = 200, b"null"
                except Exception as exc:  # a Lambda error answer
                    status = 500
                    answer = json.dumps({"errorMessage": str(exc),
                                         "errorType": type(exc).__name__}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.httpd = serve(Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def invoke(self, path, event):
        raise NotImplementedError

    def stop(self):
        self.httpd.shutdown()
