"""`adlens analyze <name> RUN_DIR` and `adlens sweep FILE`: parse, call the API, print."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from adlens.cli.common import handle_errors, setup_logging

analyze_app = typer.Typer(
    help="Further analyses of a finished run, saved to RUN_DIR/analyze/<name>.json (cached): "
    "positions, pca, decode, heads, interpolate.",
    no_args_is_help=True,
)

RunDir = Annotated[Path, typer.Argument(help="A run directory (after `adlens run`).")]
Force = Annotated[bool, typer.Option(help="Recompute even if cached.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")]
OrganismOpt = Annotated[
    Path | None,
    typer.Option(help="Organism file or folder: count its domain_keywords in the readings."),
]
TopK = Annotated[int, typer.Option(help="Tokens per reading.")]
Patchscope = Annotated[
    bool, typer.Option("--patchscope/--no-patchscope", help="Also read with Patchscope.")
]
Layer = Annotated[int | None, typer.Option(help="Model layer (default: the run's first).")]


# Smallest sensible value of each numeric option (by the analysis' argument name): the
# analyses trust their arguments, so 0, negatives and NaN are refused here, in one line.
MINIMA = {
    "positions": 1,
    "samples": 1,
    "batch_size": 1,
    "n_components": 1,
    "read": 1,
    "top_k": 1,
    "cov_docs": 1,
    "cov_tokens": 1,
    "shrinkage": 0,
}
FLAGS = {"n_components": "--components", "samples": "--documents"}


def _checked(fn: Callable[..., dict[str, Any]], **kw: Any) -> dict[str, Any]:
    from adlens.errors import AdlensError
    from adlens.pipeline.inputs import check_number

    for name, minimum in MINIMA.items():
        flag = FLAGS.get(name, "--" + name.replace("_", "-"))
        check_number(
            flag, kw.get(name), at_least=minimum, at_most=1 if name == "shrinkage" else None
        )
    bad = [a for a in kw.get("alphas", []) if not math.isfinite(a)]
    if bad:
        raise AdlensError(f"--alphas: give finite numbers like 0,0.5,1 (got {bad[0]}).")
    return fn(**kw)


def _call(fn: Callable[..., dict[str, Any]], verbose: bool, **kw: Any) -> dict[str, Any]:

    setup_logging(verbose)
    result = handle_errors(_checked)(fn, **kw)
    out = Console()
    out.print(f"[bold]{result['title']}[/bold]")
    out.print(result["caption"])
    return result


def _show(
    run_dir: Path,
    name: str,
    result: dict[str, Any],
    title: str,
    columns: list[str],
    rows: list[list[str]],
) -> None:
    """Print an analysis' table (a column name starting with "<" is left-aligned, the others
    right-aligned) and where its results are."""
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col.lstrip("<"), justify="left" if col.startswith("<") else "right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    _done(run_dir, name, result)


def _done(run_dir: Path, name: str, result: dict[str, Any]) -> None:
    cached = " (cached)" if result.get("cached") else ""
    Console(stderr=True).print(f"results in {run_dir / 'analyze' / name}.json{cached}")


def _tokens(tokens: list[dict[str, Any]] | None, n: int = 8) -> str:
    return " ".join(repr(t["token"]) for t in (tokens or [])[:n])


@analyze_app.command("positions")
def positions_command(
    run_dir: RunDir,
    positions: Annotated[int, typer.Option(help="Positions 0..P-1 to collect.")] = 64,
    samples: Annotated[
        int, typer.Option("--documents", "--samples", help="Documents (with at least P tokens).")
    ] = 500,
    batch_size: Annotated[int, typer.Option(help="Documents per forward pass.")] = 64,
    force: Force = False,
    verbose: Verbose = False,
) -> None:
    """Cosine similarity of the mean difference across positions 0..P-1 (a longer collect into RUN_DIR/analyze/positions/)."""  # noqa: E501 (one line: typer keeps line breaks)
    from adlens.analyze import analyze_positions

    r = _call(
        analyze_positions,
        verbose,
        run_dir=run_dir,
        positions=positions,
        samples=samples,
        batch_size=batch_size,
        force=force,
    )
    rows = [
        [
            str(layer["layer"]),
            str(pos) + (" (sink)" if pos in layer["sinks"] else ""),
            f"{layer['cosine_to_tail'][i]:.3f}",
            f"{layer['norm_mean_diff'][i]:.2f}",
        ]
        for layer in r["per_layer"]
        for i, pos in enumerate(r["labels"])
        if i < 10 or i % 8 == 0
    ]
    cols = ["layer", "position", "cosine to tail", "||d_j||"]
    _show(run_dir, "positions", r, "cosine with the late positions' mean direction", cols, rows)


@analyze_app.command("pca")
def pca_command(
    run_dir: RunDir,
    layer: Layer = None,
    position: Annotated[
        int | None, typer.Option(help="Position whose components are read (default: best).")
    ] = None,
    samples: Annotated[
        int, typer.Option("--documents", "--samples", help="Reference documents read.")
    ] = 2000,
    components: Annotated[int, typer.Option(help="Components kept.")] = 20,
    read: Annotated[int, typer.Option(help="Top components read (both signs).")] = 5,
    method: Annotated[str, typer.Option(help="SVD: auto, exact or randomized.")] = "auto",
    drop_sink_documents: Annotated[
        bool,
        typer.Option(
            "--drop-sink-documents/--keep-sink-documents",
            help="Leave out documents whose token at the position is a secondary attention sink.",
        ),
    ] = True,
    top_k: TopK = 20,
    patchscope: Patchscope = True,
    organism: OrganismOpt = None,
    batch_size: Annotated[int, typer.Option(help="Documents per forward pass.")] = 64,
    force: Force = False,
    verbose: Verbose = False,
) -> None:
    """PCA of per-document differences: explained variance and the top components read with the logit lens and Patchscope."""  # noqa: E501
    from adlens.analyze import analyze_pca

    r = _call(
        analyze_pca,
        verbose,
        run_dir=run_dir,
        layer=layer,
        position=position,
        samples=samples,
        n_components=components,
        read=read,
        top_k=top_k,
        patchscope=patchscope,
        organism=organism,
        method=method,
        drop_sink_documents=drop_sink_documents,
        batch_size=batch_size,
        force=force,
    )
    rows = [
        [m["vector"], "", "", _tokens(m["logit_lens"]), _tokens(m.get("patchscope"))]
        for m in r["means"]
    ] + [
        [
            f"{c['component']}{c['sign']}",
            f"{c['explained_ratio']:.3f}",
            f"{c['cos_mean']:+.2f}",
            _tokens(c["logit_lens"]),
            _tokens(c.get("patchscope")),
        ]
        for c in r["components"]
    ]
    cols = ["PC", "EVR", "cos mean", "<logit lens", "<Patchscope"]
    _show(run_dir, "pca", r, f"components at position {r['position']}", cols, rows)


@analyze_app.command("decode")
def decode_command(
    run_dir: RunDir,
    layer: Layer = None,
    shrinkage: Annotated[float, typer.Option(help="Covariance shrinkage to the identity.")] = 0.1,
    method: Annotated[str, typer.Option(help="zca (Σ^-1/2) or inverse (Σ^-1).")] = "zca",
    cov_docs: Annotated[int, typer.Option(help="Documents for the covariance.")] = 256,
    cov_tokens: Annotated[int, typer.Option(help="Tokens per covariance document.")] = 64,
    top_k: TopK = 20,
    patchscope: Patchscope = True,
    organism: OrganismOpt = None,
    force: Force = False,
    verbose: Verbose = False,
) -> None:
    """Read d_j after subtracting the mean over positions (sinks left out) and after whitening with the base activations' covariance."""  # noqa: E501
    from adlens.analyze import analyze_decode

    r = _call(
        analyze_decode,
        verbose,
        run_dir=run_dir,
        layer=layer,
        shrinkage=shrinkage,
        method=method,
        cov_docs=cov_docs,
        cov_tokens=cov_tokens,
        top_k=top_k,
        patchscope=patchscope,
        organism=organism,
        force=force,
    )
    rows = [
        [
            str(row["position"]) + (" (sink)" if row["sink"] else ""),
            row["method"],
            _tokens(row["logit_lens"]),
            _tokens(row.get("patchscope")),
        ]
        for row in r["rows"]
    ]
    _show(run_dir, "decode", r, "decodings", ["pos", "<method", "<logit lens", "<Patchscope"], rows)


