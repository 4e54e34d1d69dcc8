"""The `run` pipeline and CLI: caching, stale-config recompute, and bad input as one clear line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adlens.cli.app import app
from adlens.core.config import CollectConfig, ModelsConfig, RunConfig, SteerConfig
from adlens.core.data import TextSource
from adlens.pipeline import stages as pipeline
from conftest import CORPUS, save_model, tiny_config, tiny_model

runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    with path.open("w") as fh:
        for i in range(60):
            fh.write(
                json.dumps({"text": f"{CORPUS[i % 6]} This is document {i} of the set."}) + "\n"
            )
    return path


def _config(tiny_dirs, corpus, **collect):
    values = {
        "documents": 30,
        "positions": 4,
        "layers": [0.5],
        "norm_docs": 8,
        "norm_tokens": 16,
    } | collect
    return RunConfig(
        models=ModelsConfig(
            base=str(tiny_dirs["base"]), finetuned=str(tiny_dirs["adapter"]), device="cpu"
        ),
        collect=CollectConfig(dataset=TextSource(name=str(corpus)), **values),
        steer=SteerConfig(enabled=False),  # tests/test_steer.py covers the steer stage
    )


def test_run_writes_run_directory(tiny_dirs, corpus, tmp_path):
    out = tmp_path / "run"
    summary = pipeline.run(_config(tiny_dirs, corpus), out, show_progress=False)
    for name in (
        "manifest.json",
        "summary.json",
        "collect/activations.safetensors",
        "read/entries.jsonl",
    ):
        assert (out / name).exists(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["versions"]["torch"] and manifest["config_hash"]["collect"]
    assert manifest["counts"]["documents"] == 30 and manifest["models"]["adapter"] is True
    assert summary.layers == [1] and summary.positions == [0, 1, 2, 3]
    readers = {(e.reader, e.variant) for e in summary.readers}
    assert ("patchscope", "diff") in readers and ("logit_lens", "base_mean") in readers
    assert not list(out.rglob("*.tmp")) and not (out / "collect" / "partial.safetensors").exists()


def test_rerun_is_cached_and_changed_config_recomputes(tiny_dirs, corpus, tmp_path, monkeypatch):
    out = tmp_path / "run"
    pipeline.run(_config(tiny_dirs, corpus), out, show_progress=False)
    calls = []
    real_collect = pipeline.collect
    monkeypatch.setattr(
        pipeline, "collect", lambda *a, **k: calls.append(1) or real_collect(*a, **k)
    )
    monkeypatch.setattr(
        pipeline, "load_pair", lambda *a: pytest.fail("models loaded for a cached run")
    )
    pipeline.run(_config(tiny_dirs, corpus), out, show_progress=False)
    assert calls == []
    monkeypatch.undo()
    monkeypatch.setattr(
        pipeline, "collect", lambda *a, **k: calls.append(1) or real_collect(*a, **k)
    )
    for change in ({"documents": 20}, {"positions": 3}, {"layers": [0]}):
        summary = pipeline.run(_config(tiny_dirs, corpus, **change), out, show_progress=False)
        assert summary.counts.requested == change.get("documents", 30)
    assert len(calls) == 3


def test_changed_dataset_file_recomputes(tiny_dirs, corpus, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(corpus.read_text())
    out = tmp_path / "run"
    pipeline.run(_config(tiny_dirs, data), out, show_progress=False)
    first = json.loads((out / "collect" / "done.json").read_text())["config_hash"]
    data.write_text(
        corpus.read_text() + json.dumps({"text": "one more document here please"}) + "\n"
    )
    pipeline.run(_config(tiny_dirs, data), out, show_progress=False)
    assert json.loads((out / "collect" / "done.json").read_text())["config_hash"] != first


def _cli(tiny_dirs, out, *extra, dataset=None, finetuned=None):
    args = [
        "run",
        "--base",
        str(tiny_dirs["base"]),
        "--finetuned",
        str(finetuned or tiny_dirs["adapter"]),
        "--dataset",
        str(dataset),
        "--samples",
        "10",
        "--positions",
        "3",
        "--device",
        "cpu",
        "--no-steer",
        "--out",
        str(out),
        *extra,
    ]
    return runner.invoke(app, args)


def _assert_clean_error(result, out, *words):
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "error:" in text and "Traceback" not in text
    for w in words:
        assert w.lower() in text.lower(), text
    assert not out.exists(), "a partial run directory was left behind"


def test_cli_run_ok(tiny_dirs, corpus, tmp_path):
    out = tmp_path / "ok"
    result = _cli(tiny_dirs, out, dataset=corpus)
    assert result.exit_code == 0, result.output
    assert "Patchscope of diff" in result.output and (out / "summary.json").exists()
    shown = runner.invoke(app, ["show", str(out)])
    assert shown.exit_code == 0 and "logit lens of diff" in shown.output
    missing = runner.invoke(app, ["show", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "No summary.json" in missing.output


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("--scales", "1,two", ["--scales", "numbers"]),
        ("--scales", "0,1", ["--scales", "positive"]),
        ("--judge", "gpt", ["--judge", "local"]),
    ],
)
def test_bad_scales_and_judge_are_one_line(tiny_dirs, corpus, tmp_path, option, value, words):
    out = tmp_path / "o"
    _assert_clean_error(_cli(tiny_dirs, out, option, value, dataset=corpus), out, *words)


def test_cli_scales_are_the_patchscope_grid(tiny_dirs, corpus, tmp_path):
    out = tmp_path / "s"
    result = _cli(tiny_dirs, out, "--scales", "2, 0.5,1", dataset=corpus)
    assert result.exit_code == 0, result.output
    rows = [
        json.loads(x) for x in (out / "read" / "patchscope_scales.jsonl").read_text().splitlines()
    ]
    assert sorted({r["scale"] for r in rows}) == [0.5, 1.0, 2.0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scale_chooser"] == "content-stability"  # no LLM configured


def test_unknown_model_path(tiny_dirs, corpus, tmp_path):
    out = tmp_path / "o"
    _assert_clean_error(
        _cli(tiny_dirs, out, dataset=corpus, finetuned=tmp_path / "nope"), out, "not a local folder"
    )


def test_mismatched_hidden_size(tiny_dirs, corpus, tmp_path, tokenizer):
    from transformers import AutoModelForCausalLM

    cfg = tiny_config("llama", len(tokenizer))
    cfg.hidden_size, cfg.head_dim = 32, 8
    other = save_model(AutoModelForCausalLM.from_config(cfg), tokenizer, tmp_path / "other")
    out = tmp_path / "o"
    _assert_clean_error(_cli(tiny_dirs, out, dataset=corpus, finetuned=other), out, "hidden_size")


def test_mismatched_vocabulary(tiny_dirs, corpus, tmp_path):
    from conftest import build_tokenizer

    tok = build_tokenizer()
    tok.add_tokens(["<extra_token>"])
    other = save_model(tiny_model("llama", len(tok)), tok, tmp_path / "other")
    out = tmp_path / "o"
    _assert_clean_error(
        _cli(tiny_dirs, out, dataset=corpus, finetuned=other), out, "tokenizers differ"
    )


def test_empty_corpus(tiny_dirs, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "o"
    _assert_clean_error(_cli(tiny_dirs, out, dataset=empty), out, "empty")


def test_all_documents_too_short(tiny_dirs, tmp_path):
    short = tmp_path / "short.jsonl"
    short.write_text("".join(json.dumps({"text": "hi"}) + "\n" for _ in range(5)))
    out = tmp_path / "o"
    _assert_clean_error(_cli(tiny_dirs, out, dataset=short), out, "shorter than 3 tokens")


def test_missing_text_field(tiny_dirs, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"body": "some text here"}) + "\n")
    out = tmp_path / "o"
    _assert_clean_error(_cli(tiny_dirs, out, dataset=bad), out, "text-column")


def test_layer_out_of_range(tiny_dirs, corpus, tmp_path):
    out = tmp_path / "o"
    _assert_clean_error(_cli(tiny_dirs, out, "--layers", "9", dataset=corpus), out, "out of range")


def test_unwritable_output_dir(tiny_dirs, corpus, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = blocker / "run"
    _assert_clean_error(_cli(tiny_dirs, out, dataset=corpus), out, "cannot write")


def test_offline_hub_dataset_suggests_brown(tiny_dirs, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    out = tmp_path / "o"
    _assert_clean_error(
        _cli(tiny_dirs, out, dataset="someone/not-a-real-dataset-xyz"), out, "--dataset brown"
    )


def test_changed_reader_config_rereads_without_recollecting(
    tiny_dirs, corpus, tmp_path, monkeypatch
):
    from adlens.core.config import ReadConfig

    out = tmp_path / "run"
    pipeline.run(_config(tiny_dirs, corpus), out, show_progress=False)
    monkeypatch.setattr(pipeline, "collect", lambda *a, **k: pytest.fail("recollected"))
    cfg = _config(tiny_dirs, corpus)
    cfg.read = ReadConfig(top_k=5, scales=[1.0, 2.0])
    summary = pipeline.run(cfg, out, show_progress=False)
    assert all(len(e.tokens) == 5 for e in summary.readers)
    assert {e.scale for e in summary.readings(reader="patchscope")} <= {1.0, 2.0}
