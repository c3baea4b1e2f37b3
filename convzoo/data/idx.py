# SPDX-License-Identifier: MIT
"""Read and write the IDX format of (Fashion-)MNIST, gzipped or not.

IDX: a magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the data. Truncated or corrupt
files raise :class:`DataError` naming the file, never a bare decoding error.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from .. import files
from ..errors import DataError

UBYTE = 0x08


# the largest IDX file read: Fashion-MNIST's training images are 47,040,016 bytes; a gzip file that inflates past
# this is not one of them (and would cost its inflated size in memory if read whole)
MAX_IDX_BYTES = 256 * 2**20


def _read_bytes(path: Path) -> bytes:
    """The IDX bytes of ``path``, inflated if it is gzipped; never blocking on a FIFO, never past
    :data:`MAX_IDX_BYTES` inflated."""
    try:
        with files.open_input(path) as file:
            if file.read(2) != b"\x1f\x8b":
                file.seek(0)
                data = file.read(MAX_IDX_BYTES + 1)
            else:
                file.seek(0)
                with gzip.GzipFile(fileobj=file) as inflated:
                    data = inflated.read(MAX_IDX_BYTES + 1)
    except FileNotFoundError:
        raise DataError(f"missing file {path}") from None
    except files.NotRegularFile as error:
        raise DataError(f"{path} is {error.strerror}; it should be an IDX file") from None
    except (EOFError, OSError, zlib.error) as error:
        raise DataError(f"{path} is corrupt or truncated ({error}); delete it and fetch it again") from None
    if len(data) > MAX_IDX_BYTES:
        raise DataError(f"{path} holds more than {MAX_IDX_BYTES // 2**20} MiB: not a Fashion-MNIST IDX file")
    return data


def read_idx(path: str | Path) -> torch.Tensor:
    """The uint8 array stored in an IDX file, as a tensor of its recorded shape."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != UBYTE:
        raise DataError(f"{path} is not an IDX file of unsigned bytes (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is truncated (header incomplete)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise DataError(f"{path} holds {len(data) - header} bytes of data, its header promises {expected}: corrupt")
    array = np.frombuffer(data, dtype=np.uint8, count=expected, offset=header).reshape(shape)
    return torch.from_numpy(array.copy())


def write_idx(path: str | Path, array: torch.Tensor) -> None:
    """Write a uint8 tensor as a gzipped IDX file (deterministic: no timestamp in the gzip header)."""
    array = array.to(torch.uint8).contiguous()
    header = bytes([0, 0, UBYTE, array.dim()]) + struct.pack(f">{array.dim()}I", *array.shape)
    payload = header + array.numpy().tobytes()
    Path(path).write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
