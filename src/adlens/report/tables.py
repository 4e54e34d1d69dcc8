"""Rich tables of a run's summary: top tokens per position, norms per position, notes."""

from __future__ import annotations

from typing import Any, cast

from rich.console import Console, JustifyMethod
from rich.table import Table

from adlens.report.tokens import position_label


def entries_for(
    summary: dict[str, Any], reader: str, variant: str, layer: int, head: str | None = None
):
    out = {}
    for e in summary["readers"]:
        if e["reader"] == reader and e["variant"] == variant and e["layer"] == layer:
            if head is None or e.get("head", head) == head:
                out[e["position"]] = e
    return out


def format_tokens(tokens: list[dict[str, Any]], n: int) -> str:
    return "  ".join(f"{t['token']!r}[dim]{t['prob']:.2f}[/dim]" for t in tokens[:n])


def cell_text(value: Any) -> str:
    """A table cell: '-' for a missing value, three significant digits for a float."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def reader_table(
    summary: dict[str, Any],
    reader: str,
    variant: str,
    layer: int,
    n: int = 8,
    head: str | None = None,
) -> Table:
    title = f"{reader.replace('_', ' ')} of {variant.replace('_', ' ')}, layer {layer}"
    if head:
        title += f", {head} head"
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("pos", justify="right")
    if reader == "patchscope":
        table.add_column("scale", justify="right")
    table.add_column(f"top {n} tokens (probability)")
    for pos, e in sorted(entries_for(summary, reader, variant, layer, head).items()):
        row = [position_label(pos, summary["bos_at_0"])]
        if reader == "patchscope":
            row.append(f"{e['scale']:g}")
        row.append(format_tokens(e["tokens"], n))
        table.add_row(*row)
    return table


def norms_table(summary: dict[str, Any]) -> Table:
    table = Table(
        title="activation norms per position (mean ||h|| over documents)", title_justify="left"
    )
    table.add_column("layer", justify="right")
    table.add_column("pos", justify="right")
    for col in ("base", "finetuned", "||ft - base||", "||mean diff||"):
        table.add_column(col, justify="right")
    per = summary["norms"]["per_position"]
    expected = summary["norms"]["expected"]
    for li, layer in enumerate(summary["layers"]):
        for pi, pos in enumerate(summary["positions"]):
            table.add_row(
                str(layer),
                position_label(pos, summary["bos_at_0"]),
                f"{per['base'][li][pi]:.1f}",
                f"{per['finetuned'][li][pi]:.1f}",
                f"{per['diff'][li][pi]:.2f}",
                f"{per['mean_diff'][li][pi]:.2f}",
            )
        table.add_row(
            str(layer),
            "typical",
            f"{expected['base'][li]:.1f}",
            f"{expected['finetuned'][li]:.1f}",
            "",
            "",
            style="dim",
        )
    return table


def print_summary(summary: dict[str, Any], console: Console | None = None, n: int = 8) -> None:
    console = console or Console()
    c = summary["counts"]
    console.print(
        f"[bold]{summary['models']['finetuned']}[/bold] vs {summary['models']['base']} on "
        f"{summary['dataset']}: {c['documents']} documents ({c['dropped']} too short), "
        f"positions {summary['positions']}, layers {summary['layers']}, "
        f"BOS at position 0: {'yes' if summary['bos_at_0'] else 'no'}"
    )
    console.print(norms_table(summary))
    for layer in summary["layers"]:
        if entries_for(summary, "logit_lens", "diff", layer, "finetuned"):
            console.print(reader_table(summary, "logit_lens", "diff", layer, n, head="finetuned"))
        if entries_for(summary, "patchscope", "diff", layer):
            console.print(reader_table(summary, "patchscope", "diff", layer, n))
    if summary.get("steer"):
        console.print(steer_table(summary))
    for note in summary.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {note}")


def steer_table(summary: dict[str, Any]) -> Table:
    """Per steered position: the strength found, the thresholds per search prompt, and the
    samples generated; warnings in the last column."""
    steer = summary["steer"]
    g = steer["generations"]
    table = Table(
        title=f"steering ({steer['side']} model): strength in units of the expected norm; "
        f"{g['total']} samples generated ({g['unsteered_search'] + g['unsteered_final']} "
        "unsteered, shared by all positions)",
        title_justify="left",
    )
    for col, just in (
        ("layer", "right"),
        ("pos", "right"),
        ("strength", "right"),
        ("thresholds", "left"),
        ("search samples", "right"),
        ("warnings", "left"),
    ):
        table.add_column(col, justify=cast(JustifyMethod, just))
    for p in steer["positions"]:
        table.add_row(
            str(p["layer"]),
            position_label(p["position"], summary["bos_at_0"]),
            f"{p['strength']:.3g}",
            ", ".join(f"{t:.3g}" for t in p["thresholds"]),
            f"{p['search_generations']} (one-shot {p['one_shot_search_generations']})",
            "; ".join(p["warnings"]),
        )
    return table
