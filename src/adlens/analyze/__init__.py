"""Further analyses of a finished run (PROTOCOL §7), each saved to RUN_DIR/analyze/<name>.json
with a title, a caption and a plotly figure beside its numbers, and cached by config hash.

    positions    cosine of the mean difference across positions 0..P-1 (a longer collect)
    pca          PCA of per-document differences: how many directions carry them
    decode       reading after subtracting the mean over positions, and after whitening
    heads        logit lens through the finetuned head beside the base head
    interpolate  readability along B + a(F - B)
"""

from __future__ import annotations

from adlens.analyze.common import RunContext, open_run
from adlens.analyze.decode import analyze_decode, subtract_position_mean, whiten, whitening_matrix
from adlens.analyze.heads import analyze_heads
from adlens.analyze.interpolate import analyze_interpolate, interpolated
from adlens.analyze.pca import analyze_pca, pca
from adlens.analyze.positions import analyze_positions, cosine_summary, position_cosines

ANALYSES = ("positions", "pca", "decode", "heads", "interpolate")

__all__ = [
    "ANALYSES",
    "RunContext",
    "analyze_decode",
    "analyze_heads",
    "analyze_interpolate",
    "analyze_pca",
    "analyze_positions",
    "cosine_summary",
    "interpolated",
    "open_run",
    "pca",
    "position_cosines",
    "subtract_position_mean",
    "whiten",
    "whitening_matrix",
]
