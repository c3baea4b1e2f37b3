# SPDX-License-Identifier: MIT
"""A photo folder to test and measure the streaming pipeline with: real files, of every kind users have.

``write_photo_folder`` draws coloured shapes (one colour and shape per class, so
the classes are separable and a working pipeline learns them) on noisy
backgrounds of random sizes, and saves them as JPEG, PNG and WebP, some grey,
one EXIF-rotated, plus the awkward-but-valid files (CMYK JPEG, 16-bit PNG,
palette PNG, PNG with alpha) and one broken file of each kind (corrupt bytes,
truncated JPEG, empty file, a format no decoder knows). Used by the tests and
by ``benchmarks/image_pipeline.py``; Pillow writes the files.
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files import READ_LIMIT, read_input

SHAPES = {  # class name -> (RGB colour, shape)
    "red_disc": ((220, 40, 40), "disc"),
    "green_square": ((40, 190, 60), "square"),
    "blue_triangle": ((40, 70, 220), "triangle"),
}


@dataclass
class PhotoFolder:
    root: Path
    broken: dict[str, str] = field(default_factory=dict)  # file -> kind, under train/
    awkward: dict[str, str] = field(default_factory=dict)  # valid files of unusual kinds -> kind


def _photo(rng: random.Random, colour, shape: str, size: tuple[int, int], noise: np.random.Generator):
    from PIL import Image, ImageDraw

    width, height = size
    background = noise.integers(90, 166, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(background)
    draw = ImageDraw.Draw(image)
    side = rng.uniform(0.4, 0.7) * min(width, height)
    x0, y0 = rng.uniform(0, width - side), rng.uniform(0, height - side)
    if shape == "disc":
        draw.ellipse([x0, y0, x0 + side, y0 + side], fill=colour)
    elif shape == "square":
        draw.rectangle([x0, y0, x0 + side, y0 + side], fill=colour)
    else:
        draw.polygon([(x0, y0 + side), (x0 + side, y0 + side), (x0 + side / 2, y0)], fill=colour)
    return image


def write_photo_folder(
    root: Path,
    *,
    train_per_class: int = 20,
    test_per_class: int = 8,
    sizes: tuple[int, int] = (100, 600),
    seed: int = 0,
    broken: bool = True,
    formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP"),
    grey_every: int = 7,
) -> PhotoFolder:
    """``root/{train,test}/<class>/`` photos (see the module docstring); returns what is where.

    Every ``grey_every``-th photo is greyscale (0: none): without colour only the shape tells its class.
    """
    rng, noise = random.Random(seed), np.random.default_rng(seed)
    folder = PhotoFolder(Path(root))
    suffix = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
    for split, count in (("train", train_per_class), ("test", test_per_class)):
        for name, (colour, shape) in SHAPES.items():
            directory = folder.root / split / name
            directory.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                size = (rng.randint(*sizes), rng.randint(*sizes))
                image = _photo(rng, colour, shape, size, noise)
                kind = formats[index % len(formats)]
                if grey_every and index % grey_every == 3:  # some greyscale photos
                    image = image.convert("L")
                image.save(directory / f"{index:04d}{suffix[kind]}", kind)
    if broken:
        _write_awkward_and_broken(folder, rng, noise)
    return folder


def _write_awkward_and_broken(folder: PhotoFolder, rng: random.Random, noise: np.random.Generator) -> None:
    from PIL import Image

    colour, shape = SHAPES["red_disc"]
    directory = folder.root / "train" / "red_disc"
    image = _photo(rng, colour, shape, (300, 200), noise)
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    image.save(directory / "exif_rotated.jpg", "JPEG", exif=exif)
    image.convert("CMYK").save(directory / "cmyk.jpg", "JPEG")
    grey16 = (np.asarray(image.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    Image.fromarray(grey16).save(directory / "sixteen_bit.png")
    image.convert("P").save(directory / "palette.png")
    image.convert("RGBA").save(directory / "alpha.png")
    folder.awkward = {
        name: name.split(".")[0]
        for name in ("exif_rotated.jpg", "cmyk.jpg", "sixteen_bit.png", "palette.png", "alpha.png")
    }
    image.save(directory / "whole.jpg", "JPEG")
    data = read_input(directory / "whole.jpg", limit=READ_LIMIT)
    (directory / "whole.jpg").unlink()
    (directory / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (directory / "empty.png").write_bytes(b"")
    (directory / "corrupt.jpg").write_bytes(bytes(rng.getrandbits(8) for _ in range(2000)))
    (directory / "unknown_format.webp").write_bytes(b"%PDF-1.4\n% not an image at all\n")
    folder.broken = {
        "truncated.jpg": "truncated",
        "empty.png": "empty",
        "corrupt.jpg": "corrupt",
        "unknown_format.webp": "unsupported format",
    }


# Files that broke real runs: a few hundred bytes each that crashed a run or hid good images. Built chunk by chunk
# (PNG spec: length, type, data, CRC-32 of type and data) so each is exactly the fault, not Pillow's idea of it.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, idat: bytes, colour_type: int = 2) -> bytes:
    """A PNG of 8-bit samples (colour type 2: RGB, 0: grey) with ``idat`` as its compressed image data."""
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)  # no interlace
    return PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def truncated_png(side: int = 64) -> bytes:
    """A ``side`` x ``side`` RGB PNG whose image data stops after 10 bytes of zlib: libpng's "Not enough image
    data", which made torchvision's decoder end the process with a segmentation fault."""
    rows = b"".join(b"\x00" + bytes(side * 3) for _ in range(side))
    return _png(side, side, zlib.compress(rows)[:10])


def header_bomb_png(side: int = 60000) -> bytes:
    """About 100 bytes declaring ``side``² RGB pixels (60000²: 10.8 GB decoded), with a few rows of data."""
    return _png(side, side, zlib.compress(bytes(16 * 1024)))


def write_blank_png(path: Path, side: int = 30000, rows_per_block: int = 1000) -> None:
    """A complete, valid ``side`` x ``side`` black greyscale PNG (30000²: 900 MB decoded, under 1 MB on disk),
    written without holding its pixels: one block of ``rows_per_block`` zero rows is deflated once (level 9,
    ending in a full flush, so it refers to nothing before it) and repeated; ``side`` must be a multiple of it."""
    row = bytes(1 + side)  # filter type 0, then black samples
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: the zlib header and checksum are added here
    block = compressor.compress(row * rows_per_block) + compressor.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(side):
        checksum = zlib.adler32(row, checksum)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block
    idat = b"\x78\xda" + block * (side // rows_per_block) + final + struct.pack(">I", checksum)
    path.write_bytes(_png(side, side, idat, colour_type=0))


def write_unsafe_images(directory: Path) -> dict[str, str]:
    """Three PNGs that crashed or misled runs, in ``directory``; returns file name -> the reason decoding must give."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "truncated_idat.png").write_bytes(truncated_png())
    (directory / "header_bomb.png").write_bytes(header_bomb_png())
    write_blank_png(directory / "huge_blank.png")
    return {
        "truncated_idat.png": "truncated file",
        "header_bomb.png": "too large: 60000x60000 pixels",
        "huge_blank.png": "too large: 30000x30000 pixels",
    }
