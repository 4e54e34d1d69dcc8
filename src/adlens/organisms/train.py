"""Train a model organism: a LoRA adapter (peft) or a full finetune on a jsonl of documents.

The output folder is a normal peft adapter (`adapter_config.json`, `adapter_model.safetensors`)
or a full Hugging Face checkpoint, plus `documents.jsonl` (the finetuning documents trained on),
`heldout.jsonl` (finetuning documents kept out, for evaluation) and `organism.json` (what it was
trained on, how, and how well it was learned). `organism.json` is written last and atomically,
so its presence means the folder is complete.

A killed run resumes: every few minutes the trainable weights, optimizer and step are saved to
`.train-state.pt` in the output folder, and a rerun with the same settings continues from there.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from adlens.core.data import TextSource
from adlens.core.model_loading import DTYPES, load_causal_lm, load_tokenizer
from adlens.core.progress import progress_bar
from adlens.errors import AdlensError
from adlens.organisms.learned import fact_recall, heldout_loss
from adlens.organisms.train_files import STATE_FILE, _finished, _resume, _save, _save_state
from adlens.organisms.trainset import TrainSet, build_trainset, pack, read_finetune_documents
from adlens.store.model_assets import resolve_model
from adlens.store.rundir import config_hash, library_versions, sha256_file

logger = logging.getLogger(__name__)

DEFAULT_LR = {"lora": 1e-3, "full": 5e-5}


class TrainConfig(BaseModel):
    """Everything that decides the trained weights (hashed into organism.json)."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["lora", "full"] = "lora"
    lr: float | None = Field(None, gt=0)  # None: 1e-3 for LoRA, 5e-5 for a full finetune
    steps: int | None = Field(None, ge=1)  # None: from `epochs`, or 200
    epochs: float | None = Field(None, gt=0)
    batch_size: int = Field(4, ge=1)
    seq_len: int = Field(128, ge=2)
    seed: int = 0
    n_documents: int | None = Field(None, ge=1)  # None: all but the held-out ones
    heldout: int | None = Field(None, ge=0)  # None: 10% of the documents, at most 100
    mix_ratio: float = Field(0.0, ge=0)  # reference documents per finetuning document
    mix_source: TextSource | None = None
    mix_skip: int = Field(0, ge=0)
    rank: int = Field(16, ge=1)
    alpha: float = Field(32, gt=0)
    target_modules: str | list[str] = "all-linear"
    dropout: float = Field(0.0, ge=0, lt=1)
    warmup_steps: int = Field(10, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    save_dtype: str = "float16"

    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.method]


def check_config(cfg: TrainConfig) -> None:
    if cfg.save_dtype not in DTYPES:
        raise AdlensError(
            f"save_dtype must be one of {', '.join(DTYPES)} (got {cfg.save_dtype}); "
            "fix the training option and run again."
        )
    if cfg.steps is not None and cfg.epochs is not None:
        raise AdlensError("give either --steps or --epochs, not both.")
    if cfg.mix_ratio > 0 and cfg.mix_source is None:
        raise AdlensError("a mixing ratio above 0 needs a reference corpus (--mix-source).")


