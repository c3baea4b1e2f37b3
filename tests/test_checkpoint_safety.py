# SPDX-License-Identifier: MIT
"""A checkpoint or weights file is data, never code: crafted pickles are refused before they run."""

import pickle
import zipfile

import pytest
import torch

import convzoo
from convzoo import checkpoint as ckpt
from convzoo.cli import main
from convzoo.errors import CheckpointError, DataError


class _CreatesAFile:
    """Unpickling this calls ``open(path, "w")``: the file appearing proves that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    model = convzoo.create_model("cifar_resnet20", num_classes=10, in_chans=1)
    spec = ckpt.ModelSpec(
        "cifar_resnet20",
        {"num_classes": 10, "in_chans": 1},
        [str(i) for i in range(10)],
        [0.5],
        [0.25],
        1,
        28,
        1,
        "fashion-mnist-mini",
    )
    return ckpt.save(tmp_path_factory.mktemp("good") / "model.pt", ckpt.Checkpoint(spec, model.state_dict()))


def _malicious_files(tmp_path):
    marker = tmp_path / "pwned"
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps({"format": "convzoo-checkpoint", "payload": _CreatesAFile(marker)}))
    zipped = tmp_path / "zipped.pt"
    torch.save({"format": "convzoo-checkpoint", "version": 2, "model": _CreatesAFile(marker)}, zipped)
    return marker, [raw, zipped]


def _refused_with_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_every_command_that_reads_a_checkpoint_refuses_a_crafted_pickle(tmp_path, capsys):
    marker, files = _malicious_files(tmp_path)
    image = tmp_path / "x.png"
    from torchvision.io import write_png

    write_png(torch.zeros(1, 28, 28, dtype=torch.uint8), str(image))
    for index, evil in enumerate(files):
        resume_dir = tmp_path / f"resume{index}"
        resume_dir.mkdir()
        (resume_dir / "last.pt").write_bytes(evil.read_bytes())
        for argv in (
            ["eval", "--checkpoint", str(evil)],
            ["predict", "--checkpoint", str(evil), str(image)],
            ["export", "--checkpoint", str(evil), "--out", str(tmp_path / "m.onnx")],
            ["train", "--weights", str(evil), "--epochs", "1", "--no-progress", "--out", str(tmp_path / f"w{index}")],
            ["train", "--resume", "--epochs", "1", "--no-progress", "--out", str(resume_dir)],
        ):
            try:  # the marker is checked even when reading crashed after the payload ran
                err = _refused_with_one_line(argv, capsys)
                assert str(evil.name) in err or "last.pt" in err
            finally:
                assert not marker.exists(), f"{argv[0]} ran code from {evil.name}"
        for loader in (ckpt.load, convzoo.training.load_checkpoint, ckpt.load_state_dict_file):
            try:
                with pytest.raises(CheckpointError):
                    loader(evil)
            finally:
                assert not marker.exists()


def test_invalid_checkpoints_fail_with_one_clear_line(tmp_path, good_checkpoint, capsys):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good_checkpoint.read_bytes()[:5000])
    assert "truncated" in _refused_with_one_line(["eval", "--checkpoint", str(truncated)], capsys)

    missing_entry = tmp_path / "missing_entry.pt"
    with zipfile.ZipFile(good_checkpoint) as source, zipfile.ZipFile(missing_entry, "w") as target:
        for item in source.infolist():
            if not item.filename.endswith("data.pkl"):
                target.writestr(item, source.read(item))
    assert "corrupt" in _refused_with_one_line(["eval", "--checkpoint", str(missing_entry)], capsys)

    newer = tmp_path / "newer.pt"
    torch.save({"format": "convzoo-checkpoint", "version": ckpt.VERSION + 1, "model": {}}, newer)
    assert "upgrade convzoo" in _refused_with_one_line(["eval", "--checkpoint", str(newer)], capsys)

    state_dict = tmp_path / "state_dict.pt"
    torch.save(convzoo.create_model("cifar_resnet20").state_dict(), state_dict)
    assert "plain state dict" in _refused_with_one_line(["eval", "--checkpoint", str(state_dict)], capsys)
    with pytest.raises(CheckpointError, match="is a convzoo checkpoint, not a state dict"):
        ckpt.load_state_dict_file(good_checkpoint)


def test_a_format_1_checkpoint_still_loads(tmp_path):
    model = convzoo.create_model("cifar_resnet20", num_classes=10, in_chans=1)
    torch.nn.init.normal_(model.head.fc.weight)
    flat = {
        "format": "convzoo-checkpoint",
        "version": 1,
        "model_name": "cifar_resnet20",
        "model_kwargs": {"num_classes": 10, "in_chans": 1},
        "classes": list("abcdefghij"),
        "mean": [0.3],
        "std": [0.35],
        "data_channels": 1,
        "image_size": 28,
        "min_size": 1,
        "dataset": "fashion-mnist-mini",
        "model_state": model.state_dict(),
        "ema_state": None,
        "optimizer_state": {"state": {}, "param_groups": []},
        "schedule_state": {},
        "scaler_state": None,
        "train_state": {"epoch": 3},
        "rng_state": torch.get_rng_state(),
        "cuda_rng_state": None,
        "config": {"model": "cifar_resnet20"},
    }
    torch.save(flat, tmp_path / "v1.pt")
    loaded = ckpt.load(tmp_path / "v1.pt")
    assert loaded.model.name == "cifar_resnet20" and loaded.model.classes == list("abcdefghij")
    assert loaded.training["train_state"] == {"epoch": 3}
    rebuilt = loaded.build_model()
    assert torch.equal(rebuilt.head.fc.weight, model.head.fc.weight)


def test_a_planted_cifar_batch_cannot_run_code(tmp_path):
    from convzoo.data import cifar

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    marker = tmp_path / "pwned"
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": ["a", "b"], "x": _CreatesAFile(marker)}))
    with pytest.raises(DataError, match="refused global"):
        cifar.load_split("cifar10", tmp_path, "test")
    assert not marker.exists()
    import numpy as np

    # the genuine layout (numpy arrays, lists, bytes keys written by Python 2) is still read
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": ["a", "b"]}, protocol=2))
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    (folder / "test_batch").write_bytes(
        pickle.dumps({"data": data, "labels": [0, 1], "filenames": [b"x", b"y"]}, protocol=2)
    )
    images, labels, classes = cifar.load_split("cifar10", tmp_path, "test")
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [0, 1] and classes == ["a", "b"]
    assert torch.equal(images.flatten(), torch.from_numpy(data).flatten())


def test_a_polyglot_and_a_deflate_bomb_are_refused_unread(tmp_path, good_checkpoint, monkeypatch):
    """torch picks its reader by the leading bytes, zipfile by the trailing directory: the leading bytes decide.
    torch.save stores entries uncompressed, so a compressed entry (a deflate bomb) is refused from the directory."""
    marker = tmp_path / "pwned"
    polyglot = tmp_path / "polyglot.pt"  # a raw pickle up front, a valid zip archive appended
    polyglot.write_bytes(pickle.dumps(_CreatesAFile(marker)) + good_checkpoint.read_bytes())
    assert zipfile.is_zipfile(polyglot)  # what the old check asked: it would have let this through
    with pytest.raises(CheckpointError, match="not a torch.save zip file"):
        ckpt.load(polyglot)
    assert not marker.exists()

    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(good_checkpoint) as source, zipfile.ZipFile(bomb, "w") as target:
        for entry in source.infolist():
            target.writestr(entry.filename, source.read(entry), compress_type=zipfile.ZIP_DEFLATED)
        target.writestr("bomb/data/9", b"\0" * 2**24, compress_type=zipfile.ZIP_DEFLATED)  # 16 MiB in ~16 KiB
    loads = []
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: loads.append(args))
    with pytest.raises(CheckpointError, match="compressed entries .* which torch.save never writes"):
        ckpt.load(bomb)
    assert bomb.stat().st_size < 2**20 and not loads  # refused before torch.load saw it
