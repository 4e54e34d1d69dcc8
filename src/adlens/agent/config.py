"""What an agent run may do: its budgets and how it samples (PROTOCOL §5)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AgentKind = Literal["adl", "blackbox"]
AGENT_KINDS: tuple[str, ...] = ("adl", "blackbox")


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
