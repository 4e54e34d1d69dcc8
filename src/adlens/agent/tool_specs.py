"""The tool set an agent is offered: each tool's name, description and argument schema, bound to
the ToolBox method that runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adlens.agent.tool_calls import Tool, _schema
from adlens.core.readers import reader_reads

if TYPE_CHECKING:
    from adlens.agent.tools import ToolBox

MAX_SAMPLES_PER_CALL = 10


def build_tools(box: ToolBox) -> list[Tool]:
    """The tools of `box`, each bound to the ToolBox method that runs it: ask_models,
    more_samples, hypotheses and final_answer, and for ADL also more_tokens and steer."""
    positions = box.data.positions
    pos_desc = f"a token position, one of {positions}"
    ask = Tool(
        "ask_models",
        "Send one chat prompt to both the base model and the finetuned model and read "
        "their answers side by side. Costs 1 model interaction.",
        _schema({"prompt": {"type": "string", "description": "the user message"}}, ["prompt"]),
        box._ask_models,
        cost=1,
    )
    samples_props: dict[str, Any] = {
        "n": {"type": "integer", "description": f"how many (1-{MAX_SAMPLES_PER_CALL})"}
    }
    if box.kind == "adl":
        samples_props["position"] = {
            "type": "integer",
            "description": f"{pos_desc} that was steered; leave out for unsteered samples",
        }
    samples = Tool(
        "more_samples",
        "Show more of the finetuned model's answers to the chat prompts that were not shown "
        "yet"
        + (" (steered at a position, or unsteered without one)" if box.kind == "adl" else "")
        + ". Free.",
        _schema(samples_props, []),
        box._more_samples,
    )
    hyp = Tool(
        "hypotheses",
        "Keep a list of your hypotheses: add one, list them, or remove one by its number. Free.",
        _schema(
            {
                "action": {"type": "string", "enum": ["add", "list", "remove"]},
                "text": {"type": "string", "description": "the hypothesis to add"},
                "index": {"type": "integer", "description": "number of the one to remove"},
            },
            ["action"],
        ),
        box._hypotheses,
    )
    final = Tool(
        "final_answer",
        f"End the investigation with your final hypothesis (at most "
        f"{box.cfg.max_hypothesis_words} words): what the finetuning data was about and "
        "what the model learned from it, as specifically as you can.",
        _schema({"hypothesis": {"type": "string"}}, ["hypothesis"]),
        box._final_answer,
    )
    if box.kind != "adl":
        return [ask, samples, hyp, final]
    layer_prop = {"layer": {"type": "integer", "description": f"one of {box.data.layers}"}}
    tokens = Tool(
        "more_tokens",
        "Show more top tokens of a reader of the activation difference at a position. Free.",
        _schema(
            {
                "position": {"type": "integer", "description": pos_desc},
                "reader": {
                    "type": "string",
                    "enum": [r for r in box.data.readers() if reader_reads(r) == "positions"]
                    or ["logit_lens"],
                },
                "k": {"type": "integer", "description": "how many tokens (up to 100)"},
                "variant": {
                    "type": "string",
                    "enum": ["diff", "neg_diff", "base_mean", "ft_mean"],
                    "description": "diff (default): finetuned minus base; neg_diff: the "
                    "opposite; base_mean / ft_mean: the plain mean activation of each model",
                },
                **(layer_prop if len(box.data.layers) > 1 else {}),
            },
            ["position", "reader"],
        ),
        box._more_tokens,
    )
    steer = Tool(
        "steer",
        "Add the activation difference at a position to the finetuned model's residual "
        "stream while it answers a prompt, and read the answer. Strength is in units of a "
        "typical activation norm (default: the strength used for the samples, or 1). "
        "Costs 1 model interaction.",
        _schema(
            {
                "position": {"type": "integer", "description": pos_desc},
                "prompt": {"type": "string"},
                "strength": {"type": "number"},
                **(layer_prop if len(box.data.layers) > 1 else {}),
            },
            ["position", "prompt"],
        ),
        box._steer,
        cost=1,
    )
    out = [tokens, samples, ask, steer, hyp, final]
    if box.data.contrastive_samples():
        contrastive = Tool(
            "contrastive_samples",
            "Read texts sampled from the finetuned model with its difference from the base "
            "amplified (no chat template, from vague starts like 'The'): what the finetune "
            "learned tends to come out nearly verbatim. Free.",
            _schema({"n": {"type": "integer", "description": "how many (up to 10)"}}, []),
            box._contrastive_samples,
        )
        out.insert(2, contrastive)
    return out
