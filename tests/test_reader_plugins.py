"""Readers as plug-ins: a reader defined outside adlens, registered once, runs in the read stage
and appears wherever readings are shown, with no other edit."""

from __future__ import annotations

import json

import pytest

import adlens
from adlens.core import readers as registry
from adlens.core.lens import top_tokens
from adlens.core.readers import ReadContext, ReaderOutput, ReaderSpec
from adlens.results.readings import Reading, TokenProb
from conftest import small_run


class EmbeddingLens:
    """A toy reader: each difference read through the input embeddings (cosine similarity)."""

    name = "embedding_lens"
    label = "embedding lens"
    needs = frozenset({"diff", "pair"})

    def read(self, ctx: ReadContext) -> ReaderOutput:
        emb = ctx.pair.finetuned.get_input_embeddings().weight.detach().float()
        emb = emb / emb.norm(dim=-1, keepdim=True)
        readings = []
        for layer in ctx.diff.layers:
            for pos in ctx.diff.labels:
                v = ctx.diff.vector(layer, pos, "diff")
                probs = (emb @ (v / v.norm())).softmax(-1)[None]
                tokens = top_tokens(ctx.pair.tokenizer, probs, ctx.config.top_k)[0]
                readings.append(
                    Reading(
                        reader=self.name,
                        layer=layer,
                        position=pos,
                        variant="diff",
                        tokens=[TokenProb(**t) for t in tokens],
                    )
                )
        return ReaderOutput(readings, files={"embedding_lens.jsonl": [{"n": len(readings)}]})


SPEC = ReaderSpec("embedding_lens", "embedding lens", f"{__name__}:EmbeddingLens")


@pytest.fixture
def registered():
    adlens.register_reader(SPEC)
    yield SPEC
    adlens.unregister_reader(SPEC.name)


def _config(tiny_dirs, folder, readers):
    return small_run(tiny_dirs, folder, readers=readers, top_k=6, scales=[1.0])


def test_a_registered_reader_runs_in_the_read_stage(registered, tiny_dirs, tmp_path):
    out = tmp_path / "run"
    summary = adlens.run(
        _config(tiny_dirs, tmp_path, ["logit_lens", "embedding_lens"]), out, show_progress=False
    )
    assert summary.reader_names() == ["logit_lens", "embedding_lens"]
    mine = summary.readings(reader="embedding_lens")
    assert [(r.layer, r.position) for r in mine] == [(1, 0), (1, 1), (1, 2)]
    # the reading is the cosine top-k, computed here independently
    pair = adlens.load_pair(_config(tiny_dirs, tmp_path, ["logit_lens"]).models)
    diff = adlens.ActivationDiff.load(out / "collect")
    emb = pair.finetuned.get_input_embeddings().weight.detach().float()
    v = diff.vector(1, 2, "diff")
    cos = (emb / emb.norm(dim=-1, keepdim=True)) @ (v / v.norm())
    assert mine[2].tokens[0].id in cos.topk(10).indices.tolist()
    # files: readings in entries.jsonl, the reader's own file beside them, the summary reloads
    rows = [json.loads(x) for x in (out / "read" / "entries.jsonl").read_text().splitlines()]
    assert sum(r["reader"] == "embedding_lens" for r in rows) == 3
    assert json.loads((out / "read" / "embedding_lens.jsonl").read_text()) == {"n": 3}
    assert adlens.load_summary(adlens.RunDir(out)) == summary
    assert "patchscope" not in summary.reader_names()  # only the readers asked for


def test_reader_choice_is_part_of_the_read_hash(registered, tiny_dirs, tmp_path):
    out = tmp_path / "run"
    adlens.run(_config(tiny_dirs, tmp_path, ["logit_lens"]), out, show_progress=False)
    again = adlens.run(
        _config(tiny_dirs, tmp_path, ["logit_lens", "embedding_lens"]), out, show_progress=False
    )
    assert "embedding_lens" in again.reader_names()


def test_unknown_reader_is_a_one_line_config_error():
    with pytest.raises(ValueError, match="Unknown reader 'nope'; use one of: logit_lens"):
        adlens.ReadConfig(readers=["logit_lens", "nope"])
    with pytest.raises(ValueError, match="at least one reader"):
        adlens.ReadConfig(readers=[])


def test_a_reader_may_need_only_what_readers_can_have():
    with pytest.raises(adlens.AdlensError, match="needs"):
        adlens.register_reader(ReaderSpec("x", "x", "m:X", needs=frozenset({"internet"})))


def test_entry_point_readers_are_registered(monkeypatch):
    class EntryPoint:
        def load(self):
            return ReaderSpec(
                "from_entry_point", "from an entry point", f"{__name__}:EmbeddingLens"
            )

    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)
    monkeypatch.setattr(registry, "entry_points", lambda group: [EntryPoint()])
    try:
        assert "from_entry_point" in [s.name for s in registry.reader_specs()]
        assert registry.reader_label("from_entry_point") == "from an entry point"
    finally:
        adlens.unregister_reader("from_entry_point")


class DocumentCount:
    """A reader of the reference text: how many documents it was given, and the first one."""

    name = "document_count"
    label = "document count"
    needs = frozenset({"reference"})

    def read(self, ctx: ReadContext) -> ReaderOutput:
        docs = list(ctx.documents())
        return ReaderOutput(
            [], files={"document_count.jsonl": [{"n": len(docs), "first": docs[0]}]}
        )


def test_a_reader_of_the_reference_text_gets_the_collected_documents(tiny_dirs, tmp_path):
    adlens.register_reader(
        ReaderSpec("document_count", "document count", f"{__name__}:DocumentCount",
                   needs=frozenset({"reference"}))
    )  # fmt: skip
    try:
        out = tmp_path / "run"
        adlens.run(_config(tiny_dirs, tmp_path, ["document_count"]), out, show_progress=False)
    finally:
        adlens.unregister_reader("document_count")
    row = json.loads((out / "read" / "document_count.jsonl").read_text())
    corpus = tmp_path / "docs.jsonl"
    texts = [json.loads(line)["text"] for line in corpus.read_text().splitlines()]
    assert row["n"] == 20 and row["first"] in texts  # the dataset's documents, shuffled
