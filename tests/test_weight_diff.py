"""Weight-difference directions: a planted rank-1 change is recovered exactly, for a LoRA adapter
and for a full finetune, and the reader reads it at its layer."""

from __future__ import annotations

import copy
import json

import pytest
import torch

import adlens
from adlens.core.weight_diff import low_rank_svd, weight_changes
from conftest import small_run, tiny_model


def _cos(a, b):
    return float(torch.nn.functional.cosine_similarity(a.float(), b.float(), dim=0))


def test_low_rank_svd_is_the_svd_of_the_product():
    torch.manual_seed(0)
    b, a = torch.randn(40, 3), torch.randn(3, 30)
    u, s, v = low_rank_svd(b, a, 2.0)
    want = torch.linalg.svdvals(2.0 * b @ a)[:3]
    torch.testing.assert_close(s, want, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(u @ torch.diag(s) @ v.T, 2.0 * b @ a, rtol=1e-4, atol=1e-4)


def test_planted_rank_one_change_of_a_full_finetune(tokenizer):
    base = tiny_model("llama", len(tokenizer), seed=0)
    ft = copy.deepcopy(base)
    torch.manual_seed(3)
    x, y = torch.randn(64), torch.randn(128)
    with torch.no_grad():
        ft.model.layers[2].mlp.down_proj.weight.add_(0.5 * torch.outer(x, y))
    changes = weight_changes(ft, base, top=2)
    assert [(c.layer, c.name) for c in changes] == [(2, "mlp.down_proj")]
    c = changes[0]
    assert abs(_cos(c.u[0], x)) > 0.999 and abs(_cos(c.v[0], y)) > 0.999
    assert c.singular_values[0] == pytest.approx(0.5 * float(x.norm() * y.norm()), rel=1e-4)
    assert c.writes_residual


def test_planted_rank_one_lora(tokenizer):
    from peft import LoraConfig, get_peft_model

    base = tiny_model("llama", len(tokenizer), seed=0)
    model = get_peft_model(base, LoraConfig(r=1, lora_alpha=2, target_modules=["o_proj", "q_proj"]))
    torch.manual_seed(4)
    x, y = torch.randn(64), torch.randn(64)
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "lora_A") and "default" in module.lora_A:
                module.lora_A["default"].weight.zero_()
                module.lora_B["default"].weight.zero_()
        layer = model.base_model.model.model.layers[1].self_attn.o_proj
        layer.lora_B["default"].weight.copy_(x[:, None])
        layer.lora_A["default"].weight.copy_(y[None, :])
    changes = {(c.layer, c.name): c for c in weight_changes(model, None, top=1)}
    c = changes[(1, "self_attn.o_proj")]
    assert abs(_cos(c.u[0], x)) > 0.999 and abs(_cos(c.v[0], y)) > 0.999
    assert c.singular_values[0] == pytest.approx(2.0 * float(x.norm() * y.norm()), rel=1e-4)
    assert c.norm == pytest.approx(c.singular_values[0], rel=1e-5)
    # q_proj's adapter is zero: a change of norm 0, and not a residual direction
    assert changes[(1, "self_attn.q_proj")].norm == 0.0
    assert not changes[(1, "self_attn.q_proj")].writes_residual


def test_weights_reader_in_a_run(tiny_dirs, tmp_path):
    cfg = small_run(tiny_dirs, tmp_path, layers=(1, 3), readers=["weights"], top_k=5,
                    scales=[1.0, 2.0])  # fmt: skip
    out = tmp_path / "run"
    summary = adlens.run(cfg, out, show_progress=False)
    mine = summary.readings(reader="weights")
    # every layer of the adapter, two directions each, both signs
    assert sorted({r.layer for r in mine}) == [0, 1, 2, 3]
    assert {(r.position, r.variant) for r in mine if r.layer == 0} == {
        (p, v) for p in (0, 1) for v in ("diff", "neg_diff")
    }
    by = {r.layer: r.model_extra["read_by"] for r in mine}
    assert by == {0: "logit_lens", 1: "patchscope", 2: "logit_lens", 3: "logit_lens"}
    first = [r for r in mine if r.layer == 1 and r.position == 0][0]
    second = [r for r in mine if r.layer == 1 and r.position == 1][0]
    assert first.model_extra["singular_value"] >= second.model_extra["singular_value"] > 0
    profile = [
        json.loads(x) for x in (out / "read" / "weights_profile.jsonl").read_text().split("\n") if x
    ]
    assert {p["layer"] for p in profile} == {0, 1, 2, 3} and all(p["norm"] > 0 for p in profile)
