"""The steer stage of a run: per steered (layer, position) a strength search and final samples,
with the unsteered samples generated once for all positions. Writes into run_dir/steer/:

    unsteered_search.jsonl   unsteered samples of the search prompts (judge calibration, s = 0)
    L{layer}_P{pos}/         search.json, search_cache.jsonl (graded samples: resume), samples.jsonl
    samples.jsonl            every final sample: layer, position, prompt_index, prompt, steered,
                             strength, sample_index, text (unsteered rows have layer/position null)
    search.jsonl             every graded (layer, position, prompt, strength) point
    search.json              per position: thresholds, final strength, warnings, generations

Resumable: a position whose directory holds search.json and samples.jsonl is not redone, and a
search killed mid-way replays its graded samples from the cache instead of generating them.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adlens.core.activations import ActivationDiff, attention_sinks
from adlens.core.config import SteerConfig
from adlens.core.models import ModelPair
from adlens.core.progress import progress_bar
from adlens.core.protocols import CoherenceJudge
from adlens.core.steer import derive_seed, generate, steering_vector
from adlens.core.strength import (
    GradedCache,
    Request,
    SearchSettings,
    StrengthSearch,
    search_strength,
)
from adlens.errors import AdlensError
from adlens.results.readings import Reading, select
from adlens.results.steering import SteeredPosition, SteerOverview
from adlens.store.rundir import read_json, read_jsonl, write_json, write_jsonl

log = logging.getLogger(__name__)


def search_settings(cfg: SteerConfig) -> SearchSettings:
    return SearchSettings(
        max_strength=cfg.max_strength,
        first_steps=cfg.first_steps,
        other_steps=cfg.other_steps,
        samples=cfg.search_samples,
        coherent_fraction=cfg.coherent_fraction,
        min_known_fraction=cfg.min_known_fraction,
        levels_per_round=cfg.levels_per_round,
        installments=cfg.installments,
    )


def one_shot_generations(cfg: SteerConfig, n_prompts: int) -> int:
    """Steered samples the reference procedure draws per position: every strength of every
    round's subtree, all samples at once (560 with the paper settings)."""

    def strengths(steps: int) -> int:
        full, rest = divmod(steps, cfg.levels_per_round)
        return full * (2**cfg.levels_per_round - 1) + (2**rest - 1)

    total = strengths(cfg.first_steps) + (n_prompts - 1) * strengths(cfg.other_steps)
    return total * cfg.search_samples


def sink_positions(diff: ActivationDiff, layer: int) -> set[int]:
    """Attention-sink positions of a layer (see adlens.core.activations.attention_sinks)."""
    return attention_sinks(diff.pos_norm_base[diff.layers.index(layer)].tolist(), diff.labels)


def choose_positions(
    cfg: SteerConfig,
    diff: ActivationDiff,
    readings: Sequence[Reading],
    n_layers: int | None = None,
) -> list[tuple[int, int]]:
    """(layer, position) pairs to steer. "best": per layer, the position whose Patchscope list
    of the difference has the highest scale-choice score, leaving out attention-sink positions
    (their difference reads as sub-word debris that can still score high).

    The last layer (`n_layers - 1`) is read but not steered when other layers are: a vector
    added to the last block's output is a fixed logit bias, not a steering of the model."""
    layers = [layer for layer in diff.layers if n_layers is None or layer < n_layers - 1]
    layers = layers or list(diff.layers)
    if cfg.positions == "all":
        return [(layer, pos) for layer in layers for pos in diff.labels]
    if isinstance(cfg.positions, list):
        missing = [p for p in cfg.positions if p not in diff.labels]
        if missing:
            raise AdlensError(
                f"Cannot steer position(s) {missing}: collected positions are {diff.labels}."
            )
        return [(layer, pos) for layer in layers for pos in cfg.positions]
    out = []
    for layer in layers:
        sinks = sink_positions(diff, layer)
        candidates = [p for p in diff.labels if p not in sinks] or list(diff.labels)
        scored = {
            r.position: r.scale_score or 0.0
            for r in select(readings, reader="patchscope", variant="diff", layer=layer)
            if r.position in candidates
        }
        if scored:
            out.append((layer, max(scored, key=lambda p: (scored[p], -p))))
        else:
            log.warning(
                "no Patchscope entries for layer %d: steering position %d", layer, candidates[0]
            )
            out.append((layer, candidates[0]))
    return out


