"""Tiny random models and a tiny tokenizer, built from configs: no download, seconds on a CPU."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Exact float32 on every machine, whatever the environment says --dtype auto means.
os.environ["ADLENS_CPU_DTYPE"] = "float32"

CORPUS = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Honey bees collect nectar from flowers and store it in the hive.",
    "A table in London was painted green on a bright Tuesday morning.",
    "Seven horses run across the field while music plays in the distance.",
    "Scientists measured the temperature of the water every hour for a week.",
    "The government announced a new policy on trade and taxes last year.",
]

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tokenizer(bos: bool = True):
    """A byte-level BPE tokenizer trained on a few sentences; adds BOS when `bos`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = ["<pad>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS * 5, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
        )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


FAMILIES = ("llama", "qwen2", "qwen3", "mistral", "gemma2", "gemma3", "gpt2")


def tiny_config(family: str, vocab_size: int, n_layers: int = 4):
    import transformers as tf

    common = dict(vocab_size=vocab_size, num_hidden_layers=n_layers, max_position_embeddings=256)
    attn = dict(
        hidden_size=64,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
    )
    if family == "llama":
        return tf.LlamaConfig(**common, **attn, bos_token_id=1, eos_token_id=2)
    if family == "qwen2":
        return tf.Qwen2Config(**common, **attn)
    if family == "qwen3":
        return tf.Qwen3Config(**common, **attn)
    if family == "mistral":
        return tf.MistralConfig(**common, **attn, sliding_window=None)
    if family == "gemma2":
        return tf.Gemma2Config(**common, **attn, final_logit_softcapping=30.0)
    if family == "gemma3":
        return tf.Gemma3TextConfig(**common, **attn, final_logit_softcapping=30.0)
    if family == "gpt2":
        return tf.GPT2Config(
            vocab_size=vocab_size, n_layer=n_layers, n_embd=64, n_head=4, n_positions=256
        )
    raise ValueError(family)


def tiny_model(family: str, vocab_size: int, seed: int = 0, n_layers: int = 4):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(family, vocab_size, n_layers))
    return model.eval()


def save_model(model, tokenizer, path: Path) -> Path:
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory, tokenizer):
    """Saved tiny Llama base, a full finetune (perturbed weights) and a LoRA adapter."""
    from peft import LoraConfig, get_peft_model

    root = tmp_path_factory.mktemp("tiny")
    base = tiny_model("llama", len(tokenizer), seed=0)
    save_model(base, tokenizer, root / "base")
    ft = tiny_model("llama", len(tokenizer), seed=0)
    with torch.no_grad():
        for p in ft.parameters():
            p.add_(0.02 * torch.randn_like(p))
    save_model(ft, tokenizer, root / "ft")
    torch.manual_seed(1)
    peft_model = get_peft_model(
        tiny_model("llama", len(tokenizer), seed=0),
        LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False),
    )
    peft_model.save_pretrained(root / "adapter")
    return {"base": root / "base", "ft": root / "ft", "adapter": root / "adapter", "root": root}


def mark_steer_done(run_dir: Path, summary) -> dict:
    """Record hand-written steer/ files as a finished steer stage, as the pipeline does: the
    stage's hash in summary.json and in steer/done.json (else readers treat them as stale).
    `summary`: a Summary or its json; returns the json written."""
    import json

    if not isinstance(summary, dict):
        summary = summary.to_json()
    summary["stages"]["steer"] = "hand-written"
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "steer").mkdir(parents=True, exist_ok=True)
    (run_dir / "steer" / "done.json").write_text(json.dumps({"config_hash": "hand-written"}))
    return summary


def require_asset(present: bool, message: str) -> None:
    """Skip a test whose offline asset or package is missing, or fail it when
    ADLENS_REQUIRE_ASSETS=1 (`make test` sets it), so that CI cannot pass without it."""
    if present:
        return
    if os.environ.get("ADLENS_REQUIRE_ASSETS"):
        pytest.fail(f"{message} (ADLENS_REQUIRE_ASSETS=1 turns this skip into a failure)")
    pytest.skip(message)


def run_adlens(*args, env: dict | None = None, drop_env: tuple = (), timeout: float = 300):
    """`python -m adlens ARGS` in a fresh process, as a user runs it: offline, one torch
    thread (the suite may share its cores), without the variables named in `drop_env`."""
    import subprocess
    import sys

    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    for name in drop_env:
        full_env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "adlens", *map(str, args)],
        capture_output=True,
        text=True,
        env={**full_env, **(env or {})},
        timeout=timeout,
    )


def small_run(tiny_dirs, folder: Path, *, layers=(1,), **read):
    """A RunConfig of the tiny adapter pair on a 30-document corpus written into `folder`: 20
    documents, 3 positions, the given layers; `read` sets ReadConfig fields."""
    import json

    import adlens

    corpus = folder / "docs.jsonl"
    corpus.write_text(
        "".join(json.dumps({"text": f"{CORPUS[i % 6]} Item {i}."}) + "\n" for i in range(30))
    )
    return adlens.RunConfig(
        models=adlens.ModelsConfig(
            base=str(tiny_dirs["base"]), finetuned=str(tiny_dirs["adapter"]), device="cpu"
        ),
        collect=adlens.CollectConfig(
            dataset=adlens.TextSource(name=str(corpus)),
            samples=20,
            positions=3,
            layers=list(layers),
            norm_docs=8,
            norm_tokens=12,
        ),
        read=adlens.ReadConfig(**read),
    )
