"""Read what a run directory holds, stage by stage, for the report.

Every reader is defensive: a stage that has not run gives None (or an empty list), and a file
that cannot be parsed is logged and treated as absent, so a report can always be built from
whatever is there. Later stages' formats may grow; unknown keys are ignored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adlens.errors import AdlensError
from adlens.evaluate.ffa_result import read_ffa
from adlens.results.readings import Reading
from adlens.results.steering import SteerOverview
from adlens.results.summary import Summary, load_summary
from adlens.store.rundir import RunDir

log = logging.getLogger(__name__)


def read_json_safe(path: Path) -> Any | None:
    """The JSON in `path`, or None when it is missing or unreadable (logged)."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        log.warning("report: cannot read %s (%s); left out", path, err)
        return None


def read_jsonl_safe(path: Path) -> list[dict[str, Any]]:
    """The rows of a jsonl file (unparseable lines skipped), or [] when it is missing."""
    if not path.is_file():
        return []
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        log.warning("report: cannot read %s (%s); left out", path, err)
        return []
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


@dataclass
class AgentRunView:
    """One agent run of the directory: its result, grade and transcript file."""

    name: str
    result: dict[str, Any]
    grade: dict[str, Any] | None
    transcript: str | None  # relative to the run directory


@dataclass
class AnalysisView:
    """One saved analysis figure (analyze/<name>.json)."""

    name: str
    title: str
    caption: str
    figure: dict[str, Any]


@dataclass
class RunView:
    """Everything the report shows, read once from the run directory."""

    path: Path
    manifest: dict[str, Any]
    summary: Summary
    scales: list[dict[str, Any]] = field(default_factory=list)  # Patchscope's per-scale rows
    weights: list[dict[str, Any]] = field(default_factory=list)  # per-module weight changes
    steer: SteerOverview | None = None  # the summary's steer overview, else steer/search.json
    steer_points: list[dict[str, Any]] = field(default_factory=list)
    steer_searches: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    relevance: dict[str, Any] | None = None
    relevance_rows: list[dict[str, Any]] = field(default_factory=list)
    similarity: dict[str, Any] | None = None
    causal: dict[str, Any] | None = None
    ffa: dict[str, Any] | None = None  # false-fact alignment of the run's models
    agent_table: list[dict[str, Any]] = field(default_factory=list)
    agent_runs: list[AgentRunView] = field(default_factory=list)
    analyses: list[AnalysisView] = field(default_factory=list)
    # Results in the directory made from an earlier config: named, never shown.
    stale: list[str] = field(default_factory=list)

    def current(self, result: dict[str, Any] | None, what: str) -> dict[str, Any] | None:
        """`result` when it was made from this summary's stages, else None (noted as stale)."""
        if result is None or RunDir.is_current(result, self.summary.stages):
            return result
        self.stale.append(what)
        return None

    @property
    def readers(self) -> list[Reading]:
        """Every reading of the summary, of every reader."""
        return self.summary.readers

    @property
    def bos_at_0(self) -> bool:
        return self.summary.bos_at_0


def load_run(run_dir: Path | str) -> RunView:
    """Read a run directory. Raises AdlensError when it has no summary.json.

    Args:
        run_dir: the run directory.

    Example:
        >>> summary = run(cfg, tmp / "run", show_progress=False)
        >>> view = load_run(tmp / "run")
        >>> view.summary.counts.documents, view.steer is None
        (20, True)
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise AdlensError(f"Run directory {path} does not exist.")
    rd = RunDir(path)
    summary = load_summary(rd)  # checked against the stages it names
    stages = summary.stages
    read_current = stages is None or "read" in stages
    view = RunView(
        path=path,
        manifest=_dict(read_json_safe(path / "manifest.json")) or {},
        summary=summary,
        scales=read_jsonl_safe(path / "read" / "patchscope_scales.jsonl") if read_current else [],
        weights=read_jsonl_safe(path / "read" / "weights_profile.jsonl") if read_current else [],
    )
    if rd.steer_is_current(stages):
        _load_steer(view)
    elif (path / "steer").is_dir():
        view.stale.append("steer/ (steering of an earlier config)")
    _load_evaluate(view)
    _load_agent(view)
    view.analyses = load_analyses(path / "analyze", view)
    return view


def _load_steer(view: RunView) -> None:
    steer = view.path / "steer"
    view.steer = view.summary.steer or _overview(steer / "search.json")
    for d in sorted(steer.glob("L*_P*")) if steer.is_dir() else []:
        search = _dict(read_json_safe(d / "search.json"))
        try:
            layer, pos = (int(x[1:]) for x in d.name.split("_", 1))
        except ValueError:
            continue
        if search is not None:
            view.steer_searches[(layer, pos)] = search
    view.steer_points = read_jsonl_safe(steer / "search.jsonl")
    if not view.steer_points:  # stage still running: the finished positions' points
        view.steer_points = [
            {"layer": lp[0], "position": lp[1], **p}
            for lp, s in view.steer_searches.items()
            for p in s.get("points") or []
            if isinstance(p, dict)
        ]
    view.samples = read_jsonl_safe(steer / "samples.jsonl")
    if not view.samples:
        for f in sorted(steer.glob("L*_P*/samples.jsonl")) + [steer / "unsteered_samples.jsonl"]:
            view.samples += read_jsonl_safe(f)


def _overview(path: Path) -> SteerOverview | None:
    """steer/search.json as a SteerOverview, or None when it is missing or not one (logged)."""
    data = _dict(read_json_safe(path))
    if data is None:
        return None
    try:
        return SteerOverview.model_validate(data)
    except ValidationError as err:
        log.warning("report: %s is not a steering overview (%s); left out", path, err)
        return None


def _load_evaluate(view: RunView) -> None:
    ev = view.path / "evaluate"
    view.relevance = view.current(_dict(read_json_safe(ev / "relevance.json")), "relevance")
    view.relevance_rows = read_jsonl_safe(ev / "relevance.jsonl") if view.relevance else []
    view.similarity = view.current(_dict(read_json_safe(ev / "similarity.json")), "similarity")
    view.causal = view.current(_dict(read_json_safe(ev / "causal.json")), "causal effect")
    view.ffa = read_ffa(view.path)  # None when made with other models


def _load_agent(view: RunView) -> None:
    root = view.path / "agent"
    if not root.is_dir():
        return
    view.agent_table = read_jsonl_safe(root / "table.jsonl")
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        result = view.current(_dict(read_json_safe(folder / "result.json")), f"agent {folder.name}")
        if result is None:
            continue
        transcript = folder / str(result.get("transcript") or "transcript.jsonl")
        view.agent_runs.append(
            AgentRunView(
                name=folder.name,
                result=result,
                grade=_dict(read_json_safe(folder / "grade.json")),
                transcript=(
                    transcript.relative_to(view.path).as_posix() if transcript.is_file() else None
                ),
            )
        )


def load_analyses(folder: Path, view: RunView | None = None) -> list[AnalysisView]:
    """RUN_DIR/analyze/<name>.json files that carry a plotly figure dict under "figure" (with
    `view`: only those made from its summary's activations)."""
    out = []
    for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = _dict(read_json_safe(f))
        if view is not None:
            data = view.current(data, f"analysis {f.stem}")
        figure = _dict(data.get("figure")) if data else None
        if data is None or figure is None:
            continue
        out.append(
            AnalysisView(
                name=f.stem,
                title=str(data.get("title") or f.stem.replace("_", " ")),
                caption=str(data.get("caption") or ""),
                figure=figure,
            )
        )
    return out
