# SPDX-License-Identifier: MIT
"""The errors a user can fix, in one place.

Each kind names a thing the user controls: the data, a checkpoint or weights
file, a model name or option, or a resource (memory, disk). The CLI prints
exactly these as one line and exits with code 2; any other exception is a bug
in convzoo and keeps its traceback. Each kind also derives from the built-in
exception that Python code would expect (``ValueError``, ``OSError``), so
``except ValueError`` in a user's script keeps working.
"""

from __future__ import annotations


class ConvzooError(Exception):
    """Base of every error whose message tells the user what to change."""


class OptionError(ConvzooError, ValueError):
    """An unknown model name, or an option value that does not apply."""


class DataError(ConvzooError, ValueError):
    """Data that is missing, unreadable or corrupt."""


class CheckpointError(ConvzooError, ValueError):
    """A checkpoint or weights file that is missing, unsafe, corrupt, or for another model."""


class ResourceError(ConvzooError, OSError):
    """Out of memory or out of disk; the message says what was kept and what to try."""


class DivergedError(ConvzooError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


class ExportError(ConvzooError):
    """An exported or optimized model whose outputs disagree with the original's."""


class RunLockedError(ConvzooError):
    """Another live process is using the run directory."""


class OutputError(ConvzooError, OSError):
    """A path that cannot be written: read-only, a file where a folder is needed, or a symbolic link."""


class NotRegularFile(ConvzooError, OSError):
    """An input path that is not a regular file (a FIFO, socket, device, folder, or a link where none is
    followed): reading it could block or never end. ``strerror`` says what it is, e.g. ``"a FIFO (named pipe),
    not a regular file"``; ``str()`` names the path too."""

    def __str__(self) -> str:
        return f"{self.filename} is {self.strerror}" if self.filename else str(self.strerror)


def system_limit(error: BaseException) -> ResourceError | None:
    """A one-line :class:`ResourceError` for an ``OSError`` that the user fixes (full disk, read-only or
    permission-denied path) and that reached the CLI unhandled; ``None`` for any other error."""
    import errno

    if not isinstance(error, OSError) or error.errno not in {
        errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM
    }:  # fmt: skip
        return None
    where = f"{error.filename}: " if error.filename else ""
    return ResourceError(f"{where}{(error.strerror or str(error)).lower()}; free space, or choose another output")


def out_of_memory(error: BaseException, advice: str = "a smaller --batch-size or input size") -> ResourceError | None:
    """A one-line :class:`ResourceError` for running out of memory (Python's ``MemoryError``, torch's
    ``OutOfMemoryError`` on CUDA, the CPU allocator's plain ``RuntimeError``), or ``None`` for anything else."""
    message = str(error).strip().splitlines()[0][:120] if str(error).strip() else ""
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return ResourceError(f"out of memory; try {advice}" + (f" ({message})" if message else ""))
    if isinstance(error, RuntimeError) and "can't allocate memory" in str(error).lower():
        return ResourceError(f"out of memory; try {advice}")
    return None
