"""One process per run directory: a lock file holding the owner's pid.

Two runs writing the same ``last.pt`` would each overwrite the other's
checkpoint, and the survivor would resume from a mixture. The lock is created
with ``O_EXCL`` (atomic on local file systems); a lock whose process is no
longer alive (a crash, ``kill -9``, a lost node) is taken over with a message,
since a dead owner cannot be hurt by it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import RunLockedError

LOCK_NAME = ".lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


class RunLock:
    """``with RunLock(run_dir):`` holds ``run_dir/.lock`` for this process; refuses a live owner."""

    def __init__(self, run_dir: str | Path, enabled: bool = True) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self.enabled = enabled
        self.held = False

    def acquire(self) -> RunLock:
        if not self.enabled:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and owner != os.getpid() and _alive(owner):
                    raise RunLockedError(
                        f"{self.path.parent} is in use by another run (pid {owner}); wait for it, stop it, "
                        "or choose another --out"
                    ) from None
                print(
                    f"convzoo: taking over the stale lock of {self.path.parent} (pid {owner} is gone)", file=sys.stderr
                )
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(handle, "w") as file:
                file.write(f"{os.getpid()}\n")
            self.held = True
            return self
        raise RunLockedError(f"could not lock {self.path.parent}: another process keeps taking it")

    def _owner(self) -> int | None:
        try:
            return int(self.path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def release(self) -> None:
        if self.held and self._owner() == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> RunLock:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()
