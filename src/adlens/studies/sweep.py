"""Sweeps: the lens over many organisms, one leaderboard.

A sweep file (yaml or json) lists organisms and the run settings they share:

    out: runs/sweep                 # where everything goes (--out overrides)
    preset: fast                    # paper | demo | fast; samples/positions/layers override it
    samples: 500
    dataset: brown                  # reference text: a name, or a mapping of TextSource fields
    steer: false                    # true, or a mapping of SteerConfig fields
    judge: {model: gpt-4.1-mini}    # JudgeConfig fields; none: offline graders only
    relevance: {reference_docs: 2000}   # RelevanceConfig fields
    similarity: true                # also: steering similarity, false-fact alignment, the
    ffa: true                       # agents (see adlens.studies.sweep_evaluations)
    agent: true
    train: {epochs: 1, lr: 0.002}   # TrainConfig fields, for mixing-ratio variants
    organisms:
      - organisms/cake              # a folder or organism file, as load_organism takes
      - cake_bake/qwen3_1_7b        # or a bundled or paper organism (`adlens organisms list`)
      - path: organisms/honey
        name: honey                 # default: the organism's own name
        mixing_ratios: [0, 0.5, 1]  # train these variants first (train_variants)

Relative paths are read against the sweep file's folder. Each organism (or variant) is run
with `adlens.pipeline.stages.run` into out/<name>/, graded for token relevance (the offline grader
unless a judge model is configured), then put through the evaluations the file asks for; their
results are read when they exist (evaluate/similarity.json, evaluate/ffa.json,
agent/table.jsonl), so those run by hand count too. One leaderboard is
written to out/leaderboard.{csv,md,html,json}. Every stage is cached by its own config hash, so
a rerun only does what is missing.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adlens.core.config import JudgeConfig, RunConfig
from adlens.core.data import TextSource, default_source
from adlens.core.presets import preset, preset_config
from adlens.errors import AdlensError
from adlens.organisms.organism import Organism, load_organism
from adlens.organisms.registry import organism_layer
from adlens.store.rundir import read_json
from adlens.studies.leaderboard import rank, write_leaderboard
from adlens.studies.sweep_evaluations import run_evaluations
from adlens.studies.sweep_row import leaderboard_row

log = logging.getLogger(__name__)

# Keys of an organism that `adlens train` writes itself: not copied into a variant's metadata.
TRAINER_KEYS = {
    "dataset",
    "finetuned",
    "base_model",
    "base_model_path",
    "format",
    "training",
    "learned",
    "loss_history",
    "train_seconds",
    "config_hash",
    "versions",
    "variant",
}


class SweepOrganism(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    name: str | None = None
    mixing_ratios: list[float] | None = None


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisms: list[SweepOrganism] = Field(min_length=1)
    out: str | None = None
    preset: str = "fast"
    samples: int | None = Field(None, ge=1)
    positions: int | None = Field(None, ge=1)
    layers: list[float | int] | None = None
    dataset: str | dict[str, Any] | None = None  # None: the run default (FineWeb)
    dtype: str = "auto"
    device: str = "auto"
    steer: bool | dict[str, Any] = False
    judge: dict[str, Any] | None = None
    relevance: dict[str, Any] = Field(default_factory=dict)
    # evaluations after the pipeline (adlens.studies.sweep_evaluations): off unless asked for
    similarity: bool | dict[str, Any] = False
    ffa: bool | dict[str, Any] = False
    agent: bool | dict[str, Any] = False
    train: dict[str, Any] = Field(default_factory=dict)


def load_sweep(path: Path | str) -> tuple[SweepConfig, Path]:
    """The sweep config of a yaml/json file, and the folder relative paths are read against."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise AdlensError(f"Sweep file {path} does not exist.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AdlensError(f"Cannot read sweep file {path}: it is not UTF-8 text.") from None
    except OSError as err:  # a folder, no permission
        raise AdlensError(f"Cannot read sweep file {path}: {err.strerror or err}.") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AdlensError(f"Cannot read sweep file {path}: {first}.") from None
    if not isinstance(data, dict):
        raise AdlensError(f"Sweep file {path} must hold a mapping with an `organisms:` list.")
    if isinstance(data.get("organisms"), list):
        data["organisms"] = [{"path": o} if isinstance(o, str) else o for o in data["organisms"]]
    try:
        return SweepConfig.model_validate(data), path.resolve().parent
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(p) for p in e.get("loc", ())) or "sweep"
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        raise AdlensError(f"Sweep file {path}: field '{loc}': {msg}.") from None


def _local(value: str, root: Path) -> str:
    """A path relative to the sweep file, when it exists there; the value as given otherwise."""
    p = Path(value).expanduser()
    if not p.is_absolute() and (root / p).exists():
        return str((root / p).resolve())
    return value


def _dataset(cfg: SweepConfig, root: Path) -> TextSource:
    if cfg.dataset is None:
        return default_source()
    fields = {"name": cfg.dataset} if isinstance(cfg.dataset, str) else dict(cfg.dataset)
    fields["name"] = _local(str(fields.get("name", "")), root)
    try:
        return TextSource(**fields)
    except ValidationError as err:
        raise AdlensError(f"Sweep dataset: {err.errors()[0]['msg']}.") from None


def collect_values(cfg: SweepConfig) -> dict[str, Any]:
    """The preset's collect settings with the sweep's overrides (the sweep's `samples` is the
    collect setting `documents`)."""
    values = preset(cfg.preset)
    for key, field in (("samples", "documents"), ("positions", "positions"), ("layers", "layers")):
        if getattr(cfg, key) is not None:
            values[field] = getattr(cfg, key)
    return values


