"""Model organisms: documents, training, and the bundled validation organisms (one folder
each: adapter, documents.jsonl, organism.json)."""

from pathlib import Path

BUNDLED = Path(__file__).parent  # the bundled organisms' folders live beside the code
