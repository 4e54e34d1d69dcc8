"""The interpretability agent (PROTOCOL §5): an LLM reads a run's overview, queries the models
within a budget of interactions, and states a hypothesis about the finetune; a grader LLM scores
it 1-5 against the organism's description. The black-box baseline sees unsteered samples and
may only ask the models.

    client = make_client()                       # $ADLENS_JUDGE_MODEL / _BASE_URL / _API_KEY
    result = run_agent("runs/cake", "adl", 5, 0, client=client)
    table = run_agents("runs/cake", organism=load_organism("organisms/cake"), client=client)
"""

from adlens.agent.config import AGENT_KINDS, AgentConfig
from adlens.agent.grade import Grade, grade_hypothesis
from adlens.agent.loop import AgentResult, AgentRun
from adlens.agent.overview import build_overview
from adlens.agent.prompts import parse_final, parse_grade, parse_text_calls
from adlens.agent.rundata import RunData
from adlens.agent.runner import (
    grade_all,
    grade_run,
    make_client,
    run_agent,
    run_agents,
    write_tables,
)
from adlens.agent.tools import ToolBox

__all__ = [
    "AGENT_KINDS",
    "AgentConfig",
    "AgentResult",
    "AgentRun",
    "Grade",
    "RunData",
    "ToolBox",
    "build_overview",
    "grade_all",
    "grade_hypothesis",
    "grade_run",
    "make_client",
    "parse_final",
    "parse_grade",
    "parse_text_calls",
    "run_agent",
    "run_agents",
    "write_tables",
]