@analyze_app.command("heads")
def heads_command(
    run_dir: RunDir,
    top_k: TopK = 20,
    force: Force = False,
    verbose: Verbose = False,
) -> None:
    """Logit lens through the finetuned head beside the base model's head, with their overlap."""
    from adlens.analyze import analyze_heads

    r = _call(analyze_heads, verbose, run_dir=run_dir, top_k=top_k, force=force)
    rows = [
        [
            str(row["layer"]),
            str(row["position"]),
            f"{row['overlap']:.2f}",
            _tokens(row["finetuned"], 6),
            _tokens(row["base"], 6),
        ]
        for row in r["rows"]
        if row["variant"] == "diff"
    ]
    cols = ["layer", "pos", "overlap", "<finetuned head", "<base head"]
    _show(run_dir, "heads", r, "difference: finetuned head vs base head", cols, rows)


@analyze_app.command("interpolate")
def interpolate_command(
    run_dir: RunDir,
    alphas: Annotated[
        str, typer.Option(help="Comma-separated a of B + a(F - B); 1 is always added.")
    ] = "0,0.25,0.5,0.75,1,1.25",
    samples: Annotated[
        int, typer.Option("--documents", "--samples", help="Documents per point.")
    ] = 300,
    top_k: TopK = 20,
    patchscope: Patchscope = True,
    organism: OrganismOpt = None,
    batch_size: Annotated[int, typer.Option(help="Documents per forward pass.")] = 64,
    force: Force = False,
    verbose: Verbose = False,
) -> None:
    """Readability along B + a(F - B): collect and read a small difference at each a (weights interpolated, or the adapter scaled); the model is restored exactly."""  # noqa: E501
    from adlens.analyze import analyze_interpolate

    try:
        values = [float(a) for a in alphas.split(",") if a.strip()]
    except ValueError:
        values = []
    if not values:
        Console(stderr=True).print(
            f"[red]error:[/red] cannot read --alphas '{alphas}': give numbers like 0,0.5,1."
        )
        raise typer.Exit(1)
    r = _call(
        analyze_interpolate,
        verbose,
        run_dir=run_dir,
        alphas=values,
        samples=samples,
        top_k=top_k,
        patchscope=patchscope,
        organism=organism,
        batch_size=batch_size,
        force=force,
    )
    keys = [
        ("cos(d_a, d_1)", "cos_a1"),
        ("|d_a|/|d_1|", "norm_ratio"),
        ("LL overlap", "logit_lens_overlap_a1"),
        ("PS overlap", "patchscope_overlap_a1"),
        ("LL domain", "logit_lens_domain_best"),
        ("PS domain", "patchscope_domain_best"),
    ]
    keys = [k for k in keys if any(k[1] in p for p in r["curve"])]
    rows = [[f"{p['alpha']:g}", *(str(p.get(k, "-")) for _, k in keys)] for p in r["curve"]]
    title = "along B + a(F - B), means over non-sink positions"
    _show(run_dir, "interpolate", r, title, ["a", *(h for h, _ in keys)], rows)


