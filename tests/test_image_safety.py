# SPDX-License-Identifier: MIT
"""Files in real photo folders that crashed a run (a 67-byte PNG: segfault), hid good images (a 30000²
PNG blamed on the batch size, a header bomb stopping ``predict``) or silently multiplied them (a linked-folder
loop). Each bad file must be skipped, named with its reason and counted; each real image listed once."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from convzoo.data import FolderOptions, load_dataset
from convzoo.data.decode import MAX_PIXELS, UnreadableImage, decode_file
from convzoo.data.streaming import list_files
from convzoo.data.synthetic_photos import write_photo_folder, write_unsafe_images

QUICK = ["--model", "cifar_resnet20", "--image-size", "24", "--epochs", "1", "--batch-size", "8", "--amp", "none"]


@pytest.fixture(scope="module")
def unsafe(tmp_path_factory):
    """The three PNGs of the issue, written once: name -> the reason decoding must give."""
    directory = tmp_path_factory.mktemp("unsafe")
    return directory, write_unsafe_images(directory)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, unsafe):
    """3 classes x (6 train + 3 test) small photos; the unsafe PNGs in train/red_disc and test/green_square,
    prefixed ``train_`` and ``test_`` so each split's report can be matched name by name."""
    source, reasons = unsafe
    photos = write_photo_folder(
        tmp_path_factory.mktemp("photos"), train_per_class=6, test_per_class=3, sizes=(30, 50), broken=False
    )
    for split, class_name in (("train", "red_disc"), ("test", "green_square")):
        for name in reasons:
            shutil.copyfile(source / name, photos.root / split / class_name / f"{split}_{name}")
    return photos.root, reasons


def _convzoo(*args: str) -> subprocess.CompletedProcess:
    """The CLI in its own process: a segmentation fault would be exit -11 here, not a crashed test run."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "convzoo", *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=300, env=env)


def test_the_unsafe_pngs_are_what_they_claim(unsafe):
    """Independent of convzoo's decoder: the header sizes and file sizes of the issue, read with Pillow."""
    from PIL import Image

    directory, _ = unsafe
    assert (directory / "truncated_idat.png").stat().st_size < 100
    assert (directory / "header_bomb.png").stat().st_size < 300
    assert (directory / "huge_blank.png").stat().st_size < 1_000_000
    with pytest.raises(Image.DecompressionBombError):  # Pillow's default refusal, with its traceback: the issue
        Image.open(directory / "header_bomb.png")
    old, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with Image.open(directory / "huge_blank.png") as huge:
            assert huge.size == (30000, 30000)  # a real PNG: 30000x30000 grey, not just a header
        with Image.open(directory / "truncated_idat.png") as cut, pytest.raises(OSError, match="truncated"):
            cut.load()
    finally:
        Image.MAX_IMAGE_PIXELS = old
    assert MAX_PIXELS < 30000**2


def test_truncated_png_raises_in_process_instead_of_crashing(unsafe):
    """torchvision 0.29's libpng decoder ends the process (exit 139) on this file; here it must raise."""
    directory, reasons = unsafe
    for name, reason in reasons.items():
        with pytest.raises(UnreadableImage, match=reason):
            decode_file(directory / name)
    with pytest.raises(UnreadableImage, match=f"limit {MAX_PIXELS:,}"):
        decode_file(directory / "huge_blank.png")


