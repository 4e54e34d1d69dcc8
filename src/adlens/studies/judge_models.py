"""The judge check across local models and answer formats: for each model, a llama.cpp server of
its own (never the user's), and per judge role the check once with a JSON schema sent as the
response format ("auto") and once with the text protocol ("off"). The agent, whose replies are
tool calls that no judge schema covers, runs once per model.

The rows of every run land in one RUN_DIR/judges/check.json; check-table.md is the summary per
model and role that the README's judge table is made from.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from adlens.core.config import JudgeConfig
from adlens.errors import AdlensError
from adlens.studies.judge_check import check_judges, write_check
from adlens.studies.judge_figures import JudgeFigures, summarize

log = logging.getLogger(__name__)

SCHEMAS = ("auto", "off")


def schema_settings(requested: Sequence[str]) -> list[str]:
    """The `structured_output` settings to measure; [""] (the judge as it is) when this
    JudgeConfig has no such setting."""
    for value in requested:
        if value not in SCHEMAS:
            raise AdlensError(f"--schema: use {', '.join(SCHEMAS)} or both (got {value!r}).")
    if "structured_output" not in JudgeConfig.model_fields:
        log.warning("this adlens sends no JSON schema: the check measures the text protocol only")
        return [""]
    return list(dict.fromkeys(requested))


def with_schema(judge: JudgeConfig, schema: str) -> JudgeConfig:
    if not schema:
        return judge
    return JudgeConfig.model_validate({**judge.model_dump(), "structured_output": schema})


@contextlib.contextmanager
def local_model(
    model: str | None, state: Path, **start: Any
) -> Iterator[Callable[[JudgeFigures], None]]:
    """A server for `model` on its own state file, which `--judge local` reads meanwhile
    (ADLENS_LLM_STATE); stopped afterwards. Yields the check's `after_step`: a server that
    died during a step (llama.cpp can crash on a grammar) is noted on that row and started
    again. None: the judge as configured, no server."""
    if model is None:
        yield lambda fig: None
        return
    from adlens.judges.local_llm import read_state, stop
    from adlens.judges.local_llm import start as start_server

    def revive(fig: JudgeFigures) -> None:
        server = read_state(state)
        if server is not None and server.alive():
            return
        log.warning("the local LLM server died during the %s check: starting it again", fig.judge)
        keep = state.with_name(f"{state.stem}-crash-{fig.role or fig.judge}.log")
        with contextlib.suppress(OSError):
            state.with_name(state.stem + ".log").replace(keep)
        crashed = f"the local server crashed (its log: {keep})"
        fig.note = f"{fig.note}; {crashed}" if fig.note else crashed
        stop(state)
        start_server(model, state=state, **start)

    before = os.environ.get("ADLENS_LLM_STATE")
    os.environ["ADLENS_LLM_STATE"] = str(state)
    try:
        start_server(model, state=state, **start)
        yield revive
    finally:
        stop(state)
        if before is None:
            os.environ.pop("ADLENS_LLM_STATE", None)
        else:
            os.environ["ADLENS_LLM_STATE"] = before


def check_models(
    run_dir: Path | str,
    organism: Any,
    judge: JudgeConfig,
    *,
    models: Sequence[str | None] = (None,),
    schemas: Sequence[str] = SCHEMAS,
    agent_interactions: int | None = 5,
    server: dict[str, Any] | None = None,
    on_start: Callable[[str, str], None] | None = None,
    on_figures: Callable[[JudgeFigures], None] | None = None,
    **check: Any,
) -> dict[str, Any]:
    """The check for each model (a LOCAL_MODELS name or .gguf path, served locally for the
    duration; None: `judge` as configured) and each schema setting. `server`: options of
    `local_llm.start` (n_ctx, threads, wait_s). Returns and writes the pooled check."""
    settings = schema_settings(schemas)
    state = Path(run_dir) / "judges" / "check-llm" / "server.json"
    rows: list[dict[str, Any]] = []
    judges: list[str] = []
    pooled: dict[str, Any] = {}
    for model in models:
        with local_model(model, state, **(server or {})) as revive:
            for i, schema in enumerate(settings):
                if on_start is not None:
                    on_start(model or "the configured judge", schema)
                out = check_judges(
                    run_dir,
                    organism,
                    with_schema(judge, schema),
                    agent_interactions=agent_interactions if i == 0 else None,
                    model=model,
                    write=False,
                    on_figures=on_figures,
                    after_step=revive,
                    **check,
                )
                rows += out["rows"]
                judges.append(out["judge"])
                pooled = {
                    "judge": "; ".join(dict.fromkeys(judges)),
                    "organism": out["organism"],
                    "rows": rows,
                    "summary": summarize(rows),
                }
                write_check(Path(run_dir), pooled)  # after each run: an interrupt keeps them
    return pooled
