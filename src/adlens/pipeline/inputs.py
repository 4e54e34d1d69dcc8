"""Every input of a run checked before any heavy work (models, datasets, judges, flags).

`check_run_inputs` looks only at the config, this torch build and the environment: it costs
milliseconds, creates nothing and loads nothing, so a bad flag fails before the run directory
exists. The dataset is checked by `data.check_source` (it parses local files).
"""

from __future__ import annotations

import logging
import math
import os
from urllib.parse import urlparse

import torch

from adlens.core.config import JudgeConfig, RunConfig
from adlens.errors import AdlensError

log = logging.getLogger(__name__)

DEVICE_TYPES = ("cpu", "cuda", "mps")
CHAT_TEMPLATE_LABELS = 3  # chat corpora also read the last 3 prompt tokens, labels -3..-1


def check_run_inputs(config: RunConfig, *, read: bool, steer: bool | None) -> None:
    """Raise AdlensError, with one line naming the input, for anything the run cannot use.

    `steer` None means config.steer.enabled (as in `pipeline.run`)."""
    steer = read and (config.steer.enabled if steer is None else steer)
    device = check_device(config.models.device)
    check_dtype(config.models.dtype, device)
    check_layers(config.collect.layers)
    if steer:
        check_steer_positions(config.steer.positions, config.collect.positions)
    if read:  # the Patchscope scale tournament, when an LLM runs it
        check_judge(config.judge.for_role("tournament"), steer=False)
    if steer:
        check_judge(config.judge.for_role("coherence"), steer=True)


def check_device(device: str) -> torch.device:
    """The device `device` names, checked against this torch build and machine."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise AdlensError(
            f"--device {device}: not a device; use auto, cpu, cuda, cuda:N or mps."
        ) from None
    if dev.type not in DEVICE_TYPES:
        raise AdlensError(f"--device {device}: adlens runs on auto, cpu, cuda, cuda:N or mps.")
    if dev.type == "cuda":
        if torch.version.cuda is None and torch.version.hip is None:
            raise AdlensError(
                f"--device {device}: this torch build has no CUDA (CPU only); use --device cpu."
            )
        if not torch.cuda.is_available():
            raise AdlensError(
                f"--device {device}: no CUDA GPU is visible to torch (driver or "
                "CUDA_VISIBLE_DEVICES?); use --device cpu."
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise AdlensError(
                f"--device {device}: there are {count} CUDA device(s) (cuda:0..cuda:{count - 1})."
            )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        why = (
            "this torch build has no MPS"
            if not torch.backends.mps.is_built()
            else "MPS is not available on this machine"
        )
        raise AdlensError(f"--device {device}: {why}; use --device cpu.")
    return dev


def check_dtype(dtype: str, device: torch.device | None) -> None:
    from adlens.core.model_loading import DTYPES, MIXED

    if dtype not in ("auto", MIXED) and dtype not in DTYPES:
        raise AdlensError(
            f"--dtype {dtype}: unknown; use one of auto, {', '.join(DTYPES)}, {MIXED}."
        )
    if dtype == "float16" and device is not None and device.type == "cpu":
        # It works, but CPUs compute half precision slowly and its range overflows easily.
        log.warning("--dtype float16 on the CPU is slow and may overflow; float32 is the default.")


def check_layers(layers: list[float | int]) -> None:
    """Fractions must lie in [0, 1]; indices are checked against the model once it is loaded."""
    for spec in layers:
        if isinstance(spec, float) and not (math.isfinite(spec) and 0.0 <= spec <= 1.0):
            raise AdlensError(
                f"--layers: fraction {spec} is outside [0, 1]; give a fraction like 0.5 or an "
                "index like 12."
            )


def check_steer_positions(positions: str | list[int], k: int) -> None:
    """Listed positions must be labels the collection reads: 0..k-1, and -3..-1 (the chat
    template's tokens, read for chat corpora only; the corpus kind is known later)."""
    if isinstance(positions, str):
        return
    for p in positions:
        if p >= k or p < -CHAT_TEMPLATE_LABELS:
            raise AdlensError(
                f"--steer-positions: {p} is not a collected position; use 0..{k - 1} "
                f"(--positions {k}), or -{CHAT_TEMPLATE_LABELS}..-1 for a chat corpus."
            )


def check_judge(cfg: JudgeConfig, *, steer: bool) -> None:
    """The LLM judge, when one will be called: steering (`cfg`: the coherence role's config),
    or an LLM choosing Patchscope scales (the tournament role's). Backend auto and no model
    uses the offline judges, which need nothing."""
    from adlens.judges.endpoint import ENV_BASE_URL, ENV_MODEL, env_model, resolve_api_key, uses_llm

    if not uses_llm(cfg):
        return
    what = "steering" if steer else "the Patchscope scale choice"
    if cfg.backend == "local":
        from adlens.judges.local_llm import running

        try:
            running()
        except AdlensError as err:
            raise AdlensError(f"--judge local ({what}): {err}.") from None
        return
    model = cfg.model or env_model()
    if not model:
        raise AdlensError(
            f"--judge {cfg.backend} ({what}) needs a judge model: set {ENV_MODEL} (and "
            f"{ENV_BASE_URL} for a server other than OpenAI's), or use --judge offline."
        )
    base_url = check_base_url(cfg.base_url)
    # The same lookup the client makes, so the error names the same variables.
    resolve_api_key(base_url.rstrip("/"), cfg.api_key_env)


def check_number(
    flag: str,
    value: float | None,
    *,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
) -> None:
    """A numeric flag in range, NaN refused; one line naming the flag. None: not given."""
    if value is None:
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise AdlensError(f"{flag}: must be a finite number (got {value}).")
    if at_least is not None and value < at_least:
        raise AdlensError(f"{flag}: must be at least {at_least:g} (got {value:g}).")
    if above is not None and value <= above:
        raise AdlensError(f"{flag}: must be greater than {above:g} (got {value:g}).")
    if at_most is not None and value > at_most:
        raise AdlensError(f"{flag}: must be at most {at_most:g} (got {value:g}).")


def check_base_url(base_url: str | None) -> str:
    """The judge/agent server URL (given, else $ADLENS_JUDGE_BASE_URL, else OpenAI's), checked
    to be an http(s) URL with a host and a numeric port."""
    from adlens.judges.endpoint import DEFAULT_BASE_URL, ENV_BASE_URL

    from_env = base_url is None and bool(os.environ.get(ENV_BASE_URL))
    url = base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    parsed = urlparse(url)
    where = f" (from {ENV_BASE_URL})" if from_env else ""
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise AdlensError(
            f"base URL {url!r}{where} is not an http(s) URL; give one like "
            "https://openrouter.ai/api/v1 or http://localhost:8080/v1."
        )
    try:
        parsed.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise AdlensError(f"base URL {url!r}{where} has a bad port.") from None
    return url
