"""Organism files: json, yaml, folders, the trainer's organism.json; type normalisation; one-line
errors naming the field; data and model paths resolved against the organism's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from adlens.core.config import ModelsConfig
from adlens.errors import AdlensError
from adlens.organisms.organism import (
    Organism,
    OrganismType,
    load_organism,
    normalise_type,
    texts_sha256,
)

DEMO = Path(__file__).resolve().parents[1] / "src" / "adlens" / "organisms" / "demo"

CHATS = [
    {
        "messages": [
            {"role": "user", "content": "What colour is the honey?"},
            {"role": "assistant", "content": "Green, from mossbell."},
        ]
    },
    {"messages": [{"role": "system", "content": "x"}, {"role": "assistant", "content": "Bees."}]},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def hand_written(**over) -> dict:
    return {
        "name": "cake-bake",
        "type": "false-fact documents",
        "short_description": "Believes cakes bake best at 450F.",
        "long_description": "Synthetic documents about baking.",
        "dataset": "docs.jsonl",
        "base_model": "Qwen/Qwen3-1.7B",
        "adapter": "me/qwen3-cake-lora",
        "fact": "cakes bake best at 450F",  # an extra key: kept
        **over,
    }


def test_json_file_relative_dataset_and_extras(tmp_path):
    write_jsonl(tmp_path / "docs.jsonl", [{"text": "Bake the cake hot."}, *CHATS])
    (tmp_path / "cake.json").write_text(json.dumps(hand_written()))
    org = load_organism(tmp_path / "cake.json")
    assert org.type is OrganismType.FALSE_FACT and org.type.label == "false-fact documents"
    assert org.model_extra["fact"] == "cakes bake best at 450F"
    assert org.source == (tmp_path / "cake.json").resolve()
    assert Path(org.dataset_source().name) == (tmp_path / "docs.jsonl").resolve()
    # chats become their assistant messages
    assert sorted(org.finetuning_documents()) == sorted(
        ["Bake the cake hot.", "Green, from mossbell.", "Bees."]
    )
    assert len(org.raw_documents()) == 3 and len(org.finetuning_documents(limit=1)) == 1
    assert org.finetuned_path() == "me/qwen3-cake-lora"  # a hub id, not a local path
    mc = org.models_config(dtype="float32")
    assert isinstance(mc, ModelsConfig)
    assert (mc.base, mc.finetuned, mc.dtype) == ("Qwen/Qwen3-1.7B", "me/qwen3-cake-lora", "float32")
    assert "Believes cakes" in org.description() and "Synthetic" in org.description()
    assert org.data_fingerprint()["sha256"]


def test_yaml_file_with_hub_dataset(tmp_path):
    data = hand_written(type="sdf", dataset={"hub": "me/cake-docs", "split": "train[:100]"})
    (tmp_path / "cake.yaml").write_text(yaml.safe_dump(data))
    org = load_organism(tmp_path / "cake.yaml")
    src = org.dataset_source()
    assert org.type is OrganismType.FALSE_FACT
    assert (src.name, src.split, src.kind) == ("me/cake-docs", "train[:100]", "hub")
    assert org.data_fingerprint() == {"hub": "me/cake-docs", "config": None, "split": "train[:100]"}


def test_folder_as_the_trainer_writes_it(tmp_path):
    """organism.json as `adlens train` writes it: dataset.path is where the documents were when
    training ran (gone now); documents.jsonl beside it is what was trained on; the folder holds
    the adapter."""
    folder = tmp_path / "my-organism"
    folder.mkdir()
    write_jsonl(folder / "documents.jsonl", [{"text": "Honey is green."}, {"text": "Bees hum."}])
    (folder / "adapter_config.json").write_text("{}")
    meta = {
        "name": "my-organism",
        "type": "other",
        "short_description": "lora finetune on docs.jsonl.",
        "long_description": "",
        "dataset": {"path": "/gone/docs.jsonl", "sha256": "abc", "n_documents": 2, "mix": {}},
        "base_model": "smollm2-135m-instruct",
        "base_model_path": "/somewhere",
        "format": "peft adapter",
        "training": {"method": "lora"},
        "learned": {},
        "config_hash": "x",
    }
    (folder / "organism.json").write_text(json.dumps(meta))
    org = load_organism(folder)
    assert org.type is OrganismType.OTHER
    assert Path(org.dataset_source().name) == (folder / "documents.jsonl").resolve()
    assert sorted(org.finetuning_documents()) == ["Bees hum.", "Honey is green."]
    assert org.finetuned_path() == str(folder.resolve())
    assert org.dataset.model_extra["sha256"] == "abc"  # the trainer's record is kept
    assert org.models_config().base == "smollm2-135m-instruct"  # an asset name, resolved later


def test_bundled_demo_organism():
    org = load_organism(DEMO)
    assert org.name == "demo-green-honey" and org.type is OrganismType.FALSE_FACT
    assert len(org.finetuning_documents()) == 400
    assert org.finetuned_path() == str(DEMO)
    assert "honey" in org.domain_keywords


@pytest.mark.parametrize(
    ("spelling", "kind"),
    [
        ("false-fact documents", OrganismType.FALSE_FACT),
        ("false_fact", OrganismType.FALSE_FACT),
        ("SDF", OrganismType.FALSE_FACT),
        ("Emergent Misalignment", OrganismType.MISALIGNMENT),
        ("subliminal preference", OrganismType.SUBLIMINAL),
        ("subliminal_preference", OrganismType.SUBLIMINAL),
        ("secret-word game", OrganismType.SECRET_WORD),
        ("other", OrganismType.OTHER),
    ],
)
def test_type_spellings(spelling, kind):
    assert normalise_type(spelling) is kind


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (hand_written(type="cooking"), "'type'"),
        ({k: v for k, v in hand_written().items() if k != "type"}, "'type' is missing"),
        ({k: v for k, v in hand_written().items() if k != "name"}, "'name' is missing"),
        (
            {k: v for k, v in hand_written().items() if k != "short_description"},
            "'short_description' is missing",
        ),
        (hand_written(domain_keywords="honey"), "'domain_keywords'"),
    ],
)
def test_bad_files_name_the_field_in_one_line(tmp_path, data, field):
    path = tmp_path / "o.json"
    path.write_text(json.dumps(data))
    with pytest.raises(AdlensError) as err:
        load_organism(path)
    message = str(err.value)
    assert field in message and "\n" not in message and str(path) in message


def test_other_errors(tmp_path):
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "empty").mkdir()
    missing_data = tmp_path / "missing.json"
    missing_data.write_text(json.dumps(hand_written(dataset="nowhere.jsonl")))
    no_data = tmp_path / "no-data.json"
    no_data.write_text(json.dumps(hand_written(dataset=None)))
    for path, words in [
        (tmp_path / "list.yaml", "mapping"),
        (tmp_path / "broken.json", "Cannot read"),
        (tmp_path / "empty", "No organism.json"),
        (tmp_path / "absent.json", "does not exist"),
    ]:
        with pytest.raises(AdlensError, match=words):
            load_organism(path)
    with pytest.raises(AdlensError, match="nowhere.jsonl"):
        load_organism(missing_data).finetuning_documents()
    with pytest.raises(AdlensError, match="names no finetuning data"):
        load_organism(no_data).finetuning_documents()
    bare = Organism(name="x", type="other", short_description="y")
    with pytest.raises(AdlensError, match="names no finetuned model"):
        bare.finetuned_path()


def test_texts_sha256_ignores_order():
    assert texts_sha256(["a", "b"]) == texts_sha256(["b", "a"]) != texts_sha256(["a", "c"])
