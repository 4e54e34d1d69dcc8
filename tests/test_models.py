"""Anatomy and hooks per family, checked against transformers' own outputs."""

from __future__ import annotations

import pytest
import torch

from adlens.core.anatomy import find_decoder_layers, find_final_norm
from adlens.core.hooks import add_to_layer, forward_until, replace_last_token
from adlens.core.lens import head_logits
from adlens.core.models import ModelPair, resolve_layers
from adlens.errors import AdlensError
from conftest import FAMILIES, tiny_model


@pytest.fixture(scope="module", params=FAMILIES)
def family_pair(request, tokenizer):
    model = tiny_model(request.param, len(tokenizer))
    return request.param, ModelPair(finetuned=model, base_model=model, tokenizer=tokenizer)


def _ids(tokenizer):
    return tokenizer(["The quick brown fox jumps over the lazy dog"], return_tensors="pt")[
        "input_ids"
    ]


def test_layers_and_norm_found(family_pair):
    family, pair = family_pair
    assert len(find_decoder_layers(pair.finetuned)) == 4
    assert "norm" in type(find_final_norm(pair.finetuned)).__name__.lower()


def test_hooks_equal_output_hidden_states(family_pair, tokenizer):
    family, pair = family_pair
    ids = _ids(tokenizer)
    with torch.no_grad():
        ref = pair.finetuned(input_ids=ids, output_hidden_states=True).hidden_states
        got = forward_until(pair.finetuned, [0, 1, 2], input_ids=ids)
    # hidden_states[i + 1] is the output of block i (the last entry is after the final norm).
    for i in (0, 1, 2):
        torch.testing.assert_close(got[i], ref[i + 1], rtol=1e-5, atol=1e-5)


def test_last_layer_lens_equals_logits(family_pair, tokenizer):
    family, pair = family_pair
    ids = _ids(tokenizer)
    with torch.no_grad():
        logits = pair.finetuned(input_ids=ids).logits[0]
        last = forward_until(pair.finetuned, [3], input_ids=ids)[3][0]
    torch.testing.assert_close(head_logits(pair, last), logits, rtol=1e-4, atol=1e-4)


def test_add_hook_shifts_exactly_one_layer_and_removes_itself(family_pair, tokenizer):
    family, pair = family_pair
    ids = _ids(tokenizer)
    vec = torch.randn(pair.d_model)
    with torch.no_grad():
        before = forward_until(pair.finetuned, [0, 1], input_ids=ids)
        with add_to_layer(pair.finetuned, 1, vec):
            during = forward_until(pair.finetuned, [0, 1], input_ids=ids)
        after = forward_until(pair.finetuned, [1], input_ids=ids)
    torch.testing.assert_close(during[0], before[0])
    torch.testing.assert_close(during[1], before[1] + vec, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(after[1], before[1])


def test_replace_hook_replaces_last_token_only(family_pair, tokenizer):
    family, pair = family_pair
    ids = _ids(tokenizer)
    vec = torch.randn(1, pair.d_model)
    with torch.no_grad():
        before = forward_until(pair.finetuned, [2], input_ids=ids)[2]
        with replace_last_token(pair.finetuned, 2, vec):
            seen = {}
            # a hook registered after ours sees what the next block receives
            block = find_decoder_layers(pair.finetuned)[2]
            h = block.register_forward_hook(
                lambda m, i, o: seen.setdefault("out", o[0] if isinstance(o, tuple) else o)
            )
            try:
                pair.finetuned(input_ids=ids)
            finally:
                h.remove()
    torch.testing.assert_close(seen["out"][0, -1], vec[0])
    torch.testing.assert_close(seen["out"][0, :-1], before[0, :-1])


def test_hooks_removed_on_exception(tokenizer):
    model = tiny_model("llama", len(tokenizer))
    with pytest.raises(RuntimeError):
        with add_to_layer(model, 1, torch.zeros(64)):
            raise RuntimeError("boom")
    assert all(not layer._forward_hooks for layer in find_decoder_layers(model))


def test_resolve_layers():
    assert resolve_layers([0.5], 30) == [14]
    assert resolve_layers([0.5], 24) == [11]
    assert resolve_layers([0.25, 0.5, 12, -1], 30) == [7, 14, 12, 29]
    for bad in ([30], [-31], [1.5]):
        with pytest.raises(AdlensError):
            resolve_layers(bad, 30)


def test_lora_disabled_equals_plain_base(tiny_dirs, tokenizer):
    from transformers import AutoModelForCausalLM

    pair = ModelPair.load(
        str(tiny_dirs["base"]), str(tiny_dirs["adapter"]), dtype="float32", device="cpu"
    )
    assert pair.is_adapter
    plain = AutoModelForCausalLM.from_pretrained(tiny_dirs["base"], dtype=torch.float32).eval()
    ids = _ids(tokenizer)
    with torch.no_grad():
        ref = plain(input_ids=ids, output_hidden_states=True).hidden_states[2]
        with pair.use("base") as m:
            base = forward_until(m, [1], input_ids=ids)[1]
        with pair.use("finetuned") as m:
            ft = forward_until(m, [1], input_ids=ids)[1]
    torch.testing.assert_close(base, ref, rtol=1e-5, atol=1e-5)
    assert (ft - base).abs().max() > 1e-3  # the adapter is active outside the context
