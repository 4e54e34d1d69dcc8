"""End to end on the real SmolLM2-135M-Instruct asset (built by `adlens assets`) and the demo
organism: the CLI from model folders to a run directory, and the Brown corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adlens.cli.app import app
from adlens.studies.demo import DEMO_ORGANISM
from conftest import require_asset


def _smollm2() -> Path:
    from adlens.store.asset_cache import cache_dir

    path = cache_dir() / "models" / "smollm2-135m-instruct"
    if os.environ.get("ADLENS_SKIP_REAL"):
        pytest.skip("ADLENS_SKIP_REAL is set")
    require_asset(
        (path / "config.json").exists(),
        "SmolLM2 asset not built: run `adlens assets` (make test does)",
    )
    return path


@pytest.mark.slow
def test_run_on_real_smollm2_with_demo_adapter(tmp_path, monkeypatch):
    base = _smollm2()
    out = tmp_path / "run"
    args = [
        "run",
        "--base",
        str(base),
        "--finetuned",
        str(DEMO_ORGANISM),
        "--dataset",
        "brown",
        "--samples",
        "64",
        "--positions",
        "3",
        "--device",
        "cpu",
        "--no-steer",
        "--readers",  # the readers beyond ADL run on this pair in tests/test_demo_cli.py
        "logit_lens,patchscope",
        "--dtype",
        "float32",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["layers"] == [14, 29]  # floor(0.5 * 29) and the last layer
    # the last layer is read by the logit lens only (Patchscope there is the same reading)
    readers = {(e["reader"], e["layer"]) for e in summary["readers"]}
    assert ("logit_lens", 29) in readers and ("patchscope", 29) not in readers
    assert ("patchscope", 14) in readers
    assert summary["bos_at_0"] is False  # SmolLM2 adds no BOS
    assert summary["counts"]["documents"] == 64
    norms = summary["norms"]["per_position"]["base"][0]
    assert norms[0] > 5 * norms[1]  # the attention sink at position 0 is visible
    assert any("attention sink" in n for n in summary["notes"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["models"]["adapter"] is True and manifest["versions"]["transformers"]
    # Rerun: cached (the models are not even loaded, nothing is rewritten), same summary.
    from adlens.pipeline import stages as pipeline

    monkeypatch.setattr(
        pipeline, "load_pair", lambda *a, **k: pytest.fail("models loaded for a cached rerun")
    )
    written = {p: p.stat().st_mtime_ns for p in out.rglob("*.safetensors")}
    assert written  # collect/activations.safetensors at least
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert {p: p.stat().st_mtime_ns for p in written} == written
    assert json.loads((out / "summary.json").read_text()) == summary


@pytest.mark.slow
def test_first_tokens_on_brown_with_the_real_tokenizer():
    from transformers import AutoTokenizer

    from adlens.core.tokenization import first_tokens
    from adlens.store.corpora import ensure_corpus

    tok = AutoTokenizer.from_pretrained(_smollm2())
    texts = [json.loads(line)["text"] for line in ensure_corpus("brown").open()][:300]
    for text in texts:
        for k in (5, 64):
            assert (
                first_tokens(tok, text, k) == tok(text, truncation=True, max_length=k)["input_ids"]
            )
