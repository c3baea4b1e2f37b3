# SPDX-License-Identifier: MIT
"""Faults at the edges, each reproduced with the real thing: a FIFO named like an image, a file name that is not
UTF-8, a class folder named like markup, a link that loops back to the split, a PNG whose image data stops
early, a budget that is not a number, a checkpoint whose weights are NaN, a note longer than 80 columns.

Each test failed before the fix it names (a hang, a traceback, or a silent wrong result) and passes after.
The crafted checkpoints are in ``test_crafted_checkpoints.py``, the run lock's links and FIFOs in
``test_run_lock.py``, unwritable outputs in ``test_cli_errors.py``; that no command hangs on such a file, under
a real SIGTERM, is ``test_no_command_hangs_on_a_file`` (slow tier).
"""

import csv
import io
import json
import os
import struct
import zlib

import pytest
import torch
from hostile_inputs import deadline, image_folder
from PIL import Image

from convzoo.cli import main
from convzoo.data.decode import UnreadableImage, decode_file
from convzoo.data.streaming import list_files

QUICK = ["--model", "cifar_resnet20", "--epochs", "2", "--batch-size", "4", "--amp", "none", "--no-progress"]


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("convzoo: error")]
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


# item 3: a FIFO named x.png hung training and prediction in open(), deaf to SIGTERM


@pytest.mark.slow  # trains a model: the slow tier (CI runs both)
@pytest.mark.parametrize("stream", ["no", "yes"])
def test_a_fifo_named_like_an_image_is_skipped_and_named_not_opened(tmp_path, capsys, stream):
    data = image_folder(tmp_path / "data")
    os.mkfifo(data / "train" / "cat" / "x.png")
    with deadline(120):
        code = main(["train", *QUICK, "--data", f"folder:{data}", "--stream", stream, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "skipped 1 entry that is not a regular file" in err and "cat/x.png (a FIFO (named pipe))" in err


@pytest.mark.slow  # trains a model: the slow tier (CI runs both)
def test_predict_goes_on_past_a_fifo_to_the_good_image(tmp_path, capsys):
    data = image_folder(tmp_path / "data")
    with deadline(120):
        assert main(["train", *QUICK, "--data", f"folder:{data}", "--out", str(tmp_path / "run")]) == 0
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    capsys.readouterr()
    with deadline(60):
        code = main(
            ["predict", "--checkpoint", str(tmp_path / "run" / "last.pt"), str(fifo), str(data / "test/cat/0.png")]
        )
    out, err = capsys.readouterr()
    assert code == 0 and "0.png" in out
    assert "x.png: cannot read (a FIFO (named pipe), not a regular file)" in err


# item 6: a broken image whose name is not UTF-8 crashed every epoch while metrics.csv named it; markup in names


@pytest.mark.slow  # trains a model: the slow tier (CI runs both)
def test_an_undecodable_file_name_and_markup_class_names_are_carried_as_data(tmp_path, capsys):
    data = image_folder(tmp_path / "data", classes=("[red]cat", "a$b"))
    broken = os.path.join(os.fsencode(data / "train" / "a$b"), b"bad\xff.png")
    with open(broken, "wb") as file:
        file.write(b"not an image")
    run = tmp_path / "run"
    with deadline(120):
        code = main(["train", *QUICK, "--data", f"folder:{data}", "--out", str(run)])
    err = capsys.readouterr().err
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO((run / "metrics.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 2 and "bad\\xff.png" in rows[0]["skipped_examples"]
    json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])  # valid JSON lines
    with deadline(120):  # the confusion matrix draws "$" and "[red]" as written
        assert main(["eval", "--checkpoint", str(run / "last.pt"), "--data", f"folder:{data}", "--out", str(run)]) == 0
    report = json.loads((run / "eval-data.json").read_text())
    assert report["classes"] == ["[red]cat", "a$b"]
    assert any(path.endswith("a$b/bad\\xff.png") for path in report["skipped_files"])
    assert any(path.stat().st_size > 0 for path in run.glob("*confusion*.png"))


@pytest.mark.slow  # trains a model: the slow tier (CI runs both)
def test_an_undecodable_class_folder_name_is_a_printable_label_everywhere(tmp_path, capsys):
    root = tmp_path / "data"
    for split in ("train", "test"):
        for index, name in enumerate((b"c\xff", b"dog")):
            folder = os.path.join(os.fsencode(root), split.encode(), name)
            os.makedirs(folder)
            for i in range(4):
                Image.new("RGB", (12, 12), (90 * index + 9 * i, 90, 40)).save(os.path.join(folder, b"%d.png" % i))
    run = tmp_path / "run"
    with deadline(120):
        assert main(["train", *QUICK, "--data", f"folder:{root}", "--out", str(run)]) == 0
        # eval draws the class names in its confusion matrix: a lone surrogate made matplotlib raise TypeError
        assert main(["eval", "--checkpoint", str(run / "last.pt"), "--out", str(run)]) == 0
        assert main(["predict", "--checkpoint", str(run / "last.pt"), str(root / "test" / "dog" / "0.png")]) == 0
    assert "c\\xff" in capsys.readouterr().out
    assert json.loads((run / "eval-data.json").read_text())["classes"] == ["c\\xff", "dog"]


# item 8: --budget nan|inf|1e308 gave a traceback in compare and experiment, and demo --budget inf ran for ever


@pytest.mark.parametrize("budget", ["nan", "inf", "1e308", "-inf", "0"])
@pytest.mark.parametrize(
    "command",
    [["compare", "cifar_resnet20"], ["experiment", "filters"], ["demo"]],
    ids=["compare", "experiment", "demo"],
)
def test_a_budget_that_is_not_a_usable_number_is_one_line(tmp_path, capsys, command, budget):
    assert main([*command, f"--budget={budget}", "--out", str(tmp_path / "out")]) == 2
    assert "--budget must be minutes above 0" in one_line(capsys)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "--lr", "1e-50"], "rounds to 0 in float32"),
        (["train", "--seed", str(2**64)], "--seed must be an integer in [0, 2**63 - 1]"),
        (["train", "--weight-decay", "nan"], "not finite"),
        (["predict", "--checkpoint", "x.pt", "x.png", "--top", "0"], "--top must be"),
        (["bench", "resnet18", "--repeats", "0"], "--repeats must be"),
        (["bench", "resnet18", "--batch", "1,100000"], "--batch must be an integer in [1, 65,536], got 100000"),
        (["summary", "resnet18", "--batch", "0"], "--batch must be"),
        (["export", "--checkpoint", "x.pt", "--out", "m.onnx", "--calibration-batches", "0"], "calibration"),
    ],
)
def test_every_command_checks_its_numbers_against_the_one_table(capsys, argv, words):
    assert main(argv) == 2
    assert words in one_line(capsys)


