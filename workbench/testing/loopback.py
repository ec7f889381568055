"""A scriptable OpenAI-compatible chat server on loopback, for tests and benchmarks.

It lets the real client code (langchain-openai, httpx) be exercised offline: fixed
latency, canned replies, rate limits with Retry-After, server errors, and a proxy that echoes
the API key it received (as some do in their error bodies). It binds to 127.0.0.1 only and stops
when the context manager exits.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    """A loopback port nothing listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many clients connect at once; the default backlog of 5 resets them

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (an interrupted run) is not an error worth a traceback."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@dataclass
class Reply:
    """What the server sends for one request."""

    content: str = "Thanks for telling me."
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    completion_tokens: int | None = None
    echo_key: bool = False
    """Append the bearer token the request carried to the content (a leaky proxy)."""


Script = Callable[[dict, int], Reply]
"""(request body, 0-based request number) -> Reply."""


def fixed(content: str = "Thanks for telling me.", delay_s: float = 0.0) -> Script:
    return lambda request, index: Reply(content, delay_s=delay_s)


class LoopbackServer:
    def __init__(self, script: Script | None = None):
        self.script = script or fixed()
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="loopback-openai", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _record(self, body: dict) -> int:
        with self._lock:
            self.requests.append(body)
            return len(self.requests) - 1

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                index = server._record(body)
                reply = server.script(body, index)
                if reply.echo_key:
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    reply = Reply(**{**reply.__dict__, "content": f"{reply.content} (key received: {token})"})
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status == 200:
                    payload = _completion(body, reply, index)
                else:
                    payload = {"error": {"message": reply.content, "type": "loopback_error", "code": reply.status}}
                data = json.dumps(payload).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                data = json.dumps({"object": "list", "data": [{"id": "loopback", "object": "model"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _completion(request: dict, reply: Reply, index: int) -> dict:
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
    completion_tokens = reply.completion_tokens or len(reply.content.split())
    return {
        "id": f"chatcmpl-loopback-{index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "loopback"),
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply.content}}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
