# SPDX-License-Identifier: MIT
"""Do the lab's verdicts survive bf16 training? One experiment, the same budget, fp32 against bf16 autocast.

    python benchmarks/lab_precision.py degradation            # the experiment's default budget, each way
    python benchmarks/lab_precision.py degradation --budget 7

The lab trains in bf16 autocast where the CPU (or GPU) runs it natively and a timed step shows it faster
(``convzoo/experiments/precision.py``). That is only sound if bf16 leaves the conclusions alone. This runs the
experiment twice on this machine, one after the other with the same budget: ``--amp none`` (fp32) and
``--amp bf16`` (channels-last chosen by timing in both), and compares every part's verdict. bf16 trains
more steps in the same minutes, which is the point of using it; the steps of both are recorded.

Writes ``benchmarks/results/lab_precision-NAME.json`` (command, commit, CPU kind, both runs' parts,
settings, steps and wall times) and the two runs' reports under ``--out`` (default: a temporary folder).
Needs a CPU with native bf16 (AVX-512 BF16 or AMX) or a GPU.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from convzoo import experiments
from convzoo.provenance import provenance
from convzoo.runtime import cpu_kind

ROOT = Path(__file__).resolve().parents[1]


def _run(name: str, out: Path, budget: float | None, amp: str) -> dict:
    experiments.run(name, out=out, budget_minutes=budget, amp=amp)
    record = json.loads((out / "results.json").read_text())
    recipe = record["results"].get("recipe", {})
    return {
        "amp": amp,
        "settings": record["settings"],
        "wall_seconds": record["wall_seconds"],
        "steps": recipe.get("steps"),
        "epochs": record["results"].get("epochs"),
        "held": record["held"],
        "parts": {part["name"]: {"verdict": part["verdict"], "evidence": part["evidence"]} for part in record["parts"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=experiments.NAMES)
    parser.add_argument("--budget", type=float, help="minutes for each run (default: the experiment's own)")
    parser.add_argument("--out", type=Path, help="keep both runs' reports here (fp32/ and bf16/)")
    parser.add_argument("--allow-dirty", action="store_true", help="record figures from uncommitted code, marked dirty")
    args = parser.parse_args()
    record = provenance(allow_dirty=args.allow_dirty)
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        runs = {
            amp: _run(args.name, out / label, args.budget, amp) for label, amp in (("fp32", "none"), ("bf16", "bf16"))
        }
    fp32, bf16 = runs["none"], runs["bf16"]
    agree = {name: fp32["parts"][name]["verdict"] == bf16["parts"][name]["verdict"] for name in fp32["parts"]}
    record.update(
        {
            "experiment": args.name,
            "budget_minutes": args.budget or experiments.experiment(args.name).DEFAULT_BUDGET_MINUTES,
            "cpu": cpu_kind(),
            "fp32": fp32,
            "bf16": bf16,
            "verdicts_agree": agree,
            "all_agree": all(agree.values()),
        }
    )
    path = ROOT / "benchmarks" / "results" / f"lab_precision-{args.name}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    for name, same in agree.items():
        print(
            f"{'same' if same else 'DIFFERENT':<9} {name}: fp32 {fp32['parts'][name]['verdict']}, "
            f"bf16 {bf16['parts'][name]['verdict']}"
        )
    print(
        f"steps per run: fp32 {fp32['steps']} ({fp32['settings']['label']}), bf16 {bf16['steps']} "
        f"({bf16['settings']['label']}); {sum(agree.values())} of {len(agree)} verdicts agree → {path}"
    )


if __name__ == "__main__":
    main()
