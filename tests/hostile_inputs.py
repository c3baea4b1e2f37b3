# SPDX-License-Identifier: MIT
"""What the tests of hostile inputs share: a small real image folder to plant faults in, and a deadline that
fails a test which would otherwise hang the suite (a blocked ``open`` is interrupted by SIGALRM)."""

import contextlib
import signal
from pathlib import Path

from PIL import Image


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise ``TimeoutError`` in the block if it runs longer than ``seconds``."""

    def expire(number, frame):
        raise TimeoutError(f"still running after {seconds} s: blocked?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def image_folder(root: Path, classes=("cat", "dog"), per_class: int = 6, size: int = 16) -> Path:
    """``root/{train,test}/<class>/<i>.png``: small RGB images, a colour per class and image."""
    for split in ("train", "test"):
        for index, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                colour = (40 * index + 9 * i, 90, 200 - 30 * index)
                Image.new("RGB", (size, size), colour).save(folder / f"{i}.png")
    return root