def sweep_command(
    file: Annotated[Path, typer.Argument(help="Sweep file (yaml or json): organisms, settings.")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: `out:` in the file).")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Run the lens over every organism of a sweep file (training mixing-ratio variants first), grade each, and write one leaderboard (csv, md, html); cached per organism."""  # noqa: E501
    from adlens.studies.sweep import run_sweep

    setup_logging(verbose)
    show_leaderboard(handle_errors(run_sweep)(file, out), out)


def show_leaderboard(rows: list[dict[str, Any]], out: Path | None) -> None:
    """The sweep leaderboard as a terminal table, and where its files are."""
    from adlens.studies.leaderboard import columns

    cols = [c for c in columns(rows) if c not in ("run", "notes", "grader")]
    if len(rows) == 1:  # one organism: a column per measure would not fit; a row each does
        table = Table("measure", "value", title=str(rows[0].get("organism")), title_justify="left")
        for c in cols:
            if c not in ("rank", "organism") and rows[0].get(c) is not None:
                table.add_row(c, str(rows[0][c]))
        Console().print(table)
    else:
        table = Table(title="sweep leaderboard", title_justify="left")
        for c in cols:
            table.add_column(c, justify="left" if c == "organism" else "right")
        for r in rows:
            table.add_row(*("-" if r.get(c) is None else str(r.get(c)) for c in cols))
        Console().print(table)
    where = Path(rows[0]["run"]).parent if rows else out
    Console(stderr=True).print(f"leaderboard in {where}/leaderboard.csv (.md, .html, .json)")


def register(app: typer.Typer) -> None:
    """Add `analyze ...` and `sweep` to the main app."""
    app.add_typer(analyze_app, name="analyze")
    app.command("sweep")(sweep_command)
