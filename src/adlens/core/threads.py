"""How many threads torch uses on the CPU: as many as the cores other processes leave free.

Every parallel region of a forward pass waits for its slowest thread. With two threads on two
cores and one core shared with a busy process, each region runs at the shared core's pace: the
collection engine measured 50 documents/s with 2 threads against 80 with 1 (141 on the idle
machine). So inside the heavy loops (collection, generation, Patchscope) the thread count follows
the free cores, measured from /proc/stat less this process's own time, and rechecked every few
seconds at the loop's batch boundaries.

`ADLENS_THREADS=N` pins the count at N. Without /proc/stat (not Linux) the count is left as is.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from adlens.errors import AdlensError

ENV = "ADLENS_THREADS"
RECHECK_S = 3.0  # seconds between two looks at the load
FIRST_LOOK_S = 0.2  # the shortest look that decides a count
_PROC_STAT = Path("/proc/stat")


def pinned_threads() -> int | None:
    """`ADLENS_THREADS` as a thread count, or None when it is unset."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise AdlensError(f"{ENV}={raw!r} is not a thread count; set a whole number >= 1.")
    return n


def _cpu_seconds() -> tuple[float, float] | None:
    """(busy CPU seconds of the whole machine, of this process) since boot, or None."""
    try:
        fields = _PROC_STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    jiffies = [int(x) for x in fields[1:]]
    idle = jiffies[3] + (jiffies[4] if len(jiffies) > 4 else 0)  # idle + iowait
    busy = sum(jiffies[:8]) - idle  # user nice system idle iowait irq softirq steal
    hz = os.sysconf("SC_CLK_TCK")
    own = os.times()
    return busy / hz, own.user + own.system


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class ThreadGovernor:
    """Sets torch's thread count to the free cores, at most `limit`, when `adjust` is called
    and `RECHECK_S` have passed since the last look."""

    def __init__(self, limit: int, recheck_s: float = RECHECK_S):
        self.limit = max(1, limit)
        self.recheck_s = recheck_s
        self.cores = _usable_cores()
        self._last: tuple[float, float, float] | None = None  # (wall, machine busy, own busy)
        self._look()

    def _look(self) -> float | None:
        """CPU cores other processes used since the last look (None on the first)."""
        now = _cpu_seconds()
        if now is None:
            return None
        wall = time.monotonic()
        last, self._last = self._last, (wall, *now)
        if last is None or wall - last[0] <= 0:
            return None
        others = (now[0] - last[1]) - (now[1] - last[2])
        return max(0.0, others / (wall - last[0]))

    def free_cores(self) -> float | None:
        """Cores other processes left free since the last look (None where unknown)."""
        others = self._look()
        return None if others is None else max(0.0, self.cores - others)

    def adjust(self, force: bool = False) -> int:
        """Recheck the load if due (or `force`) and set the thread count; returns it."""
        if self._last is None:
            return torch.get_num_threads()
        if force or time.monotonic() - self._last[0] >= self.recheck_s:
            free = self.free_cores()
            if free is not None:
                want = min(self.limit, max(1, int(free + 0.5)))
                if want != torch.get_num_threads():
                    torch.set_num_threads(want)
        return torch.get_num_threads()


_governor: ThreadGovernor | None = None  # one per process: its last look carries over
_depth = 0


@contextlib.contextmanager
def cpu_threads(device: str | torch.device = "cpu") -> Iterator[None]:
    """Within: torch's CPU thread count follows the free cores (see the module's docs), at
    most the count at entry; on exit the entry count is restored. `ADLENS_THREADS` pins it
    instead. A no-op off the CPU, and inside another `cpu_threads`."""
    global _governor, _depth
    if torch.device(device).type != "cpu" or _depth:
        yield
        return
    entry = torch.get_num_threads()
    pinned = pinned_threads()
    if pinned is None:
        if _governor is None:
            _governor = ThreadGovernor(entry)
            if _governor._last is not None:
                time.sleep(FIRST_LOOK_S)  # a first short look, so the run starts right
        _governor.limit = entry
        if _governor._last is not None and time.monotonic() - _governor._last[0] >= FIRST_LOOK_S:
            _governor.adjust(force=True)
    else:
        torch.set_num_threads(pinned)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        torch.set_num_threads(entry)


def adjust_threads() -> None:
    """At a batch boundary: let the active `cpu_threads` recheck the load (cheap when not due)."""
    if _depth and _governor is not None and pinned_threads() is None:
        _governor.adjust()
