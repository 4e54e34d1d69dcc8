"""How the LLM judges are reached: which model answers, through which endpoint, and how the
HTTP client behaves."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class JudgeConfig(BaseModel):
    """Which judge answers coherence and scale questions, and how its HTTP client behaves.

    backend "auto" uses an OpenAI-compatible model when one is configured (here or through
    ADLENS_JUDGE_MODEL), else the offline judges. The key is never stored here: `api_key_env`
    names the environment variable that holds it (default: ADLENS_JUDGE_API_KEY, then
    OPENROUTER_API_KEY for an openrouter URL, then OPENAI_API_KEY).
    """

    model_config = ConfigDict(extra="forbid")

    backend: Literal["auto", "offline", "openai", "local"] = Field(
        "auto",
        description="Who judges: auto (the LLM named by ADLENS_JUDGE_MODEL, else offline), "
        "openai (any OpenAI-compatible URL: ADLENS_JUDGE_BASE_URL), local (the server `adlens "
        "llm start` runs), or offline (no LLM).",
    )
    model: str | None = None  # None: $ADLENS_JUDGE_MODEL
    base_url: str | None = None  # None: $ADLENS_JUDGE_BASE_URL, else the OpenAI API
    api_key_env: str | None = None
    concurrency: int = Field(8, ge=1)
    timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(4, ge=0)
    backoff: float = Field(1.0, ge=0)  # first retry delay in seconds, doubled each retry
    backoff_max: float = Field(30.0, ge=0)
    retry_after_max: float = Field(60.0, ge=0)  # cap on a server's Retry-After
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(1024, ge=1)
    max_tokens_param: str = "max_tokens"  # some APIs want "max_completion_tokens"
    price_input_per_m: float = Field(0.0, ge=0)  # USD per million tokens; 0 = unknown
    price_output_per_m: float = Field(0.0, ge=0)
    cache: bool = True
    cache_dir: str | None = None  # None: <adlens cache>/judge-cache

    def hashed(self) -> dict[str, Any]:
        # how the calls are made changes speed and cost, not verdicts
        return self.model_dump(
            include={"backend", "model", "base_url", "temperature", "max_tokens"}
        )
