"""`adlens demo --no-steer` end to end, as a user runs it: a subprocess on the real SmolLM2 asset,
the bundled demo organism and the Brown corpus; its verdict is checked against the organism's
own vocabulary, read back from the run directory rather than taken from the demo's word.

300 documents: the verdict is the same from 100 to 1000 documents (the logit lens of the
difference at the last layer holds 8 to 11 of the organism's words at positions 2-4, every
base-mean list none), and the run's time hardly depends on the count: about a minute on two
cores goes to the expected-norm estimate, Patchscope and the relevance grading."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from adlens.core.vocab import count_domain
from adlens.studies.demo import DEMO_ORGANISM
from conftest import require_asset

SAMPLES = 300


@pytest.mark.slow
def test_demo_no_steer_finds_the_organism(tmp_path):
    from adlens.store.asset_cache import cache_dir

    require_asset(
        (cache_dir() / "models" / "smollm2-135m-instruct" / "config.json").exists()
        and (cache_dir() / "corpora" / "brown.jsonl").is_file(),
        "the SmolLM2 and brown assets are not built: run `adlens assets` (make test does)",
    )
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "adlens", "demo", "--no-steer", "--out", str(out)]
        + ["--samples", str(SAMPLES)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    keywords = json.loads((DEMO_ORGANISM / "organism.json").read_text())["domain_keywords"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["documents"] == SAMPLES and "steer" not in summary
    last = max(summary["layers"])

    def counts(reader: str, variant: str, layer: int | None = None) -> dict[tuple, int]:
        return {
            (e["layer"], e["position"], e.get("head")): count_domain(e["tokens"], keywords)
            for e in summary["readers"]
            if e["reader"] == reader and e["variant"] == variant
            if layer is None or e["layer"] == layer
        }

    # the difference read by the logit lens at the last layer names the organism's domain
    lens = {
        pos: n for (_, pos, head), n in counts("logit_lens", "diff", last).items() if head != "base"
    }
    assert max(lens.values()) >= 6, lens
    assert sum(n >= 5 for n in lens.values()) >= 2, lens  # not one lucky position
    # the baselines (the base mean read in the base model, the drift control) do not
    for reader in ("logit_lens", "patchscope"):
        for variant in ("base_mean", "base_mean_in_ft"):
            found = counts(reader, variant)
            assert found and max(found.values()) <= 1, (reader, variant, found)

    # the verdict the demo writes and prints says the same
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["organism"] == "demo-green-honey" and "steering" not in verdict
    best = verdict["best"]["logit_lens"]
    assert (best["layer"], best["domain_tokens"]) == (last, max(lens.values()))
    assert best["base_mean_domain_tokens"] <= 1
    printed = re.search(
        r"logit lens: best position (\d+): (\d+)/20 domain tokens \(base-mean baseline (\d+)/20\)",
        " ".join(proc.stdout.split()),
    )
    assert printed, proc.stdout[-3000:]
    assert [int(g) for g in printed.groups()] == [
        best["position"],
        best["domain_tokens"],
        best["base_mean_domain_tokens"],
    ]
    # the offline relevance grading agrees: most of the list, nothing in the baseline there
    relevance = {
        (r["reader"], r["variant"], r["layer"]): r for r in verdict["evaluation"]["relevance"]
    }
    assert relevance[("logit_lens", "diff", last)]["fraction"] >= 0.5
    assert relevance[("logit_lens", "base_mean", last)]["at_diff_position"]["fraction"] <= 0.1
    assert (out / "report.html").is_file()
