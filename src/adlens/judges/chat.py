"""A chat completion request and its answer, the cache key of a request, and small helpers of
the client (a reply's tool calls, a server's Retry-After, running a coroutine from sync code)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from adlens.judges.schemas import AnswerSchema


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion request. `sample_index` tells repeated samples of the same request
    apart in the cache (temperature > 0); `tag` is only written to the log. Tool calling: pass
    `params={"tools": [...]}`; messages may then hold assistant `tool_calls` and `tool` rows.
    `schema`: the answer's JSON schema, sent as `response_format` where the endpoint takes it
    (see judges/structured.py)."""

    messages: tuple[dict[str, Any], ...] | list[dict[str, Any]]
    temperature: float | None = None  # None: the client's default
    max_tokens: int | None = None  # None: the client's default
    sample_index: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # extra body fields, e.g. top_p
    tag: str = ""
    schema: AnswerSchema | None = None

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
    structured: str | None = None  # the response_format form the answer was asked with

    @property
    def ok(self) -> bool:
        return self.text is not None

    @property
    def cached(self) -> bool:
        return self.status == "cached"

    @property
    def truncated(self) -> bool:
        """The answer stopped at its token limit (a reasoning model may have spent it all)."""
        return self.finish_reason == "length"


def request_key(
    model: str,
    endpoint: str,
    request: ChatRequest,
    defaults: dict[str, Any],
    response_format: dict[str, Any] | None = None,
) -> str:
    """sha256 of everything that shapes the answer: model, endpoint (the URL, or a local
    server's identity), messages, sampling parameters, the reasoning effort, the response
    format and the sample index. Never the key."""
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
    if defaults.get("reasoning_effort"):  # only when sent: older cache keys stay valid
        blob["reasoning_effort"] = defaults["reasoning_effort"]
    if response_format is not None:  # only when sent: text-protocol keys stay as they were
        blob["response_format"] = response_format
    text = json.dumps(blob, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def tool_calls_of(message: Any) -> list[dict[str, Any]] | None:
    """A reply's function calls as plain dicts (the form they take in the next request's
    history); None when it has none. Arguments stay the raw string: the caller parses them."""
    calls = getattr(message, "tool_calls", None) or []
    out = []
    for i, call in enumerate(calls):
        fn = getattr(call, "function", None)
        if fn is None:  # a non-function (custom) tool call: nothing we can run
            continue
        out.append(
            {
                "id": getattr(call, "id", None) or f"call_{i}",
                "type": "function",
                "function": {"name": fn.name or "", "arguments": fn.arguments or ""},
            }
        )
    return out or None


def completion_of(resp: Any, key: str, attempts: int, latency: float) -> Completion:
    """The Completion of an openai chat completion response (its cost left to the client)."""
    choice = resp.choices[0] if resp.choices else None
    usage = resp.usage
    return Completion(
        text=(choice.message.content if choice is not None else None) or "",
        status="ok",
        key=key,
        http_status=200,
        attempts=attempts,
        latency_s=latency,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        tool_calls=tool_calls_of(choice.message) if choice is not None else None,
        finish_reason=getattr(choice, "finish_reason", None),
    )


def run_sync(make_coro: Any) -> Any:
    """Run a coroutine to completion from sync code; inside a running loop (Jupyter), in a
    worker thread with its own loop, since asyncio.run cannot nest."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coro())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coro())).result()


def retry_after_seconds(headers: Any, cap: float) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date; OpenAI's retry-after-ms
    first), capped; None if absent."""
    if headers is None:
        return None
    try:
        ms = float(headers.get("retry-after-ms") or "nan")
    except ValueError:
        ms = math.nan
    if not math.isnan(ms):
        return max(0.0, min(cap, ms / 1000))
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, min(cap, seconds))
