# SPDX-License-Identifier: MIT
"""Write convzoo/weights/pretrained.json: the released ImageNet-1k weights of every registered model.

Run with torchvision and timm installed (the dev extra); no network is needed:

    python scripts/make_weights_table.py

- torchvision: each model's DEFAULT weights: URL, the SHA-256 prefix its file
  name carries, top-1, file size, evaluation transform (all from torchvision's
  own metadata).
- timm: the first ImageNet-1k tag in timm's order of preference, its Hugging
  Face file (or URL), the published top-1 and the transform it was measured
  with (timm's results/results-imagenet.csv, below), its license.
- settings: what ``from_reference`` reads off the source's model built with
  those weights' defaults (batch-norm eps, GoogLeNet's transform_input).

tests/test_pretrained.py checks the committed file against the installed
libraries, so run this again after upgrading either.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import timm
import torch
import torchvision
from timm.models import get_pretrained_cfg
from torchvision.models import get_model_weights

import convzoo
from convzoo.registry import get_entry
from convzoo.weights.from_reference import settings_of
from convzoo.weights.key_order import TIMM_ORDER_FILE, build_torchvision

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "convzoo" / "weights"
OUT = WEIGHTS_DIR / "pretrained.json"

# timm's published ImageNet-1k validation results (top-1 %, image size, crop fraction, interpolation), from
# https://github.com/huggingface/pytorch-image-models/blob/0173a139a2c66db3a41ebfe1d8ac4fb02483642e/results/results-imagenet.csv
TIMM_RESULTS = {
    "convnext_base.clip_laion2b_augreg_ft_in1k": (86.158, 256, 1.0, "bicubic"),
    "convnext_large.fb_in1k": (84.846, 288, 1.0, "bicubic"),
    "convnext_small.fb_in1k": (83.700, 288, 1.0, "bicubic"),
    "convnext_tiny.fb_in1k": (82.698, 288, 1.0, "bicubic"),
    "efficientnet_b1.ft_in1k": (78.800, 256, 1.0, "bicubic"),
    "efficientnet_b2.ra_in1k": (80.610, 288, 1.0, "bicubic"),
    "efficientnet_b3.ra2_in1k": (82.242, 320, 1.0, "bicubic"),
    "efficientnet_b4.ra2_in1k": (83.414, 384, 1.0, "bicubic"),
    "efficientnet_b5.sw_in12k_ft_in1k": (85.892, 448, 1.0, "bicubic"),
    "mobilenetv2_100.ra_in1k": (72.976, 224, 0.875, "bicubic"),
    "mobilenetv3_large_100.miil_in21k_ft_in1k": (77.918, 224, 0.875, "bilinear"),
    "mobilenetv3_small_100.lamb_in1k": (67.656, 224, 0.875, "bicubic"),
    "resnet18.a1_in1k": (73.158, 288, 1.0, "bicubic"),
    "resnet34.a1_in1k": (77.918, 288, 1.0, "bicubic"),
    "resnet50.a1_in1k": (81.214, 288, 1.0, "bicubic"),
    "resnet101.a1_in1k": (82.322, 288, 1.0, "bicubic"),
    "resnet152.a1_in1k": (82.732, 288, 1.0, "bicubic"),
    "resnext50_32x4d.a1_in1k": (81.466, 288, 1.0, "bicubic"),
    "resnext101_32x8d.fb_ssl_yfcc100m_ft_in1k": (81.606, 224, 0.875, "bilinear"),
    "resnext101_64x4d.c1_in1k": (83.156, 288, 1.0, "bicubic"),
    "wide_resnet50_2.racm_in1k": (82.280, 288, 0.95, "bicubic"),
    "wide_resnet101_2.tv2_in1k": (82.498, 224, 0.965, "bilinear"),
    "vgg11.tv_in1k": (69.022, 224, 0.875, "bilinear"),
    "vgg11_bn.tv_in1k": (70.382, 224, 0.875, "bilinear"),
    "vgg13.tv_in1k": (69.932, 224, 0.875, "bilinear"),
    "vgg13_bn.tv_in1k": (71.588, 224, 0.875, "bilinear"),
    "vgg16.tv_in1k": (71.592, 224, 0.875, "bilinear"),
    "vgg16_bn.tv_in1k": (73.370, 224, 0.875, "bilinear"),
    "vgg19.tv_in1k": (72.378, 224, 0.875, "bilinear"),
    "vgg19_bn.tv_in1k": (74.216, 224, 0.875, "bilinear"),
    "legacy_xception.tf_in1k": (79.040, 299, 0.897, "bicubic"),
}


def torchvision_row(name: str) -> dict | None:
    reference = get_entry(name).reference.get("torchvision")
    if reference is None:
        return None
    weights = get_model_weights(reference).DEFAULT
    preset = weights.transforms()
    with torch.device("meta"):
        module = build_torchvision(reference, **_released_options(reference))
    return {
        "model": name,
        "source": "torchvision",
        "tag": str(weights),
        "url": weights.url,
        "file_name": weights.url.rsplit("/", 1)[-1],
        "sha256": _hash_prefix(weights.url),
        "num_classes": len(weights.meta["categories"]),
        "top1": weights.meta["_metrics"]["ImageNet-1K"]["acc@1"],
        "size_mb": weights.meta["_file_size"],
        "license": "bsd-3-clause",
        "transform": {
            "resize": preset.resize_size[0],
            "crop": preset.crop_size[0],
            "interpolation": preset.interpolation.value,
            "mean": preset.mean,
            "std": preset.std,
        },
        "settings": _settings(module, name),
    }


def _released_options(reference: str) -> dict:
    """What torchvision's builder sets when it loads released weights (GoogLeNet: transform_input, no aux heads)."""
    return {"transform_input": True, "aux_logits": False, "init_weights": False} if reference == "googlenet" else {}


