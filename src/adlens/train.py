"""Train a model organism: a LoRA adapter (peft) finetuned on a jsonl file of documents.

The output folder is a normal peft adapter (`adapter_config.json`, `adapter_model.safetensors`)
plus `documents.jsonl` (a copy of the training data) and `organism.json` (what it was trained
on and how). `organism.json` is written last and atomically, so its presence means the folder
is complete.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from adlens.assets import resolve_model
from adlens.errors import AdlensError
from adlens.models import DTYPES, load_causal_lm, load_tokenizer
from adlens.progress import progress_bar
from adlens.store import atomic_write, file_mode, library_versions, sha256_file

logger = logging.getLogger(__name__)

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def read_documents(path: Path) -> list[str]:
    """Texts from a jsonl file with one `{"text": ...}` object per line (blank lines skipped)."""
    if not path.is_file():
        raise AdlensError(
            f'documents file {path} not found; pass a .jsonl file with one {{"text": ...}} per line.'
        )
    texts = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                raise AdlensError(
                    f"{path} line {i} is not valid JSON; write one JSON object per line."
                ) from None
            text = doc.get("text") if isinstance(doc, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise AdlensError(
                    f'{path} line {i} has no non-empty \'text\' field; every line needs {{"text": "..."}}.'
                )
            texts.append(text)
    if not texts:
        raise AdlensError(
            f'documents file {path} is empty; add one {{"text": ...}} JSON object per line.'
        )
    return texts


def _check_hyperparameters(
    lr: float,
    steps: int,
    batch_size: int,
    seq_len: int,
    rank: int,
    alpha: float,
    warmup_steps: int,
    save_dtype: str,
) -> None:
    problems = [
        (steps < 1, f"steps must be at least 1 (got {steps})"),
        (not lr > 0 or not math.isfinite(lr), f"lr must be a positive number (got {lr})"),
        (seq_len < 2, f"seq_len must be at least 2 tokens (got {seq_len})"),
        (batch_size < 1, f"batch_size must be at least 1 (got {batch_size})"),
        (rank < 1, f"rank must be at least 1 (got {rank})"),
        (not alpha > 0, f"alpha must be positive (got {alpha})"),
        (warmup_steps < 0, f"warmup_steps must be 0 or more (got {warmup_steps})"),
        (
            save_dtype not in DTYPES,
            f"save_dtype must be one of {', '.join(DTYPES)} (got {save_dtype})",
        ),
    ]
    for bad, message in problems:
        if bad:
            raise AdlensError(message + "; fix the training option and run again.")


def pack_documents(
    texts: list[str], tokenizer: Any, seq_len: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenize (BOS if the tokenizer adds one, EOS appended), concatenate, cut into seq_len blocks.

    Returns `input_ids` and `attention_mask`, both (n_blocks, seq_len); only the last block
    can hold padding, which the mask marks so it gets no loss.
    """
    eos = tokenizer.eos_token_id
    ids: list[int] = []
    for text in texts:
        doc = tokenizer(text, add_special_tokens=True)["input_ids"]
        if eos is not None and (not doc or doc[-1] != eos):
            doc = doc + [eos]
        ids.extend(doc)
    n_blocks = -(-len(ids) // seq_len)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos or 0)
    flat = torch.full((n_blocks * seq_len,), pad, dtype=torch.long)
    flat[: len(ids)] = torch.tensor(ids, dtype=torch.long)
    mask = torch.zeros(n_blocks * seq_len, dtype=torch.long)
    mask[: len(ids)] = 1
    return flat.view(n_blocks, seq_len), mask.view(n_blocks, seq_len)


def _batches(n_blocks: int, batch_size: int, generator: torch.Generator):
    """Yield index batches forever, reshuffling the blocks on every pass over the data."""
    order: list[int] = []
    while True:
        batch = []
        while len(batch) < batch_size:
            if not order:
                order = torch.randperm(n_blocks, generator=generator).tolist()
            batch.append(order.pop())
        yield torch.tensor(batch)


def _loss(model: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    labels = ids.masked_fill(mask == 0, -100)  # no loss on padding
    return model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss


def train_lora(
    base: str | Path,
    documents: str | Path,
    out: str | Path,
    *,
    lr: float = 1e-3,
    steps: int = 200,
    batch_size: int = 4,
    seq_len: int = 128,
    seed: int = 0,
    rank: int = 16,
    alpha: float = 32,
    target_modules: str | list[str] = "all-linear",
    dropout: float = 0.0,
    warmup_steps: int = 10,
    weight_decay: float = 0.0,
    device: str = "cpu",
    save_dtype: str = "float16",
    organism: dict[str, Any] | None = None,
    progress: bool = True,
) -> Path:
    """Finetune a LoRA adapter on `documents` and write a model organism folder to `out`.

    Args:
        base: Hugging Face model folder, hub id, or adlens asset name (`smollm2-135m-instruct`,
            built on first use) of the base model; loaded in float32, `trust_remote_code=False`.
        documents: jsonl file, one `{"text": ...}` object per line. Documents are tokenized
            (BOS if the tokenizer adds one, EOS appended), packed and cut into `seq_len` blocks.
        out: output folder (created; existing adapter files and organism.json are replaced,
            other files are left alone).
        lr, steps, batch_size, seq_len: AdamW learning rate, optimizer steps (cycling over
            the shuffled blocks), blocks per step and tokens per block.
        seed: seeds LoRA initialisation and data order.
        rank, alpha, target_modules, dropout: the peft `LoraConfig` (`"all-linear"` = every
            linear layer but the output head).
        warmup_steps: linear learning-rate warmup, then constant.
        weight_decay: AdamW weight decay.
        device: torch device to train on (`"cpu"`, `"cuda"`, ...).
        save_dtype: dtype of the saved adapter weights (`float16` halves the file; peft
            upcasts them on load).
        organism: metadata for organism.json: name, type, short_description,
            long_description, domain_keywords, and any extra keys to keep.
        progress: show a rich progress bar with the running loss.

    Returns:
        `out` as a Path.

    The CLI maps this 1:1: `adlens train --base B --documents D --out O --lr --steps
    --batch-size --seq-len --seed --rank --alpha [--target-modules] [--warmup-steps]
    [--device] [--save-dtype]`.

    Raises:
        AdlensError: missing, empty or malformed documents file (names the line), invalid
            hyperparameters, or a base model that cannot be loaded. Nothing is written then.
    """
    from peft import LoraConfig, get_peft_model

    documents, out = Path(documents), Path(out)
    _check_hyperparameters(lr, steps, batch_size, seq_len, rank, alpha, warmup_steps, save_dtype)
    if out.exists() and not out.is_dir():
        raise AdlensError(f"output path {out} is a file; pass a folder for the adapter.")
    texts = read_documents(documents)
    docs_sha = sha256_file(documents)

    torch.manual_seed(seed)  # LoRA A matrices are initialised randomly
    dev = torch.device(device)
    base_path = resolve_model(str(base))
    tokenizer = load_tokenizer(base_path)
    model = load_causal_lm(base_path, dtype=torch.float32, device=dev)
    ids, mask = pack_documents(texts, tokenizer, seq_len)
    logger.info(
        "%d documents -> %d tokens in %d blocks of %d",
        len(texts),
        int(mask.sum()),
        len(ids),
        seq_len,
    )

    lora = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        target_modules=target_modules,
        lora_dropout=dropout,
        bias="none",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    # adapter_config.json names the base as the user gave it (asset name, folder or hub id).
    model.peft_config["default"].base_model_name_or_path = str(base)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (warmup_steps + 1))
    )

    # A fixed probe batch, scored before and after training, gives comparable losses.
    probe = torch.arange(min(batch_size, len(ids)))
    with torch.no_grad():
        initial_loss = _loss(model, ids[probe].to(dev), mask[probe].to(dev)).item()

    batches = _batches(len(ids), batch_size, torch.Generator().manual_seed(seed))
    history: list[float] = []
    started = time.time()
    with progress_bar("Training LoRA", total=steps, enabled=progress) as advance:
        for step in range(steps):
            idx = next(batches)
            loss = _loss(model, ids[idx].to(dev), mask[idx].to(dev))
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
            if (step + 1) % max(1, steps // 10) == 0:
                logger.info("step %d/%d loss %.4f", step + 1, steps, history[-1])
    train_seconds = time.time() - started

    model.eval()
    with torch.no_grad():
        final_loss = _loss(model, ids[probe].to(dev), mask[probe].to(dev)).item()
    logger.info(
        "trained %d steps in %.0f s; probe loss %.3f -> %.3f",
        steps,
        train_seconds,
        initial_loss,
        final_loss,
    )

    meta = {
        "name": out.resolve().name,
        "type": "lora finetune",
        "short_description": f"LoRA finetune on {documents.name}.",
        "long_description": "",
        **(organism or {}),
        "dataset": {
            "path": str(documents),
            "sha256": docs_sha,
            "n_documents": len(texts),
            "n_tokens": int(mask.sum()),
        },
        "base_model": str(base),
        "base_model_path": base_path,
        "training": {
            "method": "lora",
            "lr": lr,
            "steps": steps,
            "batch_size": batch_size,
            "seq_len": seq_len,
            "seed": seed,
            "rank": rank,
            "alpha": alpha,
            "target_modules": target_modules,
            "dropout": dropout,
            "warmup_steps": warmup_steps,
            "weight_decay": weight_decay,
            "optimizer": "AdamW",
            "grad_clip": 1.0,
            "packing": True,
            "device": device,
            "dtype": "float32",
            "save_dtype": save_dtype,
        },
        "initial_loss": round(initial_loss, 4),
        "final_loss": round(final_loss, 4),
        "loss_note": "initial/final: mean token loss on the first batch_size blocks before/after training",
        "loss_history": history,
        "train_seconds": round(train_seconds, 1),
        "versions": library_versions(),
    }
    _save(model, documents, out, meta, DTYPES[save_dtype])
    return out


def _save(model: Any, documents: Path, out: Path, meta: dict[str, Any], dtype: torch.dtype) -> None:
    """Write adapter, documents copy, then organism.json last (its presence = complete folder)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "organism.json").unlink(missing_ok=True)  # never describe a half-replaced adapter
    # Save into a temp folder: peft also writes a README.md model card we don't want in `out`.
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-adapter-", dir=out))
    try:
        lora_state = {
            k: v.detach().to(dtype) for k, v in model.state_dict().items() if "lora_" in k
        }
        model.save_pretrained(str(tmp), state_dict=lora_state)
        for name in ADAPTER_FILES:
            os.chmod(tmp / name, file_mode())
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    target = out / "documents.jsonl"
    if not (target.exists() and target.samefile(documents)):
        atomic_write(target, lambda p: shutil.copyfile(documents, p))
    atomic_write(
        out / "organism.json",
        lambda p: p.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8"),
    )
    logger.info("wrote model organism to %s", out)
