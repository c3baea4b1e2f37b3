# SPDX-License-Identifier: MIT
"""A local ImageNet-1k validation set, in the layouts people have it, labelled as the released weights count.

Released ImageNet weights (torchvision's, timm's) predict class ``i`` for the
``i``-th of the 1000 WordNet ids (wnids) in sorted order: the order
``torchvision.datasets.ImageFolder`` gives a full validation folder. The 1000
wnids are package data (``assets/imagenet/imagenet_synsets.txt``, copied from
timm, see the README there), not a guess from the folders present, so a folder
holding only some classes keeps each label's 1000-class index.

Layouts read (``PATH``, or ``PATH/val`` when that exists):

- **class folders**: ``PATH/<wnid>/*.JPEG`` (the ``valprep.sh`` layout, and
  torchvision's ``ImageNet`` after its devkit step); class folders that are not
  ImageNet-1k wnids are refused, naming a few;
- **flat**: ``PATH/*.JPEG`` plus a labels file, found beside the images (or one
  level up) or given with ``labels``:

  - ``LOC_val_solution.csv`` (Kaggle's ImageNet localization download): a
    header ``ImageId,PredictionString``, then ``ILSVRC2012_val_00000001,n01751748
    x y x y ...``: the first wnid of the prediction string is the label;
  - ``val.txt`` / ``labels.txt``: one ``FILE LABEL`` a line, ``LABEL`` a wnid or
    a class index 0-999 in the sorted-wnid order (Caffe's ``val.txt`` from
    ``get_ilsvrc_aux.sh`` is this form). Files match by name without extension.

  The devkit's ``ILSVRC2012_validation_ground_truth.txt`` (one number a line) is
  refused: its ids 1-1000 follow the devkit's ``meta.mat`` order, not the class
  index, and reading them as indices would quietly measure nonsense.

Every image is listed in a fixed order (class folders: by wnid, then file name;
flat: by file name). :func:`spread_over_classes` picks the first ``N`` images of a
class-balanced round-robin over that order, so ``--limit`` needs no seed and takes
the same images from either layout of the same files.
"""

from __future__ import annotations

import csv
import functools
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..errors import DataError, OptionError
from ..files import read_input
from .decode import EXTENSIONS
from .image_folder import not_regular_note
from .streaming import FolderFiles, FolderStream, StreamingLoader, list_files

WNID = re.compile(r"n\d{8}")
LABEL_FILES = ("LOC_val_solution.csv", "val.txt", "labels.txt")  # looked for beside the images, then one level up
LAYOUT_HELP = "expected PATH/<wnid>/*.JPEG, or PATH/*.JPEG with LOC_val_solution.csv, val.txt or labels.txt"


@functools.cache
def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k wnids in class-index order (sorted), from the package's copy of timm's list."""
    text = resources.files(__package__).joinpath("assets/imagenet/imagenet_synsets.txt").read_text()
    return tuple(text.split())


@dataclass
class ImagenetFiles(FolderFiles):
    """The image files with their 1000-class index, how they were found, and what is odd but not fatal."""

    layout: str = "class folders"  # or "flat"
    labels_file: Path | None = None
    notes: list[str] = field(default_factory=list)


def find_imagenet(path: str | Path, labels: str | Path | None = None) -> ImagenetFiles:
    """The validation images under ``path`` in either layout (see the module docstring), labelled."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"ImageNet folder {path} {'is a file, not a folder' if path.exists() else 'does not exist'}")
    root = path / "val" if (path / "val").is_dir() else path
    entries = [e for e in os.scandir(root) if not e.name.startswith(".")]
    folders = sorted(e.name for e in entries if e.is_dir())
    if folders:
        if labels is not None:
            raise OptionError(f"--labels is for the flat layout (PATH/*.JPEG); {root} has class folders")
        return _class_folders(root, folders, [e.name for e in entries if e.is_file()])
    images = sorted(e.name for e in entries if e.is_file() and Path(e.name).suffix.lower() in EXTENSIONS)
    if not images:
        raise DataError(f"{root} holds neither class folders nor images; {LAYOUT_HELP}")
    if labels is None:
        labels = next(
            (d / n for d in dict.fromkeys((root, path, root.parent)) for n in LABEL_FILES if (d / n).is_file()), None
        )
        if labels is None:
            raise DataError(
                f"{root} holds {len(images)} images but no labels file: put LOC_val_solution.csv, val.txt or "
                "labels.txt (lines `FILE WNID` or `FILE INDEX`) beside them, or pass --labels FILE"
            )
    return _flat(root, images, Path(labels))