# item 9: a PNG whose zlib stream is complete but short was accepted, its missing rows zeros


def _png(width: int, height: int, rows: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80" * (width * 3) for _ in range(rows))  # filter byte 0, then mid-grey RGB
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_a_png_whose_image_data_stops_early_is_refused_as_truncated(tmp_path):
    short, whole = tmp_path / "short.png", tmp_path / "whole.png"
    short.write_bytes(_png(64, 64, rows=2))  # 73 bytes: two of 64 rows
    whole.write_bytes(_png(64, 64, rows=64))
    assert len(short.read_bytes()) < 100
    with pytest.raises(UnreadableImage, match=r"truncated file \(its image data holds 386 of 12,352 bytes\)"):
        decode_file(short)
    assert decode_file(whole).shape == (3, 64, 64)
    assert bool((decode_file(whole) == 128).all())


# item 10: JSON with bare NaN, a loop link folding dog into cat, notes wrapped at 80 columns


@pytest.mark.slow  # trains a model: the slow tier (CI runs both)
def test_json_output_is_strict_when_the_weights_are_nan(tmp_path, capsys):
    data = image_folder(tmp_path / "data")
    run = tmp_path / "run"
    with deadline(120):
        assert main(["train", *QUICK, "--data", f"folder:{data}", "--out", str(run)]) == 0
    payload = torch.load(run / "last.pt", weights_only=True)
    payload["model_state"]["head.fc.weight"].fill_(float("nan"))
    torch.save(payload, run / "nan.pt")
    capsys.readouterr()

    def strict(text):
        return json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in JSON output"))

    image = str(data / "test" / "cat" / "0.png")
    assert main(["predict", "--checkpoint", str(run / "nan.pt"), image, "--format", "json"]) == 0
    predicted = strict(capsys.readouterr().out)
    assert predicted[0]["top"][0][1] is None  # the probability is NaN: null, not NaN
    with deadline(120):
        assert main(["eval", "--checkpoint", str(run / "nan.pt"), "--format", "json", "--out", str(run)]) == 0
    strict(capsys.readouterr().out)


def test_a_link_back_to_the_split_does_not_fold_one_class_into_another(tmp_path):
    data = image_folder(tmp_path / "data")
    (data / "train" / "cat" / "loop").symlink_to("..", target_is_directory=True)
    (data / "train" / "dog" / "root").symlink_to(data, target_is_directory=True)
    files = list_files(data / "train", ["cat", "dog"])
    assert [files.labels.count(0), files.labels.count(1)] == [6, 6]  # before: dog's 6 images labelled cat too
    assert all(("/cat/" in p) == (label == 0) for p, label in zip(files.paths, files.labels, strict=True))
    assert sorted(files.linked_skipped) == ["cat/loop", "dog/root"]


@pytest.mark.slow  # trains a model: the slow tier (CI runs both)
def test_a_long_note_is_one_line_off_a_terminal(tmp_path, capsys):
    data = image_folder(tmp_path / ("a-folder-with-a-long-name-" * 6) / "data")
    (data / "train" / "cat" / "notes.txt").write_text("not an image")
    with deadline(120):
        assert main(["train", *QUICK, "--data", f"folder:{data}", "--out", str(tmp_path / "run")]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "not images by their extension" in line]
    assert len(notes) == 1 and notes[0].startswith("note: ") and len(notes[0]) > 200 and "notes.txt" in notes[0]
