"""The evaluations a sweep runs on each organism after the pipeline: steering similarity, false-
fact alignment and the agents (ADL and black box, graded). Each is off unless the sweep asks for
it, each is cached by its own inputs, and a failure becomes a note on the organism's row instead
of stopping the sweep: an organism whose data is not public still gets its other columns.

In a sweep file:

    similarity: true            # or a mapping of SimilarityConfig fields
    ffa: true                   # false-fact organisms only; or a mapping of FFAConfig fields
    agent: true                 # the preset's plan (paper: ADL 0,5 and black box 0,5,50, 5 runs)
    agent: {repeats: 2, budgets: [0, 5], black_box_budgets: [0], model: openai/gpt-5}
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adlens.core.config import JudgeConfig
from adlens.errors import AdlensError
from adlens.organisms.organism import Organism, OrganismType

log = logging.getLogger(__name__)


class SweepAgent(BaseModel):
    """The agents' plan in a sweep: what the preset says, with these fields over it."""

    model_config = ConfigDict(extra="forbid")

    budgets: list[int] | None = None
    black_box_budgets: list[int] | None = None
    repeats: int | None = Field(None, ge=1)
    grader_repeats: int | None = Field(None, ge=1)
    model: str | None = None  # None: the judge config's agent role
    base_url: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)  # AgentConfig fields

    def plan(self, preset: str) -> dict[str, Any]:
        from adlens.agent.config import AGENT_PRESETS, agent_preset

        plan = agent_preset(preset if preset in AGENT_PRESETS else None)
        given = self.model_dump(
            include={"budgets", "black_box_budgets", "repeats", "grader_repeats"},
            exclude_none=True,
        )
        plan |= given
        plan["settings"] = plan.get("settings", {}) | self.settings
        return plan


def _options(value: bool | dict[str, Any], section: str) -> dict[str, Any] | None:
    """None when the section is off; its fields (maybe none) when on."""
    if value is False:
        return None
    if value is True:
        return {}
    if not isinstance(value, dict):
        raise AdlensError(f"Sweep `{section}:` must be true, false or a mapping of settings.")
    return dict(value)


def _similarity(run_dir: Path, organism: Organism, fields: dict[str, Any], progress: bool) -> None:
    from adlens.evaluate.similarity import SimilarityConfig, steering_similarity

    try:
        cfg = SimilarityConfig(**fields)
    except ValidationError as err:
        raise AdlensError(f"Sweep similarity settings: {err.errors()[0]['msg']}.") from None
    steering_similarity(run_dir, organism, cfg, show_progress=progress)


def _ffa(
    run_dir: Path, organism: Organism, fields: dict[str, Any], judge: JudgeConfig, progress: bool
) -> None:
    from adlens.evaluate.ffa import evaluate_ffa
    from adlens.evaluate.ffa_config import FFAConfig

    try:
        cfg = FFAConfig(**fields)
    except ValidationError as err:
        raise AdlensError(f"Sweep ffa settings: {err.errors()[0]['msg']}.") from None
    evaluate_ffa(run_dir, organism, judge=judge, config=cfg, show_progress=progress)


def _agents(
    run_dir: Path, organism: Organism, agent: SweepAgent, preset: str, judge: JudgeConfig
) -> None:
    from adlens.agent import AgentConfig, make_client, run_agents

    plan = agent.plan(preset)
    try:
        cfg = AgentConfig(**plan["settings"])
    except ValidationError as err:
        raise AdlensError(f"Sweep agent settings: {err.errors()[0]['msg']}.") from None
    root = run_dir / "agent"
    client = make_client(
        agent.model, agent.base_url, log_path=root / "calls.jsonl", judge=judge, role="agent"
    )
    grader = make_client(
        None,
        agent.base_url,
        log_path=root / "grader_calls.jsonl",
        judge=judge,
        role="grader",
        fallback_model=client.model,
    )
    run_agents(
        run_dir,
        budgets=plan["budgets"],
        black_box_budgets=plan["black_box_budgets"],
        repeats=plan["repeats"],
        organism=organism,
        client=client,
        grader=grader,
        cfg=cfg,
        grader_repeats=plan["grader_repeats"],
    )


def run_evaluations(
    run_dir: Path,
    organism: Organism,
    *,
    similarity: bool | dict[str, Any],
    ffa: bool | dict[str, Any],
    agent: bool | dict[str, Any],
    preset: str,
    judge: JudgeConfig,
    steered: bool,
    show_progress: bool = True,
) -> list[str]:
    """Run the evaluations the sweep asks for on one organism's run; returns notes for its row
    (what was skipped or failed, in one line each)."""
    notes: list[str] = []
    sim = _options(similarity, "similarity")
    if sim is not None:
        if not steered:
            notes.append("similarity: needs steering (steer: true)")
        else:
            _attempt(notes, "similarity", _similarity, run_dir, organism, sim, show_progress)
    facts = _options(ffa, "ffa")
    if facts is not None and organism.type is OrganismType.FALSE_FACT:
        _attempt(notes, "ffa", _ffa, run_dir, organism, facts, judge, show_progress)
    plan = _options(agent, "agent")
    if plan is not None:
        try:
            spec = SweepAgent(**plan)
        except ValidationError as err:
            e = err.errors()[0]
            loc = ".".join(str(p) for p in e.get("loc", ()))
            raise AdlensError(f"Sweep agent settings: {loc}: {e['msg']}.") from None
        _attempt(notes, "agent", _agents, run_dir, organism, spec, preset, judge)
    return notes


def _attempt(notes: list[str], name: str, fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except AdlensError as err:
        log.warning("%s: %s", name, err)
        notes.append(f"{name}: {err}")
