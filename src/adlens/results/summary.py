"""summary.json: what a run found (its readings, plus context) and the stage hashes it was built
from. Later commands (report, evaluate, agent, analyze) read it through `Summary.load`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adlens.errors import AdlensError
from adlens.results.readings import Reading, select
from adlens.results.steering import SteerOverview
from adlens.store.rundir import RunDir, write_json


class ModelsInfo(BaseModel):
    """The compared pair as the run loaded it."""

    model_config = ConfigDict(extra="allow")

    base: str | None = None
    finetuned: str | None = None
    adapter: bool | None = None
    architecture: str | None = None
    n_layers: int | None = None
    d_model: int | None = None


class Counts(BaseModel):
    """Documents averaged over, dropped (too short), and requested."""

    documents: int = 0
    dropped: int = 0
    requested: int = 0


class Norms(BaseModel):
    """`expected`: per model, the expected residual norm of each collected layer;
    `per_position`: per kind (base, finetuned, diff, mean_diff), [layer][position] norms."""

    expected: dict[str, list[float]] = Field(default_factory=dict)
    per_position: dict[str, list[list[float]]] = Field(default_factory=dict)


class Summary(BaseModel):
    """A run's results: every reader's readings, the collection's context and, after steering,
    the steering overview.

    >>> s = Summary(layers=[3], positions=[0, 1], readers=[
    ...     Reading(reader="logit_lens", layer=3, position=1, variant="diff", tokens=[])])
    >>> [r.position for r in s.readings(reader="logit_lens")]
    [1]
    >>> Summary.model_validate_json(s.model_dump_json()) == s
    True
    """

    model_config = ConfigDict(extra="allow")

    adlens_version: str | None = None
    models: ModelsInfo = Field(default_factory=ModelsInfo)
    dataset: str | None = None
    layers: list[int] = Field(default_factory=list)
    positions: list[int] = Field(default_factory=list)
    bos_at_0: bool = True
    counts: Counts = Field(default_factory=Counts)
    norms: Norms = Field(default_factory=Norms)
    notes: list[str] = Field(default_factory=list)
    readers: list[Reading] = Field(default_factory=list)
    scale_chooser: str | None = None
    stages: dict[str, str] | None = None
    steer: SteerOverview | None = None

    def readings(
        self,
        reader: str | None = None,
        variant: str | None = None,
        layer: int | None = None,
        position: int | None = None,
        head: str | None = None,
    ) -> list[Reading]:
        """The readings that match every given field (None: any)."""
        return select(self.readers, reader, variant, layer, position, head)

    def reader_names(self) -> list[str]:
        """The readers with readings here, in the order they were run."""
        return list(dict.fromkeys(r.reader for r in self.readers))

    def to_json(self) -> dict[str, Any]:
        out = self.model_dump(mode="json", exclude_none=True)
        out["readers"] = [r.to_json() for r in self.readers]
        return out

    def save(self, path: Path) -> None:
        """Write atomically (a crash leaves the old file or the new one, never half of one)."""
        write_json(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> Summary:
        """Read and validate; a one-line AdlensError when the file is not a run summary."""
        try:
            return cls.model_validate_json(Path(path).read_bytes())
        except OSError as err:
            raise AdlensError(f"{path} is not readable ({err}).") from None
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise AdlensError(
                f"{path} does not hold a run summary ({where}: {first['msg']})."
            ) from None


def load_summary(rd: RunDir) -> Summary:
    """A run directory's summary.json, checked against the stages it names: an error when it
    belongs to other activations than those collected; a stage redone since is dropped.

    Args:
        rd: the run directory (`RunDir(path)`).

    Example:
        >>> summary = run(cfg, tmp / "run", show_progress=False)
        >>> load_summary(RunDir(tmp / "run")) == summary
        True
    """
    if not rd.summary_path.is_file():
        raise AdlensError(
            f"No summary.json in {rd.path}: run `adlens run ... --out {rd.path}` first."
        )
    summary = Summary.load(rd.summary_path)
    stages = summary.stages
    if stages is None:  # written before summaries named their stages
        return summary
    if stages.get("collect") != rd.done_hash("collect"):
        raise AdlensError(
            f"{rd.summary_path} does not belong to the activations in {rd.stage('collect')}"
            " (a command was interrupted between them, or files were copied in): rerun "
            "`adlens run` with the same options."
        )
    if "read" in stages and stages["read"] != rd.done_hash("read"):
        return summary.model_copy(
            update={"readers": [], "steer": None, "stages": {"collect": stages["collect"]}}
        )
    if "steer" in stages and stages["steer"] != rd.done_hash("steer"):
        kept = {k: v for k, v in stages.items() if k != "steer"}
        return summary.model_copy(update={"steer": None, "stages": kept})
    return summary
