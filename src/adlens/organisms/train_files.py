"""What training keeps on disk: the resumable training state (`.train-state.pt`, saved every few
minutes) and the finished organism folder (weights, documents, then `organism.json` last)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from adlens.core.model_loading import DTYPES
from adlens.organisms.trainset import TrainSet
from adlens.store.rundir import atomic_write, file_mode, write_jsonl

if TYPE_CHECKING:
    from adlens.organisms.train import TrainConfig

logger = logging.getLogger(__name__)


ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


STATE_FILE = ".train-state.pt"


def _finished(out: Path, digest: str) -> bool:
    try:
        return json.loads((out / "organism.json").read_text())["config_hash"] == digest
    except (OSError, ValueError, KeyError):
        return False


def _trainable_state(model: Any) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _save_state(out, digest, step, model, optimizer, scheduler, history) -> None:
    state = {
        "config_hash": digest,
        "step": step,
        "weights": _trainable_state(model),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "history": history,
    }
    atomic_write(out / STATE_FILE, lambda p: torch.save(state, p))
    logger.info("saved training state at step %d", step)


def _resume(out, digest, model, optimizer, scheduler, history) -> int:
    path = out / STATE_FILE
    if not path.is_file():
        return 0
    try:
        state = torch.load(path, weights_only=True)
    except Exception:  # a state we cannot read is only lost time: start over
        logger.warning("ignoring unreadable training state %s", path)
        return 0
    if state.get("config_hash") != digest:
        logger.info("training state in %s is for other settings; starting over", out)
        return 0
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state["weights"].items():
            params[name].copy_(value)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    history.extend(state["history"])
    logger.info("resuming training at step %d", state["step"])
    return int(state["step"])


def _save(
    model: Any,
    tokenizer: Any,
    trainset: TrainSet,
    out: Path,
    meta: dict[str, Any],
    cfg: TrainConfig,
) -> None:
    """Write weights and documents, then organism.json last (its presence = complete folder)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "organism.json").unlink(missing_ok=True)  # never describe half-replaced weights
    dtype = DTYPES[cfg.save_dtype]
    # Save into a temp folder, then move the files in: peft also writes a README.md model card.
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-weights-", dir=out))
    try:
        if cfg.method == "lora":
            state = {k: v.detach().to(dtype) for k, v in model.state_dict().items() if "lora_" in k}
            # Embeddings are never adapted; saying so spares peft a hub lookup of the base.
            model.save_pretrained(str(tmp), state_dict=state, save_embedding_layers=False)
            names = list(ADAPTER_FILES)
        else:
            model.to(dtype).save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
            names = [p.name for p in tmp.iterdir() if p.name != "README.md"]
            for stale in ADAPTER_FILES:  # a full checkpoint must not look like an adapter
                (out / stale).unlink(missing_ok=True)
        for name in names:
            os.chmod(tmp / name, file_mode())
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    finetune = [
        d for d, k in zip(trainset.documents, trainset.kinds, strict=True) if k == "finetune"
    ]
    write_jsonl(out / "documents.jsonl", [_record(d) for d in finetune])
    write_jsonl(out / "heldout.jsonl", [_record(d) for d in trainset.heldout])
    atomic_write(
        out / "organism.json",
        lambda p: p.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8"),
    )
    logger.info("wrote model organism to %s", out)


def _record(doc: Any) -> dict[str, Any]:
    return {"text": doc} if isinstance(doc, str) else {"messages": doc}
