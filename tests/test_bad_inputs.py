"""Bad input through the real CLI: one `error:` line, a non-zero exit, no traceback, and no run
directory left behind; checked before any model is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from adlens.cli.app import app
from conftest import build_tokenizer, run_adlens, save_model, tiny_model

LINE = "The quick brown fox number {i} jumps over the lazy dog near the river bank."
JUDGE_ENV = ("ADLENS_JUDGE_MODEL", "ADLENS_JUDGE_BASE_URL", "ADLENS_JUDGE_API_KEY")
KEY_ENV = ("OPENAI_API_KEY", "OPENROUTER_API_KEY")


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> dict[str, Path]:
    """A tiny Llama base and a perturbed copy, two layers each."""
    root = tmp_path_factory.mktemp("bad_inputs")
    tok = build_tokenizer()
    save_model(tiny_model("llama", len(tok), seed=0, n_layers=2), tok, root / "base")
    ft = tiny_model("llama", len(tok), seed=0, n_layers=2)
    with torch.no_grad():
        for p in ft.parameters():
            p.add_(0.02 * torch.randn_like(p))
    save_model(ft, tok, root / "ft")
    (root / "good.txt").write_text("\n\n".join(LINE.format(i=i) for i in range(30)))
    return {"base": root / "base", "ft": root / "ft", "good": root / "good.txt"}


@pytest.fixture(autouse=True)
def no_judge(monkeypatch, tmp_path):
    for name in (*JUDGE_ENV, *KEY_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path / "cache"))  # no local LLM server state


def models(pair: dict[str, Path], dataset: Path | None = None) -> list[str]:
    return [
        "--finetuned",
        str(pair["ft"]),
        "--base",
        str(pair["base"]),
        "--dataset",
        str(dataset or pair["good"]),
        "--preset",
        "fast",
        "--samples",
        "8",
    ]


def assert_one_error(output: str, code: int, *words: str) -> str:
    """The last line is the only `error:` line; nothing looks like a traceback."""
    assert code not in (0, None), output
    assert "Traceback" not in output and 'File "' not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], output
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def cli(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def adlens(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`python -m adlens ...` in a fresh process (the cases the issue lists)."""
    proc = run_adlens(*args, env=env, drop_env=(*JUDGE_ENV, *KEY_ENV), timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


# --- the cases of the issue, in a fresh process ---------------------------------------------


def test_unparseable_flags_are_one_line_and_bare_commands_show_help_once(tmp_path):
    """What typer itself rejects (a value that is not a number, an unknown option, a missing
    one) is one line too, naming the flag and where the help is; exit code 2 as click has it."""
    out = tmp_path / "out"
    for args, words in (
        (("run", "--finetuned", "x", "--samples", "abc", "--out", out), ("--samples", "integer")),
        (("run", "--finetuned", "x", "--bogus", "--out", out), ("--bogus", "adlens run --help")),
        (("run", "--out", out), ("--finetuned",)),
    ):
        code, output = adlens(*args)
        assert code == 2
        assert_one_error(output, code, *words)
    assert not out.exists()
    code, output = adlens()
    assert code == 0 and output.count("Usage: ") == 1


def test_json_array_is_read(pair, tmp_path):
    data = tmp_path / "docs.json"
    data.write_text(json.dumps([LINE.format(i=i) for i in range(20)]))
    out = tmp_path / "run"
    code, output = adlens("collect", *models(pair, data), "--out", out)
    assert code == 0, output
    info = json.loads((out / "collect" / "activations.json").read_text())
    assert info["n_docs"] == 8 and info["n_seen"] == 8  # --samples 8 of the array's 20


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("numbers.jsonl", "1\n2\n", ("numbers.jsonl:1", "got a number")),
        ("nothing.jsonl", '{"text": ""}\n{"text": 5}\n', ("No usable documents",)),
    ],
)
def test_bad_dataset_fails_before_models_load(pair, tmp_path, name, content, words):
    data = tmp_path / name
    data.write_text(content)
    out = tmp_path / "run"
    code, output = adlens("run", *models(pair, data), "--out", out)
    assert_one_error(output, code, *words)
    assert not out.exists()


