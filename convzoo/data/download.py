"""Downloads that never leave a broken file behind: stream to a temporary file, verify, then rename."""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import DataError

CHUNK = 1 << 20


def md5_of(path: str | Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_or_downloaded(url: str, destination: str | Path, md5: str) -> Path:
    """``destination`` if it is there with the right MD5, else downloaded; a file already there is never trusted unchecked."""
    destination = Path(destination)
    if not destination.exists():
        return download(url, destination, md5)
    actual = md5_of(destination)
    if actual != md5:
        raise DataError(
            f"{destination} has MD5 {actual}, expected {md5} (an altered or incomplete file): delete it and run again to download it"
        )
    return destination


def download(url: str, destination: str | Path, md5: str, *, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``destination`` and check its MD5; on any failure nothing is left at ``destination``."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            expected = response.headers.get("Content-Length")
            received = 0
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                received += len(block)
        if expected is not None and received != int(expected):
            raise DataError(f"download of {url} stopped after {received} of {expected} bytes; try again")
        actual = md5_of(partial)
        if actual != md5:
            raise DataError(f"download of {url} has MD5 {actual}, expected {md5}: the file is not the one expected")
        os.replace(partial, destination)
        return destination
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError, OSError) as error:
        if isinstance(error, DataError):
            raise
        reason = getattr(error, "reason", error)
        raise DataError(f"cannot download {url}: {reason}") from None
    finally:
        partial.unlink(missing_ok=True)
