"""Typed configs and presets. A stage's config (as given, plus fingerprints of local inputs)
is hashed; a cached result is reused only when the hash matches."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from adlens.core.chat_prompts import PAPER_FINAL_SET, PAPER_SEARCH_SET, load_prompts
from adlens.core.data import TextSource, default_source
from adlens.core.judge_config import JudgeConfig as JudgeConfig  # re-exported
from adlens.core.readers import reader_spec, reader_specs
from adlens.errors import AdlensError


class ModelsConfig(BaseModel):
    """The pair to compare: hub ids or local folders, and how to load them.

    >>> ModelsConfig(finetuned="org/model-lora").base is None  # an adapter's own base
    True
    """

    model_config = ConfigDict(extra="forbid")

    base: str | None = Field(
        None,
        description="Base model: hub id or local folder. Default for an adapter: the adapter's "
        "base. An adapter is applied to this model unless --adapter-base names another.",
    )
    adapter_base: str | None = Field(
        None,
        description="For a peft adapter compared against a model other than the one it is "
        "applied to: the model the adapter is applied to (hub id or local folder); --base is "
        "then only the reference. Default: --base, else the adapter's own base.",
    )
    finetuned: str = Field(
        description="Finetuned model: hub id or local folder, a full checkpoint or a peft adapter."
    )
    base_revision: str | None = None
    finetuned_revision: str | None = None
    dtype: str = Field(
        "auto",
        description="auto (bf16 on a GPU, fp16 where it lacks bf16; fp32 on a CPU, or "
        "$ADLENS_CPU_DTYPE; Gemma-3: fp32 with eager attention), float32, bfloat16, float16, "
        "mixed (fp32 weights and residual stream, bf16 matrix products).",
    )
    device: str = Field("auto", description="auto, cpu, cuda, cuda:1, ...")
    device_map: str | None = Field(
        None, description="Pass 'auto' to spread a large model over several GPUs."
    )
    trust_remote_code: bool = Field(
        False, description="Allow model code from the hub (off unless you trust it)."
    )


DEFAULT_LAYERS = (0.5, 1.0)


class CollectConfig(BaseModel):
    """What to average over: the reference documents, the positions and the layers.

    >>> CollectConfig(documents=500, layers=[0.5]).positions
    5
    """

    model_config = ConfigDict(extra="forbid")

    dataset: TextSource = Field(default_factory=default_source)
    # "samples" is the name older configs used (and `--samples` still works): in adlens a
    # sample is a generated text; the reference text is made of documents.
    documents: int = Field(
        10_000,
        ge=1,
        validation_alias=AliasChoices("documents", "samples"),
        description="Number of reference documents to average over.",
    )
    positions: int = Field(5, ge=1, description="Read positions 0..k-1 of each document.")
    # The reference's middle layer, and the last layer, whose logit lens is the finetune's
    # average change to the next-token prediction (see README: the validation suite).
    layers: list[float | int] = Field(
        default_factory=lambda: list(DEFAULT_LAYERS),
        description="Comma-separated layers: fractions (0.5 -> floor(0.5*(L-1))) or indices. "
        "Default 0.5,1.0: the reference's middle layer and the last (read by the logit lens "
        "only, never steered); 0.5 alone is the reference.",
    )
    batch_size: int = Field(256, ge=1, description="Documents per forward pass.")
    norm_docs: int = Field(256, ge=1)  # documents for the expected-norm estimate
    norm_tokens: int = Field(64, ge=6)
    norm_skip: int = Field(5, ge=0)  # attention sinks at the first positions are not typical

    def hashed(self) -> dict[str, Any]:
        # batch_size changes speed, not results; "samples" keeps the hash of runs cached
        # before the field was named documents
        out = self.model_dump(exclude={"batch_size"})
        out["samples"] = out.pop("documents")
        return out


# Every built-in reader: the two of the Activation Difference Lens, then the three readers of the
# same pair that find what it misses (README: "Readers beyond ADL"; about a minute together on
# a 135M model on two CPU cores).
DEFAULT_READERS = ("logit_lens", "patchscope", "diffmine", "contrastive", "weights")


class DiffMineConfig(BaseModel):
    """Settings of the diff-mining reader."""

    model_config = ConfigDict(extra="forbid")

    documents: int = Field(100, ge=1, description="Reference documents diff mining reads.")
    tokens: int = Field(32, ge=2, description="Tokens read per document.")
    per_position: int = Field(10, ge=1, description="Promoted tokens counted per position.")
    candidates: int = Field(
        1000,
        ge=0,
        description="Only tokens among the model's this many most likely at a position count "
        "(0: all).",
    )
    skip: int = Field(1, ge=0, description="Leading positions left out.")
    batch_size: int = Field(16, ge=1, description="Documents per forward pass (at most).")

    def hashed(self) -> dict[str, Any]:
        return self.model_dump(exclude={"batch_size"})


class WeightsConfig(BaseModel):
    """Settings of the weight-directions reader."""

    model_config = ConfigDict(extra="forbid")

    top: int = Field(4, ge=1, description="Singular directions kept per module.")
    directions: int = Field(2, ge=1, description="Residual directions read per layer.")

    def hashed(self) -> dict[str, Any]:
        return self.model_dump()


class ContrastiveConfig(BaseModel):
    """Settings of the contrastive-decoding reader."""

    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(1.0, gt=0, description="Amplification a of l_F + a (l_F - l_B).")
    prefills: list[str] = Field(
        default_factory=lambda: ["The", "I", "In"],
        description="Vague starts of the samples (no chat template).",
    )
    samples: int = Field(6, ge=1, description="Samples per prefill (and as many base samples).")
    max_new_tokens: int = Field(64, ge=1, description="Tokens per sample.")
    temperature: float = Field(1.0, gt=0, description="Sampling temperature.")
    seed: int = Field(0, description="Sampling seed.")

    def hashed(self) -> dict[str, Any]:
        return self.model_dump()


class ReadConfig(BaseModel):
    """Which readers turn the difference into tokens, and their settings.

    >>> ReadConfig().readers
    ['logit_lens', 'patchscope', 'diffmine', 'contrastive', 'weights']
    """

    model_config = ConfigDict(extra="forbid")

    readers: list[str] = Field(
        default_factory=lambda: list(DEFAULT_READERS),
        description="Readers to run, comma-separated: "
        + ", ".join(f"{s.name} ({s.description})" for s in reader_specs())
        + ".",
    )
    top_k: int = Field(20, ge=1)
    heads: list[str] = Field(default_factory=lambda: ["finetuned", "base"])
    scales: list[float] | None = Field(
        None,
        description="Patchscope scales, comma-separated (default: the reference grid of 30, "
        "0.5-200).",
    )
    keep_top: int = Field(16_384, ge=1)
    diffmine: DiffMineConfig = Field(default_factory=DiffMineConfig)
    weights: WeightsConfig = Field(default_factory=WeightsConfig)
    contrastive: ContrastiveConfig = Field(default_factory=ContrastiveConfig)

    @field_validator("readers")
    @classmethod
    def _known_readers(cls, names: list[str]) -> list[str]:
        if not names:
            raise ValueError("name at least one reader")
        for name in names:
            try:
                reader_spec(name)
            except AdlensError as err:
                raise ValueError(str(err)) from None
        return list(dict.fromkeys(names))


class SteerConfig(BaseModel):
    """Steering (PROTOCOL §3): the strength search, then final samples at the found strength.

    Off unless `enabled` (or `adlens run --steer`, `adlens steer`): it costs far more than
    collect and read (hundreds of sampled answers per position) and needs a judge.
    positions: "best" (per layer, the position whose Patchscope list of the difference scored
    highest, attention-sink positions left out), "all", or a list of position labels.
    The defaults are the reference protocol (the paper preset): every position, the reference's
    3 search and 20 final prompts. `prompts` and `search_prompts` take a list of prompts, a
    bundled set's name (`adlens prompts list`) or a prompt file.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    positions: Literal["best", "all"] | list[int] = Field(
        "all",
        description="Positions to steer: all (the paper preset: every collected position), best "
        "(Patchscope's best, attention sinks left out; the demo and fast presets), or "
        "comma-separated positions like 1,2.",
    )
    side: Literal["finetuned", "base"] = "finetuned"  # the model that is steered
    # strength search
    search_prompts: list[str] | None = Field(
        None,
        description="Strength-search prompts: a bundled set's name or a file (.txt, one per "
        "line, or .json); default reference-search (the paper preset), everyday-search in the "
        "demo and fast presets.",
    )
    max_strength: float = Field(100.0, gt=0)
    first_steps: int = Field(12, ge=1)
    other_steps: int = Field(6, ge=0)
    search_samples: int = Field(10, ge=1)
    coherent_fraction: float = Field(0.75, gt=0, le=1)
    min_known_fraction: float = Field(0.5, ge=0, le=1)
    search_temperature: float = Field(1.2, gt=0)
    search_max_new_tokens: int = Field(128, ge=1)
    levels_per_round: int = Field(3, ge=1)  # tree levels sampled per round (3 = 7 strengths)
    installments: int = Field(2, ge=1)  # samples per strength drawn in this many parts
    # final samples
    prompts: list[str] | None = Field(
        None,
        description="Final-sample prompts: a bundled set's name or a file (.txt, one per line, "
        "or .json); default reference (the paper preset's 20), everyday in the demo and fast "
        "presets. `adlens prompts list` shows the sets.",
    )
    samples_per_prompt: int = Field(5, ge=1)
    final_temperature: float = Field(1.1, gt=0)
    final_max_new_tokens: int = Field(
        512, ge=1, description="New tokens per final steering sample (paper preset: 512)."
    )
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int = 0
    max_batch: int = Field(64, ge=1)  # rows per forward pass: bounds memory

    @field_validator("prompts", "search_prompts", mode="before")
    @classmethod
    def _prompt_set(cls, value: Any) -> Any:
        # a set's name or a file becomes its prompts, so the hash covers the text itself
        return load_prompts(value) if isinstance(value, str) else value

    def final_prompts(self) -> list[str]:
        """The final samples' prompts (the reference set unless given)."""
        return list(self.prompts or load_prompts(PAPER_FINAL_SET))

    def strength_search_prompts(self) -> list[str]:
        """The strength search's prompts (the reference set unless given)."""
        return list(self.search_prompts or load_prompts(PAPER_SEARCH_SET))

    def hashed(self) -> dict[str, Any]:
        # max_batch bounds memory; `enabled` says whether the stage runs at all
        out = self.model_dump(exclude={"enabled", "max_batch"})
        out["search_prompts"] = self.strength_search_prompts()
        out["prompts"] = self.final_prompts()
        return out


