# SPDX-License-Identifier: MIT
"""What a user can fix ends as one line, ``convzoo: error: ...``, with exit code 2.

Each case runs the command line in-process (two through a subprocess, for the real exit code and stderr)
and checks: exit code 2, exactly one line on stderr starting ``convzoo: error:``, the key words of the message.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from filesystems import mounted_tmpfs
from torchvision.io import write_png

from convzoo import checkpoint as ckpt
from convzoo.cli import main
from convzoo.errors import CheckpointError

QUICK = ["--model", "cifar_resnet20", "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "16"]
QUICK += ["--amp", "none", "--no-progress"]


def one_line_error(argv: list[str], capsys, *words: str) -> str:
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convzoo: error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A small fashion-mnist-mini checkpoint (two steps of cifar_resnet20)."""
    out = tmp_path_factory.mktemp("errors") / "run"
    argv = ["train", *QUICK, "--steps-per-epoch", "2", "--batch-size", "64", "--out", str(out)]
    assert main(argv) == 0
    return out / "last.pt"


@pytest.fixture()
def read_only_dir(tmp_path) -> Path:
    """A folder nothing can be written in, root included: a read-only tmpfs, or permission bits for others."""
    directory = tmp_path / "read-only"
    directory.mkdir()
    if os.geteuid() != 0:
        directory.chmod(0o555)
        yield directory
        directory.chmod(0o755)
        return
    with mounted_tmpfs(directory, 1, read_only=True):
        yield directory


# 1. --out that is a file, or a read-only folder


def _out_argv(command: str, checkpoint: Path, out: Path) -> list:
    if command == "train":
        return ["train", *QUICK, "--out", out]
    if command == "eval":
        return ["eval", "--checkpoint", checkpoint, "--out", out]
    if command == "compare":  # before: a FileExistsError / OSError traceback from mkdir
        return ["compare", "cifar_resnet20", "--budget", "1", "--out", out]
    if command == "experiment":
        return ["experiment", "filters", "--quick", "--out", out]
    if command == "demo":
        return ["demo", "--budget", "10", "--out", out]
    return ["export", "--checkpoint", checkpoint, "--format", "torchscript", "--out", out / "model.pt"]


