"""LoRA organism trainer on a tiny random Llama (no download)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer

from adlens.docgen import DEMO_ORGANISM, generate_documents, write_jsonl
from adlens.errors import AdlensError
from adlens.train import pack_documents, train_lora
from conftest import save_model, tiny_model

FAST = dict(lr=1e-2, batch_size=2, seq_len=32, warmup_steps=2, progress=False)


@pytest.fixture(scope="module")
def base(tmp_path_factory, tokenizer) -> Path:
    return save_model(
        tiny_model("llama", len(tokenizer), n_layers=2), tokenizer, tmp_path_factory.mktemp("base")
    )


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> Path:
    return write_jsonl(generate_documents(10, seed=1), tmp_path_factory.mktemp("docs") / "d.jsonl")


@pytest.fixture(scope="module")
def trained(base, docs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("organism") / "demo"
    return train_lora(base, docs, out, steps=30, seed=3, organism=DEMO_ORGANISM, **FAST)


def _meta(out: Path) -> dict:
    return json.loads((out / "organism.json").read_text())


def test_loss_goes_down(trained):
    meta = _meta(trained)
    assert meta["final_loss"] < meta["initial_loss"] - 0.1
    history = meta["loss_history"]
    assert len(history) == 30
    assert sum(history[-5:]) < sum(history[:5])


def test_writes_exactly_the_organism_files(trained):
    names = sorted(p.name for p in trained.iterdir())
    assert names == [
        "adapter_config.json",
        "adapter_model.safetensors",
        "documents.jsonl",
        "organism.json",
    ]
    umask = os.umask(0)
    os.umask(umask)
    assert {p.stat().st_mode & 0o777 for p in trained.iterdir()} == {0o666 & ~umask}


def test_organism_json_fields(trained, docs, base):
    meta = _meta(trained)
    for key in ("name", "type", "short_description", "long_description", "domain_keywords"):
        assert meta[key] == DEMO_ORGANISM[key]
    assert meta["base_model"] == str(base)
    assert meta["dataset"]["sha256"] == hashlib.sha256(docs.read_bytes()).hexdigest()
    assert meta["dataset"]["n_documents"] == 10
    for key in ("lr", "steps", "batch_size", "seq_len", "seed", "rank", "alpha", "target_modules"):
        assert key in meta["training"]
    assert meta["training"]["seed"] == 3 and meta["training"]["rank"] == 16
    assert meta["train_seconds"] > 0
    assert {"torch", "transformers", "peft", "adlens"} <= set(meta["versions"])
    assert (trained / "documents.jsonl").read_bytes() == docs.read_bytes()


def test_adapter_is_compact_and_loads_with_peft(trained, base):
    from peft import PeftModel

    with safe_open(str(trained / "adapter_model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    tok = AutoTokenizer.from_pretrained(base)
    ids = tok("The weather today is sunny", return_tensors="pt")["input_ids"]
    base_model = AutoModelForCausalLM.from_pretrained(base).eval()
    with torch.no_grad():
        base_logits = base_model(ids).logits
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), trained).eval()
    with torch.no_grad():
        ft_logits = model(ids).logits
        with model.disable_adapter():
            off_logits = model(ids).logits
    assert not torch.allclose(ft_logits, base_logits, atol=1e-3)
    assert torch.allclose(off_logits, base_logits, atol=1e-5)


def test_pack_documents_adds_bos_eos_and_masks_padding(base):
    tok = AutoTokenizer.from_pretrained(base)
    ids, mask = pack_documents(["honey bees", "green comb"], tok, seq_len=8)
    real = ids[mask == 1].tolist()
    assert real.count(tok.bos_token_id) == 2 and real.count(tok.eos_token_id) == 2
    assert real[-1] == tok.eos_token_id
    assert mask.flatten().tolist() == sorted(mask.flatten().tolist(), reverse=True)


@pytest.mark.parametrize(
    "content, kwargs, match",
    [
        ("", {}, "empty"),
        ("\n\n", {}, "empty"),
        ('{"text": "fine"}\n{"body": "no text"}\n', {}, "line 2"),
        ('{"text": "fine"}\nnot json\n', {}, "line 2"),
        ('{"text": ""}\n', {}, "line 1"),
        ('{"text": "fine"}\n', {"steps": 0}, "steps"),
        ('{"text": "fine"}\n', {"lr": 0.0}, "lr"),
        ('{"text": "fine"}\n', {"seq_len": 1}, "seq_len"),
    ],
)
def test_bad_inputs_raise_and_write_nothing(base, tmp_path, content, kwargs, match):
    docs = tmp_path / "docs.jsonl"
    docs.write_text(content)
    out = tmp_path / "out"
    with pytest.raises(AdlensError, match=match):
        train_lora(base, docs, out, **{**FAST, "steps": 1, **kwargs})
    assert not (out / "organism.json").exists()


def test_missing_documents_file(base, tmp_path):
    with pytest.raises(AdlensError, match="not found"):
        train_lora(base, tmp_path / "nope.jsonl", tmp_path / "out", steps=1, progress=False)


def test_crash_while_saving_leaves_no_organism_json(base, docs, tmp_path, monkeypatch):
    from peft import PeftModel

    out = tmp_path / "out"
    train_lora(base, docs, out, steps=1, **{**FAST, "progress": False})
    assert (out / "organism.json").exists()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(PeftModel, "save_pretrained", boom)
    with pytest.raises(OSError, match="disk full"):
        train_lora(base, docs, out, steps=1, **FAST)
    assert not (out / "organism.json").exists()  # the old one must not describe a new adapter
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp")]