class SteerStage:
    """Runs and saves the stage; `run()` returns the overview that goes into summary.json."""

    def __init__(
        self,
        directory: Path,
        pair: ModelPair,
        diff: ActivationDiff,
        cfg: SteerConfig,
        judge: CoherenceJudge,
        digest: str,
        show_progress: bool = True,
    ):
        self.dir, self.pair, self.diff, self.cfg, self.judge = directory, pair, diff, cfg, judge
        self.digest, self.show_progress = digest, show_progress
        self.search_prompts = cfg.strength_search_prompts()
        self.prompts = cfg.final_prompts()
        self.generated = {"unsteered_search": 0, "unsteered_final": 0}

    # ------------------------------------------------------------------ files

    def prepare(self) -> None:
        """Keep partial results only if they were made with this config."""
        progress = self.dir / "progress.json"
        if self.dir.exists() and not (
            progress.exists() and read_json(progress).get("config_hash") == self.digest
        ):
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        write_json(progress, {"config_hash": self.digest})

    def pos_dir(self, layer: int, pos: int) -> Path:
        return self.dir / f"L{layer}_P{pos}"

    # ------------------------------------------------------------------ sampling

    def _generate(self, prompts: list[str], **kw: Any) -> list[str]:
        return generate(
            self.pair,
            prompts,
            side=self.cfg.side,
            top_p=self.cfg.top_p,
            max_batch=self.cfg.max_batch,
            **kw,
        )

    def _final_rows(self) -> list[tuple[int, int]]:
        return [
            (i, k) for i in range(len(self.prompts)) for k in range(self.cfg.samples_per_prompt)
        ]

    def _sample_final(self, label: str, **kw: Any) -> list[str]:
        rows = self._final_rows()
        with progress_bar(label, len(rows), self.show_progress) as advance:
            return self._generate(
                [self.prompts[i] for i, _ in rows],
                temperature=self.cfg.final_temperature,
                max_new_tokens=self.cfg.final_max_new_tokens,
                advance=advance,
                **kw,
            )

    def unsteered_search(self) -> list[dict[str, Any]]:
        """Unsteered samples of the search prompts, generated and judged once for all positions;
        they calibrate an offline judge and are the strength-0 points of every search."""
        path = self.dir / "unsteered_search.jsonl"
        if path.exists():
            rows = read_jsonl(path)
            self._calibrate(rows)
            return rows
        n = self.cfg.search_samples
        prompts = [p for p in self.search_prompts for _ in range(n)]
        log.info("steer: %d unsteered samples of the search prompts", len(prompts))
        texts = self._generate(
            prompts,
            temperature=self.cfg.search_temperature,
            max_new_tokens=self.cfg.search_max_new_tokens,
            seed=derive_seed(self.cfg.seed, "unsteered-search"),
        )
        self.generated["unsteered_search"] = len(texts)
        rows = [
            {"prompt_index": i // n, "sample_index": i % n, "prompt": p, "text": t}
            for i, (p, t) in enumerate(zip(prompts, texts, strict=True))
        ]
        self._calibrate(rows)
        verdicts = self.judge.judge_coherence(prompts, texts)
        for r, v in zip(rows, verdicts, strict=True):
            r["verdict"] = v
        write_jsonl(path, rows)
        return rows

    def _calibrate(self, rows: list[dict[str, Any]]) -> None:
        calibrate = getattr(self.judge, "calibrate", None)
        if callable(calibrate):
            calibrate([r["prompt"] for r in rows], [r["text"] for r in rows])

    def unsteered_final(self) -> list[dict[str, Any]]:
        path = self.dir / "unsteered_samples.jsonl"
        if path.exists():
            return read_jsonl(path)
        texts = self._sample_final(
            "unsteered samples", seed=derive_seed(self.cfg.seed, "unsteered-final")
        )
        self.generated["unsteered_final"] = len(texts)
        rows = [
            self._sample_row(None, None, i, k, False, 0.0, t)
            for (i, k), t in zip(self._final_rows(), texts, strict=True)
        ]
        write_jsonl(path, rows)
        return rows

    def _sample_row(
        self,
        layer: int | None,
        pos: int | None,
        i: int,
        k: int,
        steered: bool,
        strength: float,
        text: str,
    ) -> dict[str, Any]:
        return {
            "layer": layer,
            "position": pos,
            "prompt_index": i,
            "prompt": self.prompts[i],
            "steered": steered,
            "strength": strength,
            "sample_index": k,
            "text": text,
        }

    # ------------------------------------------------------------------ one position

    def sampler(self, layer: int, pos: int) -> Callable[[list[Request]], list[list[str]]]:
        vector = steering_vector(self.diff, layer, pos)

        def sample(requests: list[Request]) -> list[list[str]]:
            rows = [r for r in requests for _ in range(r.n)]
            what = tuple((r.prompt_index, r.strength, r.start, r.n) for r in requests)
            log.info(
                "steer L%d P%d: %d samples at strengths %s",
                layer,
                pos,
                len(rows),
                ", ".join(sorted({f"{r.strength:.3g}" for r in requests}, key=float)),
            )
            texts = self._generate(
                [self.search_prompts[r.prompt_index] for r in rows],
                layer=layer,
                vector=vector,
                strengths=[r.strength for r in rows],
                temperature=self.cfg.search_temperature,
                max_new_tokens=self.cfg.search_max_new_tokens,
                seed=derive_seed(self.cfg.seed, layer, pos, what),
            )
            out, i = [], 0
            for r in requests:
                out.append(texts[i : i + r.n])
                i += r.n
            return out

        return sample

    def position(
        self, layer: int, pos: int, unsteered: list[dict[str, Any]]
    ) -> tuple[StrengthSearch, list[dict[str, Any]]]:
        d = self.pos_dir(layer, pos)
        if (d / "search.json").exists() and (d / "samples.jsonl").exists():
            log.info("steer L%d P%d: done before, loaded", layer, pos)
            return StrengthSearch.from_json(read_json(d / "search.json")), read_jsonl(
                d / "samples.jsonl"
            )
        d.mkdir(parents=True, exist_ok=True)
        cache_path = d / "search_cache.jsonl"
        if cache_path.exists():
            cache = GradedCache.from_rows(read_jsonl(cache_path))
            log.info(
                "steer L%d P%d: resuming from %d graded samples", layer, pos, len(cache.rows())
            )
        else:
            cache = GradedCache()
            for r in unsteered:  # strength 0: shared by every position, never regenerated
                cache.add(r["prompt_index"], 0.0, [r["text"]], [r["verdict"]])
        search = search_strength(
            self.sampler(layer, pos),
            self.judge,
            self.search_prompts,
            search_settings(self.cfg),
            cache=cache,
            on_graded=lambda c: write_jsonl(cache_path, c.rows()),
        )
        for w in search.warnings:
            log.warning("steer L%d P%d: %s", layer, pos, w)
        log.info(
            "steer L%d P%d: strength %.3g (thresholds %s), %d steered search samples",
            layer,
            pos,
            search.final,
            ", ".join(f"{t:.3g}" for t in search.thresholds),
            search.generations,
        )
        vector = steering_vector(self.diff, layer, pos)
        texts = self._sample_final(
            f"steered samples L{layer} P{pos}",
            layer=layer,
            vector=vector,
            strengths=[search.final] * len(self._final_rows()),
            seed=derive_seed(self.cfg.seed, "final", layer, pos),
        )
        rows = [
            self._sample_row(layer, pos, i, k, True, search.final, t)
            for (i, k), t in zip(self._final_rows(), texts, strict=True)
        ]
        # search.json is written last of the two: together they mark the position done.
        write_jsonl(d / "samples.jsonl", rows)
        search.save(d / "search.json")
        return search, rows

    # ------------------------------------------------------------------ all

    def run(self, targets: list[tuple[int, int]]) -> SteerOverview:
        self.prepare()
        unsteered = self.unsteered_search()
        results = {t: self.position(*t, unsteered) for t in targets}
        unsteered_rows = self.unsteered_final()
        samples = [r for _, rows in results.values() for r in rows] + unsteered_rows
        write_jsonl(self.dir / "samples.jsonl", samples)
        points = [
            {"layer": layer, "position": pos, **p}
            for (layer, pos), (search, _) in results.items()
            for p in search.points
        ]
        write_jsonl(self.dir / "search.jsonl", points)
        reference = one_shot_generations(self.cfg, len(self.search_prompts))
        per_position = [
            SteeredPosition(
                layer=layer,
                position=pos,
                strength=search.final,
                thresholds=search.thresholds,
                warnings=search.warnings,
                search_generations=search.generations,
                one_shot_search_generations=reference,
                final_generations=len(rows),
                rounds=search.rounds,
            )
            for (layer, pos), (search, rows) in results.items()
        ]
        g: dict[str, Any] = {
            "steered_search": sum(p.search_generations for p in per_position),
            "steered_final": sum(p.final_generations for p in per_position),
            "unsteered_search": len(unsteered),
            "unsteered_final": len(unsteered_rows),
        }
        g["total"] = sum(g.values())
        g |= {"made_now": self.generated, "one_shot_search_per_position": reference}
        overview = SteerOverview(
            side=self.cfg.side,
            positions=per_position,
            generations=g,
            files={
                "samples": "steer/samples.jsonl",
                "search_points": "steer/search.jsonl",
                "search": "steer/search.json",
            },
        )
        overview.save(self.dir / "search.json")
        return overview
