"""One judge client per role: each role (coherence, tournament, relevance, grader, agent) uses
its effective config (`JudgeConfig.for_role`), and roles whose configs are equal share one
client, built once (one key lookup, one probe of a local server, one set of counters)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from adlens.core.judge_config import ENV_BASE_URL, ENV_MODEL, JudgeConfig, role_env_name
from adlens.errors import AdlensError
from adlens.judges.client import JudgeClient
from adlens.judges.endpoint import uses_llm

COUNTERS = ("requests", "calls", "cache_hits", "failures", "parse_failures", "truncated")
# structured answers: the form the endpoint takes, answers given in it, and per role the
# answers, structured ones, unreadable ones and the parse rate
STRUCTURED = ("response_format", "structured_answers", "schema_rejected", "parse_by_role")
TRUNCATION = ("truncated", "truncation_retries", "truncated_unknown")


class JudgeClients:
    """The clients of a config's roles, made on first use and kept per (effective config, log
    file): asking twice for a role, or for two roles with the same settings, gives the same
    client."""

    def __init__(self, cfg: JudgeConfig | None = None, *, log_path: Path | str | None = None):
        self.cfg = cfg or JudgeConfig()
        self.log_path = log_path
        self._clients: dict[str, JudgeClient] = {}

    def config(self, role: str) -> JudgeConfig:
        return self.cfg.for_role(role)

    def uses_llm(self, role: str) -> bool:
        """True when the role's judge is an LLM (see `endpoint.uses_llm`)."""
        return uses_llm(self.config(role))

    def client(
        self,
        role: str,
        *,
        log_path: Path | str | None = None,
        model: str | None = None,
        base_url: str | None = None,
    ) -> JudgeClient:
        """The role's client; `model` and `base_url` (a command's own options) override the
        config. No model anywhere is a one-line AdlensError naming the variables to set."""
        cfg = self.config(role)
        cfg = cfg.model_copy(
            update={k: v for k, v in (("model", model), ("base_url", base_url)) if v}
        )
        if not (cfg.model or os.environ.get(ENV_MODEL) or cfg.backend == "local"):
            raise AdlensError(
                f"No judge model for the {role} role: set {ENV_MODEL} or "
                f"{role_env_name(role, 'model')} (and {ENV_BASE_URL} for a server other than "
                "OpenAI's), or pass --judge-role."
            )
        path = log_path if log_path is not None else self.log_path
        resolved = {
            "cfg": cfg.model_dump(),
            "model": os.environ.get(ENV_MODEL),
            "base_url": os.environ.get(ENV_BASE_URL),
            "log": str(path),
        }
        key = json.dumps(resolved, sort_keys=True, default=str)
        if key not in self._clients:
            self._clients[key] = JudgeClient.from_config(cfg, log_path=path)
        return self._clients[key]


def role_record(cfg: JudgeConfig, role: str, client: JudgeClient | None = None) -> dict[str, Any]:
    """What a manifest keeps of a role's judge (never a key): offline, or the LLM's settings
    and, once it has answered, its counters (truncated answers among them)."""
    eff = cfg.for_role(role)
    if not uses_llm(eff):
        return {"backend": "offline"}
    if client is None:
        settings = cfg.role_settings()[role]
        return {"backend": eff.backend, **settings}
    stats = client.stats()
    return {
        "backend": eff.backend,
        **client.settings(),
        **{k: stats[k] for k in (*COUNTERS, *TRUNCATION, *STRUCTURED) if k in stats},
    }


def truncation_note(stats: dict[str, Any]) -> str:
    """'' or a line saying how many answers hit their token limit and how many stayed UNKNOWN."""
    cut = stats.get("truncated", 0)
    if not cut:
        return ""
    unknown = stats.get("truncated_unknown", 0)
    return (
        f"{cut} judge answer(s) stopped at their token limit (max_tokens "
        f"{stats.get('max_tokens')}); {stats.get('truncation_retries', 0)} asked again with "
        f"more tokens, {unknown} left UNKNOWN" + (": raise --judge-max-tokens" if unknown else "")
    )