OUTPUT_COMMANDS = ["train", "eval", "export", "compare", "experiment", "demo"]


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
def test_out_is_a_file(command, trained, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    one_line_error(_out_argv(command, trained, blocker), capsys, "a-file is a file, not a folder")
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
@pytest.mark.parametrize("inside", [False, True], ids=["itself", "below"])
def test_out_is_read_only(command, inside, trained, read_only_dir, capsys):
    out = read_only_dir / "run" if inside else read_only_dir
    line = one_line_error(_out_argv(command, trained, out), capsys, "cannot write", "read-only")
    assert str(read_only_dir) in line
    assert list(read_only_dir.iterdir()) == []


def test_export_out_is_a_folder(trained, tmp_path, capsys):
    one_line_error(["export", "--checkpoint", trained, "--out", tmp_path], capsys, "it is a folder", "file name")


# 2. option values out of range


@pytest.mark.parametrize(
    "option,value,words",
    [
        ("--momentum", "-3", ("--momentum", "[0, 1)", "-3.0")),
        ("--mixup", "-1", ("--mixup", "[0, 1,000]")),
        ("--cutmix", "-1", ("--cutmix", "[0, 1,000]")),
        ("--label-smoothing", "1", ("--label-smoothing", "[0, 1)")),
        ("--label-smoothing", "-0.1", ("--label-smoothing", "[0, 1)")),
        ("--drop-path-rate", "1.5", ("--drop-path-rate", "[0, 1)")),
        ("--drop-rate", "1", ("--drop-rate", "[0, 1)")),
        ("--drop-rate", "-0.5", ("--drop-rate", "[0, 1)")),
        ("--weight-decay", "-1", ("--weight-decay", "at least 0")),
        ("--lr", "inf", ("--lr", "finite", "above 0", "inf")),
        ("--lr", "nan", ("--lr", "finite", "nan")),
        ("--lr", "0", ("--lr", "above 0")),
        ("--lr", "-0.1", ("--lr", "above 0")),
        ("--epochs", "0", ("--epochs", "[1, 100,000]")),
        ("--batch-size", "0", ("--batch-size", "[1, 65,536]")),
        ("--grad-clip", "-1", ("--grad-clip", "at least 0")),
        ("--ema", "1", ("--ema", "[0, 1)")),
    ],
)
def test_training_option_out_of_range(option, value, words, tmp_path, capsys):
    one_line_error(["train", *QUICK, "--out", tmp_path / "run", option, value], capsys, *words)
    assert not (tmp_path / "run").exists()  # refused before anything was made


def test_library_callers_get_the_same_errors():
    from convzoo.errors import OptionError
    from convzoo.training import TrainConfig

    with pytest.raises(OptionError, match=r"--momentum must be in \[0, 1\)"):
        TrainConfig(momentum=-3)
    with pytest.raises(OptionError, match=r"--lr must be a finite number above 0.*got '0.1' \(not a number\)"):
        TrainConfig(lr="0.1")
    with pytest.raises(OptionError, match=r"--lr must be a finite number above 0.*got inf \(not finite\)"):
        dataclasses.replace(TrainConfig().resolved(28, "fashion-mnist-mini"), lr=float("inf"))


@pytest.mark.parametrize("top", ["-1", "0"])
def test_predict_top_below_one(top, trained, tmp_path, capsys):
    image = tmp_path / "image.png"
    write_png(torch.zeros(1, 28, 28, dtype=torch.uint8), str(image))
    one_line_error(
        ["predict", "--checkpoint", trained, "--top", top, image], capsys, "--top must be", "at least 1", top
    )


# 3. CIFAR labels out of range


def write_cifar(root: Path, classes: list[str], *, bad_label: int | None = None, per_split: int = 20) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    with open(folder / "batches.meta", "wb") as file:
        pickle.dump({"label_names": classes}, file)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = [i % len(classes) for i in range(per_split)]
        if bad_label is not None and name == "data_batch_3":
            labels[5] = bad_label
        batch = {"data": rng.integers(0, 256, (per_split, 3072), dtype=np.uint8), "labels": labels}
        with open(folder / name, "wb") as file:
            pickle.dump(batch, file)
    return root


@pytest.mark.parametrize("bad_label", [10, 255, -1])
def test_cifar_labels_out_of_range(bad_label, tmp_path, capsys):
    root = write_cifar(tmp_path / "cifar", [f"class{i}" for i in range(10)], bad_label=bad_label)
    argv = ["train", *QUICK, "--data", "cifar10", "--data-dir", root, "--out", tmp_path / "run"]
    one_line_error(argv, capsys, "data_batch_3", "labels outside 0..9", str(bad_label), "download again")


# 4. checkpoints whose plain data does not describe a model this convzoo builds


def _edited(checkpoint: Path, directory: Path, edit) -> Path:
    payload = copy.deepcopy(ckpt.read_plain(checkpoint))
    edit(payload)
    path = directory / "edited.pt"
    torch.save(payload, path)
    return path


EDITS = {
    "unregistered model": (lambda p: p["model"].update(name="resnet5"), ("'resnet5'", "does not have")),
    "num_classes ten": (lambda p: p["model"]["kwargs"].update(num_classes="ten"), ("num_classes='ten'", "int")),
    "unknown keyword": (lambda p: p["model"]["kwargs"].update(colour=3), ("do not fit cifar_resnet20", "'colour'")),
    "classes not a list": (lambda p: p["model"].update(classes="abc"), ("classes", "list[str]")),
    "image_size text": (lambda p: p["model"].update(image_size="28"), ("image_size", "int")),
    "weights not tensors": (lambda p: p.update(model_state={"w": 1}), ("model_state", "tensors")),
}


@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("command", ["eval", "export", "predict"])
def test_checkpoint_with_wrong_model_description(edit, command, trained, tmp_path, capsys):
    change, words = EDITS[edit]
    path = _edited(trained, tmp_path, change)
    argv = {
        "eval": ["eval", "--checkpoint", path],
        "export": ["export", "--checkpoint", path, "--out", tmp_path / "model.onnx"],
        "predict": ["predict", "--checkpoint", path, trained],
    }[command]
    one_line_error(argv, capsys, str(path), *words)


@pytest.mark.parametrize(
    "change,words",
    [
        ({"epoch": "1"}, ("field epoch should be int", "str '1'")),
        ({"sums": "0,0,0"}, ("field sums should be list[float]",)),
        ({"best_top1": True}, ("field best_top1 should be float",)),
        ({"colour": 3}, ("unknown fields (colour)",)),
    ],
)
def test_resume_state_checked_field_by_field(change, words, trained):
    from convzoo.training.state import TrainState

    state = ckpt.read_plain(trained)["training"]["train_state"]
    assert ckpt.fields_from_plain(TrainState, state, "x") == TrainState(**state)
    with pytest.raises(CheckpointError) as caught:
        ckpt.fields_from_plain(TrainState, {**state, **change}, f"{trained}'s train_state")
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{trained}'s train_state")
    for word in words:
        assert word in message
    with pytest.raises(CheckpointError, match="not a mapping"):
        ckpt.fields_from_plain(TrainState, [1, 2], "x")


def test_resume_with_a_malformed_train_state(trained, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    edited = _edited(trained, tmp_path, lambda p: p["training"]["train_state"].update(colour=3))
    edited.rename(run / "last.pt")
    argv = ["train", *QUICK, "--steps-per-epoch", "2", "--batch-size", "64", "--epochs", "2", "--resume"]
    one_line_error([*argv, "--out", run], capsys, "train_state", "colour")


# 5. class and file names that look like rich markup


def test_markup_in_class_names_prints_as_written(tmp_path, capsys):
    names = ["[/cats]", "[dogs]", "[b]bold", ":cat:", "plain", "f", "g", "h", "i", "j"]
    root = write_cifar(tmp_path / "cifar", names)
    run = tmp_path / "[run]"
    assert main(["train", *QUICK, "--data", "cifar10", "--data-dir", str(root), "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run / "last.pt"), "--data-dir", str(root)]) == 0
    out = capsys.readouterr().out
    for name in names:
        assert f" {name} " in out, name
    assert f"confusion matrix: {run}" in out


def test_markup_in_folder_names_and_notes(tmp_path, capsys):
    for split, labels in (("train", ("[dogs]", "[b]cats")), ("test", ("[dogs]",))):
        for label in labels:
            (tmp_path / "images" / split / label).mkdir(parents=True)
            for i in range(2):
                write_png(
                    torch.full((3, 16, 16), 40 * i, dtype=torch.uint8),
                    str(tmp_path / "images" / split / label / f"{i}.png"),
                )
    argv = ["train", *QUICK, "--data", f"folder:{tmp_path / 'images'}", "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "no test images for 1 classes ([b]cats)" in captured.err, captured.err
    assert main(["eval", "--checkpoint", str(tmp_path / "run" / "last.pt")]) == 0
    out = capsys.readouterr().out
    assert " [dogs] " in out and " [b]cats " in out


# 6. wording


def test_image_folder_that_is_a_file(trained, tmp_path, capsys):
    (tmp_path / "photos").write_text("a file")
    line = one_line_error(["eval", "--checkpoint", trained, "--data", f"folder:{tmp_path / 'photos'}"], capsys)
    assert "is a file, not a folder" in line and "does not exist" not in line


def test_same_class_count_other_names(trained, tmp_path, capsys):
    names = [str(i) for i in range(10)]
    for split in ("train", "test"):
        for name in names:
            (tmp_path / "images" / split / name).mkdir(parents=True)
            write_png(torch.zeros(1, 28, 28, dtype=torch.uint8), str(tmp_path / "images" / split / name / "0.png"))
    line = one_line_error(
        ["eval", "--checkpoint", trained, "--data", f"folder:{tmp_path / 'images'}"],
        capsys,
        "class count (10)",
        "other class names",
        "class 0 is '0' there and 'T-shirt/top' in the checkpoint",
    )
    assert "has 10 classes, the checkpoint was trained on 10" not in line


# 7. eval's JSON and PNG are written without following a planted link


@pytest.mark.parametrize("target", ["eval-fashion-mnist-mini.json", "eval-fashion-mnist-mini-confusion.png"])
def test_eval_refuses_a_planted_link(target, trained, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(trained.read_bytes())
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (run / target).symlink_to(victim)
    one_line_error(["eval", "--checkpoint", run / "last.pt"], capsys, str(run / target), "symbolic link", "remove it")
    assert victim.read_text() == "precious"
    assert sorted(p.name for p in run.iterdir()) == sorted(["last.pt", target])


def test_eval_writes_its_files_atomically(trained, tmp_path, capsys):
    out = tmp_path / "reports" / "deeper"
    assert main(["eval", "--checkpoint", str(trained), "--out", str(out), "--format", "json"]) == 0
    png = out / "eval-fashion-mnist-mini-confusion.png"
    assert png.read_bytes().startswith(b"\x89PNG") and (out / "eval-fashion-mnist-mini.json").stat().st_size > 100
    assert not list(out.glob(".*.tmp"))


# the real process: exit code 2, one line, no traceback


@pytest.mark.parametrize("case", ["out is a file", "edited checkpoint"])
def test_as_a_process(case, trained, tmp_path):
    if case == "out is a file":
        (tmp_path / "a-file").write_text("x")
        argv = ["train", *QUICK, "--out", str(tmp_path / "a-file")]
    else:
        path = _edited(trained, tmp_path, EDITS["num_classes ten"][0])
        argv = ["eval", "--checkpoint", str(path)]
    result = subprocess.run([sys.executable, "-m", "convzoo", *argv], capture_output=True, text=True, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("convzoo: error: ")
