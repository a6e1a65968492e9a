"""A local HTTP server speaking the parts of Slack's Web API the alerts use, with scriptable faults.

Endpoints: auth.test, chat.postMessage (stores the message with its metadata), chat.update, conversations.list,
conversations.history. As in Slack, a channel posted to by name is stored under its ID (`channels`: name -> ID;
unknown names are kept as given), and the history is read by ID only (missing_scope when `history_scope` is off).
Every request is recorded. Faults queued with `fail(...)` apply, in order, to the next chat.postMessage calls:
("status", 429, {"Retry-After": "1"}), ("status", 500), ("status", 503), ("delay", seconds) (answers late and
posts nothing), ("accept_then_delay", seconds) (posts, then answers late: a client timeout after Slack accepted),
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

CHANNELS = {
    "hotspots": "C0HOTSPOTS",
    "north": "C0NORTH",
    "north-escalation": "C0NORTHESC",
    "hotspots-data": "C0DATA0001",
}


@dataclass
class SlackApiServer:
    """State of the fake workspace: recorded requests, posted messages per channel, queued faults."""

    requests: list[dict] = field(default_factory=list)
    messages: dict[str, list[dict]] = field(default_factory=dict)
    faults: list[tuple] = field(default_factory=list)
    token: str = "xoxb-test-token"
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    channels: dict[str, str] = field(default_factory=lambda: dict(CHANNELS))
    history_scope: bool = True

    def channel_id(self, channel: str) -> str:
        return self.channels.get(channel.lstrip("#"), channel)

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
            if method == "conversations.list":
                channels = [{"id": i, "name": n} for n, i in state.channels.items()]
                return self._reply(200, {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}})
            if method == "conversations.history":
                if not state.history_scope:
                    return self._reply(200, {"ok": False, "error": "missing_scope", "needed": "channels:history"})
                channel = body.get("channel", "")
                if channel not in state.channels.values():
                    return self._reply(200, {"ok": False, "error": "channel_not_found"})
                messages = list(reversed(state.messages.get(channel, [])))
                oldest = float(body.get("oldest") or 0)
                messages = [m for m in messages if float(m["ts"]) > oldest]
                return self._reply(200, {"ok": True, "messages": messages, "has_more": False})
            if method == "chat.update":
                channel, ts = state.channel_id(body.get("channel", "")), body.get("ts")
                with state.lock:
                    found = [m for m in state.messages.get(channel, []) if m["ts"] == ts]
                    for message in found:
                        message.update(text=body.get("text"), blocks=body.get("blocks"), edited=True)
                if not found:
                    return self._reply(200, {"ok": False, "error": "message_not_found"})
                return self._reply(200, {"ok": True, "channel": channel, "ts": ts})
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
            channel = state.channel_id(body.get("channel") or "")
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
            if fault and fault[0] == "accept_then_delay":
                time.sleep(fault[1])
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
