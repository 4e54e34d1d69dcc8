"""An OpenAI-compatible chat client for the judges: concurrency, retries, disk cache, call log.

Callers use the synchronous `complete_many`; inside, requests run concurrently on asyncio with
a semaphore. Our own retry loop (the openai client's is switched off, so every retry is counted
and logged) backs off exponentially with jitter on 429, 5xx, timeouts and connection errors and
honours Retry-After. Answers are cached on disk by the sha256 of the full request (never the
key), so a rerun sends nothing. Every request is logged to a jsonl file without the key.
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
from adlens.judges.chat import retry_after_seconds as _retry_after
from adlens.judges.chat import run_sync as _run_sync
from adlens.judges.chat import tool_calls_of as _tool_calls
from adlens.judges.endpoint import (
    DEFAULT_BASE_URL,
    ENV_BASE_URL,
    ENV_MODEL,
    env_model,
    key_env_names,
    local_config,
    resolve_api_key,
)

if TYPE_CHECKING:
    from adlens.core.config import JudgeConfig

log = logging.getLogger(__name__)

RETRY_STATUS = (408, 409, 429)  # plus every 5xx


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
        self._stats = dict.fromkeys(
            (
                "requests",
                "calls",
                "cache_hits",
                "retries",
                "failures",
                "parse_failures",
                "truncated",
                "truncation_retries",
                "truncated_unknown",
                "prompt_tokens",
                "completion_tokens",
            ),
            0,
        )
        self._cost = 0.0
        self._latency = 0.0  # seconds over sent requests, retries and back-off included
        self._answered = 0

    @classmethod
    def from_config(cls, cfg: JudgeConfig, *, log_path: Path | str | None = None) -> JudgeClient:
        identity = None
        if cfg.backend == "local":
            cfg, identity = local_config(cfg)
        model = cfg.model or env_model()
        if not model:
            raise AdlensError(f"No judge model configured: set {ENV_MODEL} or judge.model.")
        return cls(
            model,
            cfg.base_url,
            api_key_env=cfg.api_key_env,
            concurrency=cfg.concurrency,
            timeout=cfg.timeout,
            max_retries=cfg.max_retries,
            backoff=cfg.backoff,
            backoff_max=cfg.backoff_max,
            retry_after_max=cfg.retry_after_max,
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
            max_tokens_cap=cfg.max_tokens_cap,
            max_tokens_param=cfg.max_tokens_param,
            reasoning_effort=cfg.reasoning_effort,
            price_input_per_m=cfg.price_input_per_m,
            price_output_per_m=cfg.price_output_per_m,
            cache=cfg.cache,
            cache_dir=cfg.cache_dir,
            log_path=log_path,
            identity=identity,
        )

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
        return out

    def _cost_of(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prices[0] + completion_tokens * self.prices[1]) / 1e6

    # ------------------------------------------------------------------ requests

    def key(self, request: ChatRequest) -> str:
        return request_key(self.model, self.identity, request, self.defaults)

    def _body(self, request: ChatRequest) -> dict[str, Any]:
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
        return body

    def complete(self, request: ChatRequest) -> Completion:
        return self.complete_many([request])[0]

    def complete_many(self, requests: Iterable[ChatRequest]) -> list[Completion]:
        """Answers in the order of `requests`. Cached answers are served without any network;
        identical requests in one batch are sent once. Safe to call from sync code and from
        inside a running event loop (e.g. Jupyter), where it runs in a worker thread."""
        requests = list(requests)
        keys = [self.key(r) for r in requests]
        out: list[Completion | None] = [None] * len(requests)
        todo: dict[str, int] = {}  # key -> index of the first request with it
        for i, (req, key) in enumerate(zip(requests, keys, strict=True)):
            self._add(requests=1)
            if key in todo:
                continue
            hit = self._cache_get(key)
            if hit is not None:
                self._add(cache_hits=1)
                self._log(req, hit, [])
                out[i] = hit
            else:
                todo[key] = i
        if todo:
            items = [(requests[i], key) for key, i in todo.items()]
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

    async def _send_all(self, items: Sequence[tuple[ChatRequest, str]]) -> list[Completion]:
        from openai import AsyncOpenAI

        semaphore = asyncio.Semaphore(self.concurrency)  # bound to this run's loop
        async with AsyncOpenAI(
            api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0
        ) as oai:
            return await asyncio.gather(
                *(self._send(oai, semaphore, req, key) for req, key in items)
            )

    async def _send(
        self, oai: Any, semaphore: asyncio.Semaphore, request: ChatRequest, key: str
    ) -> Completion:
        import openai

        body = self._body(request)
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
                self._cache_put(key, request, done)
                self._log(request, done, errors)
                return done
            except openai.APIStatusError as err:
                status = err.status_code
                retry_after = _retry_after(err.response.headers, self.retry_after_max)
                message = f"HTTP {status}: {err.message}"
                retryable = status in RETRY_STATUS or status >= 500
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
        choice = resp.choices[0] if resp.choices else None
        text = (choice.message.content if choice is not None else None) or ""
        tool_calls = _tool_calls(choice.message) if choice is not None else None
        usage = resp.usage
        pt = int(getattr(usage, "prompt_tokens", 0) or 0)
        ct = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = self._cost_of(pt, ct)
        self._add(prompt_tokens=pt, completion_tokens=ct)
        with self._lock:
            self._cost += cost
        return Completion(
            text=text,
            status="ok",
            key=key,
            http_status=200,
            attempts=attempts,
            latency_s=latency,
            prompt_tokens=pt,
            completion_tokens=ct,
            cost=cost,
            tool_calls=tool_calls,
            finish_reason=getattr(choice, "finish_reason", None),
        )