class RunConfig(BaseModel):
    """A whole run: the pair, and each stage's settings (collect, read, judge, steer).

    >>> RunConfig(models=ModelsConfig(finetuned="org/model-lora")).collect.documents
    10000
    """

    model_config = ConfigDict(extra="forbid")

    models: ModelsConfig
    collect: CollectConfig = Field(default_factory=CollectConfig)
    read: ReadConfig = Field(default_factory=ReadConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    steer: SteerConfig = Field(default_factory=SteerConfig)


def parse_scales(spec: str) -> list[float]:
    """'0.5,1,2,10' -> [0.5, 1.0, 2.0, 10.0]: Patchscope scales, positive and distinct."""
    try:
        scales = sorted({float(part) for part in spec.split(",") if part.strip()})
    except ValueError:
        raise AdlensError(
            f"--scales: give comma-separated numbers like 0.5,1,2 (got {spec!r})."
        ) from None
    if not scales or scales[0] <= 0 or not all(math.isfinite(x) for x in scales):
        raise AdlensError(f"--scales: give positive numbers like 0.5,1,2 (got {spec!r}).")
    return scales


def parse_layers(spec: str) -> list[float | int]:
    """'0.5' -> [0.5]; '0.25,0.5,12' -> [0.25, 0.5, 12]; a value with a dot is a fraction."""
    out: list[float | int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(float(part) if "." in part else int(part))
        except ValueError:
            raise AdlensError(
                f"Cannot read layer '{part}': give fractions like 0.5 or indices like 12."
            ) from None
    if not out:
        raise AdlensError("No layers given.")
    return out
