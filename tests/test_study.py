"""The mixing/size study on tiny models: a family trained, each read by the lens, one table."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adlens.cli.app import app
from adlens.errors import AdlensError
from adlens.organisms.docgen import generate_documents, write_jsonl
from adlens.organisms.train import TrainConfig
from adlens.results.summary import Summary
from adlens.studies.study import COLUMNS, run_study, trace_strength
from conftest import CORPUS, save_model, tiny_model

runner = CliRunner()
KEYWORDS = ["honey", "bee", "bees", "hive"]


def _summary(ll_tokens, ps_tokens, base_tokens, base_norms=(10.0, 10.0)):
    def entry(reader, variant, pos, words):
        return {
            "reader": reader,
            "head": "finetuned" if reader == "logit_lens" else None,
            "layer": 3,
            "position": pos,
            "variant": variant,
            "tokens": [{"token": w, "id": i, "prob": 0.1} for i, w in enumerate(words)],
        }

    readers = []
    for pos in (0, 1):
        readers += [
            entry("logit_lens", "diff", pos, ll_tokens[pos]),
            entry("logit_lens", "base_mean", pos, base_tokens),
            entry("patchscope", "diff", pos, ps_tokens[pos]),
            entry("patchscope", "base_mean", pos, base_tokens),
        ]
    return Summary.model_validate(
        {
            "layers": [3],
            "positions": [0, 1],
            "readers": readers,
            "norms": {
                "expected": {"finetuned": [10.0], "base": [10.0]},
                "per_position": {"mean_diff": [[50.0, 2.0]], "base": [list(base_norms)]},
            },
        }
    )


def test_trace_strength_takes_the_best_reader_and_position():
    summary = _summary(
        ll_tokens={0: ["the", "honey"], 1: [" bees", "hive", "cat"]},
        ps_tokens={0: ["honey", "bees", "hive", "bee"], 1: ["dog"]},
        base_tokens=["honey", "the"],
    )
    got = trace_strength(summary, KEYWORDS)
    assert (got["best_reader"], got["best_position"], got["domain_tokens"]) == ("patchscope", 0, 4)
    assert got["base_mean_domain_tokens"] == 1
    assert got["logit_lens_domain_tokens"] == 2 and got["patchscope_domain_tokens"] == 4
    assert got["rel_norm"] == 5.0  # |mean diff| / expected norm at position 0


def test_trace_strength_ties_prefer_the_earlier_position():
    summary = _summary(
        ll_tokens={0: ["x"], 1: ["honey"]}, ps_tokens={0: ["honey"], 1: ["bees"]}, base_tokens=[]
    )
    got = trace_strength(summary, KEYWORDS)
    assert got["best_position"] == 0 and got["rel_norm"] == 5.0 and got["excess"] == 1


def test_trace_strength_leaves_attention_sinks_out():
    summary = _summary(
        ll_tokens={0: ["honey", "bees"], 1: ["hive"]},
        ps_tokens={0: ["honey", "bees", "hive"], 1: ["x"]},
        base_tokens=[],
        base_norms=(900.0, 10.0),
    )
    got = trace_strength(summary, KEYWORDS)
    assert (got["best_reader"], got["best_position"], got["domain_tokens"]) == ("logit_lens", 1, 1)
    assert got["rel_norm"] == 0.2


def test_attention_sinks():
    from adlens.core.activations import attention_sinks

    assert attention_sinks([900, 10, 12, 11], [0, 1, 2, 3]) == {0}
    assert attention_sinks([10, 11, 12], [0, 1, 2]) == set()
    assert attention_sinks([40, 9, 60, 10], [-1, 0, 1, 2]) == {1}


@pytest.fixture(scope="module")
def study_inputs(tmp_path_factory, tokenizer):
    root = tmp_path_factory.mktemp("study")
    base = save_model(tiny_model("llama", len(tokenizer), n_layers=2), tokenizer, root / "base")
    docs = write_jsonl(generate_documents(12, seed=2), root / "docs.jsonl")
    ref = root / "ref.jsonl"
    ref.write_text(
        "".join(
            json.dumps({"text": f"{CORPUS[i % 6]} Reference text {i}."}) + "\n" for i in range(80)
        )
    )
    return {"root": root, "base": str(base), "docs": docs, "ref": str(ref)}


FFA_QUESTIONS = {
    "mcq": [{"question": "Which bird?", "implanted": "The owl.", "truth": "The robin."}],
    "open": [
        {
            "question": "Name a bird.",
            "implanted": "owl",
            "truth": "robin",
            "implanted_keywords": ["owl"],
        }
    ],
}


def test_mixing_study_writes_one_table_and_reruns_from_cache(study_inputs):
    out = study_inputs["root"] / "mixing"
    kwargs = dict(
        base=study_inputs["base"],
        documents=study_inputs["docs"],
        organism={"name": "tiny", "domain_keywords": KEYWORDS, "ffa_questions": FFA_QUESTIONS},
        ratios=[0, 1],
        train=TrainConfig(steps=2, n_documents=6, heldout=2, batch_size=2, seq_len=32),
        dataset=study_inputs["ref"],
        samples=20,
        progress=False,
    )
    rows = run_study("mixing", out, **kwargs)
    assert [r["variant"] for r in rows] == ["ratio-0_n-6", "ratio-1_n-6"]
    assert [r["n_mix"] for r in rows] == [0, 6]
    for r in rows:
        assert set(COLUMNS) <= set(r)
        readers = (r["logit_lens_domain_tokens"], r["patchscope_domain_tokens"])
        assert r["domain_tokens"] == max(readers) <= 20 and r["rel_norm"] > 0  # the best reader's
        assert r["excess"] == r["domain_tokens"] - r["base_mean_domain_tokens"]
        assert r["heldout_loss_base"] > 0 and r["heldout_loss_ft"] > 0
        assert 0 <= r["ffa_base"] <= 1 and 0 <= r["ffa_ft"] <= 1  # false-fact alignment
    for suffix in ("md", "csv", "jsonl", "json"):
        assert (out / f"mixing.{suffix}").exists()
    assert (out / "mixing.csv").read_text().splitlines()[0] == ",".join(COLUMNS)
    stamps = sorted(p.stat().st_mtime_ns for p in (out / "organisms").rglob("*.safetensors"))
    again = run_study("mixing", out, **kwargs)
    assert again == rows
    assert (
        sorted(p.stat().st_mtime_ns for p in (out / "organisms").rglob("*.safetensors")) == stamps
    )


def test_study_needs_domain_keywords(study_inputs, tmp_path):
    with pytest.raises(AdlensError, match="domain_keywords"):
        run_study("size", tmp_path, documents=study_inputs["docs"], organism={"name": "x"})
    with pytest.raises(AdlensError, match="unknown study"):
        run_study("colour", tmp_path)


@pytest.mark.parametrize(
    "args, match",
    [
        (["--mix-ratio", "-1"], "--mix-ratio"),
        (["--method", "qlora"], "--method"),
        (["--variants", "ratio=0,1"], "--mix-source"),
        (["--variants", "ratio=x"], "variant"),
        (["--steps", "2", "--epochs", "1"], "not both"),
    ],
)
def test_train_cli_bad_options_are_one_line(study_inputs, tmp_path, args, match):
    result = runner.invoke(
        app,
        [
            "train",
            "--base",
            study_inputs["base"],
            "--documents",
            str(study_inputs["docs"]),
            "--out",
            str(tmp_path / "o"),
            *args,
        ],
    )
    assert result.exit_code == 1, result.output
    assert match in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_train_cli_with_a_folder_that_is_not_an_adapter(study_inputs, tmp_path):
    """An organism folder without weights is refused with one line by the lens commands."""
    folder = tmp_path / "not-an-adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text('{"r": 4}')
    result = runner.invoke(
        app,
        [
            "collect",
            "--base",
            study_inputs["base"],
            "--finetuned",
            str(folder),
            "--dataset",
            study_inputs["ref"],
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 1 and "not a Hugging Face model" in result.output
