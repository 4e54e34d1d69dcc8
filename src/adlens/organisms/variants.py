"""Families of organisms: one training run per (mixing ratio, dataset size) in a grid."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from adlens.errors import AdlensError
from adlens.organisms.train import TrainConfig, train_organism

logger = logging.getLogger(__name__)


def parse_variants(spec: str) -> tuple[list[float], list[int | None]]:
    """'ratio=0,0.5,1 size=100,400' -> ([0.0, 0.5, 1.0], [100, 400]); a missing key keeps the
    config's value (ratio 0, all documents). Keys: ratio (or ratios), size (or sizes, n)."""
    ratios: list[float] = []
    sizes: list[int | None] = []
    for part in spec.replace(";", " ").split():
        key, _, values = part.partition("=")
        key = key.strip().lower()
        try:
            if key in ("ratio", "ratios", "mix"):
                ratios = [float(v) for v in values.split(",") if v.strip()]
            elif key in ("size", "sizes", "n"):
                sizes = [int(v) for v in values.split(",") if v.strip()]
            else:
                raise ValueError
        except ValueError:
            raise AdlensError(
                f"cannot read variant spec '{part}'; write e.g. --variants 'ratio=0,0.5,1,2 "
                "size=100,400'."
            ) from None
    if not ratios and not sizes:
        raise AdlensError("--variants names no ratios or sizes; e.g. 'ratio=0,1 size=100'.")
    if any(r < 0 for r in ratios):
        raise AdlensError(f"mixing ratios must be 0 or more (got {ratios}); 1 means 1:1.")
    if any(n < 1 for n in sizes if n is not None):
        raise AdlensError(f"sizes must be at least 1 document (got {sizes}).")
    return ratios, sizes


def variant_name(ratio: float, size: int | None) -> str:
    return f"ratio-{ratio:g}_n-{size if size is not None else 'all'}"


def train_variants(
    base: str | Path,
    documents: str | Path,
    out: str | Path,
    config: TrainConfig,
    *,
    ratios: Sequence[float] = (),
    sizes: Sequence[int | None] = (),
    organism: dict[str, Any] | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> Iterator[tuple[dict[str, Any], Path]]:
    """Train every (ratio, size) of the grid into out/<variant>/; finished ones are reused, so
    a rerun after a crash continues with the first unfinished variant.

    Yields (variant {name, ratio, size}, folder) in grid order, each as soon as it is trained.
    """
    ratios = list(ratios) or [config.mix_ratio]
    sizes = list(sizes) or [config.n_documents]
    for size in sizes:
        for ratio in ratios:
            name = variant_name(ratio, size)
            cfg = config.model_copy(update={"mix_ratio": ratio, "n_documents": size})
            meta = {**(organism or {}), "variant": {"ratio": ratio, "size": size}}
            meta["name"] = f"{meta.get('name', Path(documents).stem)}-{name}"
            logger.info("variant %s", name)
            folder = train_organism(
                base,
                documents,
                Path(out) / name,
                cfg,
                organism=meta,
                device=device,
                reuse=True,
                progress=progress,
            )
            yield {"name": name, "ratio": ratio, "size": size}, folder
