"""Any image folder: ``root/train/<class>/*.png`` and ``root/test/<class>/*`` (or ``val``), or one folder split.

Images are decoded with torchvision's IO, converted to the requested number of
channels and resized to a fixed square size, then held in memory as uint8
tensors like the other datasets (fine for folders up to some 100k small images).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import DataError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


def _decode(path: Path, channels: int, size: int) -> torch.Tensor:
    from torchvision.io import ImageReadMode, decode_image

    mode = ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB
    try:
        image = decode_image(str(path), mode=mode)
    except (RuntimeError, ValueError) as error:
        raise DataError(f"cannot decode image {path}: {error}") from None
    image = F.interpolate(image[None].float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return image[0].round().clamp(0, 255).to(torch.uint8)


def classes_of(directory: Path) -> list[str]:
    classes = sorted(p.name for p in directory.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"{directory} has no class sub-folders (expected {directory}/<class>/<image>)")
    return classes


def load_folder(directory: Path, classes: list[str], channels: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((directory / name).rglob("*")):
            if path.suffix.lower() in EXTENSIONS:
                images.append(_decode(path, channels, size))
                labels.append(label)
    if not images:
        raise DataError(f"no images ({', '.join(sorted(EXTENSIONS))}) under {directory}")
    return torch.stack(images), torch.tensor(labels)


def split_dirs(root: Path) -> tuple[Path, Path]:
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist")
    test = next((root / name for name in ("test", "val") if (root / name).is_dir()), None)
    if (root / "train").is_dir() and test is not None:
        return root / "train", test
    raise DataError(f"{root} must hold train/<class>/ and test/<class>/ (or val/<class>/) folders")
