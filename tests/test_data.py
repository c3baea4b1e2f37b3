# SPDX-License-Identifier: MIT
"""Datasets, downloads (against a local HTTP server), batching, augmentation and input adaptation."""

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from http_server import LocalServer, closed_port_url

from convzoo.data import (
    Augment,
    BatchLoader,
    DataError,
    FolderOptions,
    InputAdapter,
    fashion_mnist,
    load_dataset,
    sources,
)
from convzoo.data.idx import read_idx, write_idx
from convzoo.data.loader import random_crop
from convzoo.download import md5_of


@pytest.fixture(scope="module")
def mini():
    return load_dataset("fashion-mnist-mini")


def test_embedded_sample_is_balanced_and_small(mini):
    assert mini.train_images.shape == (5000, 1, 28, 28) and mini.test_images.shape == (1000, 1, 28, 28)
    assert torch.bincount(mini.train_labels).tolist() == [500] * 10
    assert torch.bincount(mini.test_labels).tolist() == [100] * 10
    assert mini.classes[0] == "T-shirt/top" and mini.num_classes == 10
    assert 0.25 < mini.mean[0] < 0.32 and 0.32 < mini.std[0] < 0.38
    size = sum(f.stat().st_size for f in fashion_mnist.MINI_DIR.iterdir())
    assert size < 3.1e6


def test_idx_round_trip_and_corruption(tmp_path):
    array = torch.randint(0, 256, (7, 5, 4), dtype=torch.uint8)
    write_idx(tmp_path / "a.gz", array)
    assert torch.equal(read_idx(tmp_path / "a.gz"), array)
    raw = (tmp_path / "a.gz").read_bytes()
    (tmp_path / "truncated.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_idx(tmp_path / "truncated.gz")
    (tmp_path / "short").write_bytes(gzip.decompress(raw)[:-3])
    with pytest.raises(DataError, match="header promises"):
        read_idx(tmp_path / "short")
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(DataError, match="magic"):
        read_idx(tmp_path / "text")
    with pytest.raises(DataError, match="missing file"):
        read_idx(tmp_path / "absent.gz")


@pytest.fixture()
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    for file in fashion_mnist.MINI_DIR.iterdir():
        (served / file.name).write_bytes(file.read_bytes())
    (served / "cut-short.gz").write_bytes(b"x" * 1000)
    with LocalServer(served) as local:
        local.truncate["/cut-short.gz"] = 10  # promises 1000 bytes, sends 10, hangs up
        yield local.url + "/", served


def test_download_good(server, tmp_path):
    url, served = server
    checksums = {name: md5_of(served / name) for name in fashion_mnist.OFFICIAL_MD5}
    target = fashion_mnist.fetch(tmp_path / "fm", url, checksums)
    images, labels = fashion_mnist.load_split(target, "test")
    assert images.shape == (1000, 1, 28, 28) and len(labels) == 1000


def test_download_wrong_checksum_leaves_nothing(server, tmp_path):
    url, _ = server
    with pytest.raises(DataError, match="MD5"):
        fashion_mnist.fetch(tmp_path / "fm", url, {"t10k-labels-idx1-ubyte.gz": "0" * 32})
    assert not any((tmp_path / "fm").iterdir())


def test_download_truncated_file_is_rejected(server, tmp_path):
    url, served = server
    name = "t10k-images-idx3-ubyte.gz"
    md5 = md5_of(served / name)
    (served / name).write_bytes((served / name).read_bytes()[:1000])  # the server now serves a truncated file
    with pytest.raises(DataError, match="MD5"):
        fashion_mnist.fetch(tmp_path / "fm", url, {name: md5})
    from convzoo.download import download

    with pytest.raises(DataError, match="stopped after 10 of 1000 bytes; try again"):
        download(url + "cut-short.gz", tmp_path / "cut.gz", "0" * 32, algorithm="md5")
    assert not (tmp_path / "cut.gz").exists()


def test_files_already_present_are_checked_before_they_are_trusted(server, tmp_path):
    url, served = server
    name = "t10k-labels-idx1-ubyte.gz"
    md5 = md5_of(served / name)
    (tmp_path / "fm").mkdir()
    (tmp_path / "fm" / name).write_bytes((served / name).read_bytes()[:-1])  # e.g. left by an older, non-atomic copy
    with pytest.raises(DataError, match=f"{name} has MD5 [0-9a-f]{{32}}, expected {md5} .*delete it and run again"):
        fashion_mnist.fetch(tmp_path / "fm", url, {name: md5})
    (tmp_path / "fm" / name).unlink()
    fashion_mnist.fetch(tmp_path / "fm", url, {name: md5})  # downloaded
    served.joinpath(name).unlink()  # the server no longer has it: the verified copy is used
    assert md5_of(fashion_mnist.fetch(tmp_path / "fm", url, {name: md5}) / name) == md5


def test_download_from_a_server_that_is_down(tmp_path):
    with pytest.raises(DataError, match="cannot download"):
        fashion_mnist.fetch(tmp_path / "fm", closed_port_url() + "/", {"t10k-labels-idx1-ubyte.gz": "0" * 32})


def test_full_dataset_lookup(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(fashion_mnist, "candidate_dirs", lambda name, d: [Path(d)] if d else [tmp_path / "nowhere"])
    monkeypatch.setattr(sources, "SYSTEM_LOCATIONS", {})  # a machine without Debian's dataset-fashion-mnist
    with pytest.raises(DataError, match="dataset-fashion-mnist"):
        fashion_mnist.find(None)
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("fashion-mnist", tmp_path / "missing")
    copy = tmp_path / "copy"
    copy.mkdir()
    for file in fashion_mnist.MINI_DIR.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    # the mini files stand in for the official ones (the real MD5 check refuses them: test_dataset_verification.py)
    monkeypatch.setattr(fashion_mnist, "OFFICIAL_MD5", {f.name: md5_of(f) for f in fashion_mnist.MINI_DIR.iterdir()})
    assert load_dataset("fashion-mnist", copy).train_images.shape[0] == 5000
    (copy / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b broken")
    with pytest.raises(DataError, match="corrupt"):
        load_dataset("fashion-mnist", copy)


def test_unknown_dataset_name():
    with pytest.raises(DataError, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet")


def _write_cifar(root: Path, per_split: int = 20) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    classes = [f"class{i}" for i in range(10)]
    with open(folder / "batches.meta", "wb") as file:
        pickle.dump({"label_names": classes}, file)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            "data": rng.integers(0, 256, (per_split, 3072), dtype=np.uint8),
            "labels": list(rng.integers(0, 10, per_split)),
        }
        with open(folder / name, "wb") as file:
            pickle.dump(batch, file)


def test_cifar_layout(tmp_path):
    _write_cifar(tmp_path)
    data = load_dataset("cifar10", tmp_path)
    assert data.train_images.shape == (100, 3, 32, 32) and data.test_images.shape == (20, 3, 32, 32)
    assert data.classes[3] == "class3" and data.channels == 3
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="corrupt"):
        load_dataset("cifar10", tmp_path)
    with pytest.raises(DataError, match="cifar100 not found"):
        load_dataset("cifar100", tmp_path / "empty")


def test_image_folder(tmp_path):
    from torchvision.io import write_png

    for split in ("train", "test"):
        for label in ("cat", "dog"):
            folder = tmp_path / split / label
            folder.mkdir(parents=True)
            for i in range(3):
                write_png(torch.randint(0, 256, (3, 40, 50), dtype=torch.uint8), str(folder / f"{i}.png"))
    broken = tmp_path / "train" / "dog" / "broken.png"
    broken.write_bytes(b"not an image")
    data = load_dataset(f"folder:{tmp_path}", folder=FolderOptions(image_size=32))
    assert data.classes == ["cat", "dog"] and data.train_images.shape == (6, 3, 32, 32)
    assert data.skipped == {str(broken): "not an image in a known format"}
    with pytest.raises(DataError, match="train/<class>"):
        load_dataset(f"folder:{tmp_path / 'train'}")


def test_loader_is_deterministic_and_resumable(mini):
    loader = BatchLoader(mini.train_images, mini.train_labels, 256, shuffle=True, augment=Augment(2, True, 0.5), seed=3)
    loader.set_epoch(1)
    first = list(loader)
    again = list(loader)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    resumed = list(loader.batches(start=5))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first[5:], resumed, strict=True))
    loader.set_epoch(2)
    assert not torch.equal(next(iter(loader))[1], first[0][1])
    assert len(loader) == len(first) == 20


