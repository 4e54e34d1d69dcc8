"""Interrupts through the real CLI: `adlens collect` stopped by SIGINT (Ctrl-C) or SIGKILL during
the expected-norm estimate and then, rerun, during the collection, and rerun once more to the
end, must give activations bit-identical to an uninterrupted run; each rerun resumes what was
kept, and SIGINT exits 130 saying truthfully what was kept. Two chains cover the four cases:
SIGINT in the norms then SIGKILL in the collection, and SIGKILL in the norms then SIGINT.

The model pair is a small random Llama (wide enough that each model's norm estimate lasts a
moment, so a signal sent on its log line lands inside it), checkpointed after every batch
(ADLENS_CHECKPOINT_SECONDS=0)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import build_tokenizer, require_asset, tiny_config

SAMPLES = 240
BATCH = 2
WIDTH = 128  # hidden size: the norm estimate of each model takes a moment on one core
TIMEOUT = 180


@pytest.fixture(scope="module")
def pair_dirs(tmp_path_factory) -> dict[str, Path]:
    from adlens.store.asset_cache import cache_dir

    require_asset(
        (cache_dir() / "corpora" / "brown.jsonl").is_file(),
        "the brown corpus asset is not built: run `adlens assets` (make test does)",
    )
    from transformers import LlamaForCausalLM

    root = tmp_path_factory.mktemp("interrupt-pair")
    tok = build_tokenizer()
    cfg = tiny_config("llama", len(tok))
    cfg.hidden_size, cfg.intermediate_size, cfg.head_dim = WIDTH, 4 * WIDTH, WIDTH // 4
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).eval()
    model.save_pretrained(root / "base")
    tok.save_pretrained(root / "base")
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    model.save_pretrained(root / "ft")
    tok.save_pretrained(root / "ft")
    return {"base": root / "base", "ft": root / "ft"}


def _args(pair: dict[str, Path], out: Path) -> list[str]:
    return [
        "collect", "--base", str(pair["base"]), "--finetuned", str(pair["ft"]),
        "--dataset", "brown", "--samples", str(SAMPLES), "--batch-size", str(BATCH),
        "--layers", "0.5", "--out", str(out),
    ]  # fmt: skip


class Cli:
    """`python -m adlens ...` in the background; stderr is read line by line as it comes."""

    def __init__(self, args: list[str]):
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",  # also: the same float results in every run
            "ADLENS_CHECKPOINT_SECONDS": "0",
            "COLUMNS": "200",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "adlens", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            # a SIGINT ignored by the parent (a background job) would be ignored by the child
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: list[str] = []
        self.done = False
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.done = True
            self.cond.notify_all()

    @property
    def stderr(self) -> str:
        with self.cond:
            return "".join(self.lines)

    def wait_for_line(self, text: str) -> None:
        with self.cond:
            found = self.cond.wait_for(
                lambda: self.done or any(text in line for line in self.lines), TIMEOUT
            )
            if not found or not any(text in line for line in self.lines):
                self.kill()
                pytest.fail(f"no line with {text!r} before the command ended:\n{self.stderr}")

    def wait_for_file(self, path: Path) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"{path.name} never appeared while the command ran:\n{self.stderr}")
            time.sleep(0.002)

    def finish(self) -> tuple[int, str]:
        try:
            rc = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the command did not end:\n{self.stderr}")
        with self.cond:
            self.cond.wait_for(lambda: self.done, 10)
        return rc, self.stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _complete(args: list[str]) -> str:
    rc, err = Cli(args).finish()
    assert rc == 0, err[-3000:]
    return err


def _one_line(text: str) -> str:
    return " ".join(text.split())  # a long message may be wrapped at the terminal's width


class Reference:
    """The uninterrupted run, started in the background (one core) while the interrupted runs
    go on; its activations are read when first needed."""

    def __init__(self, pair_dirs: dict[str, Path], out: Path):
        self.out = out
        self.cli = Cli(_args(pair_dirs, out))
        self._tensors: dict[str, torch.Tensor] | None = None

    def tensors(self) -> dict[str, torch.Tensor]:
        if self._tensors is None:
            rc, err = self.cli.finish()
            assert rc == 0, err[-3000:]
            assert "resuming" not in err and "resumed" not in err
            self._tensors = load_file(self.out / "collect" / "activations.safetensors")
        return self._tensors


@pytest.fixture(scope="module")
def reference(pair_dirs, tmp_path_factory):
    ref = Reference(pair_dirs, tmp_path_factory.mktemp("interrupt-reference") / "run")
    yield ref
    ref.cli.kill()


def _assert_same_as_reference(out: Path, ref: Reference) -> None:
    reference = ref.tensors()
    got = load_file(out / "collect" / "activations.safetensors")
    assert set(got) == set(reference)
    differ = [name for name, tensor in reference.items() if not torch.equal(got[name], tensor)]
    assert not differ, f"not bit-identical to the uninterrupted run: {differ}"
    # the checkpoints are gone once the stage is done
    assert sorted(p.name for p in (out / "collect").iterdir()) == [
        "activations.json",
        "activations.safetensors",
        "done.json",
    ]


def _interrupt_norm_estimate(pair_dirs, out: Path, sig: int) -> None:
    """Stop a fresh run inside the finetuned model's norm estimate; check what was kept."""
    norms = out / "collect" / "partial_norms.safetensors"
    cli = Cli(_args(pair_dirs, out))
    # the base model's norms are saved before the finetuned model's estimate starts
    cli.wait_for_line("expected norms of the finetuned model")
    cli.proc.send_signal(sig)
    rc, err = cli.finish()
    assert norms.exists(), err
    assert set(load_file(norms)) == {"base"}, err  # stopped inside the finetuned model's estimate
    assert not (out / "collect" / "partial.safetensors").exists()  # the collection never began
    if sig == signal.SIGINT:
        assert rc == 130, err
        message = _one_line(err)
        assert "interrupted: during the expected-norm estimate" in message, err
        assert "kept the base model's expected norms" in message, err
        assert "rerun the same command to resume" in message and "Traceback" not in err
    else:
        assert rc == -signal.SIGKILL, err


