"""adlens: the Activation Difference Lens.

The public API; everything a notebook needs is importable from here::

    import adlens

    cfg = adlens.RunConfig(models=adlens.ModelsConfig(finetuned="path/to/adapter"))
    summary = adlens.run(cfg, "runs/nb")
    for reading in summary.readings(variant="diff"):
        print(reading.reader, reading.layer, reading.position, reading.words(10))

Names load on first use, so `import adlens` stays cheap (torch and transformers load only when a
name that needs them is used).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    # configs
    "RunConfig": "adlens.core.config",
    "ModelsConfig": "adlens.core.config",
    "CollectConfig": "adlens.core.config",
    "ReadConfig": "adlens.core.config",
    "DiffMineConfig": "adlens.core.config",
    "WeightsConfig": "adlens.core.config",
    "ContrastiveConfig": "adlens.core.config",
    "SteerConfig": "adlens.core.config",
    "JudgeConfig": "adlens.core.config",
    "TextSource": "adlens.core.data",
    # the method, step by step
    "ModelPair": "adlens.core.models",
    "ActivationDiff": "adlens.core.activations",
    "collect": "adlens.core.collect",
    "logit_lens": "adlens.core.lens",
    "patchscope": "adlens.core.patchscope",
    "steering_vector": "adlens.core.steer",
    "generate": "adlens.core.steer",
    # readers as plug-ins
    "ReaderSpec": "adlens.core.readers",
    "ReadContext": "adlens.core.readers",
    "ReaderOutput": "adlens.core.readers",
    "register_reader": "adlens.core.readers",
    "unregister_reader": "adlens.core.readers",
    "reader_specs": "adlens.core.readers",
    # typed results
    "Reading": "adlens.results.readings",
    "TokenProb": "adlens.results.readings",
    "Summary": "adlens.results.summary",
    "SteerOverview": "adlens.results.steering",
    "load_summary": "adlens.results.summary",
    # the whole run, cached in a run directory
    "run": "adlens.pipeline.stages",
    "load_pair": "adlens.pipeline.stages",
    "prepare_inputs": "adlens.pipeline.stages",
    "RunDir": "adlens.store.rundir",
    "load_run": "adlens.report.load",
    "build_report": "adlens.report",
    # organisms and evaluation
    "Organism": "adlens.organisms.organism",
    "load_organism": "adlens.organisms.organism",
    "evaluate_relevance": "adlens.evaluate.relevance",
    "AdlensError": "adlens.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'adlens' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
