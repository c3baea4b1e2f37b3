# SPDX-License-Identifier: MIT
"""Streaming image folders: real photo files of every kind, broken files skipped and named, fine-tuning learns."""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from convzoo import checkpoint as ckpt
from convzoo.cli import main
from convzoo.data import Augment, DataError, FolderOptions, StreamingDataset, load_dataset
from convzoo.data.decode import UnreadableImage, decode_file
from convzoo.data.streaming import estimate_stats, list_files
from convzoo.data.synthetic_photos import write_photo_folder
from convzoo.training import TrainConfig, train


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photo_folder(tmp_path_factory.mktemp("photos"), train_per_class=12, test_per_class=4)


def test_every_awkward_kind_decodes_upright_in_eight_bit_rgb(photos):
    directory = photos.root / "train" / "red_disc"
    for name in photos.awkward:
        image = decode_file(directory / name)
        assert image.dtype == torch.uint8 and image.shape[0] == 3, name
        assert image.shape[1:] == (300, 200) if name == "exif_rotated.jpg" else (200, 300), name  # saved 300 wide
    from PIL import Image

    with Image.open(directory / "sixteen_bit.png") as png:  # Pillow's reading of the raw 16-bit samples
        expected = torch.from_numpy(np.asarray(png, dtype=np.float64) * 255 / 65535)
    sixteen = decode_file(directory / "sixteen_bit.png").double()
    assert (sixteen - expected).abs().max() <= 0.5 + 1e-9  # scaled from 16 bits, not cut to the low byte
    assert decode_file(directory / "0003.jpg").shape[0] == 3  # a greyscale photo, replicated
    for name in photos.broken:
        with pytest.raises(UnreadableImage):
            decode_file(directory / name)


