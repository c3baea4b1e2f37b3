# SPDX-License-Identifier: MIT
import dataclasses
import os

import pytest
import torch
from ci_capabilities import pytest_runtest_logreport, pytest_sessionfinish  # noqa: F401 (hooks: no silent CI skips)
from equivalence_helpers import randomize_
from http_server import LocalServer

from convzoo.weights import catalog as weights_table

# Two pytest-xdist workers share two cores: one thread each avoids oversubscription.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


# Over 100M parameters, or over 1000 layers: building or counting one takes ~10-25 s on 2 cores. Their
# registry-wide interface and cost-model checks (test_models.py, test_profile.py) run in the slow tier (their
# equivalence with the references stays in `make test`).
LARGEST_MODELS = {f"vgg{depth}{bn}" for depth in (11, 13, 16, 19) for bn in ("", "_bn")} | {
    "convnext_large",
    "efficientnet_v2_l",
    "wide_resnet101_2",
    "cifar_resnet1202",
    "cifar_preact_resnet1001",
}
REGISTRY_WIDE_MODULES = {"test_models", "test_profile"}


def pytest_collection_modifyitems(items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if item.module.__name__ in REGISTRY_WIDE_MODULES and callspec and callspec.params.get("name") in LARGEST_MODELS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# Released weights without the network: randomized files in each source's format, served on 127.0.0.1.
MODEL, TV_NAME, TIMM_TAG = "mobilenet_v3_small", "mobilenet_v3_small", "mobilenetv3_small_100.lamb_in1k"


@pytest.fixture()
def released(tmp_path, monkeypatch):
    """A mirror serving randomized files in each source's format, and the table pointing at them."""
    import timm
    import torchvision
    from safetensors.torch import save_file

    from convzoo.download import digest_of

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    served = tmp_path / "served"
    (served / "models").mkdir(parents=True)
    tv_model = randomize_(torchvision.models.get_model(TV_NAME, weights=None), seed=1)
    torch.save(tv_model.state_dict(), served / "models" / "tmp.pth")
    tv_file = f"{TV_NAME}-{digest_of(served / 'models' / 'tmp.pth')[:8]}.pth"  # torchvision names carry the hash
    (served / "models" / "tmp.pth").rename(served / "models" / tv_file)
    timm_model = randomize_(timm.create_model(TIMM_TAG.split(".")[0]), seed=2)
    timm_dir = served / "timm" / TIMM_TAG / "resolve" / "main"
    timm_dir.mkdir(parents=True)
    save_file(timm_model.state_dict(), timm_dir / "model.safetensors")
    table = weights_table._table()
    tv_entry = dataclasses.replace(
        table[(MODEL, "torchvision")],
        url=f"https://download.pytorch.org/models/{tv_file}",
        file_name=tv_file,
        sha256=tv_file[-12:-4],
    )
    monkeypatch.setitem(table, (MODEL, "torchvision"), tv_entry)
    with LocalServer(served) as server:
        monkeypatch.setenv("CONVZOO_MIRROR", server.url)
        yield {"server": server, "served": served, "tv": (tv_model, tv_entry), "timm": timm_model, "tmp": tmp_path}
