"""The judge client's disk cache (answers keyed by the sha256 of the request) and its call log
(one jsonl row per request, never the key; `structured` names the response_format form a
request was sent with, null for the text protocol)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adlens.judges.chat import ChatRequest, Completion
from adlens.judges.endpoint import LOCAL_DUMMY_KEY
from adlens.store.rundir import write_json

log = logging.getLogger(__name__)


class CallRecords:
    """Cache and log methods of `JudgeClient`, which provides the attributes below."""

    model: str
    base_url: str
    cache_dir: Path | None
    log_path: Path | None
    max_tokens_param: str
    _api_key: str
    _lock: threading.Lock
    _body: Callable[[ChatRequest, str | None], dict[str, Any]]

    def _cache_path(self, key: str) -> Path | None:
        return self.cache_dir / key[:2] / f"{key}.json" if self.cache_dir else None

    def _cache_get(self, key: str) -> Completion | None:
        path = self._cache_path(key)
        if path is None or not path.exists():
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            text = entry["text"]
        except (OSError, ValueError, KeyError):
            log.warning("ignoring unreadable judge cache entry %s", path)
            return None
        usage = entry.get("usage", {})
        return Completion(
            text=text,
            status="cached",
            key=key,
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            tool_calls=entry.get("tool_calls"),
            finish_reason=entry.get("finish_reason"),
        )

    def _cache_put(self, key: str, request: ChatRequest, done: Completion) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        write_json(
            path,
            {
                "key": key,
                "model": self.model,
                "base_url": self.base_url,
                "request": self._body(request, done.structured),
                "structured": done.structured,
                "sample_index": request.sample_index,
                "text": done.text,
                **({"tool_calls": done.tool_calls} if done.tool_calls else {}),
                "finish_reason": done.finish_reason,
                "usage": {
                    "prompt_tokens": done.prompt_tokens,
                    "completion_tokens": done.completion_tokens,
                },
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            },
        )

    def _scrub(self, text: str | None) -> str | None:
        """Error messages echo server bodies; make sure the key can never ride along."""
        if text and self._api_key and self._api_key != LOCAL_DUMMY_KEY:
            return text.replace(self._api_key, "***")
        return text

    def _log(self, request: ChatRequest, done: Completion, errors: list[str]) -> None:
        if self.log_path is None:
            return
        body = self._body(request, done.structured)
        row = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "key": done.key,
            "tag": request.tag,
            "model": self.model,
            "base_url": self.base_url,
            "messages": list(request.messages),
            "temperature": body["temperature"],
            "max_tokens": body.get(self.max_tokens_param),
            **(
                {"reasoning_effort": body["reasoning_effort"]} if "reasoning_effort" in body else {}
            ),
            "sample_index": request.sample_index,
            "structured": done.structured,
            "response": done.text,
            **({"tool_calls": done.tool_calls} if done.tool_calls else {}),
            "status": done.status,
            "finish_reason": done.finish_reason,
            "truncated": done.truncated,
            "cache_hit": done.cached,
            "http_status": done.http_status,
            "attempts": done.attempts,
            "latency_s": round(done.latency_s, 3),
            "prompt_tokens": done.prompt_tokens,
            "completion_tokens": done.completion_tokens,
            "cost": round(done.cost, 8),
            "error": self._scrub(done.error),
            "retry_errors": [self._scrub(e) for e in errors],
        }
        line = json.dumps(row, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(line)
