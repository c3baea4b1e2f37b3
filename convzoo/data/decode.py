"""One image file → a uint8 ``(C, H, W)`` tensor, whatever the file holds; or a one-line reason why not.

Real photo folders hold more than clean RGB JPEGs: greyscale, CMYK and
EXIF-rotated JPEGs, 16-bit, palette and alpha PNGs, WebP, BMP, TIFF, and broken
files (empty, truncated, not an image at all). torchvision's decoders
(libjpeg-turbo, libpng, libwebp) handle the common formats fastest and apply
the EXIF orientation; Pillow reads the rest (BMP, TIFF, ...). Everything comes
out as RGB (or grey for 1-channel data) in 8 bits; alpha is dropped, 16-bit
samples are scaled. A file neither can read raises :class:`UnreadableImage`,
which the streaming loader counts and skips instead of stopping the run.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class UnreadableImage(Exception):
    """A file that is not a decodable image; ``str()`` is the reason, in a few words."""


def decode_file(path: str | Path, channels: int = 3) -> Tensor:
    """The image in ``path`` as uint8 ``(channels, H, W)``, upright (EXIF orientation applied)."""
    from torchvision.io import ImageReadMode, decode_image, read_file

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise UnreadableImage(f"cannot read ({error.strerror})") from None
    if size == 0:
        raise UnreadableImage("empty file (0 bytes)")
    mode = ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB
    try:
        with warnings.catch_warnings():  # torchvision 0.29 announces its image IO moves to TorchCodec
            warnings.simplefilter("ignore", DeprecationWarning)
            image = decode_image(read_file(str(path)), mode=mode, apply_exif_orientation=True)
    except RuntimeError as error:
        if "truncated" in str(error).lower() or "premature" in str(error).lower():
            raise UnreadableImage("truncated file") from None
        image = _decode_with_pillow(path, channels)  # formats torchvision does not read (BMP, TIFF, ...)
    if image.dtype != torch.uint8:  # 16-bit PNG
        image = (image.to(torch.float32) * (255 / torch.iinfo(image.dtype).max)).round().to(torch.uint8)
    return image


def _decode_with_pillow(path: Path, channels: int) -> Tensor:
    from PIL import Image, ImageOps, UnidentifiedImageError
    from torchvision.transforms.v2.functional import pil_to_tensor

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            return pil_to_tensor(image.convert("L" if channels == 1 else "RGB"))
    except UnidentifiedImageError:
        raise UnreadableImage("not an image in a known format") from None
    except (OSError, ValueError, SyntaxError) as error:  # Pillow's truncated / corrupt files
        raise UnreadableImage(f"corrupt image ({str(error)[:60]})") from None
