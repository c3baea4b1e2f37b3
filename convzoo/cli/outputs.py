# SPDX-License-Identifier: MIT
"""Where a command writes, checked before it spends minutes computing: the one-line errors of :mod:`convzoo.files`.

``train``, ``eval`` and ``export`` call these first, so that an ``--out`` that is a file, a read-only or
permission-denied folder, or a symbolic link planted where a result will go ends as one line (exit code 2)
before any training or evaluation, not as a traceback at the end. The writes themselves go through
:mod:`convzoo.files` as well (atomic, no writes through links).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import OutputError
from ..files import make_dir, output_error, refuse_link


def writable_dir(directory: str | Path) -> Path:
    """Refuse a ``directory`` that could not be created or written; creates nothing.

    The nearest existing folder on its path must be a folder (else :func:`make_dir` reports the file in the
    way) in which a file can be created (probed with a temporary file that is removed at once: permission
    bits do not stop root, a read-only mount does).
    """
    directory = Path(directory)
    existing = next((p for p in (directory, *directory.parents) if p.exists() or p.is_symlink()), Path.cwd())
    if not existing.is_dir():
        make_dir(directory)  # raises the one-line "... is a file, not a folder"
        raise OutputError(f"cannot write {directory}: {existing} is not a folder; choose another output")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise output_error(directory, error) from None
    return directory


def writable_file(path: str | Path) -> Path:
    """Refuse a file ``path`` that is a folder or a symbolic link, or whose folder cannot be written; creates
    nothing."""
    path = Path(path)
    refuse_link(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; choose a file name")
    writable_dir(path.parent)
    return path
