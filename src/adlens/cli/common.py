"""What every command shares: the error console, logging, one-line errors, the --judge (and
--judge-role, --judge-max-tokens, --reasoning-effort) and --verbose options, and small readers
of user files."""

from __future__ import annotations

import functools
import logging
import re
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from adlens.core.config import JudgeConfig
from adlens.errors import AdlensError

console = Console(stderr=True)
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")]
# The evaluations load the run's models: these load them elsewhere, or in another dtype.
DeviceOverride = Annotated[str | None, typer.Option(help="Override the run's device.")]
DtypeOverride = Annotated[str | None, typer.Option(help="Override the run's dtype.")]


def setup_logging(verbose: bool) -> None:
    # peft asks transformers 5 for a renamed attribute; the warning says nothing to a user.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
        force=True,
    )
    # openai 3 talks through httpx2, which logs every request at INFO
    noisy_loggers = ("httpx", "httpx2", "httpcore2", "urllib3", "filelock", "huggingface_hub")
    for noisy in (*noisy_loggers, "datasets", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    except Exception:
        pass


def handle_errors(fn):
    """User errors become one red line and exit code 1; Ctrl-C says how to resume."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AdlensError as err:
            # One line, however long: no wrapping at the terminal's width.
            msg = re.sub(r"\s*\n\s*", " ", str(err).strip())
            # paths and values may hold [ ] or :x:, which rich would read as markup or emoji
            console.print(f"[red]error:[/red] {escape(msg)}", soft_wrap=True, emoji=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt as err:
            # The collection says what it kept; other stages keep what they finished.
            kept = str(err) or "finished stages and steering samples are kept"
            console.print(
                f"[yellow]interrupted:[/yellow] {escape(kept)}; rerun the same command to resume."
            )
            raise typer.Exit(130) from None

    return wrapper


JUDGE_BACKENDS = ("auto", "offline", "openai", "local")


def field_help(model: Any, name: str, extra: str = "") -> str:
    """An option's help, written once: the description of the config field it sets."""
    description = model.model_fields[name].description
    if not description:
        raise AssertionError(f"{model.__name__}.{name} has no description")
    return f"{description} {extra}".strip()


JudgeBackend = Annotated[
    str,
    typer.Option(
        "--judge",
        help=field_help(JudgeConfig, "backend"),
    ),
]


JudgeModel = Annotated[str | None, typer.Option(help="Judge model (default: $ADLENS_JUDGE_MODEL).")]
JudgeBaseUrl = Annotated[
    str | None,
    typer.Option(help="OpenAI-compatible URL (default: $ADLENS_JUDGE_BASE_URL, else OpenAI)."),
]
JudgeRoles = Annotated[
    list[str] | None,
    typer.Option("--judge-role", metavar="ROLE=MODEL", help=field_help(JudgeConfig, "roles")),
]
JudgeMaxTokens = Annotated[
    int | None,
    typer.Option(
        "--judge-max-tokens", help=field_help(JudgeConfig, "max_tokens", "Default 10000.")
    ),
]
ReasoningEffort = Annotated[
    str | None,
    typer.Option("--reasoning-effort", help=field_help(JudgeConfig, "reasoning_effort")),
]


def judge_config(
    backend: str,
    *,
    llm_only: bool = False,
    roles: list[str] | None = None,
    max_tokens: int | None = None,
    reasoning_effort: str | None = None,
    **shared: Any,
) -> JudgeConfig:
    """The JudgeConfig of a command's judge options (--judge, --judge-role, --judge-max-tokens,
    --reasoning-effort, and shared fields such as model or cache); a bad value is one line."""
    from adlens.core.judge_config import parse_role_specs

    return JudgeConfig(backend=judge_backend(backend, llm_only=llm_only)).with_overrides(
        roles=parse_role_specs(roles),
        max_tokens=max_tokens,
        reasoning_effort=reasoning_effort,
        **shared,
    )


def judge_backend(value: str, *, llm_only: bool = False) -> str:
    """Check a --judge value; `llm_only` for commands that cannot work offline."""
    allowed = tuple(b for b in JUDGE_BACKENDS if not (llm_only and b == "offline"))
    if value not in allowed:
        raise AdlensError(f"--judge: use one of {', '.join(allowed)} (got {value!r}).")
    return value


_TYPE_PARTS = ("int", "float", "str", "bool", "none")


def first_error(err: Any, flags: dict[tuple[str, ...], str] | None = None) -> str:
    """One line from a pydantic ValidationError: the flag and what is wrong with it.

    The flag is `flags[loc]` when given, else the field's own name (`batch_size` -> --batch-size);
    union and list members in the loc (`list[int]`, `0`) are left out."""
    e = err.errors()[0]
    loc = tuple(
        str(part)
        for part in e.get("loc", ())
        if isinstance(part, str) and "[" not in part and part not in _TYPE_PARTS
    )
    if (flags or {}).get(loc):
        where = flags[loc]  # type: ignore[index]
    elif loc:
        where = "--" + loc[-1].replace("_", "-")
    else:
        where = "input"
    return f"{where}: {_error_text(e)} (got {e.get('input')!r})."


def _error_text(e: dict[str, Any]) -> str:
    ctx = e.get("ctx") or {}
    bounds = {
        "greater_than_equal": ("must be at least", "ge"),
        "greater_than": ("must be greater than", "gt"),
        "less_than_equal": ("must be at most", "le"),
        "less_than": ("must be less than", "lt"),
    }
    if isinstance(e.get("input"), float) and e["input"] != e["input"]:
        return "must be a number, not NaN"
    if e.get("type") in bounds:
        text, key = bounds[e["type"]]
        return f"{text} {ctx.get(key)}"
    msg = str(e.get("msg", "invalid")).splitlines()[0]
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return msg.replace("Input should be", "must be")


def read_mapping(path: Path) -> dict[str, Any]:
    import json

    import yaml

    if not path.exists():
        raise AdlensError(f"Organism file {path} does not exist.")
    if path.is_dir():  # a folder that `adlens train` wrote
        from adlens.organisms.organism import ORGANISM_FILES

        found = next((path / n for n in ORGANISM_FILES if (path / n).is_file()), None)
        if found is None:
            raise AdlensError(f"No organism.json in {path}: pass an organism json/yaml file.")
        path = found
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except UnicodeDecodeError:  # a ValueError too: caught first
        raise AdlensError(f"Cannot read {path}: it is not UTF-8 text.") from None
    except OSError as err:
        raise AdlensError(f"Cannot read {path}: {err.strerror or err}.") from None
    except (ValueError, yaml.YAMLError) as err:
        raise AdlensError(f"Cannot read {path}: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise AdlensError(f"{path} must hold a mapping (name, type, short_description, ...).")
    return data
