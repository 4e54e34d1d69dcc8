"""Progress bars for long loops (rich), silent when disabled or when output is not a terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextlib.contextmanager
def progress_bar(
    description: str, total: int, enabled: bool = True
) -> Iterator[Callable[..., None]]:
    """Yield `advance(n, **fields)`; extra fields (e.g. loss=...) show after the bar."""
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
    ]
    with Progress(*columns, disable=not enabled, transient=False) as progress:
        task = progress.add_task(description, total=total, status="")

        def advance(n: int = 1, status: str = "") -> None:
            progress.update(task, advance=n, status=status)

        yield advance
