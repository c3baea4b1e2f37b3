# SPDX-License-Identifier: MIT
"""Any image folder: ``root/train/<class>/*`` and ``root/test/<class>/*`` (or ``val``).

What both ways of reading a folder share: finding the splits and the classes,
with a clear message for the layouts that would silently train the wrong thing
(a class folder without images, a class that exists only in one split), and the
in-memory reader for small images: every file decoded once, converted to the
requested channels, resized to a fixed square and held as uint8 tensors like
the other datasets (fine up to some 100k small images; larger folders stream,
see :mod:`convzoo.data.streaming`). Unreadable files are skipped and named.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import DataError
from ..files import printable
from .decode import EXTENSIONS, UnreadableImage, decode_file
from .streaming import MIN_TRIED, MOSTLY_BROKEN, FolderFiles, mostly_broken


def split_dirs(root: Path) -> tuple[Path, Path]:
    if not root.is_dir():
        if root.exists():
            raise DataError(f"image folder {root} is a file, not a folder; pass the folder holding train/ and test/")
        raise DataError(f"image folder {root} does not exist")
    test = next((root / name for name in ("test", "val") if (root / name).is_dir()), None)
    if (root / "train").is_dir() and test is not None:
        return root / "train", test
    raise DataError(f"{root} must hold train/<class>/ and test/<class>/ (or val/<class>/) folders")


def _class_dirs(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))


def folder_classes(train_dir: Path, test_dir: Path) -> tuple[list[str], list[str]]:
    """The classes (train's class folders, sorted) and notes on what is odd but not fatal."""
    classes, test_classes = _class_dirs(train_dir), _class_dirs(test_dir)
    if not classes:
        raise DataError(f"{train_dir} has no class sub-folders (expected {train_dir}/<class>/<image>)")
    only_in_test = sorted(set(test_classes) - set(classes))
    if only_in_test:
        raise DataError(
            f"{test_dir} has classes that {train_dir} lacks: {', '.join(map(printable, only_in_test[:5]))}; "
            "a model cannot learn a class it never sees: add training images or remove those folders"
        )
    notes = []
    only_in_train = sorted(set(classes) - set(test_classes))
    if only_in_train:
        named = ", ".join(map(printable, only_in_train[:5]))
        notes.append(f"no test images for {len(only_in_train)} classes ({named}): not measured")
    return classes, notes


def check_files(train: FolderFiles, test: FolderFiles, classes: list[str]) -> list[str]:
    """Errors for empty training classes; notes for ignored non-image files, empty test classes and linked
    folders skipped because their directory was listed already."""
    counts = torch.bincount(torch.tensor(train.labels, dtype=torch.long), minlength=len(classes))
    empty = [printable(classes[i]) for i in range(len(classes)) if counts[i] == 0]
    if empty:
        raise DataError(
            f"class folders without images ({', '.join(sorted(EXTENSIONS))}) under {train.root}: "
            f"{', '.join(empty[:5])}; add images or remove the folders"
        )
    notes = []
    test_counts = torch.bincount(torch.tensor(test.labels, dtype=torch.long), minlength=len(classes))
    empty_test = [
        printable(classes[i]) for i in range(len(classes)) if test_counts[i] == 0 and (test.root / classes[i]).is_dir()
    ]
    if empty_test:
        notes.append(f"test class folders without images: {', '.join(empty_test[:5])}")
    for files in (train, test):
        if files.ignored:
            names = ", ".join(printable(Path(p).name) for p in files.ignored[:3])
            notes.append(f"{len(files.ignored)} files under {files.root} are not images by their extension ({names})")
        if files.linked_skipped:
            notes.append(linked_note(files))
        if files.not_regular:
            notes.append(not_regular_note(files))
    return notes


def not_regular_note(files: FolderFiles) -> str:
    """``skipped 1 entry under R that is not a regular file, never opened: cat/x.png (a FIFO (named pipe))``."""
    count, names = len(files.not_regular), ", ".join(files.not_regular[:3])
    more = ", ..." if count > 3 else ""
    entries = "entry that is not a regular file" if count == 1 else "entries that are not regular files"
    return f"skipped {count} {entries} under {files.root}, never opened: {names}{more}"


def linked_note(files: FolderFiles) -> str:
    """``skipped 2 linked folders already listed (a loop?): cats/loop, ...``: each image is listed once."""
    count, names = len(files.linked_skipped), ", ".join(files.linked_skipped[:3])
    more = ", ..." if count > 3 else ""
    return f"skipped {count} linked folders under {files.root} already listed (a loop?): {names}{more}"


def load_folder(
    files: FolderFiles, channels: int, size: int, skipped: dict[str, str]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every readable file, resized to ``size`` × ``size``; the unreadable ones go to ``skipped``."""
    images, labels = [], []
    for path, label in zip(files.paths, files.labels, strict=True):
        try:
            image = decode_file(path, channels)
        except UnreadableImage as error:
            skipped[path] = str(error)
            continue
        image = F.interpolate(image[None].float(), size=(size, size), mode="bilinear", antialias=True)
        images.append(image[0].round().clamp(0, 255).to(torch.uint8))
        labels.append(label)
    failed = len(files) - len(images)
    if not images or (len(files) >= MIN_TRIED and failed > MOSTLY_BROKEN * len(files)):
        raise DataError(
            mostly_broken(files.root, failed, len(files), skipped) if failed else f"no images under {files.root}"
        )
    return torch.stack(images), torch.tensor(labels)
