"""How the LLM judges are reached: which model answers, through which endpoint, and how the
HTTP client behaves; and the judge roles, each of which may use its own model.

Roles: `coherence` (steered samples), `tournament` (the Patchscope scale), `relevance` (token
relevance), `grader` (agent hypotheses) and `agent` (the interpretability agent's LLM). A role's
setting comes, first set wins, from: the role's own entry (`JudgeConfig.roles`, which command
line `--judge-role` fills), its environment variable (ADLENS_JUDGE_<ROLE>_MODEL, ...), the
config's shared value (`--judge-max-tokens`, `--reasoning-effort` set it), the shared
environment variable (ADLENS_JUDGE_MODEL, ADLENS_JUDGE_BASE_URL), the default.
"""

from __future__ import annotations

import os
from typing import Any, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adlens.errors import AdlensError

RoleName = Literal["coherence", "tournament", "relevance", "grader", "agent"]
ROLES: tuple[str, ...] = get_args(RoleName)
# The values the openai client's chat.completions accept (OpenRouter takes the same shorthand).
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]
EFFORTS: tuple[str, ...] = get_args(ReasoningEffort)
ROLE_FIELDS = ("model", "base_url", "max_tokens", "reasoning_effort")

ENV_MODEL = "ADLENS_JUDGE_MODEL"
ENV_BASE_URL = "ADLENS_JUDGE_BASE_URL"
DEFAULT_MAX_TOKENS = 10_000  # a reasoning model thinks before it answers: room for both
DEFAULT_MAX_TOKENS_CAP = 32_000
CLI_FLAGS = {"max_tokens": "--judge-max-tokens", "model": "--judge-model", "roles": "--judge-role"}


def role_env_name(role: str, field: str) -> str:
    """ADLENS_JUDGE_<ROLE>_<FIELD>, e.g. ADLENS_JUDGE_COHERENCE_MODEL."""
    return f"ADLENS_JUDGE_{role.upper()}_{field.upper()}"


def check_role(name: str, where: str = "judge role") -> RoleName:
    """`name` if it is a role, else a one-line AdlensError listing the roles."""
    if name not in ROLES:
        raise AdlensError(f"{where}: unknown role {name!r}; use one of {', '.join(ROLES)}.")
    return cast(RoleName, name)


def structured_from_env() -> Literal["auto", "off"]:
    """ADLENS_JUDGE_STRUCTURED_OUTPUT (auto or off; unset: auto); a bad value is one line."""
    value = os.environ.get("ADLENS_JUDGE_STRUCTURED_OUTPUT", "").strip().lower() or "auto"
    if value not in ("auto", "off"):
        raise AdlensError(
            f"ADLENS_JUDGE_STRUCTURED_OUTPUT={value!r}: use auto (JSON schemas where the "
            "endpoint takes them) or off (the text protocol)."
        )
    return cast(Literal["auto", "off"], value)


def check_effort(value: str, where: str = "--reasoning-effort") -> str:
    """`value` if it is a reasoning effort, else a one-line AdlensError listing them."""
    if value not in EFFORTS:
        raise AdlensError(f"{where}: use one of {', '.join(EFFORTS)} (got {value!r}).")
    return value


class JudgeRole(BaseModel):
    """One role's own settings; None: the shared setting of the JudgeConfig."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="The role's model (None: the shared model).")
    base_url: str | None = Field(
        None, description="The role's OpenAI-compatible URL (None: the shared URL)."
    )
    max_tokens: int | None = Field(
        None, ge=1, description="Tokens per answer of the role (None: the shared limit)."
    )
    reasoning_effort: ReasoningEffort | None = Field(
        None, description="The role's reasoning effort (None: the shared one)."
    )


def role_from_env(role: str) -> JudgeRole:
    """A role's settings from ADLENS_JUDGE_<ROLE>_*; a bad value is a one-line AdlensError."""
    values: dict[str, Any] = {}
    for field in ROLE_FIELDS:
        name = role_env_name(role, field)
        raw = os.environ.get(name, "").strip()
        if not raw:
            continue
        if field == "reasoning_effort":
            check_effort(raw, name)
        if field == "max_tokens" and not (raw.isdigit() and int(raw) >= 1):
            raise AdlensError(f"{name}: must be a whole number of at least 1 (got {raw!r}).")
        values[field] = raw
    return JudgeRole.model_validate(values)