def _class_folders(root: Path, folders: list[str], loose_files: list[str]) -> ImagenetFiles:
    known = set(imagenet_wnids())
    offenders = [name for name in folders if name not in known]
    if offenders:
        more = ", ..." if len(offenders) > 5 else ""
        raise DataError(
            f"{root} is not an ImageNet-1k validation folder: {len(offenders)} of its {len(folders)} class folders "
            f"are not ImageNet-1k wnids ({', '.join(offenders[:5])}{more}); {LAYOUT_HELP}"
        )
    listed = list_files(root, list(imagenet_wnids()))
    files = ImagenetFiles(root, listed.paths, listed.labels, listed.ignored, listed.linked_skipped)
    if not files.paths:
        raise DataError(f"the class folders under {root} hold no images ({', '.join(sorted(EXTENSIONS))})")
    loose = [name for name in loose_files if Path(name).suffix.lower() in EXTENSIONS]
    if loose:
        files.notes.append(f"{len(loose)} images directly in {root} (outside class folders) not measured")
    if files.ignored:
        files.notes.append(f"{len(files.ignored)} files are not images by their extension (ignored)")
    if listed.not_regular:
        files.notes.append(not_regular_note(listed))
    return files


def _flat(root: Path, images: list[str], labels_file: Path) -> ImagenetFiles:
    table = read_labels(labels_file)
    unlabelled = [name for name in images if Path(name).stem not in table]
    if unlabelled:
        raise DataError(
            f"{len(unlabelled)} of {len(images)} images in {root} have no label in {labels_file} "
            f"({', '.join(unlabelled[:3])}); is it the labels file of these images?"
        )
    files = ImagenetFiles(root, [str(root / n) for n in images], [table[Path(n).stem] for n in images])
    files.layout, files.labels_file = "flat", labels_file
    if len(table) > len(images):
        files.notes.append(f"{len(table) - len(images)} images named in {labels_file.name} are not in {root}")
    return files


LABELS_FILE_BYTES = 64 * 2**20  # LOC_val_solution.csv is 2.6 MiB for 50,000 images


def read_labels(path: Path) -> dict[str, int]:
    """Image name without extension → 1000-class index, from ``LOC_val_solution.csv`` or ``FILE LABEL`` lines."""
    try:
        text = read_input(path, limit=LABELS_FILE_BYTES).decode()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(
            f"cannot read labels file {path} ({error.strerror if isinstance(error, OSError) else error})"
        ) from None
    lines = text.splitlines()
    if lines and lines[0].replace(" ", "").startswith("ImageId,PredictionString"):
        rows = [(row[0], row[1].split()[0] if len(row) > 1 and row[1].split() else "") for row in csv.reader(lines[1:])]
    else:
        rows = [tuple(line.split()) for line in lines if line.strip()]
        if rows and all(len(row) == 1 for row in rows):
            raise DataError(
                f"{path} has one value a line, like the devkit's ILSVRC2012_validation_ground_truth.txt, whose ids "
                "follow the devkit's meta.mat order, not the class index; use LOC_val_solution.csv or `FILE WNID` lines"
            )
    index = {wnid: i for i, wnid in enumerate(imagenet_wnids())}
    table: dict[str, int] = {}
    for number, row in enumerate(rows, 1):
        label = _label(row, index)
        if label is None:
            raise DataError(
                f"{path}: entry {number} ({' '.join(row)[:60]!r}) is not `FILE WNID` or `FILE INDEX` (0-999) "
                "with an ImageNet-1k wnid"
            )
        name = Path(row[0]).stem
        if table.setdefault(name, label) != label:
            raise DataError(f"{path}: {name} is labelled twice, with different classes")
    if not table:
        raise DataError(f"labels file {path} is empty")
    return table


def _label(row: tuple[str, ...], index: dict[str, int]) -> int | None:
    if len(row) != 2:
        return None
    if WNID.fullmatch(row[1]):
        return index.get(row[1])
    if row[1].isdigit() and int(row[1]) < len(index):
        return int(row[1])
    return None


def spread_over_classes(files: ImagenetFiles, limit: int | None) -> ImagenetFiles:
    """The first ``limit`` images of a round-robin over the classes (each class's first image in listing order,
    then each class's second, ...), kept in listing order: a class-balanced subset that needs no seed."""
    if limit is None or limit >= len(files):
        return files
    counts: dict[int, int] = {}
    rank = []  # the image's position within its class
    for label in files.labels:
        rank.append(counts.get(label, 0))
        counts[label] = rank[-1] + 1
    chosen = sorted(sorted(range(len(files)), key=lambda i: (rank[i], files.labels[i], i))[:limit])
    subset = ImagenetFiles(files.root, [files.paths[i] for i in chosen], [files.labels[i] for i in chosen])
    subset.layout, subset.labels_file, subset.notes = files.layout, files.labels_file, list(files.notes)
    return subset


def imagenet_loader(files: ImagenetFiles, transform, batch_size: int, workers: int) -> StreamingLoader:
    """Batches of ``transform(image)`` in listing order, decoded in ``workers`` processes; unreadable files are
    left out and named in the loader's ``skipped``."""
    return StreamingLoader(FolderStream(files, transform), batch_size, workers=workers)
