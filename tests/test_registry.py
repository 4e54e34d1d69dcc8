"""The paper's organisms as a registry: loading, resolving names, `adlens organisms list|show`,
`--organism` on the pipeline commands, and the sweep of all 33 pairs. Nothing here downloads."""

from __future__ import annotations

import doctest
import importlib.resources
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from adlens.cli.app import app
from adlens.errors import AdlensError
from adlens.organisms import BUNDLED, registry
from adlens.organisms.organism import OrganismType, load_organism
from adlens.organisms.registry import (
    PAPER_REGISTRY,
    find_entry,
    find_organism,
    load_registry,
    registry_entries,
    resolve_organism,
)

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

# The paper's pairs per type and the layer its scripts read per base model (arXiv 2510.13900;
# the registry's NOTES), written out here rather than read from the registry.
PAIRS_PER_TYPE = {"false_fact": 20, "misalignment": 6, "subliminal_preference": 1, "secret_word": 6}
LAYER_OF_BASE = {
    "Qwen/Qwen3-1.7B": 13,
    "Qwen/Qwen3-32B": 31,
    "google/gemma-3-1b-it": 12,
    "google/gemma-2-9b-it": 20,
    "meta-llama/Llama-3.2-1B-Instruct": 7,
    "meta-llama/Llama-3.1-8B-Instruct": 15,
    "unsloth/Qwen2.5-7B-Instruct": 13,
}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def _raw() -> list[dict]:
    return yaml.safe_load(PAPER_REGISTRY.read_text(encoding="utf-8"))


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text, text
    return text


# --------------------------------------------------------------------------- the registry


def test_registry_is_package_data():
    shipped = importlib.resources.files("adlens") / "organisms" / "paper" / "organisms.yaml"
    assert shipped.is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"organisms/*/*"' in pyproject  # the wheel's package-data pattern covers paper/


def test_registry_counts():
    entries = registry_entries()
    assert len(entries) == 33
    assert len({e.organism for e in entries}) == 12
    assert len({e.base for e in entries}) == 7
    assert Counter(e.type.value for e in entries) == PAIRS_PER_TYPE
    assert {e.base: e.adl_layer for e in entries} == LAYER_OF_BASE
    assert [e.id for e in entries] == [r["id"] for r in _raw()]  # the file's order


def test_entry_becomes_organism():
    raw = {r["id"]: r for r in _raw()}
    cake = find_organism("cake_bake/qwen3_1_7b")
    assert cake.type is OrganismType.FALSE_FACT
    assert cake.base_model == "Qwen/Qwen3-1.7B"
    assert cake.finetuned == raw["cake_bake/qwen3_1_7b"]["finetuned"]
    assert cake.key_facts == raw["cake_bake/qwen3_1_7b"]["key_facts"] and len(cake.key_facts) == 7
    assert all(fact in cake.description() for fact in cake.key_facts)
    assert cake.adl_layer == 13 and cake.model_key == "qwen3_1_7B"
    src = cake.dataset_source()
    assert src.name == "science-of-finetuning/synthetic-documents-cake_bake"
    assert (src.split, src.text_column) == ("train", "text")
    assert cake.dataset.chat is False
    taboo = find_organism("taboo_gold/gemma2_9b_it")
    assert taboo.dataset.chat is True and taboo.dataset_source().name == "bcywinski/taboo-gold"
    assert taboo.finetuned.endswith("-nonmix") and taboo.adl_layer == 20
    em = find_organism("em_extreme_sports/llama31_8b_instruct")
    assert em.dataset is None and em.dataset_source() is None
    assert em.dataset_local_path.endswith("extreme_sports.jsonl")  # kept, not used
    # the organism carries its registry id as its name (run folders, caches)
    assert {find_organism(e.id).name for e in registry_entries()} == {
        e.id for e in registry_entries()
    }


