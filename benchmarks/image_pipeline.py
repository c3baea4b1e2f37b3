# SPDX-License-Identifier: MIT
"""The streaming image-folder pipeline at 224 px: its speed against torchvision's, and whether it feeds ResNet-50.

    python benchmarks/image_pipeline.py [--images 600] [--repeats 3] [--steps 12] [--allow-dirty]

1. **Pipeline throughput.** A generated folder of JPEG photos (300–900 px, the size range of ImageNet's
   photos and phone pictures after a resize) is read with decode + RandomResizedCrop(224) + flip +
   normalise into float batches of 32, with 2 worker processes, by:
   - torchvision: ``datasets.ImageFolder`` (Pillow decode) + ``transforms.v2`` (ToImage, RandomResizedCrop,
     RandomHorizontalFlip, ToDtype, Normalize) + ``DataLoader``;
   - convzoo: ``StreamingLoader`` (torchvision.io decode in the workers, uint8 batches) + ``InputAdapter``
     (normalise in the main process, as training does).
   One pass each, interleaved, ``--repeats`` times after a warm-up pass; the median images/s and their ratio.
   Alongside, single-process decode-only rates of the decoders on the same files (torchvision.io,
   Pillow, Pillow with JPEG draft mode), which is where a faster path would come from.
2. **Does it keep ResNet-50 fed?** ``convzoo train --model resnet50`` on the same folder at 224 px, batch
   32, 2 workers, for two epochs of ``--steps`` steps (the second, with warm workers, is the one reported):
   the time spent waiting for batches (``data_wait_s``) against the epoch's time.

Writes ``benchmarks/results/image_pipeline.json`` with the command, commit and CPU kind.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from convzoo.data import Augment, FolderOptions, InputAdapter, load_dataset
from convzoo.data.synthetic_photos import write_photo_folder
from convzoo.provenance import provenance

BATCH, WORKERS, SIZE = 32, 2, 224
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def torchvision_loader(root: Path):
    from torchvision import datasets
    from torchvision.transforms import v2

    transform = v2.Compose(
        [
            v2.ToImage(),
            v2.RandomResizedCrop(SIZE, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(MEAN, STD),
        ]
    )
    dataset = datasets.ImageFolder(str(root / "train"), transform=transform)
    return torch.utils.data.DataLoader(
        dataset, batch_size=BATCH, shuffle=True, num_workers=WORKERS, persistent_workers=True, prefetch_factor=2
    )


def convzoo_loader(root: Path):
    data = load_dataset(f"folder:{root}", folder=FolderOptions(image_size=SIZE, stream="yes", mean=MEAN, std=STD))
    loader = data.train_loader(BATCH, Augment(flip=True), seed=0, workers=WORKERS)
    adapter = InputAdapter(3, 3, MEAN, STD)
    epoch = iter(range(10**6))

    def batches():
        loader.set_epoch(next(epoch))
        for images, labels in loader.batches():
            yield adapter(images), labels

    return batches


def one_pass(batches) -> float:
    count, start = 0, time.perf_counter()
    for images, _ in batches:
        assert images.dtype == torch.float32 and images.shape[-1] == SIZE
        count += len(images)
    return count / (time.perf_counter() - start)


def decoder_rates(root: Path, files: int = 60) -> dict[str, float]:
    """Images/s of decoding alone, one process, on the first ``files`` JPEGs."""
    import warnings

    from PIL import Image
    from torchvision.io import ImageReadMode, decode_jpeg, read_file

    paths = sorted((root / "train").rglob("*.jpg"))[:files]
    torch.set_num_threads(1)

    def pillow(path, draft: bool):
        with Image.open(path) as image:
            if draft:  # DCT-domain downscaling by 1/2, 1/4 or 1/8, keeping at least 3.5x the crop
                image.draft("RGB", (int(SIZE * 3.5), int(SIZE * 3.5)))
            return image.convert("RGB").size

    def torchvision_io(path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return decode_jpeg(read_file(str(path)), mode=ImageReadMode.RGB).shape

    ways = {
        "torchvision.io decode_jpeg": torchvision_io,
        "Pillow": lambda p: pillow(p, False),
        "Pillow draft (scaled decode)": lambda p: pillow(p, True),
    }
    rates = {}
    for name, decode in ways.items():
        decode(paths[0])
        start = time.perf_counter()
        for path in paths:
            decode(path)
        rates[name] = round(len(paths) / (time.perf_counter() - start), 1)
    torch.set_num_threads(2)
    return rates


def fine_tune_wait(root: Path, steps: int, out: Path) -> dict:
    from convzoo.training import TrainConfig, train

    config = TrainConfig(
        model="resnet50",
        data=f"folder:{root}",
        image_size=SIZE,
        stream="yes",
        batch_size=BATCH,
        workers=WORKERS,
        epochs=2,
        steps_per_epoch=steps,
        out=str(out),
        progress=False,
    )
    result = train(config)
    row = result.history[-1]
    return {
        "steps": steps,
        "epoch_seconds": row["epoch_seconds"],
        "data_wait_s": row["data_wait_s"],
        "data_wait_fraction": round(row["data_wait_s"] / row["epoch_seconds"], 4),
        "step_seconds": round(row["epoch_seconds"] / steps, 3),
        "train_images_per_s": row["train_images_per_s"],
        "amp": "bf16" if torch.backends.mkldnn.is_available() and _has_bf16() else "fp32",
        "first_epoch": {k: result.history[0][k] for k in ("epoch_seconds", "data_wait_s")},
    }


def _has_bf16() -> bool:
    from convzoo.runtime import resolve_amp

    return resolve_amp("auto", torch.device("cpu")) == torch.bfloat16


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=600, help="training photos in the generated folder")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=12, help="ResNet-50 steps per epoch")
    parser.add_argument("--allow-dirty", action="store_true")
    args = parser.parse_args()
    record = provenance(allow_dirty=args.allow_dirty)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "photos"
        per_class = args.images // 3
        write_photo_folder(
            root,
            train_per_class=per_class,
            test_per_class=4,
            sizes=(300, 900),
            broken=False,
            formats=("JPEG",),
            grey_every=0,
        )
        theirs, ours = torchvision_loader(root), convzoo_loader(root)
        one_pass(theirs), one_pass(ours())  # warm-up: worker start, page cache
        rates = {"torchvision": [], "convzoo": []}
        for _ in range(args.repeats):
            rates["torchvision"].append(one_pass(theirs))
            rates["convzoo"].append(one_pass(ours()))
            print({k: round(v[-1], 1) for k, v in rates.items()}, flush=True)
        medians = {k: round(statistics.median(v), 1) for k, v in rates.items()}
        decoders = decoder_rates(root)
        print("decoders, one process:", decoders, flush=True)
        wait = fine_tune_wait(root, args.steps, Path(tmp) / "run")
        print("resnet50 fine-tuning:", wait, flush=True)
    result = {
        **record,
        "images": per_class * 3,
        "batch_size": BATCH,
        "workers": WORKERS,
        "image_size": SIZE,
        "pipeline_images_per_s": {k: [round(x, 1) for x in v] for k, v in rates.items()},
        "pipeline_median_images_per_s": medians,
        "pipeline_ratio_convzoo_over_torchvision": round(medians["convzoo"] / medians["torchvision"], 3),
        "decode_only_images_per_s_one_process": decoders,
        "resnet50_fine_tuning": wait,
    }
    out = Path(__file__).parent / "results" / "image_pipeline.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps({k: result[k] for k in ("pipeline_median_images_per_s", "pipeline_ratio_convzoo_over_torchvision")})
    )
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
