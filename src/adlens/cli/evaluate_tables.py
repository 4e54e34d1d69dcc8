"""The rich tables `adlens evaluate` prints: token relevance per reader and variant, steering
similarity and causal effect per position."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from adlens.core.readers import reader_label
from adlens.results.readings import ALL


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def relevance_table(overview: dict[str, Any]) -> Table:
    """Per reader and variant: the best position and its fractions (over known tokens)."""
    best = overview["best"]
    layers = {r["layer"] for r in best}
    controls = bool(overview.get("controls"))
    table = Table(
        title=f"token relevance to {overview['organism']} (top {overview['config']['top_k']}; "
        "% of known tokens)",
        title_justify="left",
    )
    columns = ["reader", "variant"] + (["layer"] if len(layers) > 1 else [])
    # pos: the best position; @diff: the fraction at the difference's best position
    columns += ["pos", "relevant", "weighted", "trivial", "unknown", "@diff"]
    columns += ["controls"] if controls else []
    for col in columns:
        table.add_column(col, justify="left" if col in ("reader", "variant") else "right")
    for r in best:
        at = r.get("at_diff_position")
        row = [reader_label(r["reader"]), r["variant"].replace("_", " ")]
        row += [str(r["layer"])] if len(layers) > 1 else []
        row += [
            "all" if r["position"] == ALL else str(r["position"]),
            _pct(r["fraction"]),
            _pct(r["weighted"]),
            _pct(r["trivial"]),
            str(r["unknown"]),
            _pct(at["fraction"]) if at else "",
        ]
        row += [_pct(r["control_fraction"])] if controls else []
        table.add_row(*row)
    return table


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None or x != x else f"{x:.{digits}f}"


def similarity_table(result: dict[str, Any]) -> Table:
    """Per steered position: mean cosine to D and to chat, next to the unsteered baseline."""
    base = result["baselines"]
    table = Table(
        title=f"steering similarity ({result['embedder'].get('name')}): mean pairwise cosine",
        title_justify="left",
    )
    for col in ("samples", "layer", "pos", "strength", "vs D (± se)", "vs chat", "of ceiling"):
        table.add_column(col, justify="left" if col == "samples" else "right", no_wrap=True)

    def mean_se(x: dict[str, float]) -> str:
        return f"{_f(x['mean'])}±{_f(x['se'])}"

    for p in result["positions"]:
        table.add_row(
            "steered",
            str(p["layer"]),
            str(p["position"]),
            _f(p["strength"], 2),
            mean_se(p["steered_vs_D"]),
            _f(p["steered_vs_chat"]["mean"]),
            f"{100 * p['fraction_of_ceiling']:.0f}%",
        )
    row = mean_se(base["unsteered_vs_D"]), _f(base["unsteered_vs_chat"]["mean"])
    table.add_row("unsteered", "", "", "", *row, "0%")
    table.add_row("D (ceiling)", "", "", "", _f(base["D_self"]), _f(base["D_vs_chat"]), "100%")
    return table


def causal_table(result: dict[str, Any]) -> Table:
    """Per position: loss with the direction replaced, its change and the share of the B-F loss
    gap, per corpus; then the controls' mean ± std."""
    corpora = list(result["corpora"])
    what = "replaced by B's" if result["mode"] == "base" else "removed"
    table = Table(
        title=f"causal effect: F's component along d {what} at every token",
        title_justify="left",
    )
    table.add_column("direction", no_wrap=True)
    for c in corpora:
        for col in ("loss", "change", "of gap"):
            table.add_column(f"{c} {col}", justify="right", no_wrap=True)
    for side, label in (("finetuned", "F as is"), ("base", "B as is")):
        row = [label]
        for c in corpora:
            row += [_f(result["corpora"][c][f"loss_{side}"]), "", ""]
        table.add_row(*row)
    for p in result["positions"]:
        row = [f"d L{p['layer']} P{p['position']}"]
        for c in corpora:
            e = p[c]
            row += [_f(e["loss"]), f"{e['delta']:+.3f}", f"{100 * e['recovered']:.1f}%"]
        table.add_row(*row)
    labels = {"random_direction": "random dir", "random_activation_difference": "random act"}
    for ctl in result["controls"]:
        for kind, label in labels.items():
            if kind not in ctl:
                continue
            row = [f"{label} x{ctl[kind][corpora[0]]['n']} L{ctl['layer']}"]
            for c in corpora:
                s = ctl[kind][c]
                row += [
                    _f(s["loss"]["mean"]),
                    f"{s['delta']['mean']:+.3f}±{s['delta']['std']:.3f}",
                    f"{100 * s['recovered']['mean']:.1f}%",
                ]
            table.add_row(*row)
    return table
