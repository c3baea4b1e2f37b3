# SPDX-License-Identifier: MIT
"""Released weights: the table against torchvision's and timm's own metadata; downloads, cache and mirror against
a local HTTP server serving randomized torchvision- and timm-format files; outputs equal to the source library's."""

import dataclasses
import importlib.util
import json
import os
import re
from pathlib import Path

import pytest
import torch
from equivalence_helpers import relative_error
from http_server import closed_port_url

import convzoo
from convzoo.cli import main
from convzoo.errors import CheckpointError, OptionError
from convzoo.weights import catalog as weights_table
from convzoo.weights.hub import local_path
from convzoo.weights.key_order import _timm_orders

MODEL, TV_NAME, TIMM_TAG = "mobilenet_v3_small", "mobilenet_v3_small", "mobilenetv3_small_100.lamb_in1k"
TOLERANCE = 1e-4


def _cache_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_torchvision_weights_download_verified_and_give_torchvision_outputs(released):
    tv_model, entry = released["tv"]
    model = convzoo.create_model(MODEL, pretrained=True).eval()  # torchvision is the default source
    assert model.pretrained_weights.source == "torchvision"
    assert local_path(entry) == released["tmp"] / "torch" / "hub" / "checkpoints" / entry.file_name
    assert _cache_files(released["tmp"] / "torch") == [f"hub/checkpoints/{entry.file_name}"]  # no .part left
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        assert relative_error(model(x), tv_model(x)) <= TOLERANCE
    released["server"].stop()  # the second call needs no network
    again = convzoo.create_model(MODEL, pretrained="torchvision").eval()
    with torch.no_grad():
        assert relative_error(again(x), tv_model(x)) <= TOLERANCE


def test_timm_weights_build_the_model_with_timm_numerics(released):
    try:  # a conversion that pairs tensors wrongly is refused by its own checks: that is this test failing
        model = convzoo.create_model(MODEL, pretrained="timm").eval()
    except CheckpointError as error:
        pytest.fail(f"timm's released weights did not convert: {error}")
    assert {m.eps for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {1e-5}
    entry = model.pretrained_weights
    assert _cache_files(released["tmp"] / "torch") == [f"hub/checkpoints/huggingface/{entry.hf_repo}/model.safetensors"]
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        assert relative_error(model(x), released["timm"](x)) <= TOLERANCE


def test_a_wrong_hash_is_refused_and_leaves_nothing(released, monkeypatch):
    table = weights_table._table()
    entry = table[(MODEL, "torchvision")]
    monkeypatch.setitem(table, (MODEL, "torchvision"), dataclasses.replace(entry, sha256="0badc0de"))
    with pytest.raises(CheckpointError, match=r"has SHA256 [0-9a-f]{64}, expected 0badc0de"):
        convzoo.create_model(MODEL, pretrained=True)
    assert _cache_files(released["tmp"] / "torch") == []


def test_a_cached_file_that_was_altered_is_refused(released):
    _, entry = released["tv"]
    convzoo.create_model(MODEL, pretrained=True)
    path = local_path(entry)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="altered or incomplete file.*delete it"):
        convzoo.create_model(MODEL, pretrained=True)


def test_a_truncated_body_is_refused_and_leaves_nothing(released):
    _, entry = released["tv"]
    released["server"].truncate[f"/models/{entry.file_name}"] = 1000
    with pytest.raises(CheckpointError, match=r"stopped after 1000 of \d+ bytes"):
        convzoo.create_model(MODEL, pretrained=True)
    assert _cache_files(released["tmp"] / "torch") == []


def test_a_server_that_is_down_names_the_url_and_where_to_put_the_file(released, monkeypatch):
    _, entry = released["tv"]
    down = closed_port_url()
    monkeypatch.setenv("CONVZOO_MIRROR", down)
    expected = re.escape(f"cannot download {down}/models/{entry.file_name}") + ".*" + re.escape(str(local_path(entry)))
    with pytest.raises(CheckpointError, match=expected):
        convzoo.create_model(MODEL, pretrained=True)
    assert _cache_files(released["tmp"] / "torch") == []


def test_timm_weights_in_the_hugging_face_cache_are_used_offline(released, monkeypatch):
    """The layout huggingface_hub writes: blobs named by SHA-256, a snapshot per commit, refs/main naming it."""
    from convzoo.download import digest_of

    monkeypatch.setenv("CONVZOO_MIRROR", closed_port_url())
    source = released["served"] / "timm" / TIMM_TAG / "resolve" / "main" / "model.safetensors"
    repo = released["tmp"] / "hf" / f"models--timm--{TIMM_TAG}"
    blob = repo / "blobs" / digest_of(source)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(source.read_bytes())
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    os.symlink(blob, repo / "snapshots" / commit / "model.safetensors")
    model = convzoo.create_model(MODEL, pretrained="timm").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert relative_error(model(x), released["timm"](x)) <= TOLERANCE
    blob.write_bytes(blob.read_bytes()[:-1])
    with pytest.raises(CheckpointError, match="Hugging Face cache is corrupt"):
        convzoo.create_model(MODEL, pretrained="timm")


def test_other_class_count_and_channels_reuse_what_fits(released):
    tv_model, _ = released["tv"]
    model = convzoo.create_model(MODEL, pretrained=True, num_classes=10, in_chans=1)
    theirs = tv_model.state_dict()
    assert torch.equal(model.stem[0].weight, theirs["features.0.0.weight"].sum(dim=1, keepdim=True))
    assert torch.equal(model.conv_head[0].weight, theirs["features.12.0.weight"])
    assert model.head.fc.weight.shape == (10, 1024)
    grey = torch.rand(2, 1, 64, 64)  # a grey image gives the response of the RGB image it came from
    tv_model.classifier[-1] = model.head.fc
    with torch.no_grad():
        assert relative_error(model.eval()(grey), tv_model(grey.expand(2, 3, 64, 64))) <= TOLERANCE


def test_a_local_file_in_torchvision_format(released, tmp_path):
    tv_model, entry = released["tv"]
    path = released["served"] / "models" / entry.file_name
    model = convzoo.create_model(MODEL, pretrained=path).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert relative_error(model(x), tv_model(x)) <= TOLERANCE


def test_a_model_without_released_weights_lists_those_with():
    with pytest.raises(OptionError, match="cifar_resnet20 has no released weights; these models have: alexnet, "):
        convzoo.create_model("cifar_resnet20", pretrained=True)
    with pytest.raises(OptionError, match="xception has no torchvision weights; it has: timm"):
        convzoo.create_model("xception", pretrained="torchvision")


def test_predict_with_pretrained_weights_uses_their_own_transform(released, tmp_path, capsys):
    """The top-5 equals torchvision's model with the same file and torchvision's own preset transform."""
    from PIL import Image
    from torchvision.models import get_model_weights

    tv_model, _ = released["tv"]
    image = tmp_path / "photo.png"
    pixels = torch.randint(0, 256, (300, 400, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    Image.fromarray(pixels.numpy()).save(image)
    assert main(["predict", "--model", MODEL, "--pretrained", "--top", "5", "--format", "json", str(image)]) == 0
    ours = json.loads(capsys.readouterr().out)[0]["top"]
    preset = get_model_weights(TV_NAME).DEFAULT.transforms()
    with torch.no_grad():
        probabilities = tv_model(preset(Image.open(image).convert("RGB")).unsqueeze(0)).softmax(1)[0]
    top = probabilities.topk(5)
    categories = get_model_weights(TV_NAME).DEFAULT.meta["categories"]
    assert [name for name, _ in ours] == [categories[i] for i in top.indices.tolist()]
    assert [p for _, p in ours] == pytest.approx(top.values.tolist(), abs=1e-4)


def test_models_pretrained_lists_the_table(capsys):
    assert main(["models", "--pretrained", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(weights_table.all_weights())
    resnet50 = [(row["source"], row["weights"], row["top-1"]) for row in rows if row["model"] == "resnet50"]
    assert resnet50 == [
        ("torchvision", "ResNet50_Weights.IMAGENET1K_V2", "80.86"),
        ("timm", "resnet50.a1_in1k", "81.21"),
    ]
    assert convzoo.model_info("resnet50")["pretrained"][0]["tag"] == "ResNet50_Weights.IMAGENET1K_V2"


def _generator():
    path = Path(__file__).resolve().parents[1] / "scripts" / "make_weights_table.py"
    spec = importlib.util.spec_from_file_location("make_weights_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_registered_model_with_torchvision_weights_has_their_url_and_hash_prefix():
    """Independent of the generator: torchvision's metadata, and torch.hub's own rule for the hash in a file name."""
    from torchvision.models import get_model_weights

    for name in convzoo.list_models():
        reference = convzoo.registry.get_entry(name).reference.get("torchvision")
        if reference is None:
            continue
        released = get_model_weights(reference).DEFAULT
        entry = weights_table.weights_for(name, "torchvision")
        assert entry.url == released.url and entry.top1 == released.meta["_metrics"]["ImageNet-1K"]["acc@1"]
        assert entry.sha256 == torch.hub.HASH_REGEX.search(released.url.rsplit("/", 1)[-1]).group(1)
        assert entry.num_classes == len(released.meta["categories"]) == len(entry.classes)
        assert entry.classes == released.meta["categories"]
        preset = released.transforms()
        assert (entry.transform.crop, entry.transform.resize) == (preset.crop_size[0], preset.resize_size[0])


@pytest.mark.slow
def test_the_table_is_what_the_generator_writes_from_the_installed_libraries():
    """Every registered model with timm ImageNet-1k weights has its entry, with timm's file and settings."""
    generator = _generator()
    expected = [
        row for n in convzoo.list_models() for row in (generator.torchvision_row(n), generator.timm_row(n)) if row
    ]
    committed = json.loads(json.dumps(expected))  # tuples as lists, as in the file
    on_disk = json.loads((Path(weights_table.__file__).with_name("pretrained.json")).read_text())["weights"]
    assert on_disk == committed
    assert generator.timm_tensor_orders() == {k: list(v) for k, v in _timm_orders().items()}
    for row in on_disk:
        if row["source"] == "timm" and row.get("hf_repo"):
            assert row["url"] == f"https://huggingface.co/{row['hf_repo']}/resolve/main/model.safetensors"


def test_legacy_format_files_are_read_safely(tmp_path):
    """2017's torchvision files predate the zip format: read with weights_only, and a crafted one is refused."""
    from convzoo.weights.hub import read_weights_file

    state = {"a.weight": torch.randn(3, 4), "a.bias": torch.randn(3)}
    torch.save(state, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    loaded = read_weights_file(tmp_path / "legacy.pth")
    assert list(loaded) == list(state) and all(torch.equal(loaded[k], state[k]) for k in state)
    torch.save(
        {"a.weight": torch.randn(2), "hook": os.system}, tmp_path / "crafted.pth", _use_new_zipfile_serialization=False
    )
    with pytest.raises(CheckpointError, match="not a readable weights file"):
        read_weights_file(tmp_path / "crafted.pth")
