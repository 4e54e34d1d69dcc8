"""Causal effect: the projection, the upper-layers-only path, one base pass per batch."""

from __future__ import annotations

import json

import pytest
import torch

from adlens.core.activations import ActivationDiff
from adlens.core.models import ModelPair
from adlens.evaluate.causal import CausalConfig, causal_effect, corpus_losses
from adlens.evaluate.causal_intervention import (
    capture,
    replace_along,
    replace_component,
    resume_at,
    unit,
)
from adlens.evaluate.causal_losses import batches, loss_rows
from adlens.evaluate.causal_stage import run_causal
from conftest import CORPUS

LAYER = 1


@pytest.fixture(scope="module")
def full_pair(tiny_dirs):
    return ModelPair.load(
        str(tiny_dirs["base"]), str(tiny_dirs["ft"]), dtype="float32", device="cpu"
    )


@pytest.fixture(scope="module")
def adapter_pair(tiny_dirs):
    return ModelPair.load(
        str(tiny_dirs["base"]), str(tiny_dirs["adapter"]), dtype="float32", device="cpu"
    )


def make_diff(d: int, labels=(0, 1, 2), seed: int = 0) -> ActivationDiff:
    g = torch.Generator().manual_seed(seed)
    shape = (1, len(labels), d)
    norms = torch.ones(1, len(labels))
    return ActivationDiff(
        layers=[LAYER],
        labels=list(labels),
        mean_diff=torch.randn(shape, generator=g),
        mean_base=torch.randn(shape, generator=g),
        mean_ft=torch.randn(shape, generator=g),
        pos_norm_base=norms,
        pos_norm_ft=norms,
        pos_norm_diff=norms,
        expected_norm={"base": torch.ones(4), "finetuned": torch.ones(4)},
        n_docs=10,
        n_dropped=0,
        bos_at_0=True,
    )


def inputs(pair):
    enc = pair.tokenizer(CORPUS[:3], return_tensors="pt", padding=True)
    return {"input_ids": enc.input_ids, "attention_mask": enc.attention_mask}


def hidden(model, layer, **kw):
    with torch.inference_mode():
        return model(**kw, output_hidden_states=True, use_cache=False).hidden_states[layer + 1]


