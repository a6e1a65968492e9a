"""A local HTTP server speaking the parts of Slack's Web API the alerts use, with scriptable faults.

Endpoints: auth.test, chat.postMessage (stores the message with its metadata), conversations.history.
Every request is recorded. Faults queued with `fail(...)` apply, in order, to the next chat.postMessage calls:
("status", 429, {"Retry-After": "1"}), ("status", 500), ("delay", seconds) (answers late and posts nothing),
("error", "channel_not_found") (HTTP 200 with ok: false).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

import pytest


@dataclass
class SlackApiServer:
    """State of the fake workspace: recorded requests, posted messages per channel, queued faults."""

    requests: list[dict] = field(default_factory=list)
    messages: dict[str, list[dict]] = field(default_factory=dict)
    faults: list[tuple] = field(default_factory=list)
    token: str = "xoxb-test-token"
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, *faults: tuple) -> None:
        with self.lock:
            self.faults.extend(faults)

    def posts(self) -> list[dict]:
        """Every chat.postMessage request body, faulted or not."""
        return [r["body"] for r in self.requests if r["method"] == "chat.postMessage"]

    def delivered(self) -> list[dict]:
        """Messages accepted (posted), over all channels, in order."""
        return sorted((m for ms in self.messages.values() for m in ms), key=lambda m: float(m["ts"]))

    def _next_fault(self) -> tuple | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None


def _handler(state: SlackApiServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            if "json" in (self.headers.get("Content-Type") or ""):
                return json.loads(raw or "{}")
            return dict(parse_qsl(raw))

        def _reply(self, status: int, payload: dict, headers: dict | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            url = urlparse(self.path)
            method = url.path.rsplit("/", 1)[-1]
            body = dict(parse_qsl(url.query)) | self._body()
            auth = self.headers.get("Authorization", "")
            state.requests.append({"method": method, "body": body, "auth": auth, "at": time.time()})
            if auth != f"Bearer {state.token}":
                return self._reply(200, {"ok": False, "error": "invalid_auth"})
            if method == "auth.test":
                return self._reply(200, {"ok": True, "team": "test", "user": "hotspots", "bot_id": "B1"})
            if method == "conversations.history":
                messages = list(reversed(state.messages.get(body.get("channel", ""), [])))
                return self._reply(200, {"ok": True, "messages": messages, "has_more": False})
            if method != "chat.postMessage":
                return self._reply(200, {"ok": False, "error": "unknown_method"})
            fault = state._next_fault()
            if fault and fault[0] == "status":
                headers = fault[2] if len(fault) > 2 else {}
                error = "ratelimited" if fault[1] == 429 else "fatal_error"
                return self._reply(fault[1], {"ok": False, "error": error}, headers)
            if fault and fault[0] == "delay":
                time.sleep(fault[1])
                return self._reply(503, {"ok": False, "error": "timeout"})
            if fault and fault[0] == "error":
                return self._reply(200, {"ok": False, "error": fault[1]})
            channel = body.get("channel")
            message = {
                "type": "message",
                "ts": f"{time.time():.6f}",
                "channel": channel,
                "text": body.get("text"),
                "blocks": body.get("blocks"),
                "metadata": body.get("metadata"),
            }
            with state.lock:
                state.messages.setdefault(channel, []).append(message)
            return self._reply(200, {"ok": True, "channel": channel, "ts": message["ts"], "message": message})

        do_GET = _handle
        do_POST = _handle

    return Handler


@pytest.fixture
def slack_api():
    """A running local Slack Web API; .base_url for the client, .token for the bot token."""
    state = SlackApiServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