def test_non_utf8_text_is_read_with_one_warning(pair, tmp_path):
    data = tmp_path / "latin1.txt"
    text = "\n\n".join(
        f"Caf\u00e9 cr\u00e8me {i} with the lazy dog by the river." for i in range(20)
    )
    data.write_bytes(text.encode("latin-1"))
    out = tmp_path / "run"
    code, output = adlens("collect", *models(pair, data), "--out", out)
    assert code == 0, output
    assert output.count("not UTF-8") == 1 and "20 line(s)" in output, output


def test_cuda_on_cpu_torch(pair, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this torch has CUDA")
    out = tmp_path / "run"
    code, output = adlens("run", *models(pair), "--device", "cuda", "--out", out)
    assert_one_error(output, code, "--device cuda", "use --device cpu")
    assert not out.exists()


def test_openai_judge_without_model_or_key(pair, tmp_path):
    out = tmp_path / "run"
    code, output = adlens("run", *models(pair), "--judge", "openai", "--steer", "--out", out)
    assert_one_error(output, code, "ADLENS_JUDGE_MODEL")
    assert not out.exists()
    code, output = adlens(
        "run",
        *models(pair),
        "--judge",
        "openai",
        "--steer",
        "--out",
        out,
        env={"ADLENS_JUDGE_MODEL": "some-model"},
    )
    assert_one_error(output, code, "No API key", "ADLENS_JUDGE_API_KEY")
    assert not out.exists()


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--documents", "0", "error: --documents: must be at least 1 (got 0)."),
        ("--samples", "0", "error: --documents: must be at least 1 (got 0)."),  # the old name
        ("--positions", "0", "error: --positions: must be at least 1 (got 0)."),
    ],
)
def test_numeric_flags_name_the_flag(pair, tmp_path, flag, value, message):
    out = tmp_path / "run"
    args = [a for a in models(pair) if a not in ("--samples", "8")]
    code, output = adlens("run", *args, flag, value, "--out", out)
    assert assert_one_error(output, code) == message
    assert not out.exists()


# --- everything else, in process ------------------------------------------------------------

DATASETS = [
    ("null.jsonl", "null\n", ("null.jsonl:1", "got null")),
    ("array.jsonl", "[1, 2]\n", ("array.jsonl:1", "got an array")),
    ("broken.jsonl", "{not json\n", ("broken.jsonl:1", "not valid JSON")),
    ("empty.txt", "", ("No usable documents", "empty")),
    ("scalar.json", "42", ("scalar.json holds a number",)),
    ("broken.json", '[{"text": "a"},\n{"text": ', ("broken.json:2", "not valid JSON")),
    ("two.json", json.dumps({"a": [], "b": []}), ("one array field",)),
    ("bad.csv", "a,b\n", ("Unsupported file type",)),
    ("chat.jsonl", json.dumps({"messages": ["hi"]}) + "\n", ("No usable documents",)),
    ("nofield.jsonl", json.dumps({"body": "x"}) + "\n", ("--text-column",)),
    ("broken.parquet", "not parquet", ("as parquet",)),
]


@pytest.mark.parametrize("name, content, words", DATASETS, ids=[d[0] for d in DATASETS])
def test_bad_local_datasets(pair, tmp_path, name, content, words):
    data = tmp_path / name
    data.write_text(content)
    out = tmp_path / "run"
    code, output = cli("collect", *models(pair, data), "--out", out)
    assert_one_error(output, code, *words)
    assert not out.exists()


def test_dataset_folder_and_missing_file(pair, tmp_path):
    out = tmp_path / "run"
    code, output = cli("collect", *models(pair, tmp_path), "--out", out)
    assert_one_error(output, code, "is a directory")
    code, output = cli("collect", *models(pair, tmp_path / "nope.jsonl"), "--out", out)
    assert_one_error(output, code, "does not exist")
    assert not out.exists()