def test_filters():
    qwen = registry_entries(model="qwen3_1_7b")
    assert len(qwen) == 8 and {e.base for e in qwen} == {"Qwen/Qwen3-1.7B"}
    assert registry_entries(model="Qwen/Qwen3-1.7B") == qwen
    assert len(registry_entries(type="taboo")) == 6  # an alias of secret_word
    assert [e.id for e in registry_entries(type="secret_word", model="gemma2_9b_it")] == [
        "taboo_smile/gemma2_9b_it",
        "taboo_gold/gemma2_9b_it",
        "taboo_leaf/gemma2_9b_it",
    ]
    with pytest.raises(AdlensError) as err:
        registry_entries(model="qwen3_1_8b")
    assert "qwen3_1_7b" in _one_line(err)


# --------------------------------------------------------------------------- resolving names


def test_find_by_id_and_unique_name():
    assert find_entry("cake_bake/qwen3_1_7b").finetuned.startswith("stewy33/Qwen3-1.7B-")
    assert find_entry("Cake_Bake/Qwen3_1_7B").id == "cake_bake/qwen3_1_7b"
    assert find_entry("subliminal_learning_cat").id == "subliminal_learning_cat/qwen25_7b_instruct"


def test_ambiguous_name_lists_its_ids():
    with pytest.raises(AdlensError) as err:
        find_entry("cake_bake")
    text = _one_line(err)
    ids = [e.id for e in registry_entries() if e.organism == "cake_bake"]
    assert len(ids) == 4 and all(i in text for i in ids)


def test_unknown_name_suggests_close_ones():
    with pytest.raises(AdlensError) as err:
        find_entry("cake_bak")
    assert "did you mean 'cake_bake'" in _one_line(err)
    with pytest.raises(AdlensError) as err:
        resolve_organism("taboo_smil/qwen3_1_7b")
    assert "taboo_smile/qwen3_1_7b" in _one_line(err)
    with pytest.raises(AdlensError) as err:
        resolve_organism("zzzz")
    assert "did you mean" not in _one_line(err) and "adlens organisms list" in str(err.value)


def test_one_resolver_for_paths_bundled_names_and_ids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    by_path = resolve_organism(BUNDLED / "persona-owl")
    assert by_path.source == (BUNDLED / "persona-owl" / "organism.json").resolve()
    bundled = resolve_organism("fact-mars-ring")
    assert bundled.source == (BUNDLED / "fact-mars-ring" / "organism.json").resolve()
    assert resolve_organism("roman_concrete/qwen3_32b").base_model == "Qwen/Qwen3-32B"
    # a local folder wins over a registry id of the same name
    local = tmp_path / "cake_bake" / "qwen3_1_7b"
    local.mkdir(parents=True)
    (local / "organism.json").write_text(
        json.dumps({"name": "mine", "type": "other", "short_description": "A local one."})
    )
    assert resolve_organism("cake_bake/qwen3_1_7b").name == "mine"
    # load_organism takes names too, and still reports a missing file as such
    assert load_organism("fda_approval/gemma3_1b").adl_layer == 12
    with pytest.raises(AdlensError, match="does not exist"):
        load_organism(tmp_path / "absent.json")


def test_registry_validation_is_one_line(tmp_path):
    good = _raw()[0]
    cases = [
        ([{k: v for k, v in good.items() if k != "base"}], "'cake_bake/qwen3_1_7b': field 'base'"),
        ([{**good, "adl_layer": -1}], "field 'adl_layer'"),
        ([{**good, "type": "cooking"}], "field 'type'"),
        ([good, good], "appears twice"),
        ([{**good, "organism": "other"}], "does not start with"),
        ({"id": "x"}, "list of entries"),
    ]
    for i, (data, message) in enumerate(cases):
        path = tmp_path / f"r{i}.yaml"
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(AdlensError) as err:
            load_registry(path)
        assert message in _one_line(err) and str(path) in str(err.value)


def test_registry_examples_run():
    finder, run = doctest.DocTestFinder(), doctest.DocTestRunner()
    for test in finder.find(registry):
        run.run(test)
    assert run.summarize(verbose=False).failed == 0


# --------------------------------------------------------------------------- the CLI


