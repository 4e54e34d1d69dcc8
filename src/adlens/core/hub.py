"""Whether the Hugging Face hub can be reached, decided in seconds rather than after retries."""

from __future__ import annotations

import os
import urllib.request


def hub_unreachable() -> str | None:
    """Why the hub cannot be reached, or None when it can."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return "offline mode is set"
    try:
        urllib.request.urlopen(constants.ENDPOINT, timeout=5).close()  # honours proxy settings
    except Exception as err:
        return f"{constants.ENDPOINT} is not reachable: {type(err).__name__}"
    return None
