"""The interpretability agent (PROTOCOL §5): an LLM reads a run's overview, queries the models
within a budget of interactions, and states a hypothesis about the finetune; a grader LLM scores
it 1-5 against the organism's description. The black-box baseline sees unsteered samples and
may only ask the models.

    client = make_client()                       # $ADLENS_JUDGE_MODEL / _BASE_URL / _API_KEY
    result = run_agent("runs/cake", "adl", 5, 0, client=client)
    table = run_agents("runs/cake", organism=load_organism("organisms/cake"), client=client)
"""

from importlib import import_module
from typing import Any

# public name -> the module that defines it. Loaded on first use, so that the command line can
# read AgentConfig (its options' help) without loading torch.
_EXPORTS = {
    "AGENT_KINDS": "config",
    "AgentConfig": "config",
    "Grade": "grade",
    "grade_hypothesis": "grade",
    "AgentResult": "loop",
    "AgentRun": "loop",
    "build_overview": "overview",
    "parse_final": "prompts",
    "parse_grade": "prompts",
    "parse_text_calls": "prompts",
    "RunData": "rundata",
    "grade_all": "runner",
    "grade_run": "runner",
    "make_client": "runner",
    "run_agent": "runner",
    "run_agents": "runner",
    "write_tables": "runner",
    "ToolBox": "tools",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'adlens.agent' has no attribute {name!r}")
    value = getattr(import_module(f"adlens.agent.{module}"), name)
    globals()[name] = value
    return value
