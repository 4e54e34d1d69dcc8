"""A chat completion request and its answer, and the cache key of a request."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion request. `sample_index` tells repeated samples of the same request
    apart in the cache (temperature > 0); `tag` is only written to the log. Tool calling: pass
    `params={"tools": [...]}`; messages may then hold assistant `tool_calls` and `tool` rows."""

    messages: tuple[dict[str, Any], ...] | list[dict[str, Any]]
    temperature: float | None = None  # None: the client's default
    max_tokens: int | None = None  # None: the client's default
    sample_index: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # extra body fields, e.g. top_p
    tag: str = ""

    @classmethod
    def user(cls, text: str, *, system: str | None = None, **kw: Any) -> ChatRequest:
        messages = [{"role": "system", "content": system}] if system else []
        return cls(messages=[*messages, {"role": "user", "content": text}], **kw)


@dataclass
class Completion:
    """The answer to one request. `text` is None when the call failed (after all retries);
    "" when the model only called tools (`tool_calls`: OpenAI-style dicts with id, type and
    function name/arguments, the arguments a JSON string as the server sent it)."""

    text: str | None
    status: str  # "ok", "cached" or "failed"
    key: str = ""
    error: str | None = None
    http_status: int | None = None
    attempts: int = 0
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None

    @property
    def cached(self) -> bool:
        return self.status == "cached"


def request_key(model: str, endpoint: str, request: ChatRequest, defaults: dict[str, Any]) -> str:
    """sha256 of everything that shapes the answer: model, endpoint (the URL, or a local
    server's identity), messages, sampling parameters and the sample index. Never the key."""
    blob = {
        "model": model,
        "base_url": endpoint,
        "messages": list(request.messages),
        "temperature": request.temperature
        if request.temperature is not None
        else defaults["temperature"],
        "max_tokens": request.max_tokens
        if request.max_tokens is not None
        else defaults["max_tokens"],
        "params": request.params,
        "sample_index": request.sample_index,
    }
    text = json.dumps(blob, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
