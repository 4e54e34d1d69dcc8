"""Judges that need no network: a calibrated coherence judge (the content-stability scale
chooser is core: adlens.core.scale_choice).

The coherence judge scores what steering breaks when pushed too far: text the unsteered model
finds improbable (token soup, broken words: a high mean token negative log-likelihood) and
degenerate loops (repeated trigrams, long runs of one word). It has no absolute notion of
"coherent": `calibrate` learns, from unsteered samples of the same model and prompts, what
normal looks like, and a sample is incoherent when any measure lies far outside that.
"""

from __future__ import annotations

import logging
import math
import re
import statistics
from collections.abc import Callable, Sequence
from typing import Any

import torch

from adlens.errors import AdlensError

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+|[^\w\s]+")


def words(text: str) -> list[str]:
    """Lower-cased words and punctuation runs: a tokenizer-free unit for repetition."""
    return [w.lower() for w in _WORD.findall(text)]


def distinct_n(items: Sequence[str], n: int) -> float:
    """Share of distinct n-grams among all n-grams (1.0 when there are none)."""
    grams = [tuple(items[i : i + n]) for i in range(len(items) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


def longest_run(items: Sequence[str]) -> int:
    """Length of the longest run of one item repeated back to back."""
    best = run = 0
    for i, item in enumerate(items):
        run = run + 1 if i and item == items[i - 1] else 1
        best = max(best, run)
    return best


def text_measures(text: str) -> dict[str, float]:
    """Repetition measures of one completion. `repetition` = 1 - distinct-3: 0 for varied text,
    near 1 for a loop; `max_run`: the longest run of one word ("honey honey honey" -> 3)."""
    ws = words(text)
    return {
        "n_words": len(ws),
        "distinct1": distinct_n(ws, 1),
        "distinct2": distinct_n(ws, 2),
        "repetition": 1.0 - distinct_n(ws, 3),
        "max_run": float(longest_run(ws)),
    }


# --------------------------------------------------------------------------- calibration

# The measures that decide (higher = worse), and the least distance above the unsteered median
# a threshold keeps, so that a small or very uniform calibration set is not a hair trigger:
# 1 nat of mean NLL (the text is e^1 = 2.7x less probable per token), a quarter of the
# trigrams repeated, and 3 more repeats of one word than usual.
FLOORS = {"nll": 1.0, "repetition": 0.25, "max_run": 3.0}
# Tukey's outlier fence, Q3 + 1.5 IQR: about mean + 2.7 sd for a normal spread, so ~0.4% of
# normal samples cross it. Checked on SmolLM2-135M-Instruct, 128 tokens at temperature 1.2:
# unsteered mean NLL 2.9-7.9 nats (fence ~9), random token soup 12.8-13.7, loops caught by the
# repetition measures; word salad made of its own samples (7.2-8.7) mostly passes: at that
# temperature such a small model writes nearly that loosely anyway.
IQR_FACTOR = 1.5
MIN_CALIBRATION = 3
MAX_LOGITS = 1 << 26  # fp32 logits per forward batch in the NLL pass (256 MiB)


def fence(values: Sequence[float], measure: str, iqr_factor: float = IQR_FACTOR) -> float:
    """Threshold above which a value is outside the unsteered distribution:
    max(Q3 + iqr_factor * IQR, median + FLOORS[measure])."""
    values = sorted(values)
    if len(values) == 1:
        return values[0] + FLOORS[measure]
    q1, med, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return max(q3 + iqr_factor * (q3 - q1), med + FLOORS[measure])


# Mean NLL of each completion given its prompt: (prompts, completions) -> nats per token.
NllFn = Callable[[Sequence[str], Sequence[str]], list[float]]


class OfflineCoherenceJudge:
    """Coherence without a network, calibrated on unsteered samples.

    Measures per completion: mean token NLL under the unsteered model given the prompt (chat
    template applied as for generation), `repetition` (1 - distinct-3 over words) and `max_run`
    (longest run of one word); distinct-1/2 are reported too. `calibrate(prompts, completions)`
    on unsteered samples sets, per deciding measure, the threshold
    max(Q3 + 1.5 IQR, median + floor) (see IQR_FACTOR and FLOORS). A completion is incoherent
    when it is empty or any measure exceeds its threshold. Judging before calibrating raises
    AdlensError: NLL has no model-independent scale. Calibrate on samples generated like the
    ones judged (same prompts, temperature and length): NLL grows with both.

    Give a `ModelPair` (its `side` model is used, "finetuned" by default), or `model` and
    `tokenizer`, or an `nll_fn` that computes the NLLs itself. `format_prompt` maps a prompt to
    the token ids the generator fed the model; by default the chat template (when `chat`, which
    defaults to "the tokenizer has one") with the generation prompt, else the plain tokenizer.
    """

    name = "offline-coherence"

    def __init__(
        self,
        pair: Any | None = None,
        *,
        model: torch.nn.Module | None = None,
        tokenizer: Any | None = None,
        side: str = "finetuned",
        chat: bool | None = None,
        format_prompt: Callable[[str], list[int]] | None = None,
        nll_fn: NllFn | None = None,
        batch_size: int = 8,
        max_tokens: int = 256,
        iqr_factor: float = IQR_FACTOR,
    ):
        if pair is None and model is None and nll_fn is None:
            raise ValueError("OfflineCoherenceJudge needs a ModelPair, a model or an nll_fn")
        if nll_fn is None and tokenizer is None and getattr(pair, "tokenizer", None) is None:
            raise ValueError("OfflineCoherenceJudge needs the model's tokenizer")
        self.pair = pair
        self.model = model
        self.tokenizer: Any = (
            tokenizer if tokenizer is not None else getattr(pair, "tokenizer", None)
        )
        self.side = side
        if chat is None:
            chat = bool(getattr(self.tokenizer, "chat_template", None))
        self.chat = chat
        self.format_prompt = format_prompt
        self.nll_fn = nll_fn
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.iqr_factor = iqr_factor
        self.thresholds: dict[str, float] | None = None
        self.calibration: dict[str, Any] = {}
        self.last_scores: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ measures

    def prompt_ids(self, prompt: str) -> list[int]:
        if self.format_prompt is not None:
            return list(self.format_prompt(prompt))
        tok = self.tokenizer
        if self.chat:
            out = tok.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
            )
            if isinstance(out, dict) or hasattr(out, "input_ids"):
                out = out["input_ids"]
            return list(out)
        return list(tok(prompt)["input_ids"])

    @torch.inference_mode()
    def nll(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        """Mean NLL (nats/token) of each completion's first `max_tokens` tokens given its
        prompt; NaN for an empty completion."""
        if self.nll_fn is not None:
            return list(self.nll_fn(prompts, completions))
        tok = self.tokenizer
        rows = []
        for p, c in zip(prompts, completions, strict=True):
            ctx = self.prompt_ids(p)
            comp = list(tok(c, add_special_tokens=False)["input_ids"])[: self.max_tokens]
            rows.append((ctx, comp))
        out = [math.nan] * len(rows)
        # Longest completions first, so each batch pads little and its first row bounds its
        # logits; left padding puts every completion at the end, so only its logits are
        # computed (logits_to_keep).
        order = sorted(range(len(rows)), key=lambda i: (-len(rows[i][1]), -len(rows[i][0])))
        if self.pair is not None:
            with self.pair.use(self.side) as model:
                self._nll_batches(model, rows, order, out)
        else:
            self._nll_batches(self.model, rows, order, out)
        return out

    def _nll_batches(self, model: Any, rows: list, order: list[int], out: list[float]) -> None:
        device = next(model.parameters()).device
        pad = self.tokenizer.pad_token_id
        pad = pad if pad is not None else (self.tokenizer.eos_token_id or 0)
        order = [i for i in order if rows[i][1]]
        head = model.get_output_embeddings()
        vocab = head.weight.shape[0] if head is not None else len(self.tokenizer)
        while order:
            # Bound the fp32 logits kept per batch (rows x kept positions x vocabulary): a
            # 262k-token vocabulary would otherwise need gigabytes for a batch of 8.
            keep_max = len(rows[order[0]][1]) + 1
            fit = max(1, MAX_LOGITS // (keep_max * vocab))
            batch, order = order[: min(self.batch_size, fit)], order[min(self.batch_size, fit) :]
            seqs = [rows[i][0] + rows[i][1] for i in batch]
            width = max(len(s) for s in seqs)
            ids = torch.full((len(seqs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for r, s in enumerate(seqs):
                ids[r, width - len(s) :] = torch.tensor(s)
                mask[r, width - len(s) :] = 1
            positions = (mask.cumsum(-1) - 1).clamp_min(0)
            keep = min(width, max(len(rows[i][1]) for i in batch) + 1)
            logits = model(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                position_ids=positions.to(device),
                logits_to_keep=keep,
            ).logits.float()
            # logits[:, t] predicts token width - keep + t + 1
            targets = ids[:, width - keep + 1 :].to(logits.device)
            token_nll = torch.nn.functional.cross_entropy(
                logits[:, :-1].transpose(1, 2), targets, reduction="none"
            )
            for r, i in enumerate(batch):
                n = len(rows[i][1])
                if not rows[i][0]:
                    n -= 1  # no context: the first completion token has no prediction
                if n > 0:
                    out[i] = float(token_nll[r, -n:].mean())

    def measures(self, prompts: Sequence[str], completions: Sequence[str]) -> list[dict[str, Any]]:
        if len(prompts) != len(completions):
            raise ValueError("prompts and completions differ in length")
        nlls = self.nll(prompts, completions) if completions else []
        return [{"nll": nll, **text_measures(c)} for nll, c in zip(nlls, completions, strict=True)]

    # ------------------------------------------------------------------ calibrate and judge

    def calibrate(self, prompts: Sequence[str], completions: Sequence[str]) -> dict[str, float]:
        """Learn thresholds from unsteered samples; returns them."""
        scores = [
            s
            for s in self.measures(prompts, completions)
            if s["n_words"] > 0 and not math.isnan(s["nll"])
        ]
        if len(scores) < MIN_CALIBRATION:
            raise AdlensError(
                f"Cannot calibrate the offline coherence judge on {len(scores)} non-empty "
                f"unsteered samples; it needs at least {MIN_CALIBRATION}."
            )
        self.thresholds = {m: fence([s[m] for s in scores], m, self.iqr_factor) for m in FLOORS}
        self.calibration = {
            "n": len(scores),
            "median": {m: statistics.median(s[m] for s in scores) for m in FLOORS},
            "thresholds": dict(self.thresholds),
            "rule": f"max(Q3 + {self.iqr_factor:g} IQR, median + floor), floors {FLOORS}",
        }
        log.info("offline coherence thresholds: %s", self.thresholds)
        return dict(self.thresholds)

    def judge_coherence(
        self, prompts: Sequence[str], completions: Sequence[str]
    ) -> list[bool | None]:
        if self.thresholds is None:
            raise AdlensError(
                "The offline coherence judge is not calibrated: call "
                "calibrate(prompts, unsteered_completions) first."
            )
        scores = self.measures(prompts, completions)
        verdicts: list[bool | None] = []
        for s in scores:
            reasons = [] if s["n_words"] and not math.isnan(s["nll"]) else ["empty"]
            reasons += [m for m, t in self.thresholds.items() if s[m] > t]
            s["reasons"] = reasons
            s["coherent"] = not reasons
            verdicts.append(not reasons)
        self.last_scores = scores
        return verdicts
