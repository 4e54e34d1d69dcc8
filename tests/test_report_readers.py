"""The report lists every reader of the run: the 'readers compared' section and one token table
per reader, with no reader named in the report's code."""

from __future__ import annotations

import adlens
from adlens.core.readers import reader_label
from adlens.report.build import present_sections, render_report
from conftest import small_run


def test_every_reader_is_in_the_report(tiny_dirs, tmp_path):
    cfg = small_run(
        tiny_dirs, tmp_path, layers=(1, 3), top_k=5, scales=[1.0, 2.0],
        diffmine=adlens.DiffMineConfig(documents=8, tokens=12),
        contrastive=adlens.ContrastiveConfig(samples=2, max_new_tokens=8),
    )  # fmt: skip
    out = tmp_path / "run"
    summary = adlens.run(cfg, out, show_progress=False)
    names = summary.reader_names()
    assert names == ["logit_lens", "patchscope", "diffmine", "contrastive", "weights"]
    html = render_report(out)
    assert present_sections(html)[:3] == ["headline", "readers", "run"]
    section = html[html.index('data-section="readers"') : html.index('data-section="run"')]
    for name in names:
        assert f'data-reader-row="{reader_label(name)}"' in section, name
    tokens = html[html.index('data-section="tokens"') :]
    for name in names:
        assert f"<h3>{reader_label(name)}" in tokens, name
    assert "all layers" in tokens  # the pooled readers' tables
    # the weight-directions reader's profile: one bar per layer and module, stacked
    assert "weights" in present_sections(html)
    profile = (out / "read" / "weights_profile.jsonl").read_text().splitlines()
    assert len(profile) == 4 * 7  # 4 layers x 7 adapted linear maps of the tiny Llama
