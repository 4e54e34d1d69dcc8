"""Rich tables of a run's summary: every reader's top tokens per position, norms per position,
steering, notes."""

from __future__ import annotations

from typing import Any, cast

from rich.console import Console, JustifyMethod
from rich.table import Table

from adlens.core.readers import reader_label
from adlens.report.tokens import position_label
from adlens.results.readings import ALL, Reading, TokenProb
from adlens.results.summary import Summary


def entries_for(
    summary: Summary, reader: str, variant: str, layer: int, head: str | None = None
) -> dict[int, Reading]:
    """position -> the reader's reading of `variant` at `layer` (through `head`, for readers
    with heads)."""
    return {r.position: r for r in summary.readings(reader, variant, layer, head=head)}


def format_tokens(tokens: list[TokenProb], n: int) -> str:
    return "  ".join(f"{t.token!r}[dim]{t.prob:.2f}[/dim]" for t in tokens[:n])


def cell_text(value: Any) -> str:
    """A table cell: '-' for a missing value, three significant digits for a float."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def where_label(layer: int) -> str:
    return "all layers" if layer == ALL else f"layer {layer}"


def reader_table(
    summary: Summary,
    reader: str,
    variant: str,
    layer: int,
    n: int = 8,
    head: str | None = None,
) -> Table:
    title = f"{reader_label(reader)} of {variant.replace('_', ' ')}, {where_label(layer)}"
    if head:
        title += f", {head} head"
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("pos", justify="right")
    rows = sorted(entries_for(summary, reader, variant, layer, head).items())
    scaled = any(r.scale is not None for _, r in rows)
    if scaled:
        table.add_column("scale", justify="right")
    table.add_column(f"top {n} tokens (probability)")
    for pos, r in rows:
        cells = ["all" if pos == ALL else position_label(pos, summary.bos_at_0)]
        if scaled:
            cells.append(cell_text(r.scale))
        cells.append(format_tokens(r.tokens, n))
        table.add_row(*cells)
    return table


def norms_table(summary: Summary) -> Table:
    table = Table(
        title="activation norms per position (mean ||h|| over documents)", title_justify="left"
    )
    table.add_column("layer", justify="right")
    table.add_column("pos", justify="right")
    for col in ("base", "finetuned", "||ft - base||", "||mean diff||"):
        table.add_column(col, justify="right")
    per = summary.norms.per_position
    expected = summary.norms.expected
    for li, layer in enumerate(summary.layers):
        for pi, pos in enumerate(summary.positions):
            table.add_row(
                str(layer),
                position_label(pos, summary.bos_at_0),
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


def print_summary(summary: Summary, console: Console | None = None, n: int = 8) -> None:
    """The run in the terminal: the pair and counts, norms, each reader's lists of the
    difference (the logit lens through the finetuned head), steering and notes."""
    console = console or Console()
    c = summary.counts
    console.print(
        f"[bold]{summary.models.finetuned}[/bold] vs {summary.models.base} on "
        f"{summary.dataset}: {c.documents} documents ({c.dropped} too short), "
        f"positions {summary.positions}, layers {summary.layers}, "
        f"BOS at position 0: {'yes' if summary.bos_at_0 else 'no'}"
    )
    console.print(norms_table(summary))
    for reader in summary.reader_names():
        layers = sorted({r.layer for r in summary.readings(reader, "diff")})
        head = "finetuned" if any(r.head for r in summary.readings(reader)) else None
        for layer in layers:
            if entries_for(summary, reader, "diff", layer, head):
                console.print(reader_table(summary, reader, "diff", layer, n, head=head))
    if summary.steer is not None:
        console.print(steer_table(summary))
    for note in summary.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


def steer_table(summary: Summary) -> Table:
    """Per steered position: the strength found, the thresholds per search prompt, and the
    samples generated; warnings in the last column."""
    steer = summary.steer
    assert steer is not None
    g = steer.generations
    table = Table(
        title=f"steering ({steer.side} model): strength in units of the expected norm; "
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
    for p in steer.positions:
        table.add_row(
            str(p.layer),
            position_label(p.position, summary.bos_at_0),
            cell_text(p.strength),
            ", ".join(f"{t:.3g}" for t in p.thresholds),
            f"{p.search_generations} (one-shot {p.one_shot_search_generations})",
            "; ".join(p.warnings),
        )
    return table
