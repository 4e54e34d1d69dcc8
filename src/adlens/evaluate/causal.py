"""Causal effect of the difference direction (PROTOCOL §4).

In the finetuned model F at layer l, at every token, the component of the residual along
u = d_j / ||d_j|| is replaced by the base model's (mode "base") or removed (mode "zero"):

    h' = h_F - (h_F · u) u + (h_B · u) u            (mode zero: without the last term)

and the cross-entropy is measured on finetuning documents D and on the reference corpus R. The
same is done for random Gaussian unit directions and for random activation differences (F's
activations of two random R documents at the same layer and position, normalised). Reported:
loss_F, loss_B, the loss with the intervention and the fraction of the base-finetuned gap it
recovers, (loss_int - loss_F) / (loss_B - loss_F), for each d_j, with mean and std of the controls.

Cost: per batch one full base pass (its loss, and h_B captured at l) and one full finetuned pass
(its loss, and h_F); then per vector only F's blocks after l and its head run: blocks 0..l are
swapped for stand-ins that hand on the precomputed h' (`resume_at`). The base never runs per
vector.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from adlens.core.activations import ActivationDiff
from adlens.core.anatomy import find_decoder_layers
from adlens.core.data import Document
from adlens.core.hooks import _out_tensor, _with_tensor, hooks
from adlens.core.models import ModelPair
from adlens.core.progress import progress_bar
from adlens.core.tokenization import first_tokens
from adlens.errors import AdlensError
from adlens.evaluate.documents import organism_documents, organism_fingerprint, sample
from adlens.store.rundir import RunDir, config_hash, read_json, write_json

log = logging.getLogger(__name__)

Mode = Literal["base", "zero"]


class CausalConfig(BaseModel):
    """What the result depends on (all hashed but batch_size)."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = "base"
    documents: int = Field(64, ge=1)  # per corpus (D and R)
    max_tokens: int = Field(128, ge=2)  # tokens per document
    min_tokens: int = Field(16, ge=2)  # shorter documents are skipped
    random: int = Field(16, ge=0)  # controls of each kind per layer
    seed: int = 0
    layers: list[int] | None = None  # None: every collected layer
    positions: list[int] | None = None  # None: every collected position
    batch_size: int = Field(8, ge=1)

    def hashed(self) -> dict[str, Any]:
        return self.model_dump(exclude={"batch_size"})


# --------------------------------------------------------------------------- the intervention


