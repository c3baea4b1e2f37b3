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
