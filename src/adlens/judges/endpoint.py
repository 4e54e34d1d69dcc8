"""Where the judges' LLM is and how to reach it: the environment variables for model, URL and
key, the local server's settings, and whether a config asks for an LLM at all."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from adlens.core.judge_config import ENV_BASE_URL, ENV_MODEL
from adlens.errors import AdlensError

if TYPE_CHECKING:
    from adlens.core.config import JudgeConfig

DEFAULT_BASE_URL = "https://api.openai.com/v1"
ENV_KEY = "ADLENS_JUDGE_API_KEY"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
LOCAL_DUMMY_KEY = "no-key-needed"  # local servers ignore it; the openai client wants a string
LOCAL_TIMEOUT_S = 600.0  # a CPU-only local server may take minutes for a long agent prompt
# A small local model that misses the answer format tends to ramble to the limit; every judge
# answer that parses fits well within this.
LOCAL_MAX_TOKENS = 512
# An answer never takes more than this share of the local server's context: the prompt needs
# the rest.
LOCAL_CTX_SHARE = 4


def env_model() -> str | None:
    return os.environ.get(ENV_MODEL) or None


def uses_llm(cfg: JudgeConfig) -> bool:
    """True when the config asks for an LLM: backend openai or local, or auto with a model."""
    if cfg.backend == "auto":
        return bool(cfg.model or env_model())
    return cfg.backend != "offline"


def local_config(cfg: JudgeConfig) -> tuple[JudgeConfig, str]:
    """backend "local": the running local server's URL and model, one request at a time (the
    server answers them in turn), a patient timeout and at most LOCAL_MAX_TOKENS per answer
    (and a quarter of its context); and the server's stable identity. No longer retry of a
    truncated answer: a small local model that hits the limit rambles, it does not reason.
    No reasoning effort either: llama.cpp has none."""
    from adlens.judges.local_llm import running

    server = running()
    max_tokens = max(1, min(cfg.max_tokens, LOCAL_MAX_TOKENS, server.n_ctx // LOCAL_CTX_SHARE))
    update = {
        "backend": "openai",
        "model": server.model,
        "base_url": server.base_url,
        "concurrency": 1,
        "timeout": max(cfg.timeout, LOCAL_TIMEOUT_S),
        "max_tokens": max_tokens,
        "max_tokens_cap": max_tokens,
        "reasoning_effort": None,
    }
    return cfg.model_copy(update=update), server.identity


def client_options(cfg: JudgeConfig) -> tuple[str, dict[str, Any]]:
    """The model and the keyword arguments of `JudgeClient` for a config (backend "local":
    the running server's, see `local_config`). No model is a one-line AdlensError."""
    identity = None
    if cfg.backend == "local":
        cfg, identity = local_config(cfg)
    model = cfg.model or env_model()
    if not model:
        raise AdlensError(f"No judge model configured: set {ENV_MODEL} or judge.model.")
    same = (
        *("base_url", "api_key_env", "concurrency", "timeout", "max_retries", "backoff"),
        *("backoff_max", "retry_after_max", "temperature", "max_tokens", "max_tokens_cap"),
        *("max_tokens_param", "reasoning_effort", "price_input_per_m", "price_output_per_m"),
        *("cache", "cache_dir", "structured_output"),
    )
    return model, {**{k: getattr(cfg, k) for k in same}, "identity": identity}


def is_local(base_url: str) -> bool:
    return (urlparse(base_url).hostname or "") in LOCAL_HOSTS


def key_env_names(base_url: str, api_key_env: str | None = None) -> list[str]:
    """Environment variables that may hold the key, in the order they are tried."""
    if api_key_env:
        return [api_key_env]
    names = [ENV_KEY]
    if "openrouter" in (urlparse(base_url).hostname or ""):
        names.append("OPENROUTER_API_KEY")
    return [*names, "OPENAI_API_KEY"]


def resolve_api_key(base_url: str, api_key_env: str | None = None) -> str:
    """The key from the environment; a local server needs none. A remote server without a key
    is a user error, reported with the variable to set."""
    names = key_env_names(base_url, api_key_env)
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    if is_local(base_url):
        return LOCAL_DUMMY_KEY
    alts = f" (or {' or '.join(names[1:])})" if len(names) > 1 else ""
    raise AdlensError(
        f"No API key for the judge model at {base_url}: set {names[0]}{alts}, or point "
        f"{ENV_BASE_URL} at a local OpenAI-compatible server."
    )
