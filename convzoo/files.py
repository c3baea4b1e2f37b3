# SPDX-License-Identifier: MIT
"""Writing files so that nothing is lost and nothing outside the output is touched.

Every file convzoo writes (checkpoints, metrics, configs, reports, plots, exports) goes through here:

- **Atomic.** The bytes go to a temporary file in the same directory (created with ``O_EXCL``, so a
  planted name cannot redirect it), are flushed to disk, and only then renamed over the target. A crash,
  a signal or a full disk mid-write leaves the previous file as it was.
- **No writes through symbolic links.** A target that is a symbolic link is refused with one line
  (``rename`` would replace the link, not follow it, but a link where convzoo writes means someone else
  put it there); appends open with ``O_NOFOLLOW``.
- **One line for what the user can fix.** A full disk (``ENOSPC``/``EDQUOT``) is a :class:`ResourceError`
  that names the path, the space needed and free, and what was kept; a read-only or permission-denied
  path, or a file where a folder is needed, is an :class:`OutputError`. ``torch.save`` reports a full disk
  as an opaque ``RuntimeError`` ("unexpected pos …"): :func:`atomic_write` records the ``OSError`` that the
  underlying ``write`` raised, so the cause is known exactly rather than guessed from the message.
- **Reading never blocks or follows a planted link.** :func:`open_input` opens with ``O_NONBLOCK`` (a FIFO
  named ``x.png`` or ``last.pt`` would otherwise block ``open`` forever, deaf to SIGTERM) and refuses what is
  not a regular file (a FIFO, socket, device or folder) with :class:`NotRegularFile`; run-directory files
  are opened with ``O_NOFOLLOW`` too. :func:`read_input` bounds what a read may cost.
- **Leftovers are cleaned.** A process killed mid-write (SIGKILL, power loss) leaves its ``.NAME.*.tmp``;
  :func:`remove_stale_temporaries` removes them when a run directory is taken again under its lock.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import NotRegularFile, OutputError, ResourceError

try:
    import fcntl
except ImportError:  # Windows: no FIFOs to guard against; O_NONBLOCK is not cleared there
    fcntl = None

DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
TEMPORARY_SUFFIX = ".tmp"


_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a folder",
    stat.S_IFLNK: "a symbolic link",
}


def kind_of(mode: int) -> str:
    """What a ``st_mode`` names, in words: ``"a FIFO (named pipe)"``, ``"a folder"``, ``"a regular file"``."""
    return "a regular file" if stat.S_ISREG(mode) else _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def open_input(path: str | Path, *, follow_links: bool = True) -> BinaryIO:
    """Open ``path`` for reading, never blocking: a regular file, or :class:`NotRegularFile`.

    ``O_NONBLOCK`` makes ``open`` of a FIFO return at once instead of waiting for a writer (a wait no signal
    ends: Python retries an interrupted ``open``); the descriptor is then checked with ``fstat``, on the file
    actually opened, so nothing can be swapped in between. ``follow_links=False`` (``O_NOFOLLOW``) is for the
    files of a run directory, where a link is something planted. Other errors are the ``OSError`` of ``open``.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ELOOP and not follow_links:
            raise NotRegularFile(
                errno.ELOOP, "a symbolic link, which convzoo does not follow here", str(path)
            ) from None
        if error.errno == errno.ENXIO:  # a socket (or a FIFO opened for writing): nothing to read from
            raise NotRegularFile(errno.ENXIO, "a socket, not a regular file", str(path)) from None
        raise
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, f"{kind_of(mode)}, not a regular file", str(path))
        if fcntl is not None:
            fcntl.fcntl(descriptor, fcntl.F_SETFL, fcntl.fcntl(descriptor, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


# the most convzoo reads of a file it or its user wrote to be read back whole (a comparison's state, a results or
# cache JSON, a run's metrics log, a figure it embeds): each is kilobytes to a few MiB
READ_LIMIT = 64 * 2**20


def read_input(path: str | Path, *, limit: int, follow_links: bool = True) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them: a larger file raises
    :class:`ResourceError` after reading ``limit + 1`` bytes, whatever its size claims (``/proc`` files claim 0)."""
    with open_input(path, follow_links=follow_links) as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise ResourceError(f"{printable(path)} is larger than the {_mib(limit)} convzoo reads from such a file")
    return data


def printable(path: str | os.PathLike) -> str:
    """A path as text that can be printed and written anywhere: bytes that are not UTF-8 (a name from another
    system's encoding, which Python holds as lone surrogates that no UTF-8 writer accepts) become ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _encode(text: str) -> bytes:
    """UTF-8, with a lone surrogate (an undecodable file name that reached the text) escaped, not fatal."""
    return text.encode("utf-8", "backslashreplace")


def _mib(count: int) -> str:
    return f"{count / 2**20:,.1f} MiB"


def free_bytes(directory: Path) -> int | None:
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None


def output_error(path: Path, error: OSError, *, needed: int | None = None, kept: str = "", hint: str = "") -> Exception:
    """The one-line error for ``error`` while writing ``path``; an ``OSError`` the user cannot fix comes back as is."""
    kept = f"; {kept}" if kept else ""
    if error.errno in DISK_FULL:
        free = free_bytes(path.parent)
        space = f"needs about {_mib(needed)}" if needed is not None else ""
        space += f"{', ' if space else ''}{_mib(free)} free" if free is not None else ""
        return ResourceError(
            f"disk full while writing {path}{f' ({space})' if space else ''}{kept}. Free space{hint or ', then retry'}"
        )
    if error.errno in NOT_WRITABLE:
        reason = (error.strerror or "not writable").lower()
        return OutputError(f"cannot write {path}: {reason}{kept}; choose another output or fix its permissions")
    if error.errno in (errno.ENOTDIR, errno.EEXIST) or isinstance(error, (NotADirectoryError, FileExistsError)):
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), path.parent)
        return OutputError(f"cannot write {path}: {blocker} is a file, not a folder; choose another output")
    if error.errno == errno.ELOOP:
        return OutputError(f"{path} is a symbolic link; convzoo does not write through links: remove it")
    if error.errno == errno.EISDIR:
        return OutputError(f"cannot write {path}: it is a folder; choose a file name")
    return error


def make_dir(directory: str | Path) -> Path:
    """``mkdir -p`` with one-line errors (a file in the way, read-only, disk full)."""
    directory = Path(directory)
    if directory.is_dir():
        return directory
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise output_error(directory, error) from None
    return directory


def refuse_link(path: Path) -> None:
    if path.is_symlink():
        raise OutputError(
            f"{path} is a symbolic link (to {os.readlink(path)}); convzoo does not write through links: remove it"
        )


class _RecordingFile:
    """A binary file whose ``write`` errors are kept: libraries that wrap them (``torch.save``) lose the errno."""

    def __init__(self, file: BinaryIO) -> None:
        self.file, self.error = file, None

    def write(self, data) -> int:
        try:
            return self.file.write(data)
        except OSError as error:
            self.error = error
            raise

    def flush(self) -> None:
        self.file.flush()

    def __getattr__(self, name: str):
        return getattr(self.file, name)


def atomic_write(
    path: str | Path, write: Callable[[BinaryIO], object], *, needed: int | None = None, hint: str = ""
) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``.

    ``needed``: the expected size in bytes, for the disk-full message; ``hint``: what to do after freeing
    space (for a checkpoint: ``", then continue with --resume"``).
    """
    path = Path(path)
    make_dir(path.parent)
    refuse_link(path)
    existed = path.exists()
    temporary = None
    try:
        handle = _temporary(path)
        temporary = handle.name
        with handle as file:
            recorder = _RecordingFile(file)
            try:
                write(recorder)
            except RuntimeError:  # torch.save: the OSError it met is in the recorder
                if recorder.error is None:
                    raise
                raise recorder.error from None
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        kept = f"the previous {path.name} is intact" if existed else f"no {path.name} was written"
        raise output_error(path, error, needed=needed, kept=kept, hint=hint) from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
    return path


def _temporary(path: Path):
    """A new file ``.NAME.<random>.tmp`` beside ``path``, opened for writing; never an existing file or link.

    ``tempfile`` creates it readable by its owner only (0600); it gets the mode an ordinary new file would
    have (0666 less the umask), so that a report or checkpoint written here is as readable as one ``open``
    would have made.
    """
    import tempfile

    file = tempfile.NamedTemporaryFile(  # noqa: SIM115 (returned open: the caller writes, then renames it)
        "wb", dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, delete=False
    )
    os.fchmod(file.fileno(), 0o666 & ~_umask())
    return file


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (``os.umask`` must set it to read it,
    which for an instant affects files other threads create)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def write_bytes(path: str | Path, data: bytes, **options) -> Path:
    return atomic_write(path, lambda file: file.write(data), needed=len(data), **options)


def write_text(path: str | Path, text: str, **options) -> Path:
    return write_bytes(path, _encode(text), **options)


def write_figure(path: str | Path, figure, **savefig_options) -> Path:
    """A matplotlib figure as PNG (or the format ``path``'s suffix names), written atomically."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format=Path(path).suffix.lstrip(".") or "png", **savefig_options)
    return write_bytes(path, buffer.getvalue())


def append_text(path: str | Path, text: str) -> None:
    """Append ``text`` to ``path`` (created if missing), never through a symbolic link."""
    path = Path(path)
    data = _encode(text)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            written = os.write(handle, data)
            if written != len(data):  # a short write: the disk filled up mid-line
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        finally:
            os.close(handle)
    except OSError as error:
        if error.errno == errno.ELOOP or path.is_symlink():
            refuse_link(path)
        raise output_error(path, error, needed=len(data)) from None


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Delete the ``.NAME.*.tmp`` files a killed writer left in ``directory`` (call only while holding its lock)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    stale = [p for p in directory.glob(f".*{TEMPORARY_SUFFIX}") if p.is_file() and not p.is_symlink()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
