"""Build RUN_DIR/report.html: one self-contained offline page (plotly.js embedded once) with a
section per stage that has run. The first screen shows the finetuning domain at a glance."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from adlens import __version__
from adlens.report.load import RunView, load_run
from adlens.report.read_sections import (
    headline_context,
    norms_context,
    readers_context,
    run_context,
    scales_context,
    tokens_context,
    weights_context,
)
from adlens.report.stage_sections import (
    agent_context,
    analyses_context,
    causal_context,
    ffa_context,
    relevance_context,
    samples_context,
    similarity_context,
    steering_context,
)
from adlens.report.tokens import pick_headline, token_verdicts
from adlens.report.util import Figures, fmt, pct, short_name
from adlens.store.rundir import write_text

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
REPORT_NAME = "report.html"
# Section ids in page order: the test and the nav bar use them.
SECTIONS = (
    "headline",
    "readers",
    "run",
    "tokens",
    "scales",
    "weights",
    "steering",
    "samples",
    "relevance",
    "similarity",
    "causal",
    "ffa",
    "agent",
    "analyses",
    "norms",
)


def build_report(run_dir: Path | str, out: Path | str | None = None) -> Path:
    """Write the report of `run_dir` (default RUN_DIR/report.html) and return its path.

    Args:
        run_dir: a run directory with summary.json.
        out: where to write the HTML (default: RUN_DIR/report.html).

    Example:
        >>> summary = run(cfg, tmp / "run", show_progress=False)
        >>> build_report(tmp / "run").name
        'report.html'
    """
    run_dir = Path(run_dir)
    path = Path(out) if out is not None else run_dir / REPORT_NAME
    t0 = time.perf_counter()
    write_text(path, render_report(run_dir))
    log.info("report: %s (%.1f s)", path, time.perf_counter() - t0)
    return path


def render_report(run_dir: Path | str) -> str:
    """The report's HTML as a string."""
    from plotly.offline import get_plotlyjs

    view = load_run(run_dir)
    ctx = report_context(view)
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = pct
    env.filters["num"] = fmt
    return env.get_template("report.html.j2").render(
        **ctx, plotly_js=Markup(get_plotlyjs()), figure_data=Markup(_figure_blob(ctx["figures"]))
    )


def present_sections(html: str) -> list[str]:
    """Ids of the sections a rendered report holds (in SECTIONS order)."""
    return [s for s in SECTIONS if f'data-section="{s}"' in html]


# --------------------------------------------------------------------------- context


def _figure_blob(figs: Figures) -> str:
    body = ",".join(f'{{"id":{json.dumps(i)},"fig":{j}}}' for i, j in figs.items)
    # "<" only occurs inside JSON strings, where \u003c is the same character: no "</script>".
    return ("[" + body + "]").replace("<", "\\u003c")


def report_context(view: RunView) -> dict[str, Any]:
    """Everything the report template renders: each section's data and figures."""
    figs = Figures()
    verdicts = token_verdicts(view)
    headline = pick_headline(view)
    ctx: dict[str, Any] = {
        "title": _title(view),
        "generated": time.strftime("%Y-%m-%d %H:%M"),
        "adlens_version": __version__,
        "figures": figs,
        "headline": headline_context(view, headline, verdicts),
        "readers": readers_context(view, verdicts),
        "run": run_context(view),
        "tokens": tokens_context(view, verdicts),
        "scales": scales_context(view, figs),
        "weights": weights_context(view, figs),
        "steering": steering_context(view, figs),
        "samples": samples_context(view),
        "relevance": relevance_context(view, figs),
        "similarity": similarity_context(view, figs),
        "causal": causal_context(view, figs),
        "ffa": ffa_context(view),
        "agent": agent_context(view),
        "analyses": analyses_context(view, figs),
        "norms": norms_context(view, figs),
    }
    ctx["nav"] = [(s, _NAV[s]) for s in SECTIONS if ctx.get(s)]
    return ctx


_NAV = {
    "headline": "at a glance",
    "readers": "readers compared",
    "run": "run",
    "tokens": "tokens",
    "scales": "Patchscope scales",
    "weights": "where the finetune wrote",
    "steering": "steering",
    "samples": "samples",
    "relevance": "relevance",
    "similarity": "similarity",
    "causal": "causal effect",
    "ffa": "false-fact alignment",
    "agent": "agent",
    "analyses": "analyses",
    "norms": "norms",
}


def _title(view: RunView) -> str:
    return short_name(view.summary.models.finetuned) or view.path.name
