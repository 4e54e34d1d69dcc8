"""An adapter compared against another model than the one it is applied to (`adapter_base`):
model A + adapter is the finetuned side, model B the reference, checked against transformers
and peft directly and against the adapter's own factors."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from adlens.core.config import ModelsConfig
from adlens.core.hooks import forward_until
from adlens.core.models import ModelPair
from adlens.errors import AdlensError
from adlens.pipeline.hashes import collect_hash
from adlens.pipeline.stages import load_pair


def _ids(tokenizer):
    return tokenizer(["A short text about bees and honey."], return_tensors="pt")["input_ids"]


def _hidden(model, ids, layer=2):
    with torch.no_grad():
        return model(input_ids=ids, output_hidden_states=True).hidden_states[layer]


@pytest.fixture(scope="module")
def cross_pair(tiny_dirs):
    # A = tiny_dirs["base"] (what the adapter was made on), B = tiny_dirs["ft"] (other weights)
    return load_pair(
        ModelsConfig(
            base=str(tiny_dirs["ft"]),
            adapter_base=str(tiny_dirs["base"]),
            finetuned=str(tiny_dirs["adapter"]),
            device="cpu",
            dtype="float32",
        )
    )


def test_adapter_on_a_compared_with_b(cross_pair, tiny_dirs, tokenizer):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    def plain(name):
        return AutoModelForCausalLM.from_pretrained(tiny_dirs[name], dtype=torch.float32).eval()

    ids = _ids(tokenizer)
    ref_b = _hidden(plain("ft"), ids)
    ref_ft = _hidden(PeftModel.from_pretrained(plain("base"), tiny_dirs["adapter"]).eval(), ids)
    ref_a = _hidden(plain("base"), ids)
    with torch.no_grad():
        with cross_pair.use("base") as m:
            base = forward_until(m, [1], input_ids=ids)[1]
        with cross_pair.use("finetuned") as m:
            ft = forward_until(m, [1], input_ids=ids)[1]
    torch.testing.assert_close(base, ref_b, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ft, ref_ft, rtol=1e-4, atol=1e-4)
    assert (ft - ref_a).abs().max() > 1e-3 and (base - ref_a).abs().max() > 1e-3
    assert not cross_pair.is_adapter  # two models in memory
    assert cross_pair.info["adapter"] and cross_pair.info["adapter_applied_to"] == str(
        tiny_dirs["base"]
    )


def test_merged_weights_are_a_plus_lora(cross_pair, tiny_dirs):
    """One weight of the finetuned side equals A's weight + scaling * B_lora @ A_lora, from the
    saved files; the reference's equals B's."""
    a = load_file(tiny_dirs["base"] / "model.safetensors")
    b = load_file(tiny_dirs["ft"] / "model.safetensors")
    lora = load_file(tiny_dirs["adapter"] / "adapter_model.safetensors")
    key = "model.layers.1.self_attn.q_proj.weight"
    prefix = "base_model.model.model.layers.1.self_attn.q_proj"
    down, up = lora[f"{prefix}.lora_A.weight"], lora[f"{prefix}.lora_B.weight"]
    expected = a[key] + (8 / 4) * up @ down  # lora_alpha / r of the conftest adapter
    ft_params = dict(cross_pair.finetuned.named_parameters())
    base_params = dict(cross_pair.base_model.named_parameters())
    torch.testing.assert_close(ft_params[key], expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(base_params[key], b[key])


def test_default_meaning_of_base_is_kept(tiny_dirs):
    """--base with an adapter still means: apply it there, one model; an adapter_base equal to
    the base is the same pair."""
    for extra in ({}, {"adapter_base": str(tiny_dirs["ft"])}):
        pair = ModelPair.load(
            str(tiny_dirs["ft"]), str(tiny_dirs["adapter"]), device="cpu", dtype="float32", **extra
        )
        assert pair.is_adapter and pair.info["adapter_applied_to"] is None
        a_weight = dict(pair.finetuned.named_parameters())[
            "base_model.model.model.layers.0.mlp.up_proj.base_layer.weight"
        ]
        b = load_file(tiny_dirs["ft"] / "model.safetensors")
        torch.testing.assert_close(a_weight, b["model.layers.0.mlp.up_proj.weight"])


def test_adapter_base_needs_an_adapter(tiny_dirs):
    with pytest.raises(AdlensError, match="--adapter-base is for a peft adapter"):
        ModelPair.load(
            str(tiny_dirs["base"]),
            str(tiny_dirs["ft"]),
            adapter_base=str(tiny_dirs["base"]),
            device="cpu",
        )


def test_collect_hash_unchanged_without_adapter_base(tiny_dirs):
    """Runs cached before adapter_base existed stay fresh: without it, the hash is the one the
    earlier code computed (written out here); with it, the hash differs."""
    from adlens import __version__
    from adlens.core.config import CollectConfig
    from adlens.pipeline.hashes import fingerprint
    from adlens.store.rundir import config_hash

    plain = ModelsConfig(base=str(tiny_dirs["base"]), finetuned=str(tiny_dirs["adapter"]))
    collect = CollectConfig(documents=10, layers=[1])
    earlier = config_hash(
        {
            "adlens": __version__,
            "models": plain.model_dump(exclude={"device", "device_map", "adapter_base"}),
            "collect": collect.hashed(),
            "fingerprints": {
                "base": fingerprint(plain.base),
                "finetuned": fingerprint(plain.finetuned),
                "dataset": fingerprint(collect.dataset.name),
            },
        }
    )
    assert collect_hash(plain, collect) == earlier
    crossed = plain.model_copy(update={"adapter_base": str(tiny_dirs["ft"])})
    assert collect_hash(crossed, collect) != earlier
