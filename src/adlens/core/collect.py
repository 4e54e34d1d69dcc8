"""The difference engine: running means of finetuned-minus-base activations at the first k positions.

Why it is fast: attention is causal, so positions < k depend only on the first k tokens; we run
k-token inputs only, stop the forward pass after the last requested layer (no logits), and keep
running sums instead of activations, so memory does not grow with the number of documents.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from adlens.core.activations import SIDES, ActivationDiff
from adlens.core.hooks import forward_until
from adlens.core.models import ModelPair
from adlens.core.numerics import NonFiniteError, check_finite
from adlens.core.progress import progress_bar
from adlens.core.threads import adjust_threads, cpu_threads
from adlens.core.tokenization import TokenizedDocs
from adlens.errors import AdlensError
from adlens.store.rundir import save_tensors

log = logging.getLogger(__name__)


class RunningSums:
    """fp64 sums of the per-document statistics; checkpointable so a killed run resumes.

    The sums and their document count change together, in one assignment: Ctrl-C lands
    between any two statements, and a checkpoint must never hold part of a batch."""

    def __init__(self, n_layers: int, n_pos: int, d: int):
        vec = (n_layers, n_pos, d)
        nrm = (n_layers, n_pos)
        shapes: dict[str, tuple[int, ...]] = {"diff": vec, "base": vec, "ft": vec}
        shapes |= {"norm_base": nrm, "norm_ft": nrm, "norm_diff": nrm}
        zeros = {k: torch.zeros(s, dtype=torch.float64) for k, s in shapes.items()}
        self._state: tuple[dict[str, torch.Tensor], int] = (zeros, 0)

    @property
    def sums(self) -> dict[str, torch.Tensor]:
        return self._state[0]

    @property
    def count(self) -> int:
        """Documents consumed (rows of TokenizedDocs)."""
        return self._state[1]

    def add(self, h_base: torch.Tensor, h_ft: torch.Tensor) -> None:
        """h_*: [n_layers, batch, n_pos, d] float32 activations at the read positions."""
        h_ft = h_ft.to(h_base.device)  # two models under device maps may start apart
        diff = h_ft - h_base
        batch = {
            "diff": diff,
            "base": h_base,
            "ft": h_ft,
            "norm_base": h_base.norm(dim=-1),
            "norm_ft": h_ft.norm(dim=-1),
            "norm_diff": diff.norm(dim=-1),
        }
        sums, count = self._state
        new = {k: sums[k] + v.sum(1, dtype=torch.float64).cpu() for k, v in batch.items()}
        self._state = (new, count + h_base.shape[1])

    def means(self) -> dict[str, torch.Tensor]:
        return {k: (v / max(self.count, 1)).float() for k, v in self.sums.items()}

    def save(self, path: Path, extra: dict[str, str]) -> None:
        sums, count = self._state
        tensors = {**sums, "count": torch.tensor([count], dtype=torch.int64)}
        save_tensors(tensors, path, metadata=extra)

    def load(self, path: Path) -> None:
        t = load_file(str(path))
        for k in self.sums:
            if t[k].shape != self.sums[k].shape:
                raise ValueError("checkpoint shape mismatch")
        self._state = ({k: t[k].double() for k in self.sums}, int(t["count"][0]))


def _read_positions(
    model: torch.nn.Module,
    layer_ids: list[int],
    ids: torch.Tensor,
    mask: torch.Tensor | None,
    index: torch.Tensor,
) -> torch.Tensor:
    """[n_layers, batch, n_pos, d] float32 activations at `index` positions."""
    inputs: dict[str, Any] = {"input_ids": ids}
    if mask is not None:
        inputs["attention_mask"] = mask
    with torch.inference_mode():
        out = forward_until(model, layer_ids, **inputs)
    gather = index[:, :, None].expand(-1, -1, out[layer_ids[0]].shape[-1])
    # With a device_map the layers sit on different devices: gather on each, stack on the
    # inputs' device. float32 here; the running sums are float64 (RunningSums).
    return torch.stack(
        [out[i].float().gather(1, gather.to(out[i].device)).to(ids.device) for i in layer_ids]
    )


CHECKPOINT_SECONDS_ENV = "ADLENS_CHECKPOINT_SECONDS"
CHECKPOINT_SECONDS = 30.0  # an interrupt or a crash loses at most this much collection


class CollectionInterrupted(KeyboardInterrupt):
    """Ctrl-C during collection; the message says what was kept for the rerun."""


def checkpoint_seconds() -> float:
    """Seconds between collection checkpoints: $ADLENS_CHECKPOINT_SECONDS (0: every batch)."""
    value = os.environ.get(CHECKPOINT_SECONDS_ENV)
    if value is None:
        return CHECKPOINT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also rejects NaN
        raise AdlensError(
            f"${CHECKPOINT_SECONDS_ENV} must be a number of seconds >= 0 (got {value!r})."
        )
    return seconds


def collect(
    pair: ModelPair,
    docs: TokenizedDocs,
    layers: list[int],
    *,
    batch_size: int = 256,
    norm_inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
    norm_skip: int = 5,
    checkpoint: Path | None = None,
    checkpoint_tag: str = "",
    every_seconds: float | None = None,
    on_batch: Callable[[int], None] | None = None,
    show_progress: bool = True,
) -> ActivationDiff:
    """Mean of h_F - h_B, h_B and h_F per (layer, position) over `docs`.

    The expected-norm estimate runs first. With `checkpoint`, the norms of each model are saved
    beside it as soon as they are known, and partial sums every `every_seconds` and on
    interruption; a checkpoint with the same `checkpoint_tag` is resumed, any other discarded.

    Args:
        pair: the base and finetuned models.
        docs: tokenised documents (see `prepare_inputs`).
        layers: resolved model layer indices.
        batch_size: documents per forward pass.
        norm_inputs: (ids, mask) of the documents that estimate each model's expected
            activation norm at positions >= `norm_skip`.
        norm_skip: positions left out of the norm estimate (attention sinks).
        checkpoint: where partial sums are saved (None: no checkpoints).
        checkpoint_tag: the config hash a checkpoint must carry to be resumed.
        every_seconds: checkpoint interval (None: `checkpoint_seconds()`).
        on_batch: called with the number of documents done after each batch.
        show_progress: draw a progress bar.

    Example:
        >>> layers, docs, norm_inputs = prepare_inputs(pair, cfg.collect)
        >>> diff = collect(pair, docs, layers, norm_inputs=norm_inputs, show_progress=False)
        >>> diff.n_docs, diff.layers, diff.labels
        (20, [1], [0, 1, 2])
    """
    if batch_size < 1:
        raise AdlensError("batch_size must be at least 1.")
    every = checkpoint_seconds() if every_seconds is None else every_seconds
    n = len(docs)
    expected = {s: torch.zeros(len(layers)) for s in SIDES}
    t_norm = 0.0
    if norm_inputs is not None:
        t1 = time.perf_counter()
        norms_file = None if checkpoint is None else checkpoint.with_name(NORMS_CHECKPOINT)
        try:
            expected = expected_norms(
                pair,
                layers,
                *norm_inputs,
                skip=norm_skip,
                checkpoint=norms_file,
                tag=checkpoint_tag,
            )
        except KeyboardInterrupt:
            done = list(_load_norms(norms_file, checkpoint_tag, len(layers)))
            kept = f"the {' and '.join(done)} model's expected norms" if done else "nothing"
            raise CollectionInterrupted(f"during the expected-norm estimate; kept {kept}") from None
        t_norm = time.perf_counter() - t1
    sums = RunningSums(len(layers), len(docs.labels), pair.d_model)
    if checkpoint is not None and checkpoint.exists():
        try:
            if _checkpoint_tag(checkpoint) == checkpoint_tag:
                sums.load(checkpoint)
                log.info("resuming collection at document %d of %d", sums.count, n)
        except Exception:  # a corrupt or foreign checkpoint is discarded, never trusted
            sums = RunningSums(len(layers), len(docs.labels), pair.d_model)
    device = pair.device
    uniform = docs.uniform
    t0 = last_save = time.perf_counter()
    start = saved = sums.count
    try:
        with (
            progress_bar("collecting", total=n, enabled=show_progress) as advance,
            cpu_threads(device),
        ):
            advance(start)
            for lo in range(start, n, batch_size):
                hi = min(lo + batch_size, n)
                width = int(docs.lengths[lo:hi].max())
                ids = docs.input_ids[lo:hi, :width].to(device)
                mask = None
                if not uniform:
                    mask = (torch.arange(width)[None, :] < docs.lengths[lo:hi, None]).long()
                    mask = mask.to(device)
                index = docs.index[lo:hi]
                acts = {}
                for side in SIDES:
                    with pair.use(side, upto=max(layers)) as model:
                        acts[side] = _read_positions(model, layers, ids, mask, index)
                    check_finite(
                        acts[side].transpose(1, 2),  # [layer, position, batch, d]
                        f"the {side} model's activations (documents {lo}-{hi - 1})",
                        stage="collect",
                        layers=layers,
                        positions=docs.labels,
                    )
                sums.add(acts["base"], acts["finetuned"])
                advance(hi - lo)
                adjust_threads()
                if on_batch is not None:
                    on_batch(sums.count)
                if checkpoint is not None and time.perf_counter() - last_save >= every:
                    sums.save(checkpoint, {"tag": checkpoint_tag})
                    saved, last_save = sums.count, time.perf_counter()
    except NonFiniteError:
        raise  # sums up to the bad batch are fine, but the run cannot go on from them
    except BaseException as err:
        if checkpoint is not None and sums.count > saved:
            sums.save(checkpoint, {"tag": checkpoint_tag})
            saved = sums.count
        kept = f"kept {saved} of {n} documents" if checkpoint else "kept nothing (no checkpoint)"
        if checkpoint is not None and norm_inputs is not None:
            kept += " and the expected norms"
        if isinstance(err, KeyboardInterrupt):
            raise CollectionInterrupted(f"during the collection; {kept}") from None
        log.warning("collection stopped (%s): %s", type(err).__name__, kept)
        raise
    elapsed = time.perf_counter() - t0
    means = sums.means()
    for name in ("diff", "base", "ft"):
        check_finite(means[name], f"the mean {name} vector", stage="collect", layers=layers)
    return ActivationDiff(
        layers=list(layers),
        labels=list(docs.labels),
        mean_diff=means["diff"],
        mean_base=means["base"],
        mean_ft=means["ft"],
        pos_norm_base=means["norm_base"],
        pos_norm_ft=means["norm_ft"],
        pos_norm_diff=means["norm_diff"],
        expected_norm=expected,
        n_docs=sums.count,
        n_dropped=docs.n_dropped,
        bos_at_0=docs.bos_at_0,
        meta={
            "n_seen": docs.n_seen,
            "chat": docs.chat,
            "collect_seconds": round(elapsed, 3),
            "norm_seconds": round(t_norm, 3),
            "resumed_from": start,
            "norm_docs": 0 if norm_inputs is None else int(norm_inputs[0].shape[0]),
            "norm_skip": norm_skip,
        },
    )


def _checkpoint_tag(path: Path) -> str:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        tag: str = (fh.metadata() or {}).get("tag", "")
        return tag


NORMS_CHECKPOINT = "partial_norms.safetensors"


def expected_norms(
    pair: ModelPair,
    layers: list[int],
    ids: torch.Tensor,
    mask: torch.Tensor,
    *,
    skip: int = 5,
    batch_size: int = 16,
    checkpoint: Path | None = None,
    tag: str = "",
) -> dict[str, torch.Tensor]:
    """Mean ||h|| per layer over all real tokens at positions >= skip, for each model.

    The first positions are skipped because attention sinks there have huge norms. With
    `checkpoint`, each model's norms are saved as soon as they are known (with `tag`), and a
    model whose norms are saved there under the same tag is not run again.
    """
    out = _load_norms(checkpoint, tag, len(layers))
    keep = mask.clone()
    keep[:, :skip] = 0
    for side in SIDES:
        if side in out:
            log.info("expected norms of the %s model: resumed", side)
            continue
        log.info("expected norms of the %s model: estimating on %d documents", side, len(ids))
        total = torch.zeros(len(layers), dtype=torch.float64)
        count = 0
        with pair.use(side, upto=max(layers)) as model, cpu_threads(pair.device):
            for lo in range(0, ids.shape[0], batch_size):
                adjust_threads()
                b_ids = ids[lo : lo + batch_size].to(pair.device)
                b_mask = mask[lo : lo + batch_size].to(pair.device)
                b_keep = keep[lo : lo + batch_size].bool()
                with torch.inference_mode():
                    acts = forward_until(model, layers, input_ids=b_ids, attention_mask=b_mask)
                for li, layer in enumerate(layers):
                    norms = acts[layer].float().norm(dim=-1).cpu()
                    total[li] += norms[b_keep].double().sum()
                count += int(b_keep.sum())
        out[side] = (total / max(count, 1)).float()
        check_finite(
            out[side], f"the {side} model's expected norm", stage="collect (norms)", layers=layers
        )
        if checkpoint is not None:
            save_tensors(dict(out), checkpoint, metadata={"tag": tag})
    return out


def _load_norms(path: Path | None, tag: str, n_layers: int) -> dict[str, torch.Tensor]:
    """The norms saved under `tag` at `path`; {} when there are none (or they are foreign)."""
    if path is None or not path.exists():
        return {}
    try:
        if _checkpoint_tag(path) != tag:
            return {}
        saved = load_file(str(path))
    except Exception:  # corrupt: estimate again
        return {}
    return {s: v for s, v in saved.items() if s in SIDES and v.shape == (n_layers,)}
