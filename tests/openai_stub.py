"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests of anything that calls an LLM.

A real HTTP server (ThreadingHTTPServer on an ephemeral port, in a thread), so tests exercise
the real client, retries and timeouts, not mocks of an HTTP library:

    with StubServer() as stub:
        stub.push(Reply.status(429, retry_after=0.01), Reply("ANSWER: COHERENT"))
        client = JudgeClient("stub-model", stub.base_url, api_key="sk-test")
        ...
        assert len(stub.requests) == 2

Each request takes the next scripted `Reply` from the queue; when the queue is empty, the
`responder` (a callable of the request body returning a Reply or a plain string) answers, or the
`default` text. Every request is recorded (path, headers, JSON body).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATHS = ("/v1/chat/completions", "/chat/completions")


@dataclass
class Reply:
    """One scripted answer: chat text with HTTP 200, or an error status, optionally late."""

    text: str = "ANSWER: COHERENT"
    code: int = 200
    retry_after: float | str | None = None
    delay: float = 0.0  # seconds to wait before answering (past the client's timeout: a timeout)
    raw: str | None = None  # a raw body instead of a chat completion
    prompt_tokens: int = 11
    completion_tokens: int = 7
    # function calls, each (name, arguments): a dict is sent as JSON, a str as is (malformed)
    tool_calls: list[tuple[str, dict[str, Any] | str]] | None = None
    finish_reason: str | None = None  # None: "stop" ("tool_calls" with tool calls)
    message: str | None = None  # an error's message (None: "stub error <code>")

    @classmethod
    def calls(cls, *calls: tuple[str, dict[str, Any] | str], text: str = "") -> Reply:
        """A reply that calls tools (content `text`, often empty)."""
        return cls(text=text, tool_calls=list(calls))

    @classmethod
    def status(cls, code: int, retry_after: float | str | None = None) -> Reply:
        return cls(text="", code=code, retry_after=retry_after)

    @classmethod
    def slow(cls, delay: float, text: str = "ANSWER: COHERENT") -> Reply:
        return cls(text=text, delay=delay)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return self.body.get("messages", [])

    @property
    def user_text(self) -> str:
        """The last user message."""
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")

    @property
    def tool_results(self) -> list[str]:
        """Contents of the `tool` messages in the request, in order."""
        return [str(m.get("content")) for m in self.messages if m.get("role") == "tool"]


@dataclass
class StubServer:
    default: str = "ANSWER: COHERENT"
    responder: Callable[[dict[str, Any]], Reply | str] | None = None
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ script

    def push(self, *replies: Reply | str) -> StubServer:
        with self._lock:
            self._queue.extend(r if isinstance(r, Reply) else Reply(r) for r in replies)
        return self

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            out = self.responder(body)
            return out if isinstance(out, Reply) else Reply(out)
        return Reply(self.default)

    # ------------------------------------------------------------------ server

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> StubServer:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode(errors="replace")}
                with stub._lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    stub.requests.append(Recorded(self.path, headers, body))
                if self.path not in PATHS:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                reply = stub._next(body)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.code != 200:
                    headers = {}
                    if reply.retry_after is not None:
                        headers["Retry-After"] = str(reply.retry_after)
                    message = reply.message or f"stub error {reply.code}"
                    error = {"message": message, "type": "stub", "code": None}
                    self._send(reply.code, {"error": error}, headers)
                    return
                if reply.raw is not None:
                    self._send(200, reply.raw)
                    return
                self._send(200, completion_body(body.get("model", "stub"), reply))

            def _send(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = payload if isinstance(payload, str) else json.dumps(payload)
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data.encode())))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a scripted timeout)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False  # never wait for a handler sleeping out a timeout
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def completion_body(model: str, reply: Reply) -> dict[str, Any]:
    """An OpenAI chat.completion object with `usage` (and `tool_calls` when scripted)."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for i, (name, args) in enumerate(reply.tool_calls)
        ]
        message["content"] = reply.text or None
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": reply.finish_reason
                or ("tool_calls" if reply.tool_calls else "stop"),
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }
