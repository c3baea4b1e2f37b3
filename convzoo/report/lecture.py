# SPDX-License-Identifier: MIT
"""The lecture's numbers, recomputed from real modules with :func:`convzoo.profile`.

Every figure on the generated page comes from building an ``nn.Module`` and
profiling it; none is typed in, except the lecture's own rounded claims, which
are quoted to be compared against the measurement. ``python -m convzoo lecture``
writes the page (``docs/lecture.md`` in the repository).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..analysis import profile
from ..factory import create_model
from ..formats import markdown
from ..layers import InvertedResidual, SqueezeExcite
from ..models.efficientnet import VARIANTS as EFFICIENTNET_VARIANTS
from ..models.efficientnet import compound_scaling
from ..models.resnet import BasicBlock, Bottleneck
from ..registry import count_params

M = 1e6


@dataclass
class Section:
    """One topic of the lecture: its Markdown text and the measured facts behind it (for tests)."""

    title: str
    markdown: str
    facts: dict[str, Any] = field(default_factory=dict)


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _macs(module: nn.Module, input_size: tuple[int, ...]) -> int:
    return profile(module, input_size).total_macs


def _against_lecture(quoted: float, measured: float, digits: int = 1) -> str:
    """How the lecture's rounded figure compares with the measurement, decided here, never typed in."""
    scale = 10**digits
    if round(measured * scale) == round(quoted * scale):
        return f"{quoted}M agrees"
    if int(measured * scale) == round(quoted * scale):
        return f"{quoted}M agrees (rounded down from {measured:.{digits + 2}f}M)"
    return f"{quoted}M differs from the measured {measured:.{digits}f}M"


LECTURE_REDUCTION = {"direct": 112.9, "reduce": 1.5, "conv": 3.8, "reduced": 5.3}  # the lecture's slide, in M


def one_by_one_reduction() -> Section:
    size = (480, 14, 14)
    direct = nn.Conv2d(480, 48, 5, padding=2, bias=False)
    reduce, conv = nn.Conv2d(480, 16, 1, bias=False), nn.Conv2d(16, 48, 5, padding=2, bias=False)
    direct_macs = _macs(direct, size)
    reduce_macs, conv_macs = _macs(reduce, size), _macs(conv, (16, 14, 14))
    facts = {"direct": direct_macs, "reduce": reduce_macs, "conv": conv_macs, "reduced": reduce_macs + conv_macs}
    text = f"""A 5×5 convolution from 480 to 48 channels on a 14×14 map
(`nn.Conv2d(480, 48, 5, padding=2)`, profiled on 1×480×14×14) costs
**{direct_macs / M:.1f}M** multiply-adds. With a 1×1 reduction to 16 channels first
(`nn.Conv2d(480, 16, 1)` then `nn.Conv2d(16, 48, 5, padding=2)`) it costs
**{reduce_macs / M:.1f}M + {conv_macs / M:.1f}M = {(reduce_macs + conv_macs) / M:.1f}M**,
{direct_macs / (reduce_macs + conv_macs):.1f}× less. The lecture's figures:
{"; ".join(_against_lecture(LECTURE_REDUCTION[key], facts[key] / M) for key in LECTURE_REDUCTION)}."""
    return Section("1×1 convolutions as a bottleneck", text, facts)


def global_pooling() -> Section:
    fc = nn.Linear(7 * 7 * 1024, 1024)
    gap = nn.AdaptiveAvgPool2d(1)
    weights = fc.weight.numel()
    shapes = []
    for height, width in ((7, 7), (10, 10), (9, 14)):
        out = gap(torch.zeros(1, 1024, height, width))
        shapes.append((f"1×1024×{height}×{width}", "×".join(map(str, out.shape))))
    model = create_model("googlenet").eval()
    with torch.no_grad():
        logits = {
            f"{h}×{w}": tuple(model(torch.zeros(1, 3, h, w)).shape) for h, w in ((224, 224), (320, 320), (160, 256))
        }
    facts = {"fc_weights": weights, "fc_params": _params(fc), "gap_params": _params(gap), "googlenet_logits": logits}
    text = f"""A fully-connected layer from a 7×7×1024 map to 1024 units (`nn.Linear(50176, 1024)`) holds
**{weights / M:.2f}M** weights ({_params(fc):,} with its bias); global average pooling
(`nn.AdaptiveAvgPool2d(1)`) holds **{_params(gap)}**. (The lecture's {_against_lecture(51.3, weights / M)}.)

Adaptive average pooling produces a fixed output size from any input, so the classifier after it
never sees the input size:

{markdown(["feature map in", "AdaptiveAvgPool2d(1) out"], shapes)}

GoogLeNet built by convzoo returns logits of shape {logits["224×224"]} for 224×224, 320×320 and
160×256 images alike: {", ".join(f"{k} → {v}" for k, v in logits.items())}."""
    return Section("Global average pooling instead of fully-connected layers", text, facts)