def _hash_prefix(url: str) -> str:
    return url.rsplit("/", 1)[-1].rsplit(".", 1)[0].rsplit("-", 1)[-1]


def timm_row(name: str) -> dict | None:
    architecture = get_entry(name).reference.get("timm")
    if architecture is None:
        return None
    tags = [t for t in timm.list_pretrained(architecture + ".*") if t.split(".")[0] == architecture]
    tags = [t for t in tags if get_pretrained_cfg(t).num_classes == 1000 and "in1k" in t.split(".")[1]]
    if not tags:
        return None
    tag, config = tags[0], get_pretrained_cfg(tags[0])
    with torch.device("meta"):
        module = timm.create_model(architecture, pretrained=False)
    top1, size, crop_pct, interpolation = TIMM_RESULTS.get(
        tag, (None, config.input_size[-1], config.crop_pct, config.interpolation)
    )
    if config.hf_hub_id:
        location = {
            "hf_repo": config.hf_hub_id,
            "file_name": "model.safetensors",
            "url": f"https://huggingface.co/{config.hf_hub_id}/resolve/main/model.safetensors",
        }
    else:
        location = {"url": config.url, "file_name": config.url.rsplit("/", 1)[-1]}
    size_bytes = sum(t.numel() * t.element_size() for t in module.state_dict().values())
    return {
        "model": name,
        "source": "timm",
        "tag": tag,
        **location,
        "sha256": None,
        "num_classes": config.num_classes,
        "top1": top1,
        "size_mb": round(size_bytes / 1e6, 1),
        "license": config.license,
        "transform": {
            "resize": math.floor(size / crop_pct),
            "crop": size,
            "interpolation": interpolation,
            "mean": config.mean,
            "std": config.std,
        },
        "settings": _settings(module, name),
    }


def _settings(module, name: str) -> dict:
    settings = settings_of(module, name)
    return {k: v for k, v in settings.items() if k not in ("num_classes", "in_chans")}


def timm_tensor_orders() -> dict[str, list[str]]:
    """Each timm architecture's state-dict keys in module order (safetensors files lose it)."""
    orders = {}
    for name in convzoo.list_models():
        architecture = get_entry(name).reference.get("timm")
        if architecture and architecture not in orders:
            with torch.device("meta"):
                orders[architecture] = list(timm.create_model(architecture, pretrained=False).state_dict())
    return orders


def main() -> None:
    rows = [row for name in convzoo.list_models() for row in (torchvision_row(name), timm_row(name)) if row]
    table = {
        "generated_by": "scripts/make_weights_table.py",
        "torchvision": torchvision.__version__.split("+")[0],
        "timm": timm.__version__,
        "weights": rows,
    }
    OUT.write_text(json.dumps(table, indent=1) + "\n")
    order_file = WEIGHTS_DIR / TIMM_ORDER_FILE
    order_file.write_bytes(gzip.compress(json.dumps(timm_tensor_orders()).encode(), compresslevel=9, mtime=0))
    print(f"wrote {len(rows)} entries to {OUT} and {order_file.name}")


if __name__ == "__main__":
    main()
