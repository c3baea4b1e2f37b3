# SPDX-License-Identifier: MIT
"""Stop on a signal at the next safe point, so the work done so far is saved, not lost.

Schedulers stop jobs with signals: SLURM sends SIGTERM at the time limit (and,
with ``--signal=USR1@90``, SIGUSR1 some seconds before it), Kubernetes and spot
instances send SIGTERM before killing a pod, a person presses Ctrl-C (SIGINT).
Python's default for SIGTERM and SIGUSR1 is to die at once, losing everything
since the last checkpoint. :class:`GracefulStop` turns each of the three into a
*request*: the handler only records the signal, and the loop that owns the
state checks ``requested`` between steps, saves an exact checkpoint and
returns. A second Ctrl-C while stopping raises ``KeyboardInterrupt`` at once,
for a user who does not want to wait.

Exit codes follow the shell's convention, 128 + the signal number: 130 for
SIGINT, 143 for SIGTERM, 138 for SIGUSR1.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType


class ImmediateStop(KeyboardInterrupt):
    """A second Ctrl-C: stop now, mid-step; the last checkpoint stays as it was."""


SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGUSR1", None)) if s is not None)


class WorkerSignals:
    """A ``DataLoader``'s ``worker_init_fn`` that leaves the stop signals to the main process.

    SLURM's time limit, ``docker stop`` of a shell, Kubernetes and systemd signal *every* process of the job. A
    worker that died of that SIGTERM would make the main process raise "DataLoader worker … killed by signal"
    mid-step, and no checkpoint would be written. So a worker ignores SIGINT and SIGUSR1, and SIGTERM too until
    the main process is shutting down (``release()``, also called at its exit): only then does SIGTERM, which
    multiprocessing sends to end leftover workers at exit, end a worker. The main process meanwhile finishes its
    step, saves an exact checkpoint and shuts its workers down itself; a worker whose main process died ends on
    its own (``DataLoader``'s watchdog).
    """

    def __init__(self) -> None:
        import atexit
        import multiprocessing

        self._released = multiprocessing.Event()
        atexit.register(self.release)  # runs before multiprocessing's own exit hook, which terminates workers

    def release(self) -> None:
        """From now on a SIGTERM ends the workers (the main process is shutting them down)."""
        self._released.set()

    def __call__(self, _worker_id: int = 0) -> None:
        released = self._released

        def on_sigterm(number: int, frame: FrameType | None) -> None:
            if released.is_set():
                os._exit(0)

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if hasattr(signal, "SIGUSR1"):
            signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, on_sigterm)


class _SignalScope:
    """Installs ``self._handle`` for the stop signals while the ``with`` block runs (main thread only)."""

    def __init__(self) -> None:
        self._previous: dict[int, object] = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        raise NotImplementedError


class GracefulStop(_SignalScope):
    """A context manager that records the first stop signal instead of dying (main thread only)."""

    def __init__(self) -> None:
        super().__init__()
        self.signal: int | None = None

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.signal is not None and number == signal.SIGINT:
            raise ImmediateStop  # a second Ctrl-C: stop now
        if self.signal is None:
            self.signal = number

    def request(self, number: int = signal.SIGINT) -> None:
        """Ask to stop as if ``number`` had arrived (a callback or a test can do this)."""
        if self.signal is None:
            self.signal = number

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else ""

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signal) if self.signal is not None else 0


class StopSignal(KeyboardInterrupt):
    """A stop signal turned into an exception, for work that is redone from its last finished phase."""

    def __init__(self, number: int) -> None:
        super().__init__(signal.Signals(number).name)
        self.signal = number

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signal)


class RaiseOnStop(_SignalScope):
    """A context manager: SIGINT, SIGTERM and SIGUSR1 raise :class:`StopSignal` at once (main thread only).

    For work made of short phases that are each saved when finished (``convzoo compare``): abandoning the
    phase in progress loses at most that phase, and the user does not wait for it to end.
    """

    def _handle(self, number: int, frame: FrameType | None) -> None:
        raise StopSignal(number)
