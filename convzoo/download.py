# SPDX-License-Identifier: MIT
"""Downloads that never leave a broken file behind: stream to a temporary file, verify, then rename.

Every download in convzoo (datasets, released weights) goes through
:func:`download`. It checks the file's digest (MD5 for the datasets, whose
publishers give MD5; SHA-256 for weights, whose file names carry its prefix as
torchvision's do) before the file appears under its name, so an interrupted,
truncated or altered download can never be mistaken for a good one.

``$CONVZOO_MIRROR`` points every download at a mirror: the scheme and host of
each URL are replaced by it, the path is kept
(``https://download.pytorch.org/models/x.pth`` → ``$CONVZOO_MIRROR/models/x.pth``).
Companies that mirror the internet use it, and so do the tests, with a server
on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

from . import files
from .errors import ConvzooError, DataError

CHUNK = 1 << 20
MIRROR_VARIABLE = "CONVZOO_MIRROR"


INFLATED_LIMIT = 1 << 30  # the most a gzip file is inflated to be hashed: far above any dataset file it verifies


def digest_of(path: str | Path, algorithm: str = "sha256", *, inflated: bool = False) -> str:
    """The hex digest of a file, read in 1 MiB blocks; with ``inflated``, of what a gzip file inflates to (a file
    that is not gzip is hashed as it is): the identity of the content, whatever compressed it."""
    digest = hashlib.new(algorithm)
    with files.open_input(path) as file:  # a FIFO where a dataset file should be: refused, not waited on
        gzipped = inflated and file.read(2) == b"\x1f\x8b"
        file.seek(0)
        if not gzipped:
            for block in iter(lambda: file.read(CHUNK), b""):
                digest.update(block)
            return digest.hexdigest()
        total = 0
        try:
            with gzip.GzipFile(fileobj=file) as content:
                for block in iter(lambda: content.read(CHUNK), b""):
                    total += len(block)
                    if total > INFLATED_LIMIT:
                        raise DataError(f"{path} inflates past {INFLATED_LIMIT >> 20} MiB: not a dataset file")
                    digest.update(block)
        except (EOFError, OSError, zlib.error) as error:
            raise DataError(f"{path} is corrupt or truncated ({error}); delete it and fetch it again") from None
    return digest.hexdigest()


def md5_of(path: str | Path) -> str:
    return digest_of(path, "md5")


DIGEST_CACHE = "verified-digests.json"  # in the user's cache directory (``$XDG_CACHE_HOME/convzoo``)


def _digest_cache_path() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "convzoo" / DIGEST_CACHE


def cached_digest_of(path: str | Path, algorithm: str = "md5", *, inflated: bool = False) -> str:
    """``digest_of(path)``, remembered under the file's resolved path, size and mtime (ns).

    A dataset is verified every time it is found, so each run would hash its files again (a second or
    more for full Fashion-MNIST, minutes for larger sets). The digest is kept in the user's cache
    directory, one JSON file for all datasets wherever they lie (a dataset directory such as
    /usr/share/datasets may be read-only, so the cache cannot sit beside it). Any change of size or
    mtime misses the cache and hashes again; a cache that cannot be read or written only costs the
    hash. ``inflated``: the digest of a gzip file's content (:func:`digest_of`), cached under its own key.
    """
    path = Path(path)
    stat = path.stat()
    key = f"{algorithm}{'+inflated' if inflated else ''}:{path.resolve()}"
    stamp = [stat.st_size, stat.st_mtime_ns]
    cache_path = _digest_cache_path()
    try:
        cache = json.loads(files.read_input(cache_path, limit=files.READ_LIMIT))
    except (OSError, ValueError):
        cache = {}
    entry = cache.get(key) if isinstance(cache, dict) else None
    if isinstance(entry, list) and entry[:2] == stamp and len(entry) == 3:
        return entry[2]
    digest = digest_of(path, algorithm, inflated=True) if inflated else digest_of(path, algorithm)
    cache = cache if isinstance(cache, dict) else {}
    cache[key] = [*stamp, digest]
    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_path.with_name(f"{cache_path.name}.{os.getpid()}.part")
        partial.write_text(json.dumps(cache, indent=0))
        os.replace(partial, cache_path)
    except OSError:
        pass
    return digest


def mirrored(url: str) -> str:
    """``url`` with its scheme and host replaced by ``$CONVZOO_MIRROR`` when that is set."""
    mirror = os.environ.get(MIRROR_VARIABLE, "").strip()
    if not mirror:
        return url
    parts = urllib.parse.urlsplit(url)
    return mirror.rstrip("/") + urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))


def digest_matches(actual: str, expected: str) -> bool:
    """A full digest, or a prefix of at least 8 hex digits (torchvision's file names carry one)."""
    return len(expected) >= 8 and actual.startswith(expected.lower())


def verified(
    path: Path, expected: str | None, *, algorithm: str = "sha256", error: type[ConvzooError] = DataError
) -> Path:
    """``path`` if its digest is ``expected`` (``None``: nothing to check); otherwise an error naming both."""
    if expected is None:
        return path
    actual = digest_of(path, algorithm)
    if not digest_matches(actual, expected):
        raise error(
            f"{path} has {algorithm.upper()} {actual}, expected {expected} (an altered or incomplete file): "
            "delete it and run again to download it"
        )
    return path


def verified_or_downloaded(url: str, destination: str | Path, md5: str) -> Path:
    """``destination`` if it is there with the right MD5, else downloaded; a file already there is never trusted
    unchecked."""
    destination = Path(destination)
    if not destination.exists():
        return download(url, destination, md5, algorithm="md5")
    return verified(destination, md5, algorithm="md5")


def download(
    url: str,
    destination: str | Path,
    expected: str | None,
    *,
    algorithm: str = "sha256",
    error: type[ConvzooError] = DataError,
    timeout: float = 60.0,
) -> Path:
    """Fetch ``url`` (through the mirror, if set) to ``destination``; check its digest; on any failure leave nothing.

    ``expected`` is the full hex digest or a prefix of it; ``None`` skips the
    check (for files no one published a digest for). A progress bar is shown
    when stderr is a terminal.
    """
    url, destination = mirrored(url), Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            expected_size = response.headers.get("Content-Length")
            received = _copy_with_progress(response, out, int(expected_size) if expected_size else None, url)
        if expected_size is not None and received != int(expected_size):
            raise error(f"download of {url} stopped after {received} of {expected_size} bytes; try again")
        actual = digest_of(partial, algorithm)
        if expected is not None and not digest_matches(actual, expected):
            raise error(
                f"download of {url} has {algorithm.upper()} {actual}, expected {expected}: "
                "the file is not the one expected"
            )
        os.replace(partial, destination)
        return destination
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError, OSError) as failure:
        if isinstance(failure, ConvzooError):
            raise
        reason = getattr(failure, "reason", failure)
        raise error(f"cannot download {url}: {reason}; with no network, put the file at {destination}") from None
    finally:
        partial.unlink(missing_ok=True)


def _copy_with_progress(response, out, total: int | None, url: str) -> int:
    """Copy the response body to ``out``; a rich progress bar on a terminal, silence otherwise."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from .formats import console as make_console

    received = 0
    columns = ("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
    console = make_console(stderr=True)
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(url.rsplit("/", 1)[-1], total=total)
        for block in iter(lambda: response.read(CHUNK), b""):
            out.write(block)
            received += len(block)
            progress.update(task, advance=len(block))
    return received
