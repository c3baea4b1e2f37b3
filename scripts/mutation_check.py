"""Mutation check: plant one deliberate fault at a time and run the tests that should catch it.

    python scripts/mutation_check.py            # all faults; writes benchmarks/results/mutation_check.json
    python scripts/mutation_check.py --only zero_grad

A fault that leaves its tests green "survived": the suite cannot tell the faulty code from the right
one, so a test is missing or too weak. Each fault is one exact text replacement in one file, restored
afterwards (also on Ctrl-C). The record holds the command, the commit (taken before any fault is
planted; a dirty tree is refused) and the CPU kind. Exits 1 if any fault survived. Too slow for every
CI run (a few minutes), so its last result is committed instead.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from convzoo.provenance import provenance


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    file: str
    original: str
    faulty: str
    tests: tuple[str, ...]  # pytest node ids or `-k` selections, as pytest arguments


FAULTS = (
    Fault(
        "normalization_mean", "inputs normalized with a wrong mean", "convzoo/data/adapt.py",
        "x = (x - self.mean) / self.std", "x = (x - 0.9 * self.mean) / self.std",
        ("tests/test_deploy.py", "-k", "predict"),
    ),
    Fault(
        "residual_add", "ResNet's basic block drops its shortcut", "convzoo/models/resnet.py",
        "        x = self.conv2(x)\n        x += shortcut", "        x = self.conv2(x)\n        x = x + 0 * shortcut",
        ("tests/test_equivalence.py", "-k", "resnet18"),
    ),
    Fault(
        "grouped_conv_macs", "grouped convolutions counted with one input channel too many per group",
        "convzoo/analysis/counting.py",
        "c_out, c_in_per_group, *kernel = weight.shape",
        "c_out, c_in_per_group, *kernel = weight.shape\n    c_in_per_group += int(c_in_per_group != x.shape[1])",
        ("tests/test_profile.py",),
    ),
    Fault(
        "batch_norm_eps", "MobileNetV3 built with batch-norm eps 1e-5 instead of torchvision's 1e-3",
        "convzoo/models/mobilenet_v3.py",
        "bn_eps: float = 1e-3,", "bn_eps: float = 1e-5,",
        ("tests/test_equivalence.py", "-k", "defaults_have_torchvisions_numerics and mobilenet_v3"),
    ),
    Fault(
        "source_settings_ignored", "released weights built with convzoo's defaults, not their source's numerics",
        "convzoo/weights/pretrained.py",
        "settings = {**weights.settings, **kwargs}", "settings = dict(kwargs)",
        ("tests/test_pretrained.py", "-k", "timm_numerics"),
    ),
    Fault(
        "weights_hash_unchecked", "a download's SHA-256 prefix is not compared", "convzoo/download.py",
        "return len(expected) >= 8 and actual.startswith(expected.lower())", "return True",
        ("tests/test_pretrained.py", "-k", "wrong_hash or altered"),
    ),
    Fault(
        "safetensors_order", "safetensors tensors paired in file order, not module order", "convzoo/weights/convert.py",
        "theirs = in_reference_order(state_dict, source, model_name)", "theirs = OrderedDict(state_dict)",
        ("tests/test_pretrained.py", "-k", "timm_numerics"),
    ),
    Fault(
        "gradient_norm_order", "the lab's per-layer gradient norms listed output side first", "convzoo/experiments/gradients.py",
        "    return norms\n", "    return norms[::-1]\n",
        ("tests/test_experiments.py", "-k", "gradients"),
    ),
    Fault(
        "zero_grad", "the optimizer step skips zero_grad: gradients accumulate over steps",
        "convzoo/training/engine.py",
        "        self.optimizer.zero_grad(set_to_none=True)\n", "",
        ("tests/test_training.py", "-k", "gradient_of_its_own"),
    ),
    Fault(
        "torchrun_shard", "every torchrun rank trains on the same images", "convzoo/training/engine.py",
        'shard = {"rank": context.rank, "world_size": context.world_size}', 'shard = {"rank": 0, "world_size": 1}',
        ("tests/test_training.py", "-k", "torchrun"),
    ),
    Fault(
        "ema_resume", "a resumed EMA forgets how many updates it has averaged", "convzoo/training/checkpointing.py",
        "            self.ema.n_averaged.fill_(", "            (lambda count: None)(",
        ("tests/test_training.py", "-k", "every-random-part"),
    ),
    Fault(
        "unsafe_load", "checkpoints unpickled without weights_only", "convzoo/checkpoint.py",
        'torch.load(path, map_location="cpu", weights_only=True)', 'torch.load(path, map_location="cpu", weights_only=False)',
        ("tests/test_checkpoint_safety.py",),
    ),
)  # fmt: skip


def run_with_fault(fault: Fault, timeout: int) -> dict:
    path = ROOT / fault.file
    original = path.read_text()
    if original.count(fault.original) != 1:
        raise SystemExit(
            f"{fault.name}: the text to mutate is not found exactly once in {fault.file}; update the script"
        )
    start = time.perf_counter()
    try:
        path.write_text(original.replace(fault.original, fault.faulty))
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *fault.tests]
        completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        path.write_text(original)
    last = (completed.stdout.strip().splitlines() or [""])[-1]
    return {
        **asdict(fault),
        "caught": completed.returncode != 0,
        "pytest": last,
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="fault names to run (default: all)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per fault")
    parser.add_argument("--allow-dirty", action="store_true", help="record from uncommitted code, marked dirty")
    args = parser.parse_args()
    record = provenance(allow_dirty=args.allow_dirty)
    faults = [fault for fault in FAULTS if not args.only or fault.name in args.only]
    results = []
    for fault in faults:
        result = run_with_fault(fault, args.timeout)
        print(
            f"{'caught  ' if result['caught'] else 'SURVIVED'} {fault.name:20s} {result['seconds']:6.1f} s  {result['pytest']}",
            flush=True,
        )
        results.append(result)
    survived = [r["name"] for r in results if not r["caught"]]
    if not args.only:
        target = ROOT / "benchmarks" / "results" / "mutation_check.json"
        target.write_text(json.dumps({**record, "faults": results, "survived": survived}, indent=2) + "\n")
        print(f"wrote {target.relative_to(ROOT)}")
    print(
        f"{len(results) - len(survived)} of {len(results)} faults caught"
        + (f"; survived: {', '.join(survived)}" if survived else "")
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
