"""The validation suite's table: the default pipeline on an organism folder, scored."""

from __future__ import annotations

import json
import shutil

import pytest

from adlens.core.activations import attention_sinks
from adlens.core.config import DEFAULT_READERS
from adlens.core.data import TextSource
from adlens.core.vocab import count_domain
from adlens.results.readings import ALL, Reading
from adlens.store.rundir import read_jsonl, write_jsonl
from adlens.studies.validate import (
    SUITE,
    scale_ratio,
    suite_organisms,
    table_markdown,
    timings_markdown,
    validate,
)
from conftest import CORPUS


def _tokens(words):
    return [{"token": w, "id": i, "prob": 0.1} for i, w in enumerate(words)]


def test_scale_ratio_on_planted_lists():
    """Chosen scale against the best scale, by keyword count, per position."""
    kw = ["honey", "hive", "bees"]
    scales = []
    for pos, per_scale in {
        1: [[" the"], [" honey", " hive", " bees"], [" honey"]],  # best 3 at scale 1
        2: [[" honey", " hive"], [" of"], [" a"]],  # best 2 at scale 0
        3: [[" a"], [" b"], [" c"]],  # nothing anywhere: not counted in the mean
    }.items():
        for s, words in enumerate(per_scale):
            scales.append(
                {
                    "layer": 5,
                    "position": pos,
                    "variant": "diff",
                    "scale": s,
                    "tokens": _tokens(words),
                }
            )
    chosen = {
        1: {"tokens": _tokens([" honey"])},  # 1 of the best 3
        2: {"tokens": _tokens([" of"])},  # 0 of the best 2
        3: {"tokens": _tokens([" a"])},
    }
    chosen = {
        p: Reading(reader="patchscope", layer=5, position=p, variant="diff", **c)
        for p, c in chosen.items()
    }
    r = scale_ratio(scales, 5, [1, 2, 3], chosen, kw, top_k=10)
    assert r["chosen_over_best"] == pytest.approx((1 / 3 + 0) / 2)
    assert r["zero_misses"] == 1  # position 2: best 20%, chosen nothing
    assert r["best_scale_by_position"] == {1: 0.3, 2: 0.2, 3: 0.0}


def test_suite_lists_every_bundled_organism():
    names = [name for name, _ in suite_organisms()]
    assert names == list(SUITE) and len(names) >= 6
    types = set()
    for _, folder in suite_organisms():
        meta = json.loads((folder / "organism.json").read_text())
        types.add(meta["type"])
        assert (folder / "documents.jsonl").is_file() and len(meta["domain_keywords"]) >= 20
    assert len(types) >= 4


def test_validate_table_on_a_tiny_organism(tiny_dirs, tmp_path, monkeypatch):
    folder = tmp_path / "tiny-honey"
    shutil.copytree(tiny_dirs["adapter"], folder)
    write_jsonl(
        folder / "documents.jsonl", [{"text": f"{c} Honey bees fill the hive."} for c in CORPUS] * 5
    )
    meta = {
        "name": "tiny-honey",
        "type": "false-fact documents",
        "short_description": "Believes bees fill hives.",
        "base_model": str(tiny_dirs["base"]),
        "dataset": {"path": "documents.jsonl"},
        "domain_keywords": ["honey", "bees", "hive", "nectar", "flowers"],
    }
    (folder / "organism.json").write_text(json.dumps(meta))
    reference = tmp_path / "reference.jsonl"
    write_jsonl(reference, [{"text": f"{CORPUS[i % 6]} Doc {i}."} for i in range(40)])
    out = tmp_path / "validate"
    result = validate(
        out, organisms=[folder], dataset=TextSource(name=str(reference)), samples=30, progress=False
    )
    rows = result["rows"]
    assert [r for r in result["reader_seconds"]["tiny-honey"]] == list(DEFAULT_READERS)
    assert {r["reader"] for r in rows} == set(DEFAULT_READERS)
    pooled = [r for r in rows if r["reader"] in ("diffmine", "contrastive")]
    assert pooled and all((r["layer"], r["position"]) == (ALL, ALL) for r in pooled)
    assert all(r["baseline_keywords"] is None for r in pooled)  # no baseline to read
    for r in rows:
        if r["reader"] not in ("logit_lens", "patchscope"):
            continue
        assert r["organism"] == "tiny-honey" and r["position"] in range(5)
        assert 0 <= r["keywords"] <= r["best_keywords"] <= 1
        assert r["relevant"] is not None and 0 <= r["relevant"] <= 1
        assert r["baseline_keywords"] is not None and r["drift_keywords"] is not None
    keywords = meta["domain_keywords"]
    ps = next(r for r in rows if r["reader"] == "patchscope")
    # chosen/best against the keyword counts of every scale of the difference, read back
    run_dir = out / "runs" / "tiny-honey"
    summary = json.loads((run_dir / "summary.json").read_text())
    norms = summary["norms"]["per_position"]["base"][summary["layers"].index(ps["layer"])]
    sinks = attention_sinks(norms, summary["positions"])
    found: dict[int, list[int]] = {}  # non-sink position -> keywords in each scale's list
    for s in read_jsonl(run_dir / "read" / "patchscope_scales.jsonl"):
        if (s["layer"], s["variant"]) == (ps["layer"], "diff") and s["position"] not in sinks:
            found.setdefault(s["position"], []).append(count_domain(s["tokens"], keywords))
    assert ps["best_scale_keywords"] == max(found[ps["position"]]) / 20
    if any(max(counts) for counts in found.values()):
        assert 0 <= ps["chosen_over_best"] <= 1
    else:  # no scale finds anything: nothing to compare, no miss
        assert ps["chosen_over_best"] is None and ps["zero_misses"] == 0
    saved = json.loads((out / "table.json").read_text())
    assert saved["rows"] == rows and saved["dataset"] == str(reference)
    md = (out / "table.md").read_text()
    timings = timings_markdown(saved["reader_seconds"])
    assert (
        md == table_markdown(rows) + "\n" + timings and md.count("| tiny-honey |") == len(rows) + 1
    )
    assert "| organism | logit lens | Patchscope | diff mining |" in timings
    # cached: a second call reads every stage back (no model is loaded, nothing rewritten)
    from adlens.pipeline import stages as pipeline

    monkeypatch.setattr(
        pipeline, "load_pair", lambda *a, **k: pytest.fail("models loaded for a cached stage")
    )
    stages = [
        run_dir / "collect" / "activations.safetensors",
        run_dir / "evaluate" / "relevance.json",
    ]
    written = [p.stat().st_mtime_ns for p in stages]
    again = validate(
        out, organisms=[folder], dataset=TextSource(name=str(reference)), samples=30, progress=False
    )
    assert again["rows"] == rows
    assert [p.stat().st_mtime_ns for p in stages] == written


def test_cli_validate_unknown_organism_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from adlens.cli.app import app

    out = tmp_path / "v"
    result = CliRunner().invoke(app, ["validate", "--organism", "nope", "--out", str(out)])
    assert result.exit_code == 1
    assert "unknown suite organism nope" in result.output and "Traceback" not in result.output
    assert result.output.count("error:") == 1 and not out.exists()  # one message, wrapped