def test_sharding_splits_the_epoch_between_ranks(mini):
    shards = [BatchLoader(mini.test_images, mini.test_labels, 100, shuffle=True, rank=r, world_size=2) for r in (0, 1)]
    labels = [torch.cat([y for _, y in shard]) for shard in shards]
    assert len(labels[0]) == len(labels[1]) == 500
    assert torch.equal(torch.cat(labels).sort().values, mini.test_labels.sort().values)


def test_augmentations():
    images = torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8)
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(random_crop(images, 0, generator), images)
    shifted = random_crop(images, 2, generator)
    assert shifted.shape == images.shape and not torch.equal(shifted, images)


def test_input_adapter_channels_and_size():
    grey = torch.full((2, 1, 28, 28), 255, dtype=torch.uint8)
    x = InputAdapter(1, 3, (0.5,), (0.25,), min_size=32)(grey)
    assert x.shape == (2, 3, 32, 32) and torch.allclose(x, torch.full_like(x, 2.0))
    rgb = torch.zeros((2, 3, 32, 32), dtype=torch.uint8)
    assert InputAdapter(3, 1, (0, 0, 0), (1, 1, 1))(rgb).shape == (2, 1, 32, 32)


def test_channel_statistics_are_numpys_and_a_constant_channel_keeps_one_level_of_std():
    """Per-channel mean and std (ddof 1) on the 0-1 scale; a channel constant over the training set (std 0,
    a NaN at the first step once divided by) is given one 8-bit level, 1/255."""
    from convzoo.data.datasets import channel_stats

    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (20, 3, 5, 5), dtype=torch.uint8, generator=generator)
    images[:, 1] = 10
    mean, std = channel_stats(images)
    pixels = images.numpy().transpose(1, 0, 2, 3).reshape(3, -1) / 255
    assert mean == pytest.approx(tuple(pixels.mean(1)), rel=1e-12)
    assert (std[0], std[2]) == pytest.approx((pixels[0].std(ddof=1), pixels[2].std(ddof=1)), rel=1e-12)
    assert std[1] == pytest.approx(1 / 255, rel=1e-12)
