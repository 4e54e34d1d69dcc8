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
    return folder


if __name__ == "__main__":
    for arg in sys.argv[1:] or list(SPECS):
        print(build(arg))