def unit(v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """v / ||v|| in float32; a zero vector stays zero (the intervention is then the identity)."""
    v = v.float()
    n = v.norm()
    return v / n if n > eps else torch.zeros_like(v)


def replace_component(
    h_ft: torch.Tensor, h_base: torch.Tensor | None, u: torch.Tensor, mode: Mode = "base"
) -> torch.Tensor:
    """h_ft with its component along the unit vector u set to h_base's (mode base) or to 0.
    Computed in float32 so a bf16 model loses nothing to the subtraction."""
    hf = h_ft.float()
    u = u.to(hf.device, torch.float32)
    target = (h_base.float() @ u) if mode == "base" else 0.0
    return (hf + (target - hf @ u)[..., None] * u).to(h_ft.dtype)


@contextlib.contextmanager
def replace_along(
    model: nn.Module, layer: int, h_base: torch.Tensor | None, u: torch.Tensor, mode: Mode = "base"
) -> Iterator[None]:
    """Hook block `layer`'s output through `replace_component` (h_base: [batch, seq, d] for the
    same inputs). The plain way, running every block; `resume_at` skips the lower ones."""
    block = find_decoder_layers(model)[layer]

    def hook(_m, _inp, out):
        return _with_tensor(out, replace_component(_out_tensor(out), h_base, u, mode))

    with hooks((block, hook)):
        yield


@contextlib.contextmanager
def resume_at(
    model: nn.Module, layer: int, hidden: torch.Tensor, as_tuple: bool = False
) -> Iterator[None]:
    """Run only the blocks after `layer`, starting from `hidden` as block `layer`'s output.

    Blocks 0..layer are swapped (on the instance, restored after) for stand-ins that pass the
    hidden state on unchanged, the last one handing out `hidden`. The model's own forward still
    builds the embeddings, masks and rotary tables, so no model code is re-implemented.
    `as_tuple`: the blocks return tuples (older transformers)."""
    blocks = find_decoder_layers(model)
    missing = object()
    saved: list[tuple[nn.Module, Any]] = []

    def stand_in(last: bool):
        def forward(*args: Any, **kwargs: Any) -> Any:
            h = args[0] if args else kwargs["hidden_states"]
            out = hidden.to(h.device, h.dtype) if last else h
            return (out,) if as_tuple else out

        return forward

    try:
        for i in range(layer + 1):
            block = blocks[i]
            # An instance-level forward may already be there (accelerate's device hooks).
            saved.append((block, block.__dict__.get("forward", missing)))
            block.forward = stand_in(i == layer)
        yield
    finally:
        for block, old in saved:
            if old is missing:
                del block.forward
            else:
                block.forward = old


# --------------------------------------------------------------------------- tokens and losses


@dataclass
class LossBatch:
    """Right-padded rows; `starts[r]`: first token of row r whose prediction counts (0 for
    text; the answer's first token for a chat)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    starts: torch.Tensor

    def targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Next-token labels [B, T-1] and which of them count."""
        labels = self.input_ids[:, 1:]
        pos = torch.arange(1, self.input_ids.shape[1])[None, :]
        valid = self.attention_mask[:, 1:].bool() & (pos >= self.starts[:, None].clamp_min(1))
        return labels, valid


def loss_rows(
    tokenizer: Any, documents: Sequence[Document], n: int, max_tokens: int, min_tokens: int
) -> list[tuple[list[int], int]]:
    """(token ids, start) of the first n documents with at least min_tokens tokens to score."""
    from adlens.core.tokenization import _answer_start

    rows: list[tuple[list[int], int]] = []
    for doc in documents:
        if len(rows) >= n:
            break
        if isinstance(doc, str):
            ids, start = first_tokens(tokenizer, doc, max_tokens), 0
        else:
            res = _answer_start(tokenizer, doc)
            if res is None:
                continue
            ids, start = res[0][:max_tokens], res[1]
        if len(ids) - max(start, 1) >= min_tokens - 1:
            rows.append((list(ids), start))
    return rows


def batches(rows: list[tuple[list[int], int]], size: int, pad: int) -> list[LossBatch]:
    out = []
    for i in range(0, len(rows), size):
        chunk = rows[i : i + size]
        width = max(len(ids) for ids, _ in chunk)
        ids_t = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for r, (ids, _) in enumerate(chunk):
            ids_t[r, : len(ids)] = torch.tensor(ids)
            mask[r, : len(ids)] = 1
        starts = torch.tensor([s for _, s in chunk])
        out.append(LossBatch(ids_t, mask, starts))
    return out


def ce_sum(logits: torch.Tensor, batch: LossBatch) -> tuple[float, int]:
    """Summed next-token cross-entropy over the counted targets, and their number."""
    labels, valid = batch.targets()
    logits = logits[:, :-1].float()
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none")
    ce = ce.reshape(labels.shape)[valid]
    return float(ce.sum(dtype=torch.float64)), int(valid.sum())


def _forward(model: nn.Module, batch: LossBatch, device: torch.device) -> torch.Tensor:
    return model(
        input_ids=batch.input_ids.to(device),
        attention_mask=batch.attention_mask.to(device),
        use_cache=False,
    ).logits


@contextlib.contextmanager
def capture(model: nn.Module, layers: Sequence[int]) -> Iterator[dict[int, Any]]:
    """Record the output tensor of the given blocks (and whether they return tuples)."""
    blocks = find_decoder_layers(model)
    seen: dict[int, Any] = {}

    def make(i: int):
        def hook(_m, _inp, out):
            seen[i] = _out_tensor(out).detach()
            seen[("tuple", i)] = isinstance(out, tuple)

        return hook

    with hooks(*[(blocks[i], make(i)) for i in layers]):
        yield seen


# --------------------------------------------------------------------------- the experiment


class LossTable:
    """Summed cross-entropy and token counts per key."""

    def __init__(self) -> None:
        self.sums: dict[Any, list[float]] = {}

    def add(self, key: Any, value: tuple[float, int]) -> None:
        s = self.sums.setdefault(key, [0.0, 0])
        s[0] += value[0]
        s[1] += value[1]

    def loss(self, key: Any) -> float:
        total, count = self.sums[key]
        return total / count if count else math.nan

    def tokens(self, key: Any) -> int:
        return int(self.sums[key][1])


def corpus_losses(
    pair: ModelPair,
    batches_: Sequence[LossBatch],
    vectors: dict[int, dict[str, torch.Tensor]],
    mode: Mode = "base",
    advance: Any = None,
) -> LossTable:
    """Losses of B ("base"), F ("finetuned") and F with each intervention ((layer, name)).

    vectors: layer -> name -> direction (normalised here). One base pass per batch serves every
    vector; F's blocks up to the layer run once per batch too."""
    table = LossTable()
    layers = sorted(vectors)
    units = {layer: {k: unit(v) for k, v in vecs.items()} for layer, vecs in vectors.items()}
    device = pair.device
    with torch.inference_mode():
        for batch in batches_:
            # B's loss is reported in both modes; its h is needed in mode "base" only.
            with pair.use("base") as model, capture(model, layers) as h_base:
                table.add("base", ce_sum(_forward(model, batch, device), batch))
            with pair.use("finetuned", upto=pair.n_layers - 1) as model:
                with capture(model, layers) as h_ft:
                    table.add("finetuned", ce_sum(_forward(model, batch, device), batch))
                for layer in layers:
                    for name, u in units[layer].items():
                        h = replace_component(h_ft[layer], h_base.get(layer), u, mode)
                        with resume_at(model, layer, h, as_tuple=h_ft[("tuple", layer)]):
                            table.add((layer, name), ce_sum(_forward(model, batch, device), batch))
                        if advance:
                            advance(1)
    return table


def random_directions(d: int, n: int, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [unit(torch.randn(d, generator=g)) for _ in range(n)]


def random_activation_differences(
    pair: ModelPair,
    rows: list[tuple[list[int], int]],
    layer: int,
    positions: Sequence[int],
    n: int,
    seed: int,
) -> list[tuple[int, torch.Tensor]]:
    """n normalised differences h_F(doc a, p) - h_F(doc b, p) at `layer`, for random pairs of
    distinct R documents and positions p cycling through `positions` (>= 0)."""
    from adlens.core.hooks import forward_until

    positions = [p for p in positions if p >= 0] or [0]
    g = torch.Generator().manual_seed(seed + 1)
    picks = []
    for i in range(n):
        p = positions[i % len(positions)]
        usable = [r for r, (ids, start) in enumerate(rows) if start + p < len(ids)]
        if len(usable) < 2:
            raise AdlensError(f"Fewer than 2 reference documents reach position {p}.")
        a, b = torch.randperm(len(usable), generator=g)[:2].tolist()
        picks.append((p, usable[a], usable[b]))
    needed = sorted({r for _, a, b in picks for r in (a, b)})
    width = max(rows[r][1] + p + 1 for p, a, b in picks for r in (a, b))
    sub = batches([(rows[r][0][:width], rows[r][1]) for r in needed], len(needed), pad=0)[0]
    with torch.inference_mode(), pair.use("finetuned", upto=layer) as model:
        h = forward_until(
            model,
            [layer],
            input_ids=sub.input_ids.to(pair.device),
            attention_mask=sub.attention_mask.to(pair.device),
        )[layer].float()
    where = {r: i for i, r in enumerate(needed)}
    out = []
    for p, a, b in picks:
        da, db = h[where[a], rows[a][1] + p], h[where[b], rows[b][1] + p]
        out.append((p, unit(da - db).cpu()))
    return out


def _spread(values: list[float]) -> dict[str, float]:
    t = torch.tensor(values, dtype=torch.float64)
    return {
        "mean": float(t.mean()) if len(values) else math.nan,
        "std": float(t.std()) if len(values) > 1 else math.nan,
    }


def summarise(
    tables: dict[str, LossTable], names: dict[int, dict[str, str]], n_docs: dict[str, int]
) -> dict[str, Any]:
    """The report: per corpus the reference losses, per layer and position the intervention,
    and per layer the controls' spread. names: layer -> vector name -> kind."""
    out: dict[str, Any] = {"corpora": {}, "positions": [], "controls": []}
    for corpus, table in tables.items():
        lf, lb = table.loss("finetuned"), table.loss("base")
        out["corpora"][corpus] = {
            "documents": n_docs[corpus],
            "tokens": table.tokens("finetuned"),
            "loss_finetuned": lf,
            "loss_base": lb,
            "gap": lb - lf,
        }

    def effect(corpus: str, layer: int, name: str) -> dict[str, float]:
        table, ref = tables[corpus], out["corpora"][corpus]
        loss = table.loss((layer, name))
        gap = ref["gap"]
        return {
            "loss": loss,
            "delta": loss - ref["loss_finetuned"],
            "recovered": (loss - ref["loss_finetuned"]) / gap if abs(gap) > 1e-9 else math.nan,
        }

    for layer, kinds in sorted(names.items()):
        controls: dict[str, Any] = {"layer": layer}
        for kind in ("random_direction", "random_activation_difference"):
            members = [n for n, k in kinds.items() if k == kind]
            if not members:
                continue
            controls[kind] = {
                corpus: {
                    key: _spread([effect(corpus, layer, n)[key] for n in members])
                    for key in ("loss", "delta", "recovered")
                }
                | {"n": len(members)}
                for corpus in tables
            }
        out["controls"].append(controls)
        for name, kind in kinds.items():
            if kind != "diff":
                continue
            entry: dict[str, Any] = {"layer": layer, "position": int(name.removeprefix("d_"))}
            for corpus in tables:
                e = effect(corpus, layer, name)
                for ctl in ("random_direction", "random_activation_difference"):
                    s = controls.get(ctl, {}).get(corpus, {}).get("delta")
                    if s and s["std"] and not math.isnan(s["std"]):
                        e[f"z_vs_{ctl}"] = (e["delta"] - s["mean"]) / s["std"]
                entry[corpus] = e
            out["positions"].append(entry)
    first = next(iter(tables), None)
    out["best"] = max(
        out["positions"], key=lambda p: p[first]["delta"] if first else 0.0, default=None
    )
    return out


def causal_effect(
    pair: ModelPair,
    diff: ActivationDiff,
    corpora: dict[str, Sequence[Document]],
    cfg: CausalConfig | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run the experiment on documents per corpus (e.g. {"D": ..., "R": ...}); the first
    corpus orders the positions' "best". Random activation differences come from the last
    corpus (R)."""
    cfg = cfg or CausalConfig()
    layers = cfg.layers or diff.layers
    positions = cfg.positions if cfg.positions is not None else diff.labels
    for layer in layers:
        for pos in positions:
            diff.layer_pos(layer, pos)  # one clear error for a bad layer or position
    pad = pair.tokenizer.pad_token_id if pair.tokenizer.pad_token_id is not None else 0
    rows = {
        name: loss_rows(pair.tokenizer, docs, cfg.documents, cfg.max_tokens, cfg.min_tokens)
        for name, docs in corpora.items()
    }
    for name, r in rows.items():
        if not r:
            raise AdlensError(f"No {name} document has {cfg.min_tokens} tokens to score.")
        if len(r) < cfg.documents:
            log.warning(
                "causal: only %d of %d %s documents are usable", len(r), cfg.documents, name
            )

    vectors: dict[int, dict[str, torch.Tensor]] = {}
    names: dict[int, dict[str, str]] = {}
    reference = rows[list(rows)[-1]]
    for layer in layers:
        vecs = {f"d_{p}": diff.vector(layer, p) for p in positions}
        kinds = dict.fromkeys(vecs, "diff")
        for i, v in enumerate(random_directions(pair.d_model, cfg.random, cfg.seed + layer)):
            vecs[f"random_dir_{i}"], kinds[f"random_dir_{i}"] = v, "random_direction"
        acts = random_activation_differences(
            pair, reference, layer, diff.labels, cfg.random, cfg.seed + layer
        )
        for i, (_p, v) in enumerate(acts):
            vecs[f"random_act_{i}"], kinds[f"random_act_{i}"] = v, "random_activation_difference"
        vectors[layer], names[layer] = vecs, kinds

    all_batches = {name: batches(r, cfg.batch_size, pad) for name, r in rows.items()}
    per_batch = sum(len(v) for v in vectors.values())
    total = per_batch * sum(len(b) for b in all_batches.values())
    t0 = time.perf_counter()
    tables = {}
    with progress_bar("causal interventions", total, show_progress) as advance:
        for name, bs in all_batches.items():
            tables[name] = corpus_losses(pair, bs, vectors, cfg.mode, advance)
    report = summarise(tables, names, {k: len(v) for k, v in rows.items()})
    report["seconds"] = round(time.perf_counter() - t0, 2)
    report["vectors_per_layer"] = {str(k): len(v) for k, v in vectors.items()}
    return report


# --------------------------------------------------------------------------- the stage


def reference_documents(source: Any, n: int, skip: int) -> list[Document]:
    """n * 2 documents of the run's corpus after the first `skip` (those the lens read), or
    from the start when the corpus is too small or streamed from the hub."""
    from adlens.core.data import iter_documents

    want = 2 * n + 8  # some are too short
    if source.kind != "hub":
        docs = list(iter_documents(source))
        if len(docs) >= skip + want:
            return docs[skip : skip + want]
        log.info("causal: the reference corpus is small; scoring documents the lens also read")
        return docs[:want]
    return list(islice(iter_documents(source), want))


def causal_hash(cfg: CausalConfig, manifest: dict[str, Any], organism: str) -> str:
    return config_hash(
        {
            "causal": cfg.hashed(),
            "collect": manifest.get("config_hash", {}).get("collect"),
            "organism": organism,
        }
    )


def run_causal(
    run_dir: Path | str,
    organism: Path | str,
    cfg: CausalConfig | None = None,
    *,
    pair: ModelPair | None = None,
    device: str | None = None,
    dtype: str | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Causal effect for a run directory; saved to RUN_DIR/evaluate/causal.json and reused
    while the run's collect stage, D and the config are unchanged."""
    from adlens.core.config import ModelsConfig
    from adlens.core.data import TextSource

    cfg = cfg or CausalConfig()
    rd = RunDir(run_dir)
    manifest = rd.read_manifest()
    collected = rd.done_hash("collect")
    if not manifest.get("config") or collected is None:
        raise AdlensError(f"{rd.path} is not a finished run: run `adlens run` first.")
    digest = causal_hash(cfg, manifest, organism_fingerprint(organism))
    out = rd.path / "evaluate" / "causal.json"
    if not force and out.is_file() and read_json(out).get("config_hash") == digest:
        log.info("causal: cached (config %s)", digest)
        return read_json(out)
    diff = ActivationDiff.load(rd.stage("collect"))
    d_docs = sample(organism_documents(organism), 2 * cfg.documents + 8, cfg.seed)
    collect_cfg = manifest["config"]["collect"]
    source = TextSource(**collect_cfg["dataset"])
    r_docs = reference_documents(source, cfg.documents, int(collect_cfg.get("samples", 0)))
    if pair is None:
        from adlens.pipeline.stages import load_pair

        models = dict(manifest["config"]["models"])
        models |= {k: v for k, v in {"device": device, "dtype": dtype}.items() if v}
        pair = load_pair(ModelsConfig(**models))
    t0 = time.perf_counter()
    report = causal_effect(pair, diff, {"D": d_docs, "R": r_docs}, cfg, show_progress)
    result = {
        "config_hash": digest,
        "basis": {"collect": collected},
        "config": cfg.model_dump(),
        "mode": cfg.mode,
        "formula": {
            "base": "h' = h_F - (h_F.u) u + (h_B.u) u, u = d_j / ||d_j||, at every token",
            "zero": "h' = h_F - (h_F.u) u",
            "recovered": "(loss_int - loss_F) / (loss_B - loss_F)",
        },
        "reference_dataset": source.name,
        **report,
        "wall_seconds": round(time.perf_counter() - t0, 2),
    }
    write_json(out, result)
    return result