@pytest.mark.slow
def test_fine_tuning_a_photo_folder_skips_and_names_broken_files(photos, released, tmp_path, capsys):
    """``convzoo train --pretrained --data folder:PATH`` on photos of 100-600 px, then ``convzoo eval``."""
    out = tmp_path / "run"
    args = ["train", "--model", "mobilenet_v3_small", "--pretrained", "--data", f"folder:{photos.root}"]
    args += [
        "--image-size",
        "48",
        "--stream",
        "yes",
        "--epochs",
        "1",
        "--batch-size",
        "9",  # 45 files: no batch dropped
        "--workers",
        "2",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(args) == 0
    printed = capsys.readouterr()
    assert f"skipped {len(photos.broken)} unreadable files" in printed.out + printed.err
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["skipped_files"] == len(photos.broken)
    assert sum(name in row["skipped_examples"] for name in photos.broken) == 3  # the first three met, by name
    assert row["test_count"] == 3 * 4
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["optimizer"] == "adamw" and config["head_lr_scale"] == 10 and config["schedule"] == "cosine"
    assert main(["eval", "--checkpoint", str(out / "last.pt"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == 12 and abs(report["top1"] - row["test_top1"]) < 1e-4  # same transform, same result
    photo = photos.root / "test" / "green_square" / "0001.png"
    assert main(["predict", "--checkpoint", str(out / "last.pt"), str(photo), "--format", "json"]) == 0
    predicted = json.loads(capsys.readouterr().out)[0]["top"]
    from torchvision.transforms.v2 import functional as TF

    checkpoint = ckpt.load(out / "last.pt")  # the evaluation transform by hand: resize, center crop, normalise
    spec = checkpoint.model
    image = TF.center_crop(TF.resize(decode_file(photo), spec.resize_size, antialias=True), spec.image_size)
    x = (image.float() / 255 - torch.tensor(spec.mean).view(3, 1, 1)) / torch.tensor(spec.std).view(3, 1, 1)
    with torch.no_grad():
        probabilities = checkpoint.build_model().eval()(x[None]).softmax(1)[0]
    best = int(probabilities.argmax())
    assert predicted[0][0] == spec.classes[best] and abs(predicted[0][1] - float(probabilities[best])) < 1e-4


@pytest.mark.slow
def test_a_separable_folder_is_learned_from_a_pretrained_format_start(tmp_path):
    """Coloured shapes (colour and shape tell the class) from a torchvision-format ResNet-18 file, 48 px."""
    import torchvision

    root = write_photo_folder(tmp_path / "shapes", train_per_class=30, test_per_class=10, grey_every=0, broken=False)
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "resnet18.pth")
    config = TrainConfig(
        model="resnet18",
        weights=str(tmp_path / "resnet18.pth"),
        data=f"folder:{root.root}",
        image_size=48,
        epochs=8,
        batch_size=16,
        workers=2,
        out=str(tmp_path / "run"),
        progress=False,
    )
    result = train(config)
    assert result.final["test_top1"] >= 0.9, result.history


def test_streaming_is_deterministic_resumable_and_sharded(photos):
    data = load_dataset(f"folder:{photos.root}", folder=FolderOptions(image_size=32, stream="yes"))
    assert isinstance(data, StreamingDataset)
    two_workers = data.train_loader(8, Augment(flip=True), seed=3, workers=2)
    in_process = data.train_loader(8, Augment(flip=True), seed=3, workers=0)
    for loader in (two_workers, in_process):
        loader.set_epoch(1)
    whole = list(in_process.batches())
    resumed = list(two_workers.batches(start=2))
    assert len(resumed) == len(whole) - 2
    for (a, la), (b, lb) in zip(resumed, whole[2:], strict=True):
        assert torch.equal(a, b) and torch.equal(la, lb)
    seen = []
    for rank in range(2):  # two torchrun ranks: disjoint halves of the same permutation, padded by wrapping
        loader = data.train_loader(4, None, seed=3, rank=rank, world_size=2)
        seen.append([index for batch in loader.loader.batch_sampler for index, _seed in batch])
    count = len(data.train_files)
    assert len(seen[0]) == len(seen[1]) == -(-count // 2)
    assert set(seen[0]) | set(seen[1]) == set(range(count))


@pytest.mark.slow
def test_a_folder_of_mostly_broken_files_stops_with_a_clear_error(tmp_path, capsys):
    folder = write_photo_folder(tmp_path / "bad", train_per_class=2, test_per_class=2, broken=False)
    for index in range(30):
        (folder.root / "train" / "red_disc" / f"broken{index}.jpg").write_bytes(b"")
    with pytest.raises(DataError, match=r"could not be decoded .*empty file"):
        load_dataset(f"folder:{folder.root}", folder=FolderOptions(image_size=96))
    assert main(["train", "--data", f"folder:{folder.root}", "--image-size", "96", "--out", str(tmp_path / "r")]) == 2
    assert "could not be decoded" in capsys.readouterr().err


def test_class_layout_mistakes_get_clear_messages(tmp_path):
    folder = write_photo_folder(tmp_path / "layout", train_per_class=2, test_per_class=1, broken=False, sizes=(40, 60))
    (folder.root / "test" / "purple_star").mkdir()
    with pytest.raises(DataError, match="classes that .* lacks: purple_star"):
        load_dataset(f"folder:{folder.root}")
    (folder.root / "test" / "purple_star").rmdir()
    (folder.root / "train" / "purple_star").mkdir()
    with pytest.raises(DataError, match="class folders without images .*purple_star"):
        load_dataset(f"folder:{folder.root}")
    (folder.root / "train" / "purple_star" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match="purple_star"):
        load_dataset(f"folder:{folder.root}")
    (folder.root / "train" / "purple_star" / "notes.txt").unlink()
    (folder.root / "train" / "purple_star").rmdir()
    for path in (folder.root / "test" / "blue_triangle").iterdir():
        path.unlink()
    (folder.root / "test" / "blue_triangle").rmdir()
    data = load_dataset(f"folder:{folder.root}")
    assert any("no test images for 1 classes (blue_triangle)" in note for note in data.notes)


def test_statistics_from_a_sample_match_the_whole_folder(photos):
    """Mean: against every pixel of every readable file at full size (resizing keeps the mean). Std: a 20-file
    sample against all files, at the training size the model sees (downsizing smooths noise, so sizes must agree)."""
    files = list_files(photos.root / "train", ["blue_triangle", "green_square", "red_disc"])
    pixels = []
    for path in files.paths:
        with contextlib.suppress(UnreadableImage):
            pixels.append(decode_file(path).reshape(3, -1).double() / 255)
    exact_mean = torch.cat(pixels, 1).mean(1)
    mean, all_std = estimate_stats(files, sample=len(files), side=48)
    assert torch.allclose(torch.tensor(mean, dtype=torch.float64), exact_mean, atol=0.02)  # files weigh by area
    _, sample_std = estimate_stats(files, sample=20, side=48)
    assert torch.allclose(torch.tensor(sample_std), torch.tensor(all_std), atol=0.02)


def test_auto_streams_large_images_and_holds_small_ones_in_memory(photos):
    small = load_dataset(f"folder:{photos.root}", folder=FolderOptions(image_size=32))
    assert not isinstance(small, StreamingDataset) and small.train_images.shape[-1] == 32
    assert sorted(Path(p).name for p in small.skipped) == sorted(photos.broken)
    large = load_dataset(f"folder:{photos.root}", folder=FolderOptions(image_size=96, mean=(0.5,) * 3, std=(0.2,) * 3))
    assert isinstance(large, StreamingDataset) and (large.image_size, large.resize_size) == (96, 110)
    images, _ = next(iter(large.test_loader(4)))
    assert images.shape == (4, 3, 96, 96)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(sys.platform != "linux", reason="torchrun with gloo")
@pytest.mark.slow
def test_two_nodes_with_torchrun_train_a_streamed_folder_as_one_process_does(tmp_path):
    """Two ``torchrun --nnodes 2`` agents rendezvous over TCP (c10d), one process each with its own decoding
    worker; ConvNeXt has no batch norm, so their weights must equal one process's with the whole batch.
    (No broken files here: ranks average their gradients equally, so unequal batches would differ.)"""
    folder = write_photo_folder(tmp_path / "photos", train_per_class=8, test_per_class=2, broken=False, sizes=(40, 90))
    options = [
        "--model",
        "convnext_tiny",
        "--data",
        f"folder:{folder.root}",
        "--image-size",
        "32",
        "--stream",
        "yes",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--steps-per-epoch",
        "2",
        "--no-flip",
        "--drop-path-rate",
        "0",
        "--drop-rate",
        "0",
        "--amp",
        "none",
        "--workers",
        "1",
        "--no-progress",
    ]
    endpoint = f"127.0.0.1:{_free_port()}"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "2",
        "--nproc_per_node",
        "1",
        "--rdzv-backend",
        "c10d",
        "--rdzv-endpoint",
        endpoint,
        "--rdzv-id",
        "streaming-test",
        "-m",
        "convzoo",
        "train",
        *options,
        "--out",
        str(tmp_path / "nodes"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    nodes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in "ab"
    ]
    outputs = [node.communicate(timeout=300) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[0][1][-2000:] + outputs[1][1][-2000:]
    assert main(["train", *options, "--out", str(tmp_path / "single")]) == 0
    together = ckpt.load(tmp_path / "nodes" / "last.pt").model_state
    alone = ckpt.load(tmp_path / "single" / "last.pt").model_state
    torch.manual_seed(0)  # the engine's seed before it builds the model: the starting weights
    start = ckpt.load(tmp_path / "single" / "last.pt").model.build().state_dict()
    for key, tensor in alone.items():
        moved = (tensor - start[key]).abs().max()  # how far training moved this tensor
        assert (together[key] - tensor).abs().max() <= 1e-3 * moved + 1e-6, key