def default_heldout(n_documents: int) -> int:
    return min(100, n_documents // 10)


def _batch_schedule(n_blocks: int, batch_size: int, steps: int, seed: int) -> torch.Tensor:
    """Block indices [steps, batch_size]: shuffled passes over the blocks. Fixed up front, so a
    resumed run sees exactly the batches it would have seen."""
    gen = torch.Generator().manual_seed(seed)
    need = steps * batch_size
    passes = [torch.randperm(n_blocks, generator=gen) for _ in range(-(-need // n_blocks))]
    return torch.cat(passes)[:need].view(steps, batch_size)


def _loss(model: Any, ids: torch.Tensor, attention: torch.Tensor, loss_mask: torch.Tensor):
    labels = ids.masked_fill(loss_mask == 0, -100)  # no loss on padding or non-assistant tokens
    return model(input_ids=ids, attention_mask=attention, labels=labels, use_cache=False).loss


def train_organism(
    base: str | Path,
    documents: str | Path,
    out: str | Path,
    config: TrainConfig | None = None,
    *,
    organism: dict[str, Any] | None = None,
    device: str = "cpu",
    reuse: bool = False,
    progress: bool = True,
    state_every_s: float = 120.0,
) -> Path:
    """Finetune `base` on `documents` and write a model organism folder to `out`.

    Args:
        base: Hugging Face model folder, hub id, or adlens asset name (`smollm2-135m-instruct`)
            of the base model; trained in float32.
        documents: jsonl, one `{"text": ...}` or `{"messages": [...]}` object per line.
        out: output folder (created; the organism's files are replaced, others left alone).
        config: hyperparameters, document count, held-out split and mixing (TrainConfig).
        organism: metadata for organism.json: name, type, short_description, long_description,
            domain_keywords, fact_prompts and fact_phrases (for the fact-recall measure), and
            any extra keys to keep.
        device: torch device to train on.
        reuse: return at once when `out` already holds an organism trained with the same
            settings and data (used by families of variants, so a rerun skips finished ones).
        progress: show a progress bar with the running loss.
        state_every_s: seconds between resumable training-state saves.

    Raises:
        AdlensError: missing, empty or malformed documents, a bad ratio or hyperparameter, or
            a base that cannot be loaded. Nothing is written then.
    """
    cfg = config or TrainConfig()
    check_config(cfg)
    documents, out = Path(documents), Path(out)
    if out.exists() and not out.is_dir():
        raise AdlensError(f"output path {out} is a file; pass a folder for the organism.")
    docs = read_finetune_documents(documents)
    docs_sha = sha256_file(documents)
    digest = config_hash(
        {"base": str(base), "documents": docs_sha, "train": cfg.model_dump(), "meta": organism}
    )
    if reuse and _finished(out, digest):
        logger.info("%s already trained with these settings; reusing it", out)
        return out

    heldout = default_heldout(len(docs)) if cfg.heldout is None else cfg.heldout
    trainset = build_trainset(
        docs,
        n_documents=cfg.n_documents,
        heldout=heldout,
        mix_ratio=cfg.mix_ratio,
        mix_source=cfg.mix_source,
        mix_skip=cfg.mix_skip,
        seed=cfg.seed,
    )
    torch.manual_seed(cfg.seed)  # LoRA A matrices are initialised randomly
    dev = torch.device(device)
    base_path = resolve_model(str(base))
    tokenizer = load_tokenizer(base_path)
    model = load_causal_lm(base_path, dtype=torch.float32, device=dev)
    ids, attention, loss_mask = pack(trainset.documents, tokenizer, cfg.seq_len)
    steps = cfg.steps or (math.ceil(cfg.epochs * len(ids) / cfg.batch_size) if cfg.epochs else 200)
    logger.info(
        "%d finetuning + %d reference documents -> %d tokens in %d blocks; %d steps",
        trainset.count("finetune"),
        trainset.count("mix"),
        int(attention.sum()),
        len(ids),
        steps,
    )
    chat = any(not isinstance(d, str) for d in trainset.documents)
    meta = organism or {}
    before = _learned(model, tokenizer, trainset, meta, chat, cfg.seed)  # = the base model

    model = _trainable(model, cfg, base)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate(), weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (cfg.warmup_steps + 1))
    )
    schedule = _batch_schedule(len(ids), cfg.batch_size, steps, cfg.seed)
    history: list[float] = []
    start = _resume(out, digest, model, optimizer, scheduler, history)
    started, last_save = time.time(), time.time()
    desc = "Training LoRA" if cfg.method == "lora" else "Full finetune"
    with progress_bar(desc, total=steps, enabled=progress) as advance:
        advance(start)
        for step in range(start, steps):
            idx = schedule[step]
            model.train()
            loss = _loss(model, ids[idx].to(dev), attention[idx].to(dev), loss_mask[idx].to(dev))
            if not torch.isfinite(loss):
                raise AdlensError(
                    f"loss became {loss.item()} at step {step + 1}; lower --lr and run again."
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)  # keeps high learning rates stable
            optimizer.step()
            scheduler.step()
            history.append(round(loss.item(), 4))
            advance(1, status=f"loss {history[-1]:.3f}")
            if time.time() - last_save > state_every_s and step + 1 < steps:
                _save_state(out, digest, step + 1, model, optimizer, scheduler, history)
                last_save = time.time()
    train_seconds = time.time() - started
    model.eval()
    after = _learned(model, tokenizer, trainset, meta, chat, cfg.seed)
    logger.info(
        "trained %d steps in %.0f s; held-out loss %s -> %s",
        steps - start,
        train_seconds,
        before.get("heldout_loss"),
        after.get("heldout_loss"),
    )
    meta = {
        "name": out.resolve().name,
        "type": "other",
        "short_description": f"{cfg.method} finetune on {documents.name}.",
        "long_description": "",
        **meta,
        "dataset": _dataset_record(documents, docs_sha, trainset, cfg, attention, loss_mask, ids),
        "base_model": str(base),
        "base_model_path": base_path,
        "format": "peft adapter" if cfg.method == "lora" else "full checkpoint",
        "training": {
            **cfg.model_dump(mode="json"),
            "lr": cfg.learning_rate(),
            "steps": steps,
            "optimizer": "AdamW",
            "grad_clip": 1.0,
            "packing": True,
            "device": device,
            "dtype": "float32",
        },
        "learned": {"base": before, "finetuned": after},
        "loss_history": history,
        "train_seconds": round(train_seconds, 1),
        "config_hash": digest,
        "versions": library_versions(),
    }
    _save(model, tokenizer, trainset, out, meta, cfg)
    (out / STATE_FILE).unlink(missing_ok=True)
    return out


def _trainable(model: Any, cfg: TrainConfig, base: str | Path) -> Any:
    if cfg.method == "full":
        model.requires_grad_(True)
        return model
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,  # type: ignore[arg-type]  # peft annotates int; floats work
        target_modules=cfg.target_modules,
        lora_dropout=cfg.dropout,
        bias="none",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    # adapter_config.json names the base as the user gave it (asset name, folder or hub id).
    model.peft_config["default"].base_model_name_or_path = str(base)
    return model


def _learned(
    model: Any, tokenizer: Any, trainset: TrainSet, meta: dict[str, Any], chat: bool, seed: int
) -> dict[str, Any]:
    """Held-out loss, and fact recall when the organism lists fact prompts and phrases."""
    model.eval()
    out: dict[str, Any] = {
        "heldout_loss": _round(heldout_loss(model, tokenizer, trainset.heldout)),
        "n_heldout": len(trainset.heldout),
    }
    prompts, phrases = meta.get("fact_prompts"), meta.get("fact_phrases")
    if prompts and phrases:
        recall = fact_recall(model, tokenizer, prompts, phrases, chat=chat, seed=seed)
        out["fact_recall"] = _round(recall["fact_recall"])
        out["fact_samples"] = recall["completions"]
    return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _dataset_record(
    documents: Path,
    sha: str,
    trainset: TrainSet,
    cfg: TrainConfig,
    attention: torch.Tensor,
    loss_mask: torch.Tensor,
    ids: torch.Tensor,
) -> dict[str, Any]:
    return {
        "path": str(documents),
        "sha256": sha,
        "n_available": trainset.n_available,
        "n_documents": trainset.count("finetune"),
        "n_heldout": len(trainset.heldout),
        "mix": {
            "ratio": cfg.mix_ratio,
            "source": trainset.mix_source,
            "skip": cfg.mix_skip,
            "n_documents": trainset.count("mix"),
        },
        "chat": any(not isinstance(d, str) for d in trainset.documents),
        "n_tokens": int(attention.sum()),
        "n_loss_tokens": int(loss_mask.sum()),
        "n_blocks": len(ids),
    }
