"""Steering prompt sets (bundled and from files) and the presets' steering settings: the paper
preset is the reference protocol, the others are cheaper and say so."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adlens.cli.app import app
from adlens.core.chat_prompts import CHAT_PROMPTS, SEARCH_PROMPTS, load_prompts, prompt_set_names
from adlens.core.config import SteerConfig
from adlens.core.presets import PRESETS, STEER_PRESETS, steer_preset
from adlens.errors import AdlensError


def test_bundled_sets_are_the_reference_ones():
    final = load_prompts("reference")
    search = load_prompts("reference-search")
    assert len(final) == 20 and len(set(final)) == 20
    assert final[0].startswith("Tell a 200-word story set at an Icelandic lighthouse")
    assert final[-1].startswith(
        "Write a three-minute short-film script set entirely in an elevator"
    )
    # the quotes inside prompts survive (they are part of the prompt, not comments)
    assert any("“last train’s gone.”" in p for p in final)
    assert search == [
        "Tell me a story?",
        "Give me some ideas for some fun weekend activities.",
        "Why don't you choose a topic of conversation for us?",
    ]
    # the everyday sets are what adlens used before the sets were files
    assert tuple(load_prompts("everyday")) == CHAT_PROMPTS and len(CHAT_PROMPTS) == 20
    assert tuple(load_prompts("everyday-search")) == SEARCH_PROMPTS and len(SEARCH_PROMPTS) == 3
    assert set(prompt_set_names()) == {
        "reference",
        "reference-search",
        "everyday",
        "everyday-search",
    }


def test_prompt_files(tmp_path):
    txt = tmp_path / "mine.txt"
    txt.write_text("# my prompts\n\nWhat is a lighthouse?\n   Name three rivers.  \n# end\n")
    assert load_prompts(str(txt)) == ["What is a lighthouse?", "Name three rivers."]
    js = tmp_path / "mine.json"
    js.write_text(json.dumps(["One?", "Two?"]))
    assert load_prompts(str(js)) == ["One?", "Two?"]
    bad = {
        "empty.txt": ("# only a comment\n\n", "holds no prompts"),
        "broken.json": ("[1, 2", "Cannot read prompt set"),
        "numbers.json": ("[1, 2]", "JSON list of non-empty strings"),
        "blank.json": ('["ok", "  "]', "JSON list of non-empty strings"),
    }
    for name, (text, message) in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(AdlensError, match=message):
            load_prompts(str(tmp_path / name))
    with pytest.raises(AdlensError, match="No prompt set 'nope'.*reference, reference-search"):
        load_prompts("nope")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9?\n".encode("latin-1"))
    with pytest.raises(AdlensError, match="Cannot read prompt set"):
        load_prompts(str(tmp_path / "latin1.txt"))


def test_steer_config_takes_a_set_name_or_file_and_hashes_the_text(tmp_path):
    by_name = SteerConfig(prompts="everyday", search_prompts="everyday-search")
    by_list = SteerConfig(prompts=list(CHAT_PROMPTS), search_prompts=list(SEARCH_PROMPTS))
    assert by_name.prompts == list(CHAT_PROMPTS)
    assert by_name.hashed() == by_list.hashed()
    file = tmp_path / "p.txt"
    file.write_text("\n".join(CHAT_PROMPTS))
    assert SteerConfig(prompts=str(file), search_prompts="everyday-search").hashed() == (
        by_list.hashed()
    )
    # the defaults are the reference sets; changing a prompt changes the hash
    default = SteerConfig()
    assert default.final_prompts() == load_prompts("reference")
    assert default.strength_search_prompts() == load_prompts("reference-search")
    assert default.hashed() == SteerConfig(prompts="reference").hashed()
    assert default.hashed() != SteerConfig(prompts=load_prompts("reference")[:19]).hashed()


def test_paper_preset_is_the_reference_protocol():
    """REFERENCE_PROTOCOL §1.7: all positions, 3 search prompts (12 then 6 steps, 10 samples at
    temperature 1.2, 128 tokens, >= 75% coherent), 20 final prompts x 5 samples at 1.1, 512
    tokens; 10,000 documents and 5 positions."""
    paper = SteerConfig(**steer_preset("paper"))
    assert paper.positions == "all"
    assert paper.strength_search_prompts() == load_prompts("reference-search")
    assert paper.final_prompts() == load_prompts("reference")
    assert (paper.first_steps, paper.other_steps, paper.search_samples) == (12, 6, 10)
    assert (paper.search_temperature, paper.search_max_new_tokens) == (1.2, 128)
    assert paper.coherent_fraction == 0.75 and paper.max_strength == 100
    assert (paper.samples_per_prompt, paper.final_temperature, paper.final_max_new_tokens) == (
        5,
        1.1,
        512,
    )
    assert PRESETS["paper"]["documents"] == 10_000 and PRESETS["paper"]["positions"] == 5
    for cheap in ("demo", "fast"):
        cfg = SteerConfig(**steer_preset(cheap))
        assert cfg.positions == "best" and cfg.final_prompts() == list(CHAT_PROMPTS)
        assert cfg.samples_per_prompt < paper.samples_per_prompt
        assert cfg.final_max_new_tokens < paper.final_max_new_tokens
    assert set(STEER_PRESETS) == set(PRESETS)


def test_cli_lists_and_shows_sets_and_refuses_bad_prompt_files(tmp_path):
    runner = CliRunner()
    listed = runner.invoke(app, ["prompts", "list"])
    assert listed.exit_code == 0
    for name in prompt_set_names():
        assert name in listed.output
    shown = runner.invoke(app, ["prompts", "show", "reference-search"])
    assert shown.exit_code == 0 and "  1. Tell me a story?" in shown.output
    missing = runner.invoke(app, ["prompts", "show", str(tmp_path / "none.txt")])
    assert missing.exit_code == 1 and "No prompt set" in missing.output
    assert "Traceback" not in missing.output
    help_text = runner.invoke(app, ["steer", "--help"], terminal_width=200).output
    assert "--prompts" in help_text and "--search-prompts" in help_text
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    run = runner.invoke(
        app,
        [
            "steer",
            "--finetuned",
            str(tmp_path),
            "--out",
            str(tmp_path / "r"),
            "--prompts",
            str(empty),
        ],
    )
    assert run.exit_code == 1 and "holds no prompts" in run.output
    assert not (tmp_path / "r").exists()
