"""One owner of a run directory's truth, through the real CLI: commands with different configs on
one directory, a directory reused for another model pair, a summary left behind by an
interrupted command, NaN weights and activations."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from adlens.core.collect import collect
from adlens.core.models import ModelPair
from adlens.core.numerics import NonFiniteError
from adlens.core.tokenization import tokenize_documents
from adlens.errors import AdlensError
from adlens.report.load import load_run
from adlens.results.summary import load_summary
from adlens.store.rundir import RunDir, write_json
from conftest import CORPUS, run_adlens, tiny_model


def adlens(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = run_adlens(*args)
    if check and proc.returncode != 0:
        raise AssertionError(f"adlens {' '.join(map(str, args))} failed:\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("rundir") / "docs.jsonl"
    path.write_text(
        "".join(
            json.dumps({"text": f"{CORPUS[i % 6]} This is document {i} of the set."}) + "\n"
            for i in range(80)
        )
    )
    return path


def common(corpus: Path, samples: int) -> list[str]:
    return [
        "--dataset",
        str(corpus),
        "--samples",
        str(samples),
        "--positions",
        "3",
        "--layers",
        "0.5",
        "--preset",
        "fast",
    ]


def summary_of(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_collect_between_two_runs_never_leaves_a_summary_run_trusts(tiny_dirs, corpus, tmp_path):
    out = tmp_path / "run"
    pair = ["--base", tiny_dirs["base"], "--finetuned", tiny_dirs["adapter"], "--out", out]
    adlens("run", *pair, *common(corpus, 40))
    first = summary_of(out)
    assert first["counts"]["documents"] == 40 and first["readers"]
    reference = load_file(out / "collect" / "activations.safetensors")

    adlens("collect", *pair, *common(corpus, 20))
    middle = summary_of(out)
    assert middle["counts"]["documents"] == 20
    assert middle["readers"] == [] and set(middle["stages"]) == {"collect"}
    assert not (out / "read" / "done.json").exists()  # the read of 40 documents is invalid

    rerun = adlens("run", *pair, *common(corpus, 40))
    assert "collect: cached" not in rerun.stderr and "all stages are cached" not in rerun.stderr
    again = summary_of(out)
    assert again["counts"]["documents"] == 40 and again["readers"]
    assert set(again["stages"]) == {"collect", "read"}
    recollected = load_file(out / "collect" / "activations.safetensors")
    assert all(torch.equal(reference[k], recollected[k]) for k in reference)
    # Now everything is fresh: a third run loads nothing, and `collect` keeps the readers.
    assert "all stages are cached" in adlens("run", *pair, *common(corpus, 40)).stderr
    adlens("collect", *pair, *common(corpus, 40))
    assert summary_of(out)["readers"] == again["readers"]
    shown = adlens("show", out)
    assert "logit" in shown.stdout.lower()


def test_run_dir_reused_for_another_pair_shows_nothing_of_the_old(tiny_dirs, corpus, tmp_path):
    out = tmp_path / "run"
    adlens(
        "steer",
        "--base",
        tiny_dirs["base"],
        "--finetuned",
        tiny_dirs["adapter"],
        *common(corpus, 30),
        "--steer-positions",
        "1",
        "--max-new-tokens",
        "8",
        "--judge",
        "offline",
        "--out",
        out,
    )
    samples = [json.loads(x) for x in (out / "steer" / "samples.jsonl").read_text().splitlines()]
    steered = [r["text"] for r in samples if r["steered"] and len(r["text"].strip()) > 12]
    assert steered and summary_of(out)["steer"]
    old_report = (out / "report.html").read_text()
    assert any(json.dumps(t)[1:-1][:40] in old_report or t[:40] in old_report for t in steered)

    adlens("run", "--base", tiny_dirs["base"], "--finetuned", tiny_dirs["ft"], *common(corpus, 30),
           "--out", out)  # fmt: skip
    summary = summary_of(out)
    assert "steer" not in summary and "steer" not in summary["stages"]
    assert summary["models"]["finetuned"] == str(tiny_dirs["ft"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["models"]["adapter"] is False and "steer" not in manifest["config_hash"]
    report = (out / "report.html").read_text()
    for text in steered:
        assert text[:40] not in report and json.dumps(text)[1:-1][:40] not in report
    assert "Not shown: steer/" in report
    view = load_run(out)
    assert view.samples == [] and view.steer is None


def test_summary_of_other_activations_is_an_error_not_a_report(tiny_dirs, corpus, tmp_path):
    """A command interrupted after a new collection but before the summary: readers refuse."""
    out = tmp_path / "run"
    pair = ["--base", tiny_dirs["base"], "--finetuned", tiny_dirs["adapter"], "--out", out]
    adlens("run", *pair, *common(corpus, 20))
    done = out / "collect" / "done.json"
    write_json(done, {**json.loads(done.read_text()), "config_hash": "from-another-config"})
    with pytest.raises(AdlensError, match="does not belong"):
        load_summary(RunDir(out))
    for command in (["report", out], ["show", out]):
        proc = adlens(*command, check=False)
        assert proc.returncode == 1, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and "rerun" in lines[0]
    adlens("run", *pair, *common(corpus, 20))  # the rerun repairs it
    assert load_summary(RunDir(out)).readers


def test_stale_evaluation_is_named_not_shown(tiny_dirs, corpus, tmp_path):
    out = tmp_path / "run"
    pair = ["--base", tiny_dirs["base"], "--finetuned", tiny_dirs["adapter"], "--out", out]
    adlens("run", *pair, *common(corpus, 20))
    stages = summary_of(out)["stages"]
    relevance = {"organism": "x", "best": [], "basis": {"collect": stages["collect"]}}
    write_json(out / "evaluate" / "relevance.json", {**relevance, "basis": stages})
    write_json(out / "evaluate" / "causal.json", {"basis": {"collect": "old"}, "positions": []})
    write_json(out / "agent" / "adl-i5-r0" / "result.json", {"basis": {**stages, "read": "old"}})
    view = load_run(out)
    assert view.relevance is not None and view.causal is None and view.agent_runs == []
    assert view.stale == ["causal effect", "agent adl-i5-r0"]


def test_nan_adapter_is_one_line_and_writes_nothing(tiny_dirs, corpus, tmp_path):
    adapter = tmp_path / "nan-adapter"
    adapter.mkdir()
    for f in Path(tiny_dirs["adapter"]).iterdir():
        (adapter / f.name).write_bytes(f.read_bytes())
    weights = load_file(adapter / "adapter_model.safetensors")
    name = sorted(weights)[0]
    weights[name] = torch.full_like(weights[name], float("nan"))
    save_file(weights, adapter / "adapter_model.safetensors")
    out = tmp_path / "run"
    proc = adlens(
        "run", "--base", tiny_dirs["base"], "--finetuned", adapter, *common(corpus, 20),
        "--out", out, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "NaN" in lines[0] and "lora" in lines[0]
    assert not out.exists()


def test_nan_activations_stop_the_collection_naming_layer_and_position(tokenizer, tmp_path):
    """Weights checked at load cannot see everything (an fp16 overflow, a hook): the
    activations are checked too, before anything is summed into a result."""
    base = tiny_model("llama", len(tokenizer), seed=0)
    ft = tiny_model("llama", len(tokenizer), seed=0)
    with torch.no_grad():
        ft.model.layers[1].mlp.down_proj.weight.fill_(float("inf"))
    pair = ModelPair(finetuned=ft, base_model=base, tokenizer=tokenizer)
    docs = tokenize_documents(tokenizer, CORPUS, positions=3, n_docs=6)
    with pytest.raises(NonFiniteError) as err:
        collect(
            pair, docs, [1, 2], checkpoint=tmp_path / "partial.safetensors", show_progress=False
        )
    message = str(err.value)
    assert message.startswith("collect: the finetuned model's activations")
    assert "at layer 1, position 0" in message and "fp16" in message
    assert not (tmp_path / "partial.safetensors").exists()