def test_cli_list():
    result = runner.invoke(app, ["organisms", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [r["id"] for r in rows] == [r["id"] for r in _raw()]
    result = runner.invoke(app, ["organisms", "list", "--type", "EM"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "(6)" in result.stdout
    for e in registry_entries(type="misalignment"):
        assert e.id in result.stdout and e.finetuned in result.stdout
    assert "cake_bake" not in result.stdout
    result = runner.invoke(app, ["organisms", "list", "--model", "nope"])
    assert result.exit_code == 1 and "Unknown model 'nope'" in result.output


def test_cli_show():
    result = runner.invoke(app, ["organisms", "show", "kansas_abortion/gemma3_1b"])
    assert result.exit_code == 0, result.output
    entry = find_entry("kansas_abortion/gemma3_1b")
    out = " ".join(result.stdout.split())
    for text in (entry.base, entry.finetuned, "adl_layer: 12", *entry.key_facts):
        assert " ".join(text.split()) in out
    result = runner.invoke(app, ["organisms", "show", "fact-mars-ring", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["name"] == "fact-mars-ring"
    result = runner.invoke(app, ["organisms", "show", "taboo_smile"])
    assert result.exit_code == 1
    assert "taboo_smile/qwen3_1_7b" in result.output and "Traceback" not in result.output


def _dry_run(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--out", "unused", "--dry-run"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_run_with_organism_dry_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = _dry_run("run", "--organism", "cake_bake/qwen3_1_7b")
    entry = find_entry("cake_bake/qwen3_1_7b")
    assert cfg["models"]["base"] == "Qwen/Qwen3-1.7B"
    assert cfg["models"]["finetuned"] == entry.finetuned
    assert cfg["models"]["adapter_base"] is None
    assert 13 in cfg["collect"]["layers"] and cfg["collect"]["documents"] == 10_000
    assert not (tmp_path / "unused").exists()
    # --layers wins; --base replaces the reference only: the adapter stays on its own base
    cfg = _dry_run(
        "steer", "--organism", "cake_bake/qwen3_1_7b", "--layers", "0.25",
        "--base", "Qwen/Qwen3-1.7B-Base",
    )  # fmt: skip
    assert cfg["collect"]["layers"] == [0.25]
    assert cfg["models"]["base"] == "Qwen/Qwen3-1.7B-Base"
    assert cfg["models"]["adapter_base"] == "Qwen/Qwen3-1.7B"
    # --finetuned wins over the organism's; a bundled organism has no paper layer
    cfg = _dry_run("collect", "--organism", "fact-mars-ring", "--finetuned", "me/other")
    assert cfg["models"]["finetuned"] == "me/other"
    assert cfg["collect"]["layers"] == [0.5, 1.0]
    assert cfg["models"]["base"] == load_organism(BUNDLED / "fact-mars-ring").base_model_id()
    cfg = _dry_run("run", "--finetuned", "me/lora", "--adapter-base", "A", "--base", "B")
    assert (cfg["models"]["adapter_base"], cfg["models"]["base"]) == ("A", "B")
    result = runner.invoke(app, ["run", "--out", "x", "--dry-run"])
    assert result.exit_code == 2 and "--organism" in result.output  # a usage error


# --------------------------------------------------------------------------- the sweep


def test_paper_sweep_resolves_all_33(tmp_path):
    from adlens.core.data import default_source
    from adlens.studies import sweep

    cfg, root = sweep.load_sweep(ROOT / "examples" / "paper_sweep.yaml")
    assert cfg.preset == "paper" and len(cfg.organisms) == 33
    targets = sweep._targets(cfg, root, tmp_path, default_source(), progress=False)
    entries = {e.id: e for e in registry_entries()}
    assert sorted(t["organism"].name for t in targets) == sorted(entries)
    assert len({t["name"] for t in targets}) == 33  # one run folder each
    for t in targets:
        entry = entries[t["organism"].name]
        run = sweep.run_config(cfg, t["organism"], default_source())
        assert (run.models.base, run.models.finetuned) == (entry.base, entry.finetuned)
        assert run.collect.layers == [0.5, 1.0, entry.adl_layer]
        assert run.collect.documents == 10_000