def organism_collect_values(cfg: SweepConfig, organism: Organism) -> dict[str, Any]:
    """`collect_values`, plus the layer the paper reads for a paper organism when the sweep
    sets no `layers`."""
    values = collect_values(cfg)
    layer = organism_layer(organism)
    if cfg.layers is None and layer is not None and layer not in values["layers"]:
        values["layers"] = [*values["layers"], layer]
    return values


def judge_config(cfg: SweepConfig) -> JudgeConfig:
    """The sweep's judges (`judge:`, JudgeConfig fields, roles included); offline without it."""
    try:
        return JudgeConfig(**(cfg.judge or {"backend": "offline"}))
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(p) for p in e.get("loc", ()))
        raise AdlensError(f"Sweep judge settings: {loc}: {e['msg']}.") from None


def run_config(cfg: SweepConfig, organism: Organism, dataset: TextSource) -> RunConfig:
    """The pipeline config of one organism under the sweep's shared settings."""
    if isinstance(cfg.steer, dict):
        steer = {"enabled": True, **cfg.steer}
    else:
        steer = {"enabled": cfg.steer}
    try:
        return preset_config(
            cfg.preset,
            models=organism.models_config(dtype=cfg.dtype, device=cfg.device),
            dataset=dataset,
            collect=organism_collect_values(cfg, organism),
            steer=steer,
            judge=judge_config(cfg),
        )
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(p) for p in e.get("loc", ()))
        raise AdlensError(f"Sweep settings: {loc}: {e['msg']}.") from None


def folder_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "organism"


def _targets(
    cfg: SweepConfig, root: Path, out: Path, dataset: TextSource, progress: bool
) -> list[dict[str, Any]]:
    """(name, organism, variant) per leaderboard row; mixing-ratio variants are trained here."""
    from adlens.organisms.train import TrainConfig
    from adlens.organisms.variants import train_variants

    out_rows = []
    for entry in cfg.organisms:
        organism = load_organism(_local(entry.path, root))
        name = folder_name(entry.name or organism.name)
        if not entry.mixing_ratios:
            out_rows.append({"name": name, "organism": organism, "ratio": None})
            continue
        src = organism.dataset_source()
        if src is None or src.kind != "local":
            raise AdlensError(
                f"Organism '{organism.name}': mixing_ratios need its finetuning documents as a "
                "local file (dataset: path/to/docs.jsonl)."
            )
        base = organism.base_model_id() or _adapter_base(organism)
        samples = collect_values(cfg)["documents"]
        try:
            train = TrainConfig(**{**cfg.train, "mix_source": dataset, "mix_skip": samples})
        except ValidationError as err:
            raise AdlensError(f"Sweep train settings: {err.errors()[0]['msg']}.") from None
        meta = organism.model_dump(mode="json")
        meta = {k: v for k, v in meta.items() if k not in TRAINER_KEYS}
        meta["name"] = name
        device = "cpu" if cfg.device == "auto" else cfg.device
        for variant, folder in train_variants(
            base,
            src.name,
            out / "organisms" / name,
            train,
            ratios=entry.mixing_ratios,
            organism=meta,
            device=device,
            progress=progress,
        ):
            trained = load_organism(folder)
            out_rows.append(
                {
                    "name": f"{name}-{variant['name']}",
                    "organism": trained,
                    "ratio": variant["ratio"],
                }
            )
    return out_rows


def _adapter_base(organism: Organism) -> str:
    path = Path(organism.finetuned_path()) / "adapter_config.json"
    if path.is_file():
        base = read_json(path).get("base_model_name_or_path")
        if base:
            return str(base)
    raise AdlensError(
        f"Organism '{organism.name}' names no base model: add `base_model:` to train variants."
    )


def run_sweep(
    file: Path | str | SweepConfig,
    out: Path | str | None = None,
    *,
    root: Path | None = None,
    show_progress: bool = True,
) -> list[dict[str, Any]]:
    """Run every organism of the sweep (cached), grade it, write the leaderboard; returns its
    rows (best relevance first)."""
    from adlens.pipeline import stages as pipeline

    if isinstance(file, SweepConfig):
        cfg, root = file, root or Path.cwd()
    else:
        cfg, root = load_sweep(file)
    if out is not None:
        out_dir = Path(out)
    elif cfg.out:
        out_dir = Path(cfg.out).expanduser()
        out_dir = out_dir if out_dir.is_absolute() else root / out_dir
    else:
        raise AdlensError("The sweep needs an output folder: `out:` in the file, or --out.")
    dataset = _dataset(cfg, root)
    targets = _targets(cfg, root, out_dir, dataset, show_progress)
    names = [t["name"] for t in targets]
    if len(set(names)) != len(names):
        raise AdlensError(f"Two organisms of the sweep share a name ({names}); set `name:`.")
    rows = []
    for t in targets:
        run_dir = out_dir / t["name"]
        log.info("sweep: %s -> %s", t["name"], run_dir)
        config = run_config(cfg, t["organism"], dataset)
        summary = pipeline.run(config, run_dir, show_progress=show_progress)
        notes = run_evaluations(
            run_dir,
            t["organism"],
            similarity=cfg.similarity,
            ffa=cfg.ffa,
            agent=cfg.agent,
            preset=cfg.preset,
            judge=judge_config(cfg),
            steered=summary.steer is not None,
            show_progress=show_progress,
        )
        row = leaderboard_row(
            t["name"],
            t["organism"],
            t["ratio"],
            run_dir,
            summary,
            relevance=cfg.relevance,
            judge=judge_config(cfg),
        )
        row["notes"] = "; ".join(n for n in (row["notes"], *notes) if n)
        rows.append(row)
    rows = rank(rows)
    write_leaderboard(out_dir, rows)
    return rows
