"""Judges: coherence verdicts and Patchscope scale choice, by an LLM or offline.

`make_judges(cfg, pair=...)` picks the backend per role: an OpenAI-compatible model when one is
configured (the role's own model, judge.model or $ADLENS_JUDGE_MODEL), else the offline judges,
which need no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adlens.core.config import JudgeConfig
from adlens.core.protocols import UNKNOWN, CoherenceJudge, ScaleChooser, Verdict
from adlens.core.scale_choice import ContentStability, content_words
from adlens.errors import AdlensError
from adlens.judges.chat import ChatRequest, Completion
from adlens.judges.client import JudgeClient
from adlens.judges.endpoint import ENV_BASE_URL, ENV_MODEL
from adlens.judges.llm import LLMCoherenceJudge, TournamentScaleChooser
from adlens.judges.offline import OfflineCoherenceJudge
from adlens.judges.roles import JudgeClients

JUDGE_ROLES = ("coherence", "tournament")

__all__ = [
    "UNKNOWN",
    "ChatRequest",
    "CoherenceJudge",
    "Completion",
    "ContentStability",
    "JudgeClient",
    "JudgeClients",
    "JudgeConfig",
    "Judges",
    "LLMCoherenceJudge",
    "OfflineCoherenceJudge",
    "ScaleChooser",
    "TournamentScaleChooser",
    "Verdict",
    "content_words",
    "make_judges",
]


@dataclass
class Judges:
    """The judges a run uses. `offline` is True when no LLM is involved; the offline coherence
    judge must then be calibrated on unsteered samples before it judges."""

    coherence: CoherenceJudge
    scale_chooser: ScaleChooser
    offline: bool
    client: JudgeClient | None = None  # the coherence judge's
    reason: str = ""
    scale_client: JudgeClient | None = None  # the scale tournament's, when an LLM runs it

    def describe(self) -> str:
        if self.client is not None:
            coherence = self.client.describe()
        else:
            coherence = f"offline ({self.reason})" if self.reason else "offline"
        if self.scale_client is None or self.scale_client is self.client:
            return f"judges: {coherence}"
        return f"judges: coherence {coherence}; scale tournament {self.scale_client.describe()}"

    @property
    def needs_calibration(self) -> bool:
        """True until an offline coherence judge has seen unsteered samples."""
        return getattr(self.coherence, "thresholds", "n/a") is None

    def calibrate(self, prompts: Sequence[str], unsteered: Sequence[str]) -> None:
        """Show the coherence judge unsteered samples, generated like the ones it will judge
        (same prompts, temperature and length). A no-op for LLM judges."""
        calibrate = getattr(self.coherence, "calibrate", None)
        if calibrate is not None:
            calibrate(prompts, unsteered)

    def fingerprint(self) -> dict[str, Any]:
        """What decides the verdicts, for config hashes: backend and, for an LLM, the model."""
        if self.client is None:
            return {"backend": "offline"}
        return {"backend": "openai", "model": self.client.model, "base_url": self.client.identity}

    def stats(self) -> dict[str, Any]:
        return self.client.stats() if self.client is not None else {"backend": "offline"}


def make_judges(
    cfg: JudgeConfig | None = None,
    *,
    pair: Any | None = None,
    log_path: Path | str | None = None,
    roles: Sequence[str] = JUDGE_ROLES,
    clients: JudgeClients | None = None,
) -> Judges:
    """Judges from a config: per role (coherence, tournament), an LLM when one is configured
    for it (backend "auto": `cfg.for_role(role)` or $ADLENS_JUDGE_MODEL names a model), else
    offline. Only the `roles` asked for get an LLM client (a role left out is offline).

    Offline judges need `pair` (the unsteered finetuned model scores coherence). An LLM backend
    with a remote URL and no key raises AdlensError naming the variable to set."""
    cfg = cfg or JudgeConfig()
    clients = clients or JudgeClients(cfg, log_path=log_path)
    tokenizer = getattr(pair, "tokenizer", None)
    llm = {r: r in roles and clients.uses_llm(r) for r in JUDGE_ROLES}
    client = clients.client("coherence") if llm["coherence"] else None
    scale_client = clients.client("tournament") if llm["tournament"] else None
    scale_chooser: ScaleChooser = (
        TournamentScaleChooser(scale_client, tokenizer)
        if scale_client is not None
        else ContentStability(tokenizer)
    )
    if client is not None:
        return Judges(
            coherence=LLMCoherenceJudge(client),
            scale_chooser=scale_chooser,
            offline=False,
            client=client,
            scale_client=scale_client,
        )
    if pair is None:
        raise AdlensError("Offline judges need the model pair: pass pair=... to make_judges.")
    reason = (
        "judge.backend is 'offline'"
        if cfg.backend == "offline"
        else f"no judge model configured; set {ENV_MODEL} and {ENV_BASE_URL} to use an LLM"
    )
    return Judges(
        coherence=OfflineCoherenceJudge(pair),
        scale_chooser=scale_chooser,
        offline=True,
        scale_client=scale_client,
        reason=reason,
    )