@pytest.mark.parametrize("mode", ["base", "zero"])
def test_projection_replaces_exactly_the_component(full_pair, mode):
    kw = inputs(full_pair)
    h_b = hidden(full_pair.base_model, LAYER, **kw)
    h_f = hidden(full_pair.finetuned, LAYER, **kw)
    u = unit(torch.randn(full_pair.d_model))
    # output_hidden_states records a block's output before later hooks change it, so read h'
    # with a hook registered after the intervention's.
    with replace_along(full_pair.finetuned, LAYER, h_b, u, mode):
        with torch.inference_mode(), capture(full_pair.finetuned, [LAYER]) as seen:
            full_pair.finetuned(**kw, use_cache=False)
    h_new = seen[LAYER]
    target = h_b @ u if mode == "base" else torch.zeros_like(h_f @ u)
    torch.testing.assert_close(h_new @ u, target, atol=1e-5, rtol=1e-5)
    ortho = h_new - (h_new @ u)[..., None] * u
    torch.testing.assert_close(ortho, h_f - (h_f @ u)[..., None] * u, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(h_new, h_f)  # the intervention did something


def test_resume_at_runs_only_the_upper_blocks(full_pair):
    """Logits from the stand-ins + upper blocks equal the full run with the same hook."""
    model, kw = full_pair.finetuned, inputs(full_pair)
    h_b = hidden(full_pair.base_model, LAYER, **kw)
    h_f = hidden(model, LAYER, **kw)
    u = unit(torch.randn(full_pair.d_model))
    with torch.inference_mode():
        with replace_along(model, LAYER, h_b, u):
            slow = model(**kw, use_cache=False).logits
        with resume_at(model, LAYER, replace_component(h_f, h_b, u)):
            fast = model(**kw, use_cache=False).logits
        plain = model(**kw, use_cache=False).logits  # stand-ins are gone again
        ref = model(**kw, use_cache=False).logits
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(plain, ref)
    assert "forward" not in model.model.layers[0].__dict__


def test_zero_direction_gives_the_finetuned_loss(adapter_pair):
    rows = loss_rows(adapter_pair.tokenizer, CORPUS, 6, 16, 4)
    bs = batches(rows, 4, adapter_pair.tokenizer.pad_token_id)
    zero = torch.zeros(adapter_pair.d_model)
    table = corpus_losses(adapter_pair, bs, {LAYER: {"zero": zero, "rand": torch.randn(64)}})
    assert table.loss((LAYER, "zero")) == pytest.approx(table.loss("finetuned"), abs=1e-5)
    assert table.loss((LAYER, "rand")) != pytest.approx(table.loss("finetuned"), abs=1e-6)
    assert table.loss("base") != pytest.approx(table.loss("finetuned"), abs=1e-4)


def test_one_base_pass_serves_every_vector(full_pair, adapter_pair, monkeypatch):
    rows = loss_rows(full_pair.tokenizer, CORPUS, 6, 16, 4)
    bs = batches(rows, 4, full_pair.tokenizer.pad_token_id)  # 2 batches
    vectors = {LAYER: {f"v{i}": torch.randn(full_pair.d_model) for i in range(5)}}
    calls = {"base": 0, "ft": 0, "ft_block0": 0}

    def counter(key):
        def hook(*_):
            calls[key] += 1

        return hook

    handles = [
        full_pair.base_model.register_forward_pre_hook(counter("base")),
        full_pair.finetuned.register_forward_pre_hook(counter("ft")),
        full_pair.finetuned.model.layers[0].self_attn.register_forward_pre_hook(
            counter("ft_block0")
        ),
    ]
    try:
        corpus_losses(full_pair, bs, vectors)
    finally:
        for h in handles:
            h.remove()
    assert calls == {"base": 2, "ft": 2 * (1 + 5), "ft_block0": 2}

    # An adapter has one model: count the passes made with the adapter disabled.
    use, sides = ModelPair.use, []

    def counting_use(self, side, upto=None):
        sides.append(side)
        return use(self, side, upto)

    monkeypatch.setattr(ModelPair, "use", counting_use)
    corpus_losses(adapter_pair, bs, vectors)
    assert sides.count("base") == 2


def test_causal_effect_report(adapter_pair):
    diff = make_diff(adapter_pair.d_model)
    cfg = CausalConfig(documents=4, max_tokens=16, min_tokens=4, random=3, batch_size=4)
    report = causal_effect(adapter_pair, diff, {"D": CORPUS[:4], "R": CORPUS[2:]}, cfg, False)
    assert set(report["corpora"]) == {"D", "R"}
    assert [p["position"] for p in report["positions"]] == [0, 1, 2]
    d = report["corpora"]["D"]
    for p in report["positions"]:
        e = p["D"]
        assert e["delta"] == pytest.approx(e["loss"] - d["loss_finetuned"])
        assert e["recovered"] == pytest.approx(e["delta"] / d["gap"])
        assert "z_vs_random_direction" in e
    ctl = report["controls"][0]
    assert ctl["random_direction"]["R"]["n"] == 3
    assert ctl["random_activation_difference"]["D"]["n"] == 3
    assert report["vectors_per_layer"] == {str(LAYER): 3 + 3 + 3}


def test_run_causal_saves_and_reuses(tiny_dirs, tmp_path, monkeypatch):
    from adlens.core.config import CollectConfig, ModelsConfig, RunConfig
    from adlens.core.data import TextSource
    from adlens.pipeline.stages import run

    corpus = tmp_path / "r.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in CORPUS * 3))
    organism = tmp_path / "organism"
    organism.mkdir()
    (organism / "documents.jsonl").write_text(
        "".join(json.dumps({"text": t}) + "\n" for t in CORPUS[:3])
    )
    meta = {"name": "tiny", "type": "other", "short_description": "Tiny test organism."}
    (organism / "organism.json").write_text(json.dumps(meta))
    models = ModelsConfig(
        base=str(tiny_dirs["base"]), finetuned=str(tiny_dirs["adapter"]), dtype="float32"
    )
    cfg = RunConfig(
        models=models,
        collect=CollectConfig(
            dataset=TextSource(name=str(corpus)), samples=6, positions=3, layers=[LAYER]
        ),
    )
    run_dir = tmp_path / "run"
    run(cfg, run_dir, read=False, show_progress=False)
    ccfg = CausalConfig(documents=3, max_tokens=16, min_tokens=4, random=2, batch_size=4)
    first = run_causal(run_dir, organism, ccfg, show_progress=False)
    saved = json.loads((run_dir / "evaluate" / "causal.json").read_text())
    assert saved["config_hash"] == first["config_hash"]
    assert saved["corpora"]["D"]["documents"] == 3

    def no_load(*_a, **_k):
        raise AssertionError("models loaded although causal.json is fresh")

    monkeypatch.setattr("adlens.pipeline.stages.load_pair", no_load)
    assert run_causal(run_dir, organism, ccfg, show_progress=False) == saved
    with pytest.raises(AssertionError):  # another config is recomputed
        run_causal(run_dir, organism, ccfg.model_copy(update={"mode": "zero"}))