def test_corrupt_jpeg_and_webp_raise_cleanly_in_a_subprocess(tmp_path):
    """JPEG and WebP stay with torchvision's decoders: cut-off and garbage files must raise, never crash."""
    import io

    import numpy as np
    from PIL import Image

    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8))
    for kind, suffix in (("JPEG", ".jpg"), ("WEBP", ".webp")):
        buffer = io.BytesIO()
        image.save(buffer, kind)
        data = buffer.getvalue()
        (tmp_path / f"half{suffix}").write_bytes(data[: len(data) // 2])
        (tmp_path / f"head{suffix}").write_bytes(data[:40])
        (tmp_path / f"garbage{suffix}").write_bytes(data[:30] + bytes(np.random.default_rng(1).integers(0, 256, 3000)))
    script = (
        "import sys; from pathlib import Path; from convzoo.data.decode import UnreadableImage, decode_file\n"
        "for path in sorted(Path(sys.argv[1]).iterdir()):\n"
        "    try: decode_file(path); print(path.name, 'decoded')\n"
        "    except UnreadableImage as error: print(path.name, 'unreadable:', error)\n"
    )
    command = [sys.executable, "-c", script, str(tmp_path)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert len(lines) == 6, done.stdout  # every file answered: no crash part-way
    unreadable = {name for name, said in lines.items() if said.startswith("unreadable:")}
    # libwebp decodes lossy data with garbage in it as noise, as it decodes a damaged stream: no crash, no error
    assert unreadable >= {"half.jpg", "head.jpg", "garbage.jpg", "half.webp", "head.webp"}, done.stdout


def _skipped_row(run: Path) -> dict:
    return json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])


@pytest.mark.parametrize("stream", ["yes", "no"])
def test_train_eval_and_predict_skip_and_name_each_bad_file(folder, tmp_path, stream):
    """Streamed with 2 decoding workers, and in memory: exit 0, the 3 + 3 bad files counted, each one named."""
    root, reasons = folder
    run = tmp_path / "run"
    trained = _convzoo(
        "train",
        *QUICK,
        "--data",
        f"folder:{root}",
        "--stream",
        stream,
        "--workers",
        "2",
        "--out",
        str(run),
        "--no-progress",
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    row = _skipped_row(run)
    assert row["skipped_files"] == 6  # three in train, three in test
    for name, reason in reasons.items():
        assert f"train_{name} ({reason}" in row["skipped_examples"], row["skipped_examples"]
        assert f"train_{name} ({reason}" in " ".join((trained.stdout + trained.stderr).split())  # unwrapped
    assert row["test_count"] == 3 * 3
    if stream == "no":
        return  # eval and predict read the checkpoint the same way whatever the training read
    evaluated = _convzoo("eval", "--checkpoint", str(run / "last.pt"), "--format", "json")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    report = json.loads(evaluated.stdout)
    skipped = {Path(path).name: why for path, why in report["skipped_files"].items()}
    assert set(skipped) == {f"test_{name}" for name in reasons}
    for name, reason in reasons.items():
        assert skipped[f"test_{name}"].startswith(reason)
    assert report["count"] == 9


def test_predict_goes_on_after_each_bad_file(folder, tmp_path):
    """Bad files first and between good ones: each gets its error line, every good image its prediction."""
    root, reasons = folder
    run = tmp_path / "run"
    trained = _convzoo(
        "train",
        *QUICK,
        "--data",
        f"folder:{root}",
        "--stream",
        "no",
        "--steps-per-epoch",
        "1",
        "--out",
        str(run),
        "--no-progress",
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    test_dir = root / "test" / "green_square"
    good = sorted(p for p in test_dir.iterdir() if not p.name.startswith("test_"))
    bad = [test_dir / f"test_{name}" for name in reasons]
    images = [bad[0], good[0], bad[1], good[1], bad[2], good[2]]
    predicted = _convzoo("predict", "--checkpoint", str(run / "last.pt"), *map(str, images), "--format", "json")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    results = {Path(r["path"]).name: r for r in json.loads(predicted.stdout)}
    assert [Path(r).name for r in results] == [p.name for p in images]
    for path in good:
        assert results[path.name]["error"] is None and len(results[path.name]["top"]) == 3
    for name, reason in reasons.items():
        assert results[f"test_{name}"]["top"] is None and reason in results[f"test_{name}"]["error"]
        assert f"test_{name}: {reason}" in predicted.stderr


def _link_loop_folder(root: Path) -> dict[str, Path]:
    """train/cats (4 images) with ``loop`` -> its own parent and ``dogs_link`` -> train/dogs; train/dogs (3 images)
    with ``extra`` -> a folder outside (2 images, followed once) and ``extra_again`` -> the same folder."""
    from PIL import Image

    real = {"cats": root / "train" / "cats", "dogs": root / "train" / "dogs", "outside": root / "outside"}
    for name, count in (("cats", 4), ("dogs", 3), ("outside", 2)):
        real[name].mkdir(parents=True)
        for index in range(count):
            Image.new("RGB", (12, 12), (40 * index, 90, 200)).save(real[name] / f"{name}{index}.png")
    for name in ("cats", "dogs"):
        (root / "test" / name).mkdir(parents=True)
        Image.new("RGB", (12, 12), (9, 9, 9)).save(root / "test" / name / "t.png")
    (real["cats"] / "loop").symlink_to(real["cats"], target_is_directory=True)
    (real["cats"] / "dogs_link").symlink_to(real["dogs"], target_is_directory=True)
    (real["dogs"] / "extra").symlink_to(real["outside"], target_is_directory=True)
    (real["dogs"] / "extra_again").symlink_to(real["outside"], target_is_directory=True)
    return real


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_linked_folder_loops_and_duplicates_are_listed_once(tmp_path):
    real = _link_loop_folder(tmp_path)
    files = list_files(tmp_path / "train", ["cats", "dogs"])
    assert len(files) == 4 + 3 + 2  # each real image once, the linked-in outside folder included
    assert len({os.path.realpath(p) for p in files.paths}) == len(files)
    for path, label in zip(files.paths, files.labels, strict=True):  # the class is the real folder the image lies in
        where = Path(os.path.realpath(path)).parent
        assert where == (real["cats"] if label == 0 else real["dogs"]) or (label == 1 and where == real["outside"])
    assert sorted(files.linked_skipped) == ["cats/dogs_link", "cats/loop", "dogs/extra_again"]
    data = load_dataset(f"folder:{tmp_path}", folder=FolderOptions(image_size=8, stream="no"))
    assert data.train_count == 9 and torch.bincount(data.train_labels).tolist() == [4, 5]
    note = next(note for note in data.notes if "linked folders" in note)
    assert note.startswith("skipped 3 linked folders") and "cats/loop" in note
