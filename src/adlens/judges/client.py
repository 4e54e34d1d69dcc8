"""An OpenAI-compatible chat client for the judges: concurrency, retries, disk cache, call log.

Callers use the synchronous `complete_many`; inside, requests run concurrently on asyncio with
a semaphore. Our own retry loop (the openai client's is switched off, so every retry is counted
and logged) backs off exponentially with jitter on 429, 5xx, timeouts and connection errors and
honours Retry-After. Answers are cached on disk by the sha256 of the full request (never the
key), so a rerun sends nothing. Every request is logged to a jsonl file without the key.
A request with an answer schema is sent with `response_format` where the endpoint takes it
(judges/structured.py); where it does not, as the text protocol's request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adlens.core.judge_config import DEFAULT_MAX_TOKENS, DEFAULT_MAX_TOKENS_CAP
from adlens.errors import AdlensError
from adlens.judges.call_records import CallRecords
from adlens.judges.chat import ChatRequest, Completion, request_key
from adlens.judges.chat import completion_of as _completion_of
from adlens.judges.chat import retry_after_seconds as _retry_after
from adlens.judges.chat import run_sync as _run_sync
from adlens.judges.endpoint import (
    DEFAULT_BASE_URL,
    ENV_BASE_URL,
    ENV_MODEL,
    client_options,
    key_env_names,
    resolve_api_key,
)
from adlens.judges.structured import RoleCounts, SchemaSupport, rejects_format

if TYPE_CHECKING:
    from adlens.core.config import JudgeConfig

log = logging.getLogger(__name__)

RETRY_STATUS = (408, 409, 429)  # plus every 5xx
STATS = (
    *("requests", "calls", "cache_hits", "retries", "failures", "parse_failures", "truncated"),
    *("truncation_retries", "truncated_unknown", "prompt_tokens", "completion_tokens"),
    *("structured_answers", "schema_rejected"),
)


class JudgeClient(CallRecords):
    """OpenAI-compatible chat completions with retries, a disk cache and a call log.

    The key is read from the environment (see `resolve_api_key`) unless given, kept in memory
    only, and never written to the cache, the log or the repr.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        api_key_env: str | None = None,
        concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
        retry_after_max: float = 60.0,
        temperature: float = 0.0,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP,
        max_tokens_param: str = "max_tokens",
        reasoning_effort: str | None = None,
        price_input_per_m: float = 0.0,
        price_output_per_m: float = 0.0,
        cache: bool = True,
        cache_dir: Path | str | None = None,
        log_path: Path | str | None = None,
        identity: str | None = None,
        structured_output: str = "auto",
    ):
        if not model:
            raise AdlensError(f"No judge model given: set {ENV_MODEL} or judge.model.")
        self.model = model
        self.base_url = (base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
        self._api_key = api_key or resolve_api_key(self.base_url, api_key_env)
        # What answers: the URL, or a stable name for a server whose port changes (local).
        self.identity = identity or self.base_url
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.defaults: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        if reasoning_effort:  # sent only when set; part of the cache key only then
            self.defaults["reasoning_effort"] = reasoning_effort
        self.max_tokens_cap = max(max_tokens_cap, max_tokens)
        self.max_tokens_param = max_tokens_param
        self.prices = (price_input_per_m, price_output_per_m)
        self.cache_dir: Path | None = None
        if cache:
            if cache_dir is None:
                from adlens.store.asset_cache import cache_dir as adlens_cache

                cache_dir = adlens_cache() / "judge-cache"
            self.cache_dir = Path(cache_dir)
        self.log_path = Path(log_path) if log_path else None
        self._lock = threading.Lock()
        self._stats = dict.fromkeys(STATS, 0)
        self.structured_output = structured_output  # "auto": schemas where the endpoint takes them
        self.role_counts = RoleCounts()
        self._support: SchemaSupport | None = None
        self._cost = 0.0
        self._latency = 0.0  # seconds over sent requests, retries and back-off included
        self._answered = 0

    @classmethod
    def from_config(cls, cfg: JudgeConfig, *, log_path: Path | str | None = None) -> JudgeClient:
        model, options = client_options(cfg)
        return cls(model, log_path=log_path, **options)

    def __repr__(self) -> str:  # never shows the key
        return f"JudgeClient(model={self.model!r}, base_url={self.base_url!r})"

    def describe(self) -> str:
        effort = self.defaults.get("reasoning_effort")
        extra = f" (reasoning effort {effort})" if effort else ""
        return f"openai-compatible model {self.model} at {self.base_url}{extra}"

    def settings(self) -> dict[str, Any]:
        """What answers and how (never the key): for manifests and overviews."""
        return {
            "model": self.model,
            "base_url": self.identity,
            "temperature": self.defaults["temperature"],
            "max_tokens": self.defaults["max_tokens"],
            "reasoning_effort": self.defaults.get("reasoning_effort"),
        }

    # ------------------------------------------------------------------ accounting

    def _add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                self._stats[name] += n

    def note_parse_failure(self, n: int = 1) -> None:
        """Judges call this when an answer had no readable label."""
        self._add(parse_failures=n)

    def note_truncated_unknown(self, n: int = 1) -> None:
        """Judges call this when an answer stays UNKNOWN and was cut at its token limit."""
        self._add(truncated_unknown=n)

    def longer(self, request: ChatRequest) -> ChatRequest | None:
        """`request` with twice its token limit, at most `max_tokens_cap` (a new cache key);
        None when the limit cannot grow."""
        current = request.max_tokens or self.defaults["max_tokens"]
        grown = min(2 * current, self.max_tokens_cap)
        if grown <= current:
            return None
        self._add(truncation_retries=1)
        return replace(request, max_tokens=grown, tag=f"{request.tag}:longer")

    def stats(self) -> dict[str, Any]:
        """Counters since creation. `calls` counts HTTP requests sent (retries included);
        tokens and cost count only those, not cache hits. Cost is 0 when prices are unknown.
        `truncated`: answers cut at their token limit (finish_reason "length"), cached ones
        included; `truncation_retries`: those asked again with more tokens;
        `truncated_unknown`: verdicts left UNKNOWN by an answer that was still cut."""
        with self._lock:
            out: dict[str, Any] = dict(self._stats)
            out["cost"] = round(self._cost, 6)
            n = self._answered
            out["mean_latency_s"] = round(self._latency / n, 3) if n else None
        out["cost_known"] = any(p > 0 for p in self.prices)
        out.update(self.settings())
        out["base_url"] = self.base_url
        out["response_format"] = (
            (self.support.form() or "text") if self.structured_output == "auto" else "off"
        )
        out["parse_by_role"] = self.role_counts.to_json()
        return out

    def _cost_of(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prices[0] + completion_tokens * self.prices[1]) / 1e6

    # ------------------------------------------------------------------ requests

    @property
    def support(self) -> SchemaSupport:
        """Which response_format this endpoint takes (found out once, kept in the cache)."""
        if self._support is None:
            self._support = SchemaSupport(self.cache_dir, self.identity, self.model)
        return self._support

    def form(self, request: ChatRequest) -> str | None:
        """The response_format form to send `request` with now; None: the text protocol."""
        if request.schema is None or self.structured_output != "auto":
            return None
        return self.support.form()

    def key(self, request: ChatRequest, form: str | None = None) -> str:
        schema = request.schema
        fmt = schema.response_format(form) if form and schema else None
        return request_key(self.model, self.identity, request, self.defaults, fmt)

    def _body(self, request: ChatRequest, form: str | None = None) -> dict[str, Any]:
        temperature = request.temperature
        max_tokens = request.max_tokens
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "temperature": self.defaults["temperature"] if temperature is None else temperature,
            self.max_tokens_param: self.defaults["max_tokens"]
            if max_tokens is None
            else max_tokens,
        }
        if self.defaults.get("reasoning_effort"):
            body["reasoning_effort"] = self.defaults["reasoning_effort"]
        body.update(request.params)
        if form and request.schema is not None:
            body["response_format"] = request.schema.response_format(form)
        return body

    def complete(self, request: ChatRequest) -> Completion:
        return self.complete_many([request])[0]

    def complete_many(self, requests: Iterable[ChatRequest]) -> list[Completion]:
        """Answers in the order of `requests`. Cached answers are served without any network;
        identical requests in one batch are sent once. Safe to call from sync code and from
        inside a running event loop (e.g. Jupyter), where it runs in a worker thread. On an
        endpoint whose response_format support is not yet known, the first request with a
        schema goes alone, so that a rejection is met once, not once per request."""
        requests = list(requests)
        support = self.support if self.structured_output == "auto" else None
        if support is not None and support.needs_probe():
            first = next((i for i, r in enumerate(requests) if self.form(r)), None)
            if first is not None and first + 1 < len(requests):
                support.probes += 1
                head = self._complete(requests[: first + 1])
                return head + self.complete_many(requests[first + 1 :])
        return self._complete(requests)

    def _complete(self, requests: list[ChatRequest]) -> list[Completion]:
        forms = [self.form(r) for r in requests]
        keys = [self.key(r, f) for r, f in zip(requests, forms, strict=True)]
        out: list[Completion | None] = [None] * len(requests)
        todo: dict[str, int] = {}  # key -> index of the first request with it
        for i, (req, key, form) in enumerate(zip(requests, keys, forms, strict=True)):
            self._add(requests=1)
            if key in todo:
                continue
            hit = self._cache_get(key)
            if hit is not None:
                self._add(cache_hits=1, structured_answers=form is not None)
                hit.structured = form
                if form:
                    self.support.accepted(form)
                self._log(req, hit, [])
                out[i] = hit
            else:
                todo[key] = i
        if todo:
            items = [(requests[i], key, forms[i]) for key, i in todo.items()]
            answers = dict(zip(todo, _run_sync(lambda: self._send_all(items)), strict=True))
            with self._lock:
                self._latency += sum(a.latency_s for a in answers.values())
                self._answered += len(answers)
            for i, key in enumerate(keys):
                if out[i] is None:
                    out[i] = answers[key]
        done = [c for c in out if c is not None]
        cut = sum(c.truncated for c in done)
        if cut:
            self._add(truncated=cut)
            log.info("judge: %d answer(s) stopped at their token limit", cut)
        return done

    async def _send_all(
        self, items: Sequence[tuple[ChatRequest, str, str | None]]
    ) -> list[Completion]:
        from openai import AsyncOpenAI

        semaphore = asyncio.Semaphore(self.concurrency)  # bound to this run's loop
        async with AsyncOpenAI(
            api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0
        ) as oai:
            return await asyncio.gather(
                *(self._send(oai, semaphore, req, key, form) for req, key, form in items)
            )

    async def _send(
        self,
        oai: Any,
        semaphore: asyncio.Semaphore,
        request: ChatRequest,
        key: str,
        form: str | None = None,
    ) -> Completion:
        import openai

        body = self._body(request, form)
        errors: list[str] = []
        start = time.monotonic()
        queued = 0.0  # waiting for a free slot is not the server's latency
        attempt = 0
        while True:
            attempt += 1
            status: int | None = None
            retry_after: float | None = None
            try:
                waiting = time.monotonic()
                async with semaphore:  # held for the call only, not for the backoff sleep
                    queued += time.monotonic() - waiting
                    self._add(calls=1)
                    resp = await oai.chat.completions.create(**body)
                done = self._success(resp, key, attempt, time.monotonic() - start - queued)
                done.structured = form
                if form:
                    self._add(structured_answers=1)
                    self.support.accepted(form)
                self._cache_put(key, request, done)
                self._log(request, done, errors)
                return done
            except openai.APIStatusError as err:
                status = err.status_code
                retry_after = _retry_after(err.response.headers, self.retry_after_max)
                message = f"HTTP {status}: {err.message}"
                retryable = status in RETRY_STATUS or status >= 500
                if form and rejects_format(status, f"{err.message} {err.body}"):
                    # the endpoint takes no such response_format: the next form, else text
                    errors.append(message)
                    self._add(schema_rejected=1)
                    self.support.rejected(form, message)
                    form = self.form(request)
                    key, body = self.key(request, form), self._body(request, form)
                    continue
                if status in (401, 403):
                    raise AdlensError(
                        f"The judge server at {self.base_url} refused the API key (HTTP "
                        f"{status}); check {' / '.join(key_env_names(self.base_url))}."
                    ) from None
                if status == 404:
                    raise AdlensError(
                        f"The judge server at {self.base_url} answered 404 for model "
                        f"'{self.model}': check {ENV_MODEL} and {ENV_BASE_URL}."
                    ) from None
            except openai.APITimeoutError:
                message, retryable = f"timeout after {self.timeout:g} s", True
            except openai.APIConnectionError as err:
                message, retryable = f"connection error: {err.message}", True
            except Exception as err:  # a malformed answer, say: not worth another try
                message, retryable = f"{type(err).__name__}: {err}", False
            errors.append(message)
            if not retryable or attempt > self.max_retries:
                done = Completion(
                    text=None,
                    status="failed",
                    structured=form,
                    key=key,
                    error=message,
                    http_status=status,
                    attempts=attempt,
                    latency_s=time.monotonic() - start - queued,
                )
                self._add(failures=1)
                log.warning("judge request failed after %d attempt(s): %s", attempt, message)
                self._log(request, done, errors[:-1])
                return done
            delay = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
            delay *= 0.5 + random.random()  # jitter: concurrent retries do not stampede together
            if retry_after is not None:
                delay = max(delay, retry_after)
            self._add(retries=1)
            log.info("judge request: %s; retry %d in %.2f s", message, attempt, delay)
            await asyncio.sleep(delay)

    def _success(self, resp: Any, key: str, attempts: int, latency: float) -> Completion:
        done = _completion_of(resp, key, attempts, latency)
        done.cost = self._cost_of(done.prompt_tokens, done.completion_tokens)
        self._add(prompt_tokens=done.prompt_tokens, completion_tokens=done.completion_tokens)
        with self._lock:
            self._cost += done.cost
        return done