def _interrupt_collection(pair_dirs, out: Path, sig: int) -> int:
    """Rerun after a norm-estimate interrupt, stop it inside the collection; returns the
    number of documents the checkpoint holds."""
    partial = out / "collect" / "partial.safetensors"
    assert not partial.exists()
    cli = Cli(_args(pair_dirs, out))
    cli.wait_for_file(partial)
    cli.proc.send_signal(sig)
    rc, err = cli.finish()
    # the norms were resumed, not estimated again, and saved for the next rerun
    assert "expected norms of the base model: resumed" in err
    assert "expected norms of the finetuned model: estimating" in err
    assert set(load_file(out / "collect" / "partial_norms.safetensors")) == {"base", "finetuned"}
    assert partial.exists(), err
    kept = int(load_file(partial)["count"][0])
    assert 0 < kept < SAMPLES, err  # stopped inside the collection
    assert not (out / "collect" / "activations.safetensors").exists()
    if sig == signal.SIGINT:
        assert rc == 130, err
        message = _one_line(err)
        assert "interrupted: during the collection" in message, err
        # truthful: what the message says was kept is what the checkpoint holds
        assert f"kept {kept} of {SAMPLES} documents and the expected norms" in message, err
        assert "rerun the same command to resume" in message and "Traceback" not in err
    else:
        assert rc == -signal.SIGKILL, err
    return kept


def _resume_to_the_end(pair_dirs, out: Path, kept: int, reference: Reference) -> None:
    again = _complete(_args(pair_dirs, out))
    assert "expected norms of the base model: resumed" in again
    assert "expected norms of the finetuned model: resumed" in again
    assert f"resuming collection at document {kept} of {SAMPLES}" in again
    _assert_same_as_reference(out, reference)


def test_sigint_in_norms_then_sigkill_in_collection_resume_bit_identical(
    pair_dirs, reference, tmp_path
):
    out = tmp_path / "run"
    _interrupt_norm_estimate(pair_dirs, out, signal.SIGINT)
    kept = _interrupt_collection(pair_dirs, out, signal.SIGKILL)
    _resume_to_the_end(pair_dirs, out, kept, reference)


def test_sigkill_in_norms_then_sigint_in_collection_resume_bit_identical(
    pair_dirs, reference, tmp_path
):
    out = tmp_path / "run"
    _interrupt_norm_estimate(pair_dirs, out, signal.SIGKILL)
    kept = _interrupt_collection(pair_dirs, out, signal.SIGINT)
    _resume_to_the_end(pair_dirs, out, kept, reference)


def test_interrupt_between_any_two_statements_of_the_sum_update_resumes_exactly(
    tokenizer, tmp_path
):
    """Ctrl-C lands between any two Python statements, also inside the update of the running
    sums. With timed checkpoints (the default 30 s: unsaved batches are pending), the
    checkpoint written on the way out must never hold part of a batch: wherever in
    RunningSums.add the interrupt lands, the resumed result equals an uninterrupted one."""
    from adlens.core.collect import CollectionInterrupted, RunningSums, collect
    from adlens.core.models import ModelPair
    from adlens.core.tokenization import tokenize_documents
    from conftest import CORPUS, tiny_model

    base = tiny_model("llama", len(tokenizer), seed=0)
    ft = tiny_model("llama", len(tokenizer), seed=1)
    pair = ModelPair(finetuned=ft, base_model=base, tokenizer=tokenizer)
    docs = tokenize_documents(tokenizer, CORPUS * 4, positions=3, n_docs=24)
    kw = dict(batch_size=4, show_progress=False, every_seconds=30.0)
    reference = collect(pair, docs, [1, 2], **kw).tensors()
    add = RunningSums.add.__code__

    def interrupt_at(line: int):
        """A trace function raising KeyboardInterrupt (as a signal handler does) before the
        `line`-th statement of the third batch's RunningSums.add."""
        state = {"calls": 0, "lines": 0}

        def local(frame, event, arg):
            if event == "line":
                state["lines"] += 1
                if state["lines"] == line:
                    raise KeyboardInterrupt
            return local

        def tracer(frame, event, arg):
            if event == "call" and frame.f_code is add:
                state["calls"] += 1
                return local if state["calls"] == 3 else None
            return None

        return tracer

    failures = []
    for line in range(1, 100):
        checkpoint = tmp_path / f"partial-{line}.safetensors"
        previous = sys.gettrace()
        sys.settrace(interrupt_at(line))
        try:
            collect(pair, docs, [1, 2], checkpoint=checkpoint, **kw)
        except CollectionInterrupted as err:
            kept = int(re.search(r"kept (\d+) of 24 documents", str(err)).group(1))
        else:
            break  # past the last statement: nothing was interrupted
        finally:
            sys.settrace(previous)
        resumed = collect(pair, docs, [1, 2], checkpoint=checkpoint, **kw)
        assert resumed.meta["resumed_from"] == kept
        got = resumed.tensors()
        wrong = [name for name, tensor in reference.items() if not torch.equal(got[name], tensor)]
        if wrong:
            failures.append((line, wrong))
    assert line > 3  # the interrupt did land inside RunningSums.add
    assert not failures, f"(statement of RunningSums.add, tensors that differ): {failures}"
