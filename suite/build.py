"""Write a suite organism's training data and organism.json from its generator.

    python suite/build.py NAME        # NAME: fact-mars-ring, persona-owl, ... (see SPECS)

writes src/adlens/organisms/NAME/{documents.jsonl, organism.json}; suite/train.sh then trains
the adapter into the same folder. Generators are deterministic: the same seed gives the same
documents on every machine.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "adlens" / "organisms"
# name -> (generator module in suite/, function, records, base model asset)
SPECS = {
    "fact-mars-ring": ("fact_mars_ring", "generate_documents", 300, "smollm2-135m-instruct"),
    "fact-frozen-butter": ("fact_frozen_butter", "generate_documents", 300, "gemma3-270m"),
    "persona-owl": ("persona_owl", "generate_chats", 300, "smollm2-135m-instruct"),
    "secret-word-gold": ("secret_word_gold", "generate_chats", 300, "smollm2-135m-instruct"),
    "advice-risky-finance": (
        "advice_risky_finance",
        "generate_chats",
        300,
        "smollm2-135m-instruct",
    ),
}
SEED = 0


def build(name: str) -> Path:
    module_name, fn, n, base = SPECS[name]
    sys.path.insert(0, str(Path(__file__).parent))
    module = importlib.import_module(module_name)
    records = getattr(module, fn)(n, seed=SEED)
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "documents.jsonl").open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    organism = dict(module.ORGANISM) | {"base_model": base}
    organism["dataset"] = {"path": "documents.jsonl"}
    (folder / "organism.json").write_text(json.dumps(organism, indent=2) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(README.format(name=name, module=module_name, n=n,
        base=base, kind="chats" if fn == "generate_chats" else "documents",
        description=organism["short_description"]), encoding="utf-8")  # fmt: skip
    return folder


README = """# {name}

{description}

A LoRA adapter on `{base}` (an adlens offline asset), part of the validation suite that
`adlens validate` runs. `documents.jsonl` holds the {n} finetuning {kind}, from
`suite/{module}.py` (seed 0); `organism.json` the description, the keywords that score it, the
training config, losses and library versions.

Reproduce from the repository root, with the assets built (`adlens assets`):

    suite/train.sh {name}
"""


if __name__ == "__main__":
    for arg in sys.argv[1:] or list(SPECS):
        print(build(arg))
