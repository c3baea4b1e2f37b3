# SPDX-License-Identifier: MIT
"""Reading a ``torch.save`` file someone else may have written, without running code from it.

Unpickling can run arbitrary code, so a file is refused unread unless it is a zip archive (the format
``torch.save`` has written since 1.6; the legacy tar/pickle formats are refused, since older torch
releases did not restrict them even with ``weights_only=True``: CVE-2025-32434) whose entries are
stored uncompressed, as ``torch.save`` stores them. It is then read with
``torch.load(weights_only=True)``, whose unpickler admits only tensors and plain containers: a crafted
pickle fails before any of its code runs. See docs/design-notes.md for why this and not
safetensors + JSON.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import torch

from .. import files
from ..errors import CheckpointError
from .plain_data import check_bounds

ZIP_LOCAL_HEADER = b"PK\x03\x04"  # how every zip archive, and so every torch.save file, begins


def read_plain(path: str | Path, what: str = "checkpoint") -> Any:
    """``torch.load`` a file that may hold only tensors and plain containers; never runs code from it.

    The file is opened once, without blocking (a FIFO named ``last.pt`` is refused, not waited on), checked as
    an archive, loaded from that same descriptor, and its plain data bounded (:func:`check_bounds`) before the
    caller walks it.
    """
    path = Path(path)
    try:
        file = files.open_input(path)
    except FileNotFoundError:
        raise CheckpointError(f"{what} {path} does not exist") from None
    except files.NotRegularFile as error:
        raise CheckpointError(f"{what} {path} is {error.strerror}; pass a file") from None
    except OSError as error:
        raise CheckpointError(f"cannot read {what} {path} ({(error.strerror or str(error)).lower()})") from None
    with file:
        check_archive(file, path)
        file.seek(0)
        try:
            payload = torch.load(file, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as error:
            first = str(error).strip().splitlines()
            detail = next(
                (line for line in first if "GLOBAL" in line or "Unsupported" in line), first[0] if first else ""
            )
            raise CheckpointError(
                f"{path} holds objects other than tensors and plain data, refused unread ({detail.strip()[:200]})"
            ) from None
        except (RuntimeError, EOFError, KeyError, ValueError, zipfile.BadZipFile, OSError, RecursionError) as error:
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CheckpointError(f"{path} is truncated or corrupt ({message[:200]})") from None
    check_bounds(payload, f"{what} {path}")
    return payload


def check_archive(file: BinaryIO, path: Path) -> None:
    """Refuse, unread, what ``torch.save`` never writes, before ``torch.load`` looks at it.

    - torch picks its reader by the *leading* bytes (``PK\\x03\\x04``: zip), while ``zipfile.is_zipfile`` looks
      at the *end* of the file: a polyglot (a legacy pickle with a zip appended) passes the latter and reaches
      the legacy unpickler, which torch < 2.6 did not restrict (CVE-2025-32434). So the leading bytes decide.
    - ``torch.save`` stores every entry uncompressed. A compressed entry can only come from a crafted file,
      and a deflate bomb would cost gigabytes of memory before any check: refused from the zip directory.
    """
    not_torch = "convzoo does not unpickle such files, since that could run code"
    leading = file.read(len(ZIP_LOCAL_HEADER))
    if leading != ZIP_LOCAL_HEADER:
        raise CheckpointError(
            f"{path} is not a torch.save zip file (a raw pickle, a legacy-format or truncated file); {not_torch}"
        )
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(f"{path} is truncated or corrupt ({error})") from None
    compressed = [entry.filename for entry in entries if entry.compress_type != zipfile.ZIP_STORED]
    if compressed:
        raise CheckpointError(
            f"{path} has compressed entries ({compressed[0][:80]}, ...), which torch.save never writes; refused unread"
        )
