"""The first message an agent reads: reader tokens per position and a steered and an unsteered
sample per prompt (ADL agent), or unsteered samples only (black-box baseline).

Built only from tokens, samples, positions and numbers of the run directory: never from the
manifest, model ids, paths or dataset names, which could give the finetune away.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from adlens.agent.config import AgentConfig
from adlens.agent.rundata import RunData
from adlens.core.readers import reader_description, reader_label, reader_reads
from adlens.results.readings import ALL, TokenProb


def clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())  # one line: newlines would break the layout
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def format_tokens(tokens: Sequence[TokenProb], k: int) -> str:
    """Tokens as JSON strings (leading spaces and newlines stay visible) with probabilities."""
    parts = [f"{json.dumps(t.token, ensure_ascii=False)} {t.prob:.3f}" for t in tokens[:k]]
    return ", ".join(parts) or "(none)"


def reader_section(data: RunData, k: int) -> str:
    """Top-k tokens of the difference per layer and position, for each reader of positions;
    then the lists of the readers that read the whole text or the weights."""
    lines = []
    n_layers = data.n_layers
    positional = [r for r in data.readers() if reader_reads(r) == "positions"]
    for layer in data.layers:
        where = f"layer {layer}" + (f" of {n_layers}" if n_layers else "")
        lines.append(f"### Difference at {where}")
        for pos in data.positions:
            lines.append(f"Position {pos}{data.position_note(layer, pos)}:")
            for reader in positional:
                e = data.entry(reader, layer, pos)
                if e is None:
                    continue
                scale = f" (scale {e.scale:g})" if e.scale is not None else ""
                if e.pooled:
                    scale = " (the words most scales agree on)"
                lines.append(f"  {reader_label(reader)}{scale}: {format_tokens(e.tokens, k)}")
        lines.append("")
    others = [r for r in data.readers() if reader_reads(r) != "positions"]
    if others:
        lines.append("### Read from the whole text and from the weights")
        for reader in others:
            for e in data.lists(reader)[:3]:
                at = "" if e.layer == ALL else f" (layer {e.layer}, direction {e.position})"
                lines.append(f"  {reader_label(reader)}{at}: {format_tokens(e.tokens, k)}")
    return "\n".join(lines).rstrip()


def first_sample(rows: list[dict[str, Any]], prompt_index: int) -> str | None:
    return next((r["text"] for r in rows if r.get("prompt_index") == prompt_index), None)


def samples_section(data: RunData, cfg: AgentConfig, steered: bool) -> str:
    """Per prompt: the finetuned model's unsteered answer and, with `steered`, its answer under
    steering at each steered position; each sample clipped to cfg.sample_chars."""
    prompts = data.prompts()
    if not prompts:
        return "(This run has no samples.)"
    unsteered = data.sample_rows(False)
    targets = data.steered_positions() if steered else []
    steered_rows = {
        (t["layer"], t["position"]): data.sample_rows(True, t["layer"], t["position"])
        for t in targets
    }
    lines = []
    for i, prompt in enumerate(prompts):
        lines.append(f"Prompt {i + 1}: {clip(prompt, cfg.sample_chars)}")
        text = first_sample(unsteered, i)
        if text is not None:
            lines.append(f"  unsteered: {clip(text, cfg.sample_chars)}")
        for t in targets:
            text = first_sample(steered_rows[(t["layer"], t["position"])], i)
            if text is not None:
                label = f"steered at position {t['position']}"
                label += f", layer {t['layer']}" if len(data.layers) > 1 else ""
                lines.append(f"  {label}: {clip(text, cfg.sample_chars)}")
    return "\n".join(lines)


def adl_overview(data: RunData, cfg: AgentConfig) -> str:
    targets = data.steered_positions()
    parts = [
        "## 1. What the activation difference reads as",
        f"The mean difference (finetuned minus base) of the residual stream on ordinary text "
        f"unrelated to the finetune, at the first {len(data.positions)} token positions, and "
        "the other readings of the two models, by these readers: "
        + "; ".join(f"{reader_label(r)} ({reader_description(r)})" for r in data.readers())
        + f". Top {cfg.overview_tokens} tokens with their probabilities (or shares):",
        "",
        reader_section(data, cfg.overview_tokens),
        "",
        "## 2. Steering with the difference",
    ]
    if targets:
        strengths = "; ".join(
            f"position {t['position']}"
            + (f" (layer {t['layer']})" if len(data.layers) > 1 else "")
            + f": strength {t['strength']:.3g}"
            for t in targets
        )
        parts.append(
            "The finetuned model answered everyday chat prompts unsteered and with the "
            "difference added to its residual stream at every token (strength in units of a "
            "typical activation norm; the largest strength that still gave coherent text: "
            f"{strengths}). One sample of each, first {cfg.sample_chars} characters:"
        )
    else:
        parts.append(
            "(No steering samples in this run.) Unsteered answers of the finetuned model to "
            f"everyday chat prompts, first {cfg.sample_chars} characters:"
        )
    parts += ["", samples_section(data, cfg, steered=True)]
    return "\n".join(parts)


def blackbox_overview(data: RunData, cfg: AgentConfig) -> str:
    return "\n".join(
        [
            "## Answers of the finetuned model to everyday chat prompts",
            f"One sample per prompt, first {cfg.sample_chars} characters:",
            "",
            samples_section(data, cfg, steered=False),
        ]
    )


def build_overview(data: RunData, kind: str, cfg: AgentConfig) -> str:
    return adl_overview(data, cfg) if kind == "adl" else blackbox_overview(data, cfg)
