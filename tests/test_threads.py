"""The CPU thread count follows the cores other processes leave free."""

from __future__ import annotations

import time

import pytest
import torch

from adlens.core import threads
from adlens.errors import AdlensError


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.delenv(threads.ENV, raising=False)
    monkeypatch.setattr(threads, "_governor", None)
    monkeypatch.setattr(threads, "FIRST_LOOK_S", 0.0)
    monkeypatch.setattr(threads, "_usable_cores", lambda: 4)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


class FakeClock:
    """/proc/stat and time as a test drives them: other processes use `others` cores."""

    def __init__(self, monkeypatch, others: float):
        self.t, self.machine, self.own, self.others = 100.0, 0.0, 0.0, others
        monkeypatch.setattr(threads, "_cpu_seconds", lambda: (self.machine, self.own))
        monkeypatch.setattr(threads.time, "monotonic", lambda: self.t)

    def advance(self, seconds: float, own_cores: float = 2.0) -> None:
        self.t += seconds
        self.own += own_cores * seconds
        self.machine += (own_cores + self.others) * seconds


@pytest.mark.parametrize(("others", "want"), [(0.0, 3), (1.0, 3), (2.2, 2), (3.6, 1)])
def test_the_count_is_the_free_cores_at_most_the_entry_count(monkeypatch, others, want):
    torch.set_num_threads(3)
    clock = FakeClock(monkeypatch, others)
    gov = threads.ThreadGovernor(limit=3)
    clock.advance(1.0)  # this process's own time never counts against it
    assert gov.adjust(force=True) == want == torch.get_num_threads()


def test_rechecks_only_when_due_and_follows_the_load(monkeypatch):
    torch.set_num_threads(4)
    clock = FakeClock(monkeypatch, others=3.0)
    gov = threads.ThreadGovernor(limit=4, recheck_s=3.0)
    clock.advance(1.0)
    assert gov.adjust(force=True) == 1
    clock.others = 0.0
    clock.advance(1.0)
    assert gov.adjust() == 1  # not due yet: no look
    clock.advance(2.5)
    assert gov.adjust() == 4  # the other process ended


def test_cpu_threads_restores_the_entry_count_and_nests(monkeypatch):
    torch.set_num_threads(4)
    clock = FakeClock(monkeypatch, others=3.0)
    clock.advance(1.0)
    with threads.cpu_threads("cpu"):
        with threads.cpu_threads("cpu"):  # inner: no new governor, no reset
            clock.advance(5.0)
            threads.adjust_threads()
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 4


def test_off_the_cpu_nothing_changes(monkeypatch):
    torch.set_num_threads(2)
    FakeClock(monkeypatch, others=3.0)
    with threads.cpu_threads("cuda"):
        threads.adjust_threads()
        assert torch.get_num_threads() == 2
    assert threads._governor is None


def test_env_pins_the_count(monkeypatch):
    torch.set_num_threads(2)
    monkeypatch.setenv(threads.ENV, "1")
    FakeClock(monkeypatch, others=0.0)
    with threads.cpu_threads("cpu"):
        threads.adjust_threads()
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("raw", ["0", "two", "-3"])
def test_a_bad_env_value_is_a_clear_error(monkeypatch, raw):
    monkeypatch.setenv(threads.ENV, raw)
    with pytest.raises(AdlensError, match="ADLENS_THREADS"), threads.cpu_threads("cpu"):
        pass


def test_the_real_counters_see_this_process_work():
    first = threads._cpu_seconds()
    if first is None:
        pytest.skip("no /proc/stat here")
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    machine, own = threads._cpu_seconds()
    assert own - first[1] >= 0.15  # this process's busy time
    assert machine - first[0] >= 0.1  # the machine's counters include it (1/HZ resolution)
