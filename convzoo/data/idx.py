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

from ..errors import DataError

UBYTE = 0x08


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except FileNotFoundError:
        raise DataError(f"missing file {path}") from None
    except (EOFError, OSError, zlib.error) as error:
        raise DataError(f"{path} is corrupt or truncated ({error}); delete it and fetch it again") from None


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