def test_json_shapes_and_skipped_records(pair, tmp_path):
    """An object holding the array, JSON lines in a .json file, and a few empty records."""
    from adlens.core.data import TextSource, check_source, iter_documents

    texts = [LINE.format(i=i) for i in range(5)]
    (tmp_path / "obj.json").write_text(json.dumps({"data": [{"text": t} for t in texts]}))
    (tmp_path / "lines.json").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    mixed = [{"text": t} for t in texts] + [{"text": None}, {"text": "  "}]
    (tmp_path / "mixed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in mixed))
    for name in ("obj.json", "lines.json", "mixed.jsonl"):
        src = TextSource(name=str(tmp_path / name))
        check_source(src)
        assert sorted(iter_documents(src)) == sorted(texts)


BAD_FLAGS = [
    (["--batch-size", "0"], "error: --batch-size: must be at least 1 (got 0)."),
    (["--documents", "-5"], "error: --documents: must be at least 1 (got -5)."),
    (["--layers", "1.5"], "--layers: fraction 1.5 is outside [0, 1]"),
    (["--layers", "x"], "Cannot read layer 'x'"),
    (["--scales", "0"], "--scales: give positive numbers"),
    (["--scales", "nan"], "--scales: give positive numbers"),
    (["--preset", "foo"], "Unknown preset 'foo'"),
    (["--judge", "foo"], "--judge: use one of"),
    (["--device", "cuda:x"], "--device cuda:x: not a device"),
    (["--device", "meta"], "--device meta: adlens runs on"),
    (["--dtype", "fp16"], "--dtype fp16: unknown"),
    (["--steer", "--judge", "offline", "--steer-positions", "7"], "--steer-positions: 7 is not"),
    (["--steer", "--judge", "offline", "--steer-positions=-4"], "--steer-positions: -4 is not"),
    (["--steer", "--steer-positions", "x"], "Cannot read --steer-positions 'x'"),
    (["--steer", "--max-new-tokens", "0"], "error: --max-new-tokens: must be at least 1 (got 0)."),
    # the read stage's scale tournament is the first judge the run would call
    (["--steer", "--judge", "local"], "--judge local (the Patchscope scale choice): no local"),
]


@pytest.mark.parametrize("args, words", BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
def test_bad_run_flags(pair, tmp_path, args, words):
    out = tmp_path / "run"
    code, output = cli("run", *models(pair), *args, "--out", out)
    assert words in assert_one_error(output, code)
    assert not out.exists()


def test_bad_judge_url(pair, tmp_path, monkeypatch):
    monkeypatch.setenv("ADLENS_JUDGE_MODEL", "m")
    monkeypatch.setenv("ADLENS_JUDGE_API_KEY", "k")
    monkeypatch.setenv("ADLENS_JUDGE_BASE_URL", "not a url")
    out = tmp_path / "run"
    code, output = cli("run", *models(pair), "--out", out)  # an LLM picks Patchscope's scale
    assert_one_error(output, code, "(from ADLENS_JUDGE_BASE_URL) is not an http(s) URL")
    assert not out.exists()


def test_out_is_a_file(pair, tmp_path):
    out = tmp_path / "file"
    out.write_text("x")
    code, output = cli("collect", *models(pair), "--out", out)
    assert_one_error(output, code, "Cannot write to output directory")


@pytest.fixture
def organism_files(tmp_path) -> dict[str, Path]:
    files = {
        "missing": tmp_path / "nope.json",
        "list": tmp_path / "list.json",
        "broken": tmp_path / "broken.json",
        "binary": tmp_path / "binary.json",
        "folder": tmp_path / "folder",
    }
    files["list"].write_text("[1]")
    files["broken"].write_text("{bad")
    files["binary"].write_bytes(b"\xff\xfe\x00")
    files["folder"].mkdir()
    return files


@pytest.mark.parametrize("kind", ["missing", "list", "broken", "binary", "folder"])
def test_bad_organism_files(tmp_path, organism_files, kind):
    path = organism_files[kind]
    run = tmp_path / "empty-run"
    run.mkdir()
    code, output = cli("agent", run, "--organism", path)
    assert_one_error(output, code, str(path))
    code, output = cli(
        "train", "--base", "x", "--documents", path, "--out", tmp_path / "o", "--organism", path
    )
    assert_one_error(output, code, str(path))
    assert not (tmp_path / "o").exists()


def test_run_dirs_that_are_empty_missing_or_files(tmp_path):
    empty, missing, file = tmp_path / "empty", tmp_path / "missing", tmp_path / "file"
    empty.mkdir()
    file.write_text("x")
    organism = Path(__file__).parents[1] / "src" / "adlens" / "organisms" / "demo"
    for run in (empty, missing, file):
        for args in (
            ["show", run],
            ["report", run],
            ["evaluate", "relevance", run, "--organism", organism, "--grader", "offline"],
            ["evaluate", "similarity", run, "--organism", organism],
            ["evaluate", "causal", run, "--organism", organism],
            ["analyze", "heads", run],
        ):
            code, output = cli(*args)
            assert_one_error(output, code, str(run))
    assert not missing.exists()


OTHER_FLAGS = [
    (["show", "{run}", "--tokens", "0"], "error: --tokens: must be at least 1 (got 0)."),
    (["agent", "{run}", "--repeats", "0"], "error: --repeats: must be at least 1 (got 0)."),
    (["agent", "{run}", "--temperature", "nan"], "--temperature: must be a number, not NaN"),
    (["agent", "{run}", "--max-reply-tokens", "5"], "--max-reply-tokens: must be at least 16"),
    (["agent", "{run}", "--budgets", "x"], "--budgets: use comma-separated whole numbers"),
    (["grade", "{run}", "--organism", "{org}", "--repeats", "0"], "--repeats: must be at least 1"),
    (["evaluate", "relevance", "{run}", "--organism", "{org}", "--top-k", "0"], "--top-k: must"),
    (["evaluate", "relevance", "{run}", "--organism", "{org}", "--aggregate", "x"], "--aggregate"),
    (["evaluate", "similarity", "{run}", "--organism", "{org}", "--documents", "1"], "--documents"),
    (["evaluate", "causal", "{run}", "--organism", "{org}", "--dtype", "fp8"], "--dtype fp8"),
    (["evaluate", "causal", "{run}", "--organism", "{org}", "--positions", "x"], "--positions"),
    (["analyze", "pca", "{run}", "--components", "0"], "error: --components: must be at least 1"),
    (["analyze", "decode", "{run}", "--shrinkage", "2"], "error: --shrinkage: must be at most 1"),
    (["analyze", "interpolate", "{run}", "--alphas", "nan"], "--alphas: give finite numbers"),
    (["analyze", "positions", "{run}", "--documents", "0"], "--documents: must be at least 1"),
    (["llm", "start", "--threads", "0"], "error: --threads: must be at least 1 (got 0)."),
    (["llm", "start", "--port", "70000"], "error: --port: must be at most 65535 (got 70000)."),
    (["llm", "check", "{run}", "--organism", "{org}", "--samples", "0"], "--samples: must be"),
    (["validate", "--out", "{out}", "--samples", "0"], "--documents: must be at least 1"),
    (["demo", "--out", "{out}", "--documents", "0"], "--documents: must be at least 1"),
    (["study", "mixing", "--out", "{out}", "--documents", "0"], "--documents: must be at least 1"),
    (["study", "mixing", "--out", "{out}", "--epochs", "-1"], "--epochs: must be greater than 0"),
    (["train", "--base", "x", "--documents", "d", "--out", "{out}", "--steps", "0"], "--steps"),
    (["train", "--base", "x", "--documents", "d", "--out", "{out}", "--lr", "nan"], "--lr"),
    (["train", "--base", "x", "--documents", "d", "--out", "{out}", "--device", "mps"], "mps"),
    (["sweep", "{org}/organism.json"], "sweep"),
]


@pytest.mark.parametrize("args, words", OTHER_FLAGS, ids=[" ".join(a) for a, _ in OTHER_FLAGS])
def test_bad_flags_of_other_commands(tmp_path, args, words):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text("{}")
    organism = Path(__file__).parents[1] / "src" / "adlens" / "organisms" / "demo"
    out = tmp_path / "out"
    full = [a.format(run=run, org=organism, out=out) for a in args]
    if args[0] == "sweep":  # a binary file given as the sweep file
        full = ["sweep", str(tmp_path / "binary.yaml")]
        (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00")
        words = "not UTF-8"
    code, output = cli(*full)
    assert words in assert_one_error(output, code)
    assert not out.exists()


def test_a_bad_thread_count_fails_first(pair, tmp_path):
    out = tmp_path / "run"
    code, output = adlens("run", *models(pair), "--out", out, env={"ADLENS_THREADS": "two"})
    assert_one_error(output, code, "ADLENS_THREADS", "whole number")
    assert not out.exists()
