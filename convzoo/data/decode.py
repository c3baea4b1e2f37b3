# SPDX-License-Identifier: MIT
"""One image file → a uint8 ``(C, H, W)`` tensor, whatever the file holds; or a one-line reason why not.

Real photo folders hold more than clean RGB JPEGs: greyscale, CMYK and
EXIF-rotated JPEGs, 16-bit, palette and alpha PNGs, WebP, BMP, TIFF, and broken
files (empty, truncated, not an image at all, or a few hundred bytes that
declare billions of pixels). Everything comes out as RGB (or grey for 1-channel
data) in 8 bits; alpha is dropped, 16-bit samples are scaled. A file that cannot
be decoded raises :class:`UnreadableImage`, which the folder readers and
``predict`` count, name and skip instead of stopping the run.

A bad file must never take the process down, so decoding goes in two steps:

1. **Header first.** Pillow's lazy ``Image.open`` reads the format and the
   declared size without decoding any pixels; an image over :data:`MAX_PIXELS`
   is refused before anything of its size is allocated.
2. **Pixels**, by a decoder that raises on corrupt data: torchvision's
   (libjpeg-turbo, libwebp) for JPEG and WebP, which raise ``RuntimeError`` on
   truncated and garbage data (checked in a subprocess on cut-off, garbage-tailed
   and random-byte files); Pillow for everything else, PNG included. torchvision's
   PNG decoder (libpng) kills the process with a segmentation fault on a PNG whose
   image data ends early ("libpng error: Not enough image data", exit 139,
   torchvision 0.29.1), even in a ``DataLoader`` worker; Pillow inflates PNG data
   itself with zlib and raises ``OSError`` instead. The price, measured side by side
   on 300 noisy 480-1024 px PNGs (0.43 MP, 0.94 MB each, one thread, Intel Xeon with
   AMX, shared 2-core machine, two runs of 3 and 5 passes, medians): Pillow 69 and 82
   images/s, torchvision 115 and 110 images/s (Pillow at 0.6-0.75x). Photo folders
   are mostly JPEG, which keeps the fast decoder.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .. import files

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}

# 128 Mi pixels (384 MiB as 8-bit RGB, before the float copy a resize makes): above the largest camera sensors
# sold (about 102 MP, medium format) and 1.5x Pillow's warning threshold (Image.MAX_IMAGE_PIXELS, 89.5 MP), below
# its error threshold (179 MP). A 30000x30000 PNG (900 MP, 2.5 GiB decoded) is refused, not blamed on the batch size.
MAX_PIXELS = 128 * 2**20

# 1 GiB: an uncompressed TIFF or BMP at MAX_PIXELS is 384 MiB (8-bit RGB) or 768 MiB (16-bit); a larger file
# cannot hold an image this module would decode, and is not read whole into memory to find that out
MAX_FILE_BYTES = 2**30

TORCHVISION_FORMATS = {"JPEG", "WEBP"}  # Pillow's format names whose torchvision decoder raises on corrupt data


class UnreadableImage(Exception):
    """A file that is not a decodable image; ``str()`` is the reason, in a few words."""


def decode_file(path: str | Path, channels: int = 3) -> Tensor:
    """The image in ``path`` as uint8 ``(channels, H, W)``, upright (EXIF orientation applied)."""
    data = _read_bytes(Path(path))
    image_format = _check_header(data)
    if image_format in TORCHVISION_FORMATS:
        image = _decode_with_torchvision(data, channels)
        if image is None:  # a variant torchvision does not read: Pillow's turn
            image = _decode_with_pillow(data, channels)
    else:
        image = _decode_with_pillow(data, channels)
    return image


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, read as :func:`convzoo.files.read_input` reads: never blocking on a FIFO, at most
    :data:`MAX_FILE_BYTES`."""
    try:
        data = files.read_input(path, limit=MAX_FILE_BYTES)
    except OSError as error:
        raise UnreadableImage(f"cannot read ({error.strerror or error})") from None
    if not data:
        raise UnreadableImage("empty file (0 bytes)")
    return data


