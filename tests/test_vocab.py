"""The clean-token filter and the domain-word rule."""

from __future__ import annotations

import torch

from adlens.core.lens import top_tokens
from adlens.core.vocab import (
    clean_mask,
    count_domain,
    domain_words_in_text,
    is_clean_text,
    is_domain_word,
)


def test_clean_text():
    for text in (" honey", "Honey", "42", " über", "x"):
        assert is_clean_text(text), text
    for text in ("\n", " ", "  \t", ".", " ,", "->", "\ufffd", " \ufffd", "", "\x00a"):
        assert not is_clean_text(text), repr(text)


def test_clean_mask_drops_special_whitespace_and_punctuation(tokenizer):
    mask = clean_mask(tokenizer, len(tokenizer) + 3)  # the unembedding may have padding rows
    assert mask.shape == (len(tokenizer) + 3,) and not mask[len(tokenizer) :].any()
    for i in tokenizer.all_special_ids:
        assert not mask[i]
    for i in range(len(tokenizer)):
        text = tokenizer.decode([i])
        control = text.startswith("<") and text.endswith(">")  # <|im_start|> and the like
        if i not in tokenizer.all_special_ids:
            assert bool(mask[i]) == (is_clean_text(text) and not control), (i, repr(text))
    assert not mask[tokenizer.convert_tokens_to_ids("<|im_start|>")]
    dot = tokenizer.convert_tokens_to_ids(".")
    space = tokenizer.convert_tokens_to_ids("Ġ")
    assert not mask[dot] and not mask[space]
    assert mask[tokenizer.encode(" honey", add_special_tokens=False)[0]]


def test_top_tokens_clean_and_raw(tokenizer):
    """Punctuation and special tokens with the highest probability are skipped in the clean
    list, kept in the raw one; the clean list holds the best clean tokens in order."""
    v = len(tokenizer)
    probs = torch.zeros(1, v)
    dot = tokenizer.convert_tokens_to_ids(".")
    eos = tokenizer.eos_token_id
    words = [tokenizer.encode(w, add_special_tokens=False)[0] for w in (" honey", " river")]
    probs[0, dot], probs[0, eos], probs[0, words[0]], probs[0, words[1]] = 0.4, 0.3, 0.2, 0.1
    raw = top_tokens(tokenizer, probs, 3, clean=False)[0]
    clean = top_tokens(tokenizer, probs, 3)[0]
    assert [t["id"] for t in raw] == [dot, eos, words[0]]
    assert [t["id"] for t in clean][:2] == words
    assert all(is_clean_text(t["token"]) for t in clean)


def test_domain_word_is_a_whole_word_of_the_vocabulary():
    kw = ["honey", "bee", "bees", "hive", "flower", "heather", "beekeeper", "green", "nectar"]
    assert is_domain_word(" honey", kw) and is_domain_word("Honey", kw)
    assert is_domain_word(" hives", kw)  # a plural of a keyword
    assert is_domain_word(" NECTAR", kw)
    # sub-word pieces and words that merely start or end like a keyword do not count
    for token in (" flow", " heat", " been", " beer", "beek", "hon", " bee-", "ey", " honeyed"):
        assert not is_domain_word(token, kw), token
    # words of the Patchscope identity prompts never count, even as keywords
    assert not is_domain_word(" green", kw) and not is_domain_word("Green", kw)
    tokens = [{"token": t} for t in (" honey", " flow", " hives", " green", ".")]
    assert count_domain(tokens, kw) == 2
    assert domain_words_in_text("Green honey from the hives; a beer, been there.", kw) == 2