def vgg16() -> Section:
    result = profile("vgg16")
    fc_params = sum(row.params for row in result.rows if row.path.startswith("head."))
    stacks = {}
    channels = 64
    for depth, single in ((2, 5), (3, 7)):
        stack = nn.Sequential(*[nn.Conv2d(channels, channels, 3, padding=1, bias=False) for _ in range(depth)])
        rf = profile(stack, (channels, 32, 32)).rows[-1].receptive_field[0]
        one = nn.Conv2d(channels, channels, single, padding=single // 2, bias=False)
        stacks[depth] = (rf, _params(stack), single, _params(one))
    facts = {
        "params": result.total_params,
        "mib": result.weight_mib("fp32"),
        "mb": result.total_params * 4 / 1e6,
        "fc_share": fc_params / result.total_params,
        "stacks": stacks,
        "gmacs": result.total_macs / 1e9,
    }
    rows = [
        (
            f"{d} × 3×3",
            rf,
            f"{p:,} ({p // channels**2}·C²)",
            f"{k}×{k}",
            f"{q:,} ({q // channels**2}·C²)",
            f"{1 - p / q:.0%}",
        )
        for d, (rf, p, k, q) in stacks.items()
    ]
    text = f"""`convzoo.profile("vgg16")`: **{result.total_params:,}** parameters, **{facts["mib"]:.1f} MiB**
({facts["mb"]:.0f} MB) in fp32 (the lecture: 138M, ~500 MB), {facts["gmacs"]:.2f} GMACs at 224×224. The three
fully-connected layers hold **{fc_params:,}** parameters, **{facts["fc_share"]:.1%}** of the network.

Stacked 3×3 convolutions see as far as one large kernel with fewer weights and more non-linearities
(C = {channels} channels, receptive field measured by the profiler):

{markdown(["stack", "receptive field", "weights", "single kernel", "weights", "saved"], rows)}"""
    return Section("VGG-16: 3×3 convolutions only", text, facts)


def googlenet() -> Section:
    result = profile("googlenet")
    vgg = count_params("vgg16")
    with_aux = count_params("googlenet", aux_logits=True)
    rows, per_module = [], {}
    for group in result.grouped(2):
        if not group.path.startswith("inception") or "." not in group.path:
            continue  # the module's own concatenation has no multiply-adds
        module, branch = group.path.split(".")
        per_module.setdefault(module, {})[branch] = group.macs
    for module, branches in per_module.items():
        total = sum(branches.values())
        cells = [
            f"{branches.get(f'branch{i}', 0) / M:.1f}M ({branches.get(f'branch{i}', 0) / total:.0%})"
            for i in range(1, 5)
        ]
        rows.append((module, *cells, f"{total / M:.1f}M"))
    facts = {"params": result.total_params, "ratio": vgg / result.total_params, "ratio_with_aux": vgg / with_aux}
    text = f"""`convzoo.profile("googlenet")`: **{result.total_params:,}** parameters (under 7M), against VGG-16's
{vgg:,}: **{facts["ratio"]:.1f}× lighter**. The lecture says "15 times lighter"; the measured ratio is
{facts["ratio"]:.1f}× without the auxiliary classifiers and {facts["ratio_with_aux"]:.1f}× with them
({with_aux:,} parameters), which only exist during training. {result.total_macs / 1e9:.2f} GMACs at 224×224.

Multiply-adds of each inception module by branch (1×1 | 1×1→3×3 | 1×1→"5×5" | pool→1×1; torchvision's
layout uses 3×3 in the third branch, see `convzoo/models/googlenet.py`):

{markdown(["module", "branch 1", "branch 2", "branch 3", "branch 4", "total"], rows)}"""
    return Section("GoogLeNet: the inception module", text, facts)


def resnet() -> Section:
    counts = {name: count_params(name) for name in ("resnet18", "resnet34", "resnet50")}
    blocks = {
        "basic block, 256→256 (two 3×3)": (BasicBlock(256, 256), 256),
        "bottleneck, 256→64→64→256": (Bottleneck(256, 64), 256),
        "basic block, 64→64 (paper Fig. 5 left)": (BasicBlock(64, 64), 64),
    }
    rows, facts = [], {"params": counts}
    for label, (block, channels) in blocks.items():
        macs = _macs(block, (channels, 56, 56))
        rows.append((label, f"{_params(block):,}", f"{macs / M:.1f}M"))
        facts[label] = (_params(block), macs)
    nearest = min(counts, key=lambda name: abs(counts[name] - 20 * M))
    text = f"""Parameters measured on the registered models: ResNet-18 **{counts["resnet18"]:,}**, ResNet-34
**{counts["resnet34"]:,}**, ResNet-50 **{counts["resnet50"]:,}**. The lecture's "~20M" is nearest to
{nearest.replace("resnet", "ResNet-")}; ResNet-18 has {counts["resnet18"] / counts["resnet34"]:.0%} of ResNet-34's
parameters and ResNet-50 {counts["resnet50"] / counts["resnet34"] - 1:.0%} more, though ResNet-50 is 16 layers \
deeper than ResNet-34.

Basic block against bottleneck on a 56×56 map (parameters and multiply-adds from the real blocks). At
equal width (256 channels in and out) the bottleneck costs \
{facts[next(iter(blocks))][1] / facts[list(blocks)[1]][1]:.0f}× less;
the paper's Fig. 5 pairs a 64-channel basic block with a 256-channel bottleneck of similar cost:

{markdown(["block on 56×56", "parameters", "MACs"], rows)}"""
    return Section("ResNet: parameters and bottleneck blocks", text, facts)


def _formula_macs(phi: int) -> int:
    resolution = compound_scaling(phi).resolution
    return profile(create_model("efficientnet", phi=phi), (3, resolution, resolution)).total_macs


def efficientnet(phis: Iterable[int] = range(5), published: Iterable[str] = tuple(EFFICIENTNET_VARIANTS)) -> Section:
    facts: dict[str, dict] = {"phi": {}, "published": {}}
    formula_rows = []
    for phi in phis:
        scaling = compound_scaling(phi)
        facts["phi"][phi] = _formula_macs(phi)
        ratio = facts["phi"][phi] / facts["phi"][min(facts["phi"])]
        formula_rows.append(
            (
                phi,
                f"{scaling.depth:.2f}",
                f"{scaling.width:.2f}",
                scaling.resolution,
                f"{facts['phi'][phi] / 1e9:.2f}",
                f"{ratio:.2f}",
                2**phi,
            )
        )
    published_rows = []
    for phi, name in enumerate(published):
        variant, formula = EFFICIENTNET_VARIANTS[name], compound_scaling(phi)
        macs = profile(name, (3, variant.resolution, variant.resolution)).total_macs
        formula_macs = facts["phi"].get(phi) or _formula_macs(phi)
        facts["published"][name] = (macs, formula_macs)
        published_rows.append(
            (
                name,
                f"{variant.depth} / {formula.depth:.2f}",
                f"{variant.width} / {formula.width:.2f}",
                f"{variant.resolution} / {formula.resolution}",
                f"{macs / 1e9:.2f} / {formula_macs / 1e9:.2f}",
            )
        )
    text = f"""Compound scaling: depth d = 1.2^φ, width w = 1.1^φ, resolution r = 224·1.15^φ, with
α·β²·γ² = 1.2 · 1.1² · 1.15² = {1.2 * 1.1**2 * 1.15**2:.3f} ≈ 2, so cost should double per step of φ.
`create_model("efficientnet", phi=φ)` profiled at its own resolution (channels rounded to multiples of 8,
repeats rounded up, resolution to a multiple of 8, so the ratio drifts from 2^φ):

{markdown(["φ", "depth", "width", "resolution", "GMACs", "× φ=0", "2^φ"], formula_rows)}"""
    if published_rows:  # the page of ``convzoo demo`` leaves the published models out (profiling B7 takes a minute)
        text += f"""

The published B0–B7 against the formula's network at the same φ (published / formula). The released
models were rounded by hand: B1–B4 are shallower and cheaper than the formula, B5–B7 close in width
and resolution but shallower.

{markdown(["model", "depth", "width", "resolution", "GMACs"], published_rows)}"""
    return Section("EfficientNet: compound scaling", text, facts)


def mbconv_vs_bottleneck() -> Section:
    size = 28
    mbconv = InvertedResidual(
        40, 40, 240, 5, act_layer=nn.SiLU, se_layer=lambda c: SqueezeExcite(c, 10, act_layer=nn.SiLU)
    )
    bottleneck = Bottleneck(256, 64)
    rows, facts = [], {}
    for label, block, (c_in, c_mid, c_out) in (
        ("MBConv6 5×5 (EfficientNet-B0 stage 3)", mbconv, (40, 240, 40)),
        ("ResNet bottleneck (ResNet-50 stage 1 width)", bottleneck, (256, 64, 256)),
    ):
        macs = _macs(block, (c_in, size, size))
        facts[label] = (_params(block), macs)
        rows.append((label, c_in, c_mid, c_out, f"{_params(block):,}", f"{macs / M:.1f}M"))
    text = f"""The ResNet bottleneck goes wide → narrow → wide; MBConv (inverted residual) goes narrow → wide →
narrow, with a depthwise convolution on the wide tensor and no activation after the projection. Both
measured on a {size}×{size} map:

{markdown(["block", "in", "middle", "out", "parameters", "MACs"], rows)}"""
    return Section("MBConv against the ResNet bottleneck", text, facts)


SECTIONS = (one_by_one_reduction, global_pooling, vgg16, googlenet, resnet, efficientnet, mbconv_vs_bottleneck)


def lecture_sections() -> list[Section]:
    return [make() for make in SECTIONS]