def _check_header(data: bytes) -> str:
    """The format Pillow names, once the declared size is known to be within :data:`MAX_PIXELS`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # Pillow warns above its own 89.5 MP threshold; ours is the check below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # lazy: reads the header, no pixels
                image_format, (width, height) = image.format, image.size
    except Image.DecompressionBombError as error:  # Pillow refuses above 2 x its threshold, before we see the size
        raise UnreadableImage(_too_large(_png_size(data), str(error))) from None
    except UnidentifiedImageError:
        raise UnreadableImage("not an image in a known format") from None
    except (OSError, ValueError, SyntaxError, struct.error) as error:
        raise UnreadableImage(f"corrupt header ({str(error)[:60]})") from None
    if width * height > MAX_PIXELS:
        raise UnreadableImage(_too_large((width, height)))
    return image_format


def _too_large(size: tuple[int, int] | None, pillow_message: str = "") -> str:
    if size is not None:
        declared = f"{size[0]}x{size[1]} pixels"
    else:  # not a PNG: Pillow's message has the pixel count only
        found = re.search(r"\((\d+) pixels\)", pillow_message)
        declared = f"{int(found[1]):,} pixels" if found else "over Pillow's limit"
    return f"too large: {declared}, limit {MAX_PIXELS:,}"


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk (the first chunk, at a fixed offset: PNG spec section 5.2)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    return struct.unpack(">II", data[16:24])


def _decode_with_torchvision(data: bytes, channels: int) -> Tensor | None:
    """JPEG or WebP pixels; ``None`` for a valid file torchvision cannot read (Pillow then tries)."""
    from torchvision.io import ImageReadMode, decode_image

    mode = ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB
    encoded = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    try:
        with warnings.catch_warnings():  # torchvision 0.29 announces its image IO moves to TorchCodec
            warnings.simplefilter("ignore", DeprecationWarning)
            return decode_image(encoded, mode=mode, apply_exif_orientation=True)
    except RuntimeError as error:
        if "truncated" in str(error).lower() or "premature" in str(error).lower():
            raise UnreadableImage("truncated file") from None
        return None


# PNG colour type -> samples per pixel (PNG spec, section 11.2.2: grey, RGB, palette, grey + alpha, RGBA)
PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7 interlacing (PNG spec, section 8.2): each pass's (x start, y start, x step, y step)
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def png_pixel_bytes(data: bytes) -> tuple[int, int] | None:
    """``(expected, found)``: the bytes a PNG's header says its image data inflates to, and what its IDAT chunks
    inflate to (counted in pieces, never more than ``expected + 1`` held); ``None`` if it is not a PNG.

    Pillow decodes a PNG whose zlib stream is complete but short (69 bytes can hold a 64x64 image's first two
    rows) without a word, filling the missing rows with zeros; libpng says "Not enough image data" and
    torchvision's decoder crashes on it (see the module docstring). So the length is checked here.
    """
    import zlib

    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 29:
        return None
    width, height, depth, colour, _, _, interlaced = struct.unpack(">IIBBBBB", data[16:29])
    bits = depth * PNG_SAMPLES.get(colour, 4)
    passes = [((width - x + dx - 1) // dx, (height - y + dy - 1) // dy) for x, y, dx, dy in ADAM7]
    expected = sum(h * (1 + (w * bits + 7) // 8) for w, h in (passes if interlaced else [(width, height)]) if w and h)
    inflate, found, offset = zlib.decompressobj(), 0, 8
    while offset + 8 <= len(data) and found <= expected:
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"IDAT":
            piece = data[offset + 8 : offset + 8 + length]
            try:
                found += len(inflate.decompress(piece, expected + 1 - found))
                while inflate.unconsumed_tail and found <= expected:
                    found += len(inflate.decompress(inflate.unconsumed_tail, expected + 1 - found))
            except zlib.error:
                return expected, found  # Pillow names a corrupt stream itself
        offset += 12 + length
    return expected, found


def _decode_with_pillow(data: bytes, channels: int) -> Tensor:
    from PIL import Image, ImageOps

    counted = png_pixel_bytes(data)
    if counted is not None and counted[1] < counted[0]:
        raise UnreadableImage(f"truncated file (its image data holds {counted[1]:,} of {counted[0]:,} bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode.startswith("I;16"):  # 16-bit grey: Pillow's convert("L") would clip, not scale
                grey = np.rint(np.asarray(image, dtype=np.float32) * (255 / 65535)).astype(np.uint8)
                return torch.from_numpy(grey)[None].expand(channels, -1, -1).contiguous()
            pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"))
    except OSError as error:  # Pillow's truncated files: "image file is truncated", "Truncated File Read"
        if "truncated" in str(error).lower():
            raise UnreadableImage("truncated file") from None
        raise UnreadableImage(f"corrupt image ({str(error)[:60]})") from None
    except (ValueError, SyntaxError, struct.error, EOFError) as error:
        raise UnreadableImage(f"corrupt image ({str(error)[:60]})") from None
    return torch.from_numpy(pixels.copy()).reshape(pixels.shape[0], pixels.shape[1], -1).permute(2, 0, 1).contiguous()
