# SPDX-License-Identifier: MIT
"""``convzoo eval --model NAME --pretrained --data imagenet:PATH`` on generated ImageNet-style folders.

Every expectation comes from outside the code under test: the class order from torchvision's ``ImageFolder``
and timm's own ImageNet metadata, the transform from torchvision's ``Weights.transforms()`` and timm's
``create_transform``, the counts from the reference torchvision model's logits and the labels the test gave.
Weights are randomized files served from 127.0.0.1 (the ``released`` fixture in conftest.py).
"""

from __future__ import annotations

import json
import os
import random

import pytest
import torch
from PIL import Image

from convzoo.cli import main
from convzoo.data.decode import decode_file
from convzoo.data.imagenet import find_imagenet, imagenet_wnids
from convzoo.deploy.predict import evaluation_transform
from convzoo.weights.catalog import weights_for

MODEL = "mobilenet_v3_small"  # the model the ``released`` fixture serves


def _timm_wnids() -> list[str]:
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return [info.index_to_label_name(i) for i in range(info.num_classes())]


def _photo(path, seed: int, size=None) -> None:
    """A smooth random photo-like JPEG (blurred noise upscaled), of a non-square size unless given."""
    rng = random.Random(seed)
    width, height = size or (rng.randint(90, 180), rng.randint(90, 180))
    small = torch.randint(0, 256, (8, 8, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
    image = Image.fromarray(small.numpy()).resize((width, height), Image.BICUBIC)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=90)


def _eval_json(capsys, *argv) -> dict:
    assert main(["eval", "--model", MODEL, "--pretrained", "--format", "json", *map(str, argv)]) == 0
    return json.loads(capsys.readouterr().out)


def _one_line_error(capsys, *argv) -> str:
    assert main(["eval", "--model", MODEL, "--pretrained", *map(str, argv)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convzoo: error: "), lines
    return lines[0]


# --- class order -------------------------------------------------------------------------------------------------


def test_wnids_are_timm_imagenet_1k_in_torchvision_imagefolder_order(tmp_path):
    """A folder of all 1000 wnids (one tiny image each, made in shuffled order): ImageFolder's class index and
    file labels equal ours; the list equals timm's ImageNetInfo; torchvision's weights' class names, in index
    order, are names of these wnids (timm's lemmas; 998 exactly, the other two torchvision disambiguated)."""
    from timm.data import ImageNetInfo
    from torchvision.datasets import ImageFolder
    from torchvision.models import ResNet18_Weights

    wnids = list(imagenet_wnids())
    assert wnids == _timm_wnids()
    shuffled = random.Random(0).sample(wnids, len(wnids))
    tiny = Image.new("RGB", (2, 2))
    for wnid in shuffled:
        (tmp_path / wnid).mkdir()
        tiny.save(tmp_path / wnid / "a.png")
    reference = ImageFolder(str(tmp_path))
    assert reference.class_to_idx == {wnid: i for i, wnid in enumerate(wnids)}
    ours = find_imagenet(tmp_path)
    assert [(p, label) for p, label in zip(ours.paths, ours.labels, strict=True)] == reference.samples
    info = ImageNetInfo()
    names = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    lemmas = [[s.strip().lower() for s in info.index_to_description(i).split(",")] for i in range(1000)]
    misses = [(i, names[i]) for i in range(1000) if names[i].lower() not in lemmas[i]]
    assert misses == [(134, "crane bird"), (639, "maillot tank suit")]


# --- the transform -----------------------------------------------------------------------------------------------


def _max_and_mean_difference(ours: torch.Tensor, theirs: torch.Tensor) -> tuple[float, float]:
    assert ours.shape == theirs.shape
    difference = (ours - theirs).abs()
    return float(difference.max()), float(difference.mean())


@pytest.mark.parametrize("size", [(500, 375), (160, 240)])
def test_torchvision_weights_transform_equals_torchvision_preset(tmp_path, size):
    """ResNet18_Weights.IMAGENET1K_V1.transforms() on the PIL image vs ours on the decoded tensor: both resize
    bilinear with antialias to 256 and crop 224, from Pillow's and torchvision's JPEG decoders. Measured
    (normalized units; one grey level is 1/255/0.229 = 0.017): upscaled 160x240 exactly equal, downscaled
    500x375 max 0.0175, mean 2e-5 (uint8 rounding of the resized image). The wrong interpolation (bicubic)
    measured mean 0.0022, a resize 2 px larger 0.03: the mean bound 5e-4 catches both."""
    from torchvision.models import ResNet18_Weights

    path = tmp_path / "photo.JPEG"
    _photo(path, seed=1, size=size)
    theirs = ResNet18_Weights.IMAGENET1K_V1.transforms()(Image.open(path).convert("RGB"))
    ours = evaluation_transform(weights_for("resnet18", "torchvision").transform)(decode_file(path))
    largest, mean = _max_and_mean_difference(ours, theirs)
    assert largest < 0.05 and mean < 5e-4, (largest, mean)


@pytest.mark.parametrize("size", [(500, 375), (160, 240)])
def test_timm_weights_transform_equals_timm_create_transform(tmp_path, size):
    """timm's own evaluation transform for mobilenetv3_small_100.lamb_in1k (resolve_data_config from the
    pretrained config: bicubic, crop_pct 0.875 → resize 256, crop 224) vs ours from the table entry. Measured:
    upscaled exactly equal, downscaled max 0.035 (2 grey levels), mean 8e-5; bilinear instead measured 0.0022."""
    import timm
    from timm.data import create_transform, resolve_data_config

    entry = weights_for(MODEL, "timm")
    config = resolve_data_config(model=timm.create_model(entry.tag, pretrained=False))
    path = tmp_path / "photo.JPEG"
    _photo(path, seed=2, size=size)
    theirs = create_transform(**config)(Image.open(path).convert("RGB"))
    ours = evaluation_transform(entry.transform)(decode_file(path))
    largest, mean = _max_and_mean_difference(ours, theirs)
    assert largest < 0.05 and mean < 5e-4, (largest, mean)


# --- counts on both layouts --------------------------------------------------------------------------------------


@pytest.fixture
def labelled(released, tmp_path):
    """24 photos, each labelled from the reference torchvision model's own top-5: its top-1 class (16 images),
    its 3rd class (4) or its 10th (4), so top-1 and top-5 are neither 0 nor 1. Returns the photos, their wnids
    and the reference logits (torchvision's model on the same decoded, transformed input)."""
    tv_model, entry = released["tv"]
    transform = evaluation_transform(entry.transform)
    staging = tmp_path / "staging"
    photos = [staging / f"{i:03d}.JPEG" for i in range(24)]
    for i, path in enumerate(photos):
        _photo(path, seed=100 + i)
    with torch.no_grad():
        logits = tv_model.eval()(torch.stack([transform(decode_file(p)) for p in photos]))
    wnids = _timm_wnids()  # index i → wnid, independently of the code under test
    rank = [0, 0, 0, 0, 2, 9]  # position in the model's ranking of the label given to image i (i % 6)
    order = logits.argsort(1, descending=True)
    labels = [int(order[i, rank[i % 6]]) for i in range(len(photos))]
    return {"photos": photos, "labels": labels, "wnids": [wnids[i] for i in labels], "logits": logits, **released}


def _layout(kind: str, labelled, root):
    """The labelled photos copied into ``root`` in one layout; returns the PATH for --data imagenet:PATH."""
    photos, wnids, labels = labelled["photos"], labelled["wnids"], labelled["labels"]
    if kind.startswith("folders"):
        base = root / "val" if kind == "folders-val" else root
        for i, (photo, wnid) in enumerate(zip(photos, wnids, strict=True)):
            (base / wnid).mkdir(parents=True, exist_ok=True)
            (base / wnid / f"img_{i:03d}.JPEG").write_bytes(photo.read_bytes())
        return root
    images = root / "val"
    images.mkdir(parents=True)
    names = [f"ILSVRC2012_val_{i + 1:08d}" for i in range(len(photos))]
    for name, photo in zip(names, photos, strict=True):
        (images / f"{name}.JPEG").write_bytes(photo.read_bytes())
    if kind == "flat-csv":  # Kaggle's file, one level above the images
        rows = [f"{n},{w} 1 2 30 40 {w} 5 6 70 80" for n, w in zip(names, wnids, strict=True)]
        (root / "LOC_val_solution.csv").write_text("ImageId,PredictionString\n" + "\n".join(reversed(rows)) + "\n")
    elif kind == "flat-index":
        (images / "val.txt").write_text("".join(f"{n}.JPEG {label}\n" for n, label in zip(names, labels, strict=True)))
    else:
        (root / "labels.txt").write_text("".join(f"{n}.JPEG {w}\n" for n, w in zip(names, wnids, strict=True)))
    return root


def _expected(logits: torch.Tensor, labels: list[int], keep: list[int]) -> tuple[float, float]:
    top5 = logits[keep].topk(5, 1).indices
    truth = torch.tensor([labels[i] for i in keep])
    return 100 * float((top5[:, 0] == truth).float().mean()), 100 * float(
        (top5 == truth[:, None]).any(1).float().mean()
    )


LAYOUTS = ["folders", "folders-val", "flat-csv", "flat-index", "flat-wnid"]


@pytest.mark.slow
def test_top1_and_top5_equal_the_reference_model_in_every_layout(labelled, tmp_path, capsys):
    """One fixture (the weights' server is slow to set up) for the five layouts, each in its own folder."""
    top1, top5 = _expected(labelled["logits"], labelled["labels"], list(range(24)))
    assert (top1, top5) == (pytest.approx(100 * 16 / 24), pytest.approx(100 * 20 / 24))  # as the fixture built
    for kind in LAYOUTS:
        _check_layout(kind, labelled, tmp_path, capsys, top1, top5)


def _check_layout(kind, labelled, tmp_path, capsys, top1, top5):
    path = _layout(kind, labelled, tmp_path / kind)
    report = _eval_json(capsys, "--data", f"imagenet:{path}", "--batch-size", 5)
    assert report["images"] == 24 and report["classes"] == len(set(labelled["labels"]))
    assert (report["top1_pct"], report["top5_pct"]) == (pytest.approx(top1, abs=1e-3), pytest.approx(top5, abs=1e-3))
    entry = weights_for(MODEL, "torchvision")
    assert (report["source"], report["weights"], report["published_top1_pct"]) == ("torchvision", entry.tag, entry.top1)
    assert report["layout"] == ("flat" if kind.startswith("flat") else "class folders")
    assert report["skipped_files"] == {}


def _round_robin(labels: list[int], order: list[int], limit: int) -> list[int]:
    """The images ``--limit`` should take, written out: each class's first image (classes by index), then each
    class's second, ... ``order`` is the listing order (by file name within a class)."""
    by_class: dict[int, list[int]] = {}
    for i in order:
        by_class.setdefault(labels[i], []).append(i)
    rounds = max(len(v) for v in by_class.values())
    picked = [by_class[c][r] for r in range(rounds) for c in sorted(by_class) if r < len(by_class[c])]
    return sorted(picked[:limit])


@pytest.mark.slow
def test_limit_takes_a_class_balanced_subset_the_same_in_both_layouts(labelled, tmp_path, capsys):
    labels = labelled["labels"]
    keep = _round_robin(labels, list(range(24)), 7)
    assert len({labels[i] for i in keep}) == min(7, len(set(labels)))
    top1, top5 = _expected(labelled["logits"], labels, keep)
    for kind in ("folders", "flat-csv"):
        path = _layout(kind, labelled, tmp_path / kind)
        report = _eval_json(capsys, "--data", f"imagenet:{path}", "--limit", 7)
        assert report["images"] == 7 and report["limit"] == 7
        assert (report["top1_pct"], report["top5_pct"]) == (
            pytest.approx(top1, abs=1e-3),
            pytest.approx(top5, abs=1e-3),
        )


@pytest.mark.slow
def test_a_broken_jpeg_is_skipped_and_named(labelled, tmp_path, capsys):
    path = _layout("folders", labelled, tmp_path / "imagenet")
    good = labelled["photos"][0].read_bytes()
    broken = path / labelled["wnids"][0] / "zz_broken.JPEG"
    broken.write_bytes(good[: len(good) // 3])
    report = _eval_json(capsys, "--data", f"imagenet:{path}", "--source", "torchvision")
    assert report["images"] == 24 and list(report["skipped_files"]) == [str(broken)]
    top1, _ = _expected(labelled["logits"], labelled["labels"], list(range(24)))
    assert report["top1_pct"] == pytest.approx(top1, abs=1e-3)
    assert main(["eval", "--model", MODEL, "--pretrained", "--data", f"imagenet:{path}"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 unreadable files: zz_broken.JPEG (truncated file)" in out and "published top-1 67.67%" in out


@pytest.mark.slow
def test_timm_weights_are_measured_with_their_own_model_and_transform(released, tmp_path, capsys):
    """The timm file's model on timm's own transform gives the reference labels; --source timm must agree."""
    import timm
    from timm.data import create_transform, resolve_data_config

    entry = weights_for(MODEL, "timm")
    reference = released["timm"].eval()
    preset = create_transform(**resolve_data_config(model=timm.create_model(entry.tag, pretrained=False)))
    wnids = _timm_wnids()
    photos = [tmp_path / f"{i}.JPEG" for i in range(6)]
    for i, photo in enumerate(photos):
        _photo(photo, seed=200 + i, size=(300, 240))
    with torch.no_grad():
        logits = reference(torch.stack([preset(Image.open(p).convert("RGB")) for p in photos]))
    labels = [int(logits[i].argsort(descending=True)[0 if i < 4 else 7]) for i in range(6)]
    for photo, label in zip(photos, labels, strict=True):
        (tmp_path / "val" / wnids[label]).mkdir(parents=True, exist_ok=True)
        os.replace(photo, tmp_path / "val" / wnids[label] / photo.name)
    report = _eval_json(capsys, "--data", f"imagenet:{tmp_path}", "--source", "timm")
    assert (report["source"], report["weights"], report["images"]) == ("timm", entry.tag, 6)
    assert report["top1_pct"] == pytest.approx(100 * 4 / 6, abs=1e-3)


# --- refusals ----------------------------------------------------------------------------------------------------


def test_a_folder_of_other_classes_is_refused_naming_them(tmp_path, capsys):
    for name in ("cats", "dogs", "n01440764"):
        _photo(tmp_path / "photos" / name / "a.jpg", seed=3)
    line = _one_line_error(capsys, "--data", f"imagenet:{tmp_path / 'photos'}")
    assert "not an ImageNet-1k validation folder" in line and "2 of its 3 class folders" in line
    assert "cats, dogs" in line


@pytest.mark.parametrize(
    "content,words",
    [
        ("1\n65\n970\n", ["one value a line", "meta.mat"]),
        ("a.JPEG n99999999\n", ["entry 1", "FILE WNID"]),
        ("a.JPEG 1000\n", ["entry 1", "0-999"]),
        ("b.JPEG 3\n", ["1 of 1 images", "have no label", "a.JPEG"]),
    ],
)
def test_flat_folders_with_unusable_labels_are_refused(content, words, tmp_path, capsys):
    _photo(tmp_path / "flat" / "a.JPEG", seed=4)
    (tmp_path / "flat" / "val.txt").write_text(content)
    line = _one_line_error(capsys, "--data", f"imagenet:{tmp_path / 'flat'}")
    assert all(word in line for word in words), line


def test_a_flat_folder_without_labels_and_bad_options_are_one_line(tmp_path, capsys):
    _photo(tmp_path / "flat" / "a.JPEG", seed=5)
    assert "no labels file" in _one_line_error(capsys, "--data", f"imagenet:{tmp_path / 'flat'}")
    assert "imagenet:PATH" in _one_line_error(capsys, "--data", "cifar10")
    assert "at least 1" in _one_line_error(capsys, "--data", f"imagenet:{tmp_path}", "--limit", 0)
    assert "does not exist" in _one_line_error(capsys, "--data", f"imagenet:{tmp_path / 'nowhere'}")


# --- compare --imagenet ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_compare_reports_measured_top1_of_the_published_weights_beside_the_published_figure(
    labelled, tmp_path, capsys, monkeypatch
):
    """The measured column is the reference torchvision model's top-1 on the folder (not the evaluator's own
    output), with its image count and binomial standard error; the published column and the frontier keep the
    published figure; a model without released weights gets the reason instead of a number."""
    from convzoo.compare import comparison as compare_module
    from convzoo.compare.plan import Probe

    monkeypatch.setattr(compare_module, "probe_model", lambda *args, **kwargs: Probe(0.01, 0.01, 0.01))
    monkeypatch.setattr(compare_module, "measure_speed", lambda *args: {"latency_b1_ms": 5.0, "throughput_b16": 50.0})
    monkeypatch.setattr(compare_module, "measure_training", lambda *args: {"learns": True})
    path = _layout("folders-val", labelled, tmp_path / "imagenet")
    out = tmp_path / "report"
    argv = ["compare", MODEL, "cifar_resnet20", "--budget", "3", "--imagenet", str(path), "--out", str(out)]
    assert main(argv) == 0
    rows = {row["model"]: row for row in json.loads((out / "results.json").read_text())["rows"]}
    top1, top5 = _expected(labelled["logits"], labelled["labels"], list(range(24)))
    measured = rows[MODEL]["imagenet"]
    assert (measured["top1_pct"], measured["top5_pct"]) == (
        pytest.approx(top1, abs=1e-3),
        pytest.approx(top5, abs=1e-3),
    )
    assert measured["images"] == 24 and measured["weights"] == rows[MODEL]["published"]["tag"]
    assert measured["standard_error_pct"] == pytest.approx(100 * (top1 / 100 * (1 - top1 / 100) / 24) ** 0.5, abs=0.01)
    assert rows["cifar_resnet20"]["imagenet_note"] == "no released weights"
    report = (out / "report.md").read_text()
    assert f"| {top1:.1f} ±{measured['standard_error_pct']:.1f} (24) |" in report
    assert f"| {rows[MODEL]['published']['top1']:.1f} |" in report  # the published column is unchanged
    assert "ImageNet-1k top-1 measured here for 1 model on the released weights" in report


def test_compare_refuses_a_folder_that_is_not_imagenet_before_any_work(tmp_path, capsys):
    (tmp_path / "cats").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "cats" / "a.png")
    argv = ["compare", MODEL, "--imagenet", str(tmp_path), "--out", str(tmp_path / "report")]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "cats" in lines[0], lines
    assert not (tmp_path / "report").exists()
