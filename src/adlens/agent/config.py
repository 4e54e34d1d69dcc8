"""What an agent run may do: its budgets and how it samples (PROTOCOL §5)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AgentKind = Literal["adl", "blackbox"]
AGENT_KINDS: tuple[str, ...] = ("adl", "blackbox")
# Where a run's folder keeps its grades: the LLM grader's and the keyword rule's.
GRADE_FILE = "grade.json"
KEYWORD_GRADE_FILE = "grade-keywords.json"


class AgentConfig(BaseModel):
    """Budgets and sampling of one agent run. `interactions` (the budget i) is set per run.

    Model interactions (ask_models, steer) cost 1 each; the other tools are free. LLM calls and
    tokens (prompt + completion, summed over calls) are capped too; when any cap is reached the
    agent is asked for its final answer (one more call, outside the caps).
    """

    model_config = ConfigDict(extra="forbid")

    interactions: int = Field(5, ge=0)
    max_llm_calls: int | None = Field(
        None, ge=1, description="LLM replies per run (default 15 + 2 x budget)."
    )
    max_total_tokens: int = Field(400_000, ge=1, description="Prompt + completion tokens per run.")
    # the agent LLM
    temperature: float = Field(0.7, ge=0, description="Agent LLM temperature.")
    max_reply_tokens: int = Field(
        2048, ge=16, description="Tokens per agent reply (a small local model: 512)."
    )
    protocol: Literal["auto", "tools", "text"] = "auto"  # auto: tools, text if rejected
    # what the agent is shown
    overview_tokens: int = Field(10, ge=1)
    sample_chars: int = Field(300, ge=20)
    tool_sample_chars: int = Field(600, ge=20)
    max_hypothesis_words: int = Field(200, ge=10)
    # the models' answers to the agent's prompts
    model_temperature: float = Field(0.3, gt=0)
    model_max_new_tokens: int = Field(200, ge=1)
    max_prompt_chars: int = Field(2000, ge=10)
    max_strength: float = Field(100.0, gt=0)
    device: str = Field("auto", description="Where the models run for ask_models/steer.")
    seed: int = 0

    def llm_calls(self) -> int:
        return self.max_llm_calls or 15 + 2 * self.interactions

    def hashed(self) -> dict[str, Any]:
        """Everything that shapes a run's result (the device does not)."""
        return self.model_dump(exclude={"device"})


# How many agent runs a command makes, per preset (the names of `adlens run`'s presets). The
# paper preset is the reference study's design (REFERENCE §1.10-1.11): 5 runs per organism and
# condition, the ADL agent at 0 and 5 model interactions, the black box at 0, 5 and 50 (0x, 1x
# and 10x the ADL budget). Its grader makes 3 calls per hypothesis (the median counts): the
# reference's first version graded once, its camera-ready code 3 times; one sampled grade is
# noisy on rubric boundaries, and the camera-ready numbers are the ones to compare against.
AGENT_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "budgets": [0, 5],
        "black_box_budgets": [0, 5, 50],
        "repeats": 5,
        "grader_repeats": 3,
        # AgentConfig fields: the models answer the agent's prompts as in the reference (256
        # tokens at temperature 0.8), the overview's samples are clipped at 200 characters, and
        # a reply may take 10,000 tokens (a reasoning model thinks in them).
        "settings": {
            "model_max_new_tokens": 256,
            "model_temperature": 0.8,
            "sample_chars": 200,
            "max_reply_tokens": 10_000,
        },
    },
    "demo": {"budgets": [0, 5], "black_box_budgets": [0, 5], "repeats": 1, "grader_repeats": 3},
    "fast": {"budgets": [0, 5], "black_box_budgets": [0, 5], "repeats": 1, "grader_repeats": 3},
}
# Without --preset: one run per budget, black box at 0 and 5.
AGENT_DEFAULTS: dict[str, Any] = AGENT_PRESETS["fast"]


def agent_preset(name: str | None) -> dict[str, Any]:
    """The run plan of a preset (budgets, black_box_budgets, repeats, grader_repeats); None:
    the defaults."""
    if name is None:
        return dict(AGENT_DEFAULTS)
    if name not in AGENT_PRESETS:
        from adlens.errors import AdlensError

        raise AdlensError(f"Unknown preset '{name}'; use one of: {', '.join(AGENT_PRESETS)}.")
    return dict(AGENT_PRESETS[name])
