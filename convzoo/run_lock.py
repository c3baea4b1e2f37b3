# SPDX-License-Identifier: MIT
"""One process per run directory: ``run_dir/.lock``, held with ``flock`` for the life of the run.

Two runs writing the same ``last.pt`` would each overwrite the other's
checkpoint, and the survivor would resume from a mixture. So a run takes an
exclusive ``flock`` on ``run_dir/.lock`` and keeps the descriptor open until it
ends. The kernel drops the lock when the process dies, however it dies
(``kill -9``, out of memory), so a crashed run never needs a liveness guess: a
lock file nobody holds is stale by definition, even if the pid it names has
been reused by another program (after a reboot, or in a container).

Races. Taking a stale lock never deletes anything: the file is simply locked
and rewritten. Only the holder deletes it, on release, so a finished run leaves
no ``.lock`` behind. A process that opened the file just before that deletion
may then lock the deleted inode; it notices by comparing ``os.fstat`` of its
descriptor with ``os.stat`` of the path, and tries again on the new file.

The file records the holder as JSON (host, pid, ISO start time and the
process start time from ``/proc``), written after the lock is taken, so a
refusal can say who holds it and since when. A bare pid line from convzoo's
previous lock format is read too; it never blocks, since nobody holds it.

Limits. A process forked from the holder would share its lock (``flock``
belongs to the open file, not the process) and keep it after the holder dies;
forked children (e.g. data loader workers) therefore close their copy at once.
``flock`` may not span hosts on a shared (network) file system: a run on host
A may not see host B's lock. When the file names another host, a refusal says
how to check that host and remove ``.lock``, and a takeover warns. Where the
file system has no file locks at all (``ENOLCK``, ``EOPNOTSUPP``), the lock
falls back to creating the file with ``O_EXCL`` and says so: that is atomic,
but a crashed run's ``.lock`` must then be removed by hand, since guessing
that its owner is dead is exactly the race this module avoids.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import reprlib
import socket
import stat
import sys
from pathlib import Path

from . import files
from .errors import OutputError, RunLockedError

try:
    import fcntl
except ImportError:  # Windows: no flock; the O_EXCL fallback applies
    fcntl = None

LOCK_NAME = ".lock"
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS}
_ATTEMPTS = 20  # each retry means the holder released between our open and flock: rare, bounded anyway
_held_fds: set[int] = set()  # this process's lock descriptors, closed in forked children


def _close_inherited() -> None:
    """In a forked child, drop the inherited lock descriptors so the lock dies with its holder."""
    for fd in _held_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held_fds.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited)


def _process_start(pid: int | str = "self") -> str | None:
    """A process's start time in clock ticks after boot (``/proc/PID/stat`` field 22); tells a reused pid apart."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return None


def _whereabouts(holder: dict) -> str:
    """What became of a stale lock's recorded holder: ended, or its pid now someone else's (it holds no lock)."""
    pid = holder.get("pid")
    if holder.get("host") and holder["host"] != socket.gethostname():
        return f"pid {pid} on host {holder['host']} no longer holds it: make sure that run has stopped"
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return "its holder no longer holds it"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"pid {pid} has ended"
    except OSError:  # alive, another user's: a reused pid (a convzoo holder would still hold the lock)
        return f"pid {pid} has ended; that number now belongs to another process"
    recorded = holder.get("proc_start")
    if recorded is None:  # the previous format, or no /proc: which process runs as pid is unknown
        return f"pid {pid} runs but does not hold it: the number was reused, or that process let the lock go"
    if recorded == _process_start(pid):
        return f"pid {pid} still runs but no longer holds it"
    return f"pid {pid} has ended; that number now belongs to another process"


def _record() -> bytes:
    """The JSON that names this process as the holder."""
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    holder = {"host": socket.gethostname(), "pid": os.getpid(), "started": started, "proc_start": _process_start()}
    return (json.dumps(holder) + "\n").encode()


def _parse(text: bytes) -> dict:
    """The recorded holder: JSON, or the previous format's bare pid line, or ``{}`` if empty or unreadable.

    The file is anyone's to edit: only the known fields are kept, each a number or a string cut to
    :data:`_FIELD_CHARS`, so a refusal or a takeover note stays one short line.
    """
    try:
        holder = json.loads(text)
    except ValueError:
        holder = None
    if isinstance(holder, dict):
        return {key: _field(holder[key]) for key in ("host", "pid", "started", "proc_start") if key in holder}
    try:
        return {"pid": int(text.split()[0])}
    except (ValueError, IndexError):
        return {}


_FIELD_CHARS = 64