class JudgeConfig(BaseModel):
    """Which judge answers coherence, scale, relevance and grading questions (and which LLM
    the agent uses), and how its HTTP client behaves.

    backend "auto" uses an OpenAI-compatible model when one is configured (here or through
    ADLENS_JUDGE_MODEL), else the offline judges. The key is never stored here: `api_key_env`
    names the environment variable that holds it (default: ADLENS_JUDGE_API_KEY, then
    OPENROUTER_API_KEY for an openrouter URL, then OPENAI_API_KEY). `roles` gives a role its
    own model, URL, token limit or reasoning effort; `for_role` is what a role uses.
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
    max_tokens: int = Field(
        DEFAULT_MAX_TOKENS,
        ge=1,
        description="Tokens per judge answer, for every role without its own limit (reasoning "
        "models spend most of them thinking; a local judge answers in at most 512).",
    )
    max_tokens_cap: int = Field(
        DEFAULT_MAX_TOKENS_CAP,
        ge=1,
        description="A truncated answer is asked once more with twice its tokens, at most this.",
    )
    max_tokens_param: str = "max_tokens"  # some APIs want "max_completion_tokens"
    reasoning_effort: ReasoningEffort | None = Field(
        None,
        description="Reasoning effort sent to reasoning models, for every role without its "
        f"own: {', '.join(EFFORTS)} (default: not sent, the model's own).",
    )
    roles: dict[RoleName, JudgeRole] = Field(
        default_factory=dict,
        description="A role's own judge: ROLE=MODEL, roles "
        f"{', '.join(ROLES)}; repeatable. Others use the shared model.",
    )
    price_input_per_m: float = Field(0.0, ge=0)  # USD per million tokens; 0 = unknown
    price_output_per_m: float = Field(0.0, ge=0)
    cache: bool = True
    cache_dir: str | None = None  # None: <adlens cache>/judge-cache
    structured_output: Literal["auto", "off"] = Field(
        default_factory=lambda: structured_from_env(),
        description="auto: ask for answers in each role's JSON schema (response_format) where "
        "the endpoint takes it, found out once per endpoint, else the text protocol; off: the "
        "text protocol only (default: $ADLENS_JUDGE_STRUCTURED_OUTPUT, else auto).",
    )

    def hashed(self) -> dict[str, Any]:
        """What decides the verdicts (how the calls are made changes speed and cost, not
        verdicts). Of a role's judge: hash `for_role(name).hashed()`. `structured_output`
        enters only when "off": the same questions asked with a schema ("auto", the default)
        keep the hashes, and so the cached verdicts, of results judged before it existed."""
        out = self.model_dump(
            include={
                "backend",
                "model",
                "base_url",
                "temperature",
                "max_tokens",
                "reasoning_effort",
            }
        )
        if self.structured_output == "off":
            out["structured_output"] = "off"
        return out

    def for_role(self, name: str) -> JudgeConfig:
        """The config a role's judge uses: its own settings (here, then its environment
        variables), else the shared ones; `roles` emptied. A model or URL left None still
        falls back to ADLENS_JUDGE_MODEL / ADLENS_JUDGE_BASE_URL where the client is made."""
        own = self.own(name).model_dump(exclude_none=True)
        return self.model_copy(update={**own, "roles": {}})

    def own(self, name: str) -> JudgeRole:
        """A role's own settings: its entry in `roles`, else its environment variables (per
        field); None where the role takes the shared value."""
        role = check_role(name)
        mine = self.roles.get(role) or JudgeRole()
        env = role_from_env(role)
        return JudgeRole(
            **{
                f: v if (v := getattr(mine, f)) is not None else getattr(env, f)
                for f in ROLE_FIELDS
            }
        )

    def with_overrides(
        self,
        *,
        roles: dict[str, str] | None = None,
        max_tokens: int | None = None,
        reasoning_effort: str | None = None,
        **shared: Any,
    ) -> JudgeConfig:
        """This config with command-line values over it: `roles` role -> model, the shared
        `max_tokens` and `reasoning_effort`, and any other shared field (None: unchanged)."""
        update = {k: v for k, v in shared.items() if v is not None}
        if max_tokens is not None:
            update["max_tokens"] = max_tokens
        if reasoning_effort is not None:
            update["reasoning_effort"] = check_effort(reasoning_effort)
        merged = dict(self.roles)
        for role, model in (roles or {}).items():
            key = check_role(role, "--judge-role")
            old = merged.get(key)
            base = old.model_dump() if old is not None else {}
            merged[key] = JudgeRole(**{**base, "model": model})
        update["roles"] = merged
        try:
            return JudgeConfig.model_validate({**self.model_dump(), **update})
        except ValidationError as err:
            e = err.errors()[0]
            field = str(e["loc"][0]) if e.get("loc") else "judge"
            where = CLI_FLAGS.get(field, "--" + field.replace("_", "-"))
            ctx = e.get("ctx") or {}
            msg = f"must be at least {ctx['ge']}" if "ge" in ctx else str(e["msg"])
            raise AdlensError(f"{where}: {msg} (got {e.get('input')!r}).") from None

    def role_settings(self) -> dict[str, dict[str, Any]]:
        """Per role, what it uses (model, URL, token limit, reasoning effort; never a key), for
        manifests. A model or URL from the shared environment variables is shown resolved."""
        out: dict[str, dict[str, Any]] = {}
        for role in ROLES:
            eff = self.for_role(role)
            out[role] = {
                "model": eff.model or os.environ.get(ENV_MODEL) or None,
                "base_url": eff.base_url or os.environ.get(ENV_BASE_URL) or None,
                "max_tokens": eff.max_tokens,
                "reasoning_effort": eff.reasoning_effort,
            }
        return out


def parse_role_specs(specs: list[str] | None, flag: str = "--judge-role") -> dict[str, str]:
    """['coherence=openai/gpt-5-nano', ...] -> {'coherence': 'openai/gpt-5-nano', ...};
    a malformed item or an unknown role is a one-line AdlensError listing the roles."""
    out: dict[str, str] = {}
    for spec in specs or []:
        role, sep, model = spec.partition("=")
        role, model = role.strip(), model.strip()
        if not sep or not model:
            raise AdlensError(
                f"{flag}: give ROLE=MODEL, e.g. coherence=openai/gpt-5-nano (got {spec!r}); "
                f"roles: {', '.join(ROLES)}."
            )
        out[check_role(role, flag)] = model
    return out