def _field(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return reprlib.repr(value)[:_FIELD_CHARS]
    if isinstance(value, int):
        return value if abs(value) < 2**63 else reprlib.repr(value)
    return value if len(value) <= _FIELD_CHARS else value[: _FIELD_CHARS - 3] + "..."


def _describe(holder: dict) -> str:
    """``pid 123 on host gpu7 since 2026-12-01T09:00:00+01:00``, with whatever parts are known."""
    parts = [f"pid {holder.get('pid', 'unknown')}"]
    if holder.get("host"):
        parts.append(f"on host {holder['host']}")
    if holder.get("started"):
        parts.append(f"since {holder['started']}")
    return " ".join(parts)


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (the holder may have deleted it meanwhile)."""
    try:
        here, there = os.fstat(fd), os.lstat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


class RunLock:
    """``with RunLock(run_dir):`` holds ``run_dir/.lock`` for this process, or raises :class:`RunLockedError`.

    A second ``RunLock`` on the same directory is refused even in the same
    process; ``acquire`` twice on one ``RunLock`` is harmless.
    """

    def __init__(self, run_dir: str | Path, enabled: bool = True) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self.enabled = enabled
        self.held = False
        self._fd: int | None = None
        self._pid: int | None = None  # the holder; a forked copy of this object must not release

    def acquire(self) -> RunLock:
        if not self.enabled or self.held:
            return self
        files.make_dir(self.path.parent)
        for _ in range(_ATTEMPTS):
            fd, created = self._open()
            try:
                if self._lock(fd, created):
                    return self._take(fd)
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # we locked a file the holder deleted on release: lock the new one
        raise RunLockedError(f"could not lock {self.path.parent}: other runs keep taking and releasing it; try again")

    def _open(self) -> tuple[int, bool]:
        """Open the lock file, creating it if missing; says whether this call created it.

        Never through a link and never blocking (``O_NOFOLLOW``, ``O_NONBLOCK``): a link planted as ``.lock``
        would have the lock record written over its target, a dangling one made this loop spin for ever, and a
        FIFO would block ``open``. Anything but a regular file is refused with one line.
        """
        flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        for _ in range(_ATTEMPTS):
            try:
                return self._regular(os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o644)), True
            except FileExistsError:
                pass
            except OSError as error:
                raise files.output_error(self.path, error) from None
            try:
                return self._regular(os.open(self.path, flags)), False
            except FileNotFoundError:  # released in between: create it
                continue
            except OSError as error:
                if error.errno == errno.ELOOP:
                    raise self._planted("a symbolic link") from None
                if error.errno == errno.ENXIO:
                    raise self._planted("a socket") from None
                raise files.output_error(self.path, error) from None
        raise RunLockedError(f"could not open {self.path}: it keeps appearing and disappearing; try again")

    def _regular(self, fd: int) -> int:
        """``fd`` if it is a regular file, else closed and refused (a FIFO, a device, a folder named ``.lock``)."""
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):
            return fd
        os.close(fd)
        raise self._planted(files.kind_of(mode))

    def _planted(self, kind: str) -> OutputError:
        return OutputError(
            f"{self.path} is {kind}, not a lock file convzoo wrote; convzoo does not use it: remove it, or choose "
            "another --out"
        )

    def _lock(self, fd: int, created: bool) -> bool:
        """Lock ``fd``: True when held, False when the file was deleted meanwhile; raises if someone holds it."""
        try:
            if fcntl is None:
                raise OSError(errno.ENOSYS, "no fcntl on this platform")
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise self._refusal(_parse(os.pread(fd, 4096, 0))) from None
        except OSError as error:
            if error.errno not in _NO_LOCKS:
                raise
            return self._exclusive(fd, created, error)
        return _same_file(fd, self.path)

    def _exclusive(self, fd: int, created: bool, error: OSError) -> bool:
        """No file locks here: whoever created the file holds it; a leftover file must be removed by hand."""
        if not created:
            holder = _parse(os.pread(fd, 4096, 0))
            raise RunLockedError(
                f"{self.path.parent} has a lock file ({_describe(holder)}) and its file system has no file locks "
                f"({os.strerror(error.errno)}), so convzoo cannot tell whether that run still lives: stop it, or if "
                f"it has ended, remove {self.path}"
            ) from None
        print(
            f"convzoo: {self.path.parent} has no file locks ({os.strerror(error.errno)}); using a plain lock file: "
            f"if this run is killed, remove {self.path} before the next one",
            file=sys.stderr,
        )
        return True

    def _refusal(self, holder: dict) -> RunLockedError:
        """The one-line refusal: who holds the lock, since when, and how to take it over safely."""
        here = socket.gethostname()
        message = f"{self.path.parent} is in use by another run ({_describe(holder)})"
        if holder.get("pid") == os.getpid() and holder.get("host") == here:
            return RunLockedError(message + ", this very process: release its first lock before taking another")
        if holder.get("host") and holder["host"] != here:
            message += (
                f"; stop that run on host {holder['host']} (file locks may not span hosts: there, check "
                f"`ps -p {holder.get('pid')}`, and if it is not running, remove {self.path}), or choose another --out"
            )
        else:
            message += f"; wait for it, stop it (kill {holder.get('pid', '<pid>')}), or choose another --out"
        return RunLockedError(message)

    def _take(self, fd: int) -> RunLock:
        """We hold the lock on the right file: report a stale holder, then record ourselves."""
        previous = _parse(os.pread(fd, 4096, 0))
        if previous:
            note = f"convzoo: taking over the stale lock of {self.path.parent} ({_whereabouts(previous)}"
            if previous.get("started"):
                note += f"; it held it since {previous['started']}"
            print(note + ")", file=sys.stderr)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _record(), 0)
        self._fd, self._pid, self.held = fd, os.getpid(), True
        _held_fds.add(fd)
        return self

    def release(self) -> None:
        """Delete the lock file while still holding it, then close: the next run starts clean."""
        if not self.held or self._pid != os.getpid():
            self.held = False
            return
        fd, self._fd, self.held = self._fd, None, False
        _held_fds.discard(fd)
        try:
            if _same_file(fd, self.path):  # never delete a file someone else put there
                self.path.unlink(missing_ok=True)
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()
