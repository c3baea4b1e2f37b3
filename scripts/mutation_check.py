# SPDX-License-Identifier: MIT
"""Mutation check: plant one deliberate fault at a time in a copy of the code and run the tests that should catch it.

    python scripts/mutation_check.py            # every fault; writes benchmarks/results/mutation_check.json
    python scripts/mutation_check.py --quick    # the CI subset (under two minutes on 2 cores), writes nothing
    python scripts/mutation_check.py --only drop_path_rescale eval_top5

A fault that leaves its tests green "survived": the suite cannot tell the faulty code from the right one,
so a test is missing or too weak. The check is an instrument, so it refuses to give a reading it cannot
back:

- **It never touches the working tree.** The code under test is a copy of the commit (``git archive
  HEAD``; ``--worktree``: the tracked and untracked files as they are now, recorded as dirty), written to a
  temporary directory; pytest runs there with that directory first on ``PYTHONPATH``. Other people can keep
  editing the checkout while it runs, and an interrupted run leaves nothing mutated.
- **A baseline first.** Every selected test runs once on the unmutated copy; unless all of them pass (and
  each fault selects at least one), it stops: a test that already fails would "catch" every fault.
- **A fault whose text is not in its file is an error** that names the fault (exit 2), never a skip: the
  code moved on and the fault must be rewritten against it.
- **Caught means an assertion failed** in a selected test, read from pytest's JUnit XML: a failing
  ``assert``, ``torch.testing.assert_close``, or ``pytest.raises``/``pytest.fail``. A collection or import
  error, a fixture error, a test that crashes with another exception, no test selected (pytest exit 5) or
  a timeout do not count: each of those also happens when the test is broken, not the code.

The record holds the command, the commit and the CPU kind, and per fault the tests that caught it (or
why it was not caught). Exit status: 0 all caught, 1 some survived, 2 the check itself could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from convzoo.provenance import provenance  # noqa: E402 - importable only after the sys.path line above

RESULT = ROOT / "benchmarks" / "results" / "mutation_check.json"
INDEPENDENT = "tests/test_independent_checks.py"


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    file: str
    original: str  # must occur exactly once in ``file``
    faulty: str
    tests: tuple[str, ...]  # pytest node ids or test files (no -k: the baseline runs them all in one call)
    quick: bool = False  # in the --quick subset for CI


FAULTS = (
    Fault(
        "normalization_mean", "inputs normalized with a wrong mean", "convzoo/data/adapt.py",
        "x = (x - self.mean) / self.std", "x = (x - 0.9 * self.mean) / self.std",
        (f"{INDEPENDENT}::test_input_adapter_normalizes_with_the_datasets_mean_and_std",),
        quick=True,
    ),
    Fault(
        "residual_add", "ResNet's basic block drops its shortcut", "convzoo/models/resnet.py",
        "        x = self.conv2(x)\n        x += shortcut", "        x = self.conv2(x)\n        x = x + 0 * shortcut",
        ("tests/test_equivalence.py::test_from_reference_gives_the_reference_outputs[resnet18-torchvision]",),
    ),
    Fault(
        "grouped_conv_macs", "grouped convolutions counted with one input channel too many per group",
        "convzoo/analysis/counting.py",
        "c_out, c_in_per_group, *kernel = weight.shape",
        "c_out, c_in_per_group, *kernel = weight.shape\n    c_in_per_group += int(c_in_per_group != x.shape[1])",
        ("tests/test_profile.py::test_macs_equal_flop_counter_at_two_sizes[mobilenet_v2]",
         "tests/test_profile.py::test_grouping_keeps_the_totals_and_exports_parse"),
    ),
    Fault(
        "batch_norm_eps", "MobileNetV3 built with batch-norm eps 1e-5 instead of torchvision's 1e-3",
        "convzoo/models/mobilenet_v3.py",
        "bn_eps: float = 1e-3,", "bn_eps: float = 1e-5,",
        ("tests/test_equivalence.py::test_defaults_have_torchvisions_numerics[mobilenet_v3_small]",),
    ),
    Fault(
        "source_settings_ignored", "released weights built with convzoo's defaults, not their source's numerics",
        "convzoo/weights/pretrained.py",
        "settings = {**weights.settings, **kwargs}", "settings = dict(kwargs)",
        ("tests/test_pretrained.py::test_timm_weights_build_the_model_with_timm_numerics",),
    ),
    Fault(
        "weights_hash_unchecked", "a download's SHA-256 prefix is not compared", "convzoo/download.py",
        "return len(expected) >= 8 and actual.startswith(expected.lower())", "return True",
        ("tests/test_pretrained.py::test_a_wrong_hash_is_refused_and_leaves_nothing",
         "tests/test_pretrained.py::test_a_cached_file_that_was_altered_is_refused"),
    ),
    Fault(
        "safetensors_order", "safetensors tensors paired in file order, not module order", "convzoo/weights/convert.py",
        "theirs = in_reference_order(state_dict, source, model_name)", "theirs = OrderedDict(state_dict)",
        ("tests/test_pretrained.py::test_timm_weights_build_the_model_with_timm_numerics",),
    ),
    Fault(
        "gradient_norm_order", "the lab's per-layer gradient norms listed output side first",
        "convzoo/experiments/gradient_flow.py",
        "    return [g.norm().item() for g in gradients]\n", "    return [g.norm().item() for g in gradients][::-1]\n",
        ("tests/test_experiments.py::test_gradients",),
    ),
    Fault(
        "zero_grad", "the optimizer step skips zero_grad: gradients accumulate over steps",
        "convzoo/training/step.py",
        "        self.optimizer.zero_grad(set_to_none=True)\n", "",
        ("tests/test_training.py::test_a_training_step_follows_the_gradient_of_its_own_batch",),
    ),
    Fault(  # the sampler is where ranks split the epoch
        "rank_shard", "every rank takes the indices of rank 0: all ranks train on the same images",
        "convzoo/data/loader.py",
        "order = torch.cat([order, order[: padded - count]])[rank::world_size]",
        "order = torch.cat([order, order[: padded - count]])[0::world_size]",
        ("tests/test_data.py::test_sharding_splits_the_epoch_between_ranks",),
        quick=True,
    ),
    Fault(
        "ema_resume", "a resumed EMA forgets how many updates it has averaged", "convzoo/training/checkpointing.py",
        "            self.ema.n_averaged.fill_(", "            (lambda count: None)(",
        ("tests/test_training.py::test_resume_after_an_interruption_reaches_the_same_weights[mid-epoch-every-stateful-part]",),
    ),
    Fault(
        "unsafe_load", "checkpoints unpickled without weights_only", "convzoo/checkpoint/safe_read.py",
        'torch.load(file, map_location="cpu", weights_only=True)',
        'torch.load(file, map_location="cpu", weights_only=False)',
        ("tests/test_checkpoint_safety.py::test_every_command_that_reads_a_checkpoint_refuses_a_crafted_pickle",
         f"{INDEPENDENT}::test_reading_a_crafted_checkpoint_runs_no_code"),
        quick=True,
    ),
    Fault(
        "dataset_unverified", "a Fashion-MNIST directory found on disk is trusted without its MD5s",
        "convzoo/data/fashion_mnist.py",
        "return verify(directory, checksums)", "return directory",
        ("tests/test_dataset_verification.py::test_the_embedded_sample_planted_as_the_full_set_is_refused_naming_the_md5",),
        quick=True,
    ),
    # --- faults the suite let through before tests/test_independent_checks.py --------------------------------
    Fault(
        "option_a_offset", "option-A shortcut subsamples from pixel (1, 1) instead of (0, 0)",
        "convzoo/models/cifar_resnet.py",
        "x = x[:, :, :: self.stride, :: self.stride]", "x = x[:, :, 1 :: self.stride, 1 :: self.stride]",
        (f"{INDEPENDENT}::test_option_a_shortcut_is_strided_sampling_padded_with_zero_channels",),
        quick=True,
    ),
    Fault(
        "ema_decay_complement", "EMA decay passed as 1 - decay (0.9 becomes 0.1)", "convzoo/training/optim.py",
        "get_ema_multi_avg_fn(decay)", "get_ema_multi_avg_fn(1 - decay)",
        (f"{INDEPENDENT}::test_ema_is_the_exponential_average_of_the_weights_after_each_step",),
        quick=True,
    ),
    Fault(
        "onecycle_warmup_fraction", "one-cycle warm-up over 20% of the steps instead of 15%",
        "convzoo/training/optim.py",
        "pct_start=0.15,", "pct_start=0.2,",
        (f"{INDEPENDENT}::test_one_cycle_schedule_follows_its_formula",),
        quick=True,
    ),
    Fault(
        "warmup_step_off_by_one", "the cosine schedule's linear warm-up starts one step late",
        "convzoo/training/optim.py",
        "return (step + 1) / warmup", "return step / warmup",
        (f"{INDEPENDENT}::test_warmup_cosine_schedule_follows_its_formula",),
        quick=True,
    ),
    Fault(
        "warmup_length_off_by_one", "the cosine schedule's warm-up one step longer than warmup_epochs",
        "convzoo/training/optim.py",
        "warmup = min(total - 1, int(config.warmup_epochs * steps_per_epoch))",
        "warmup = min(total - 1, int(config.warmup_epochs * steps_per_epoch) + 1)",
        (f"{INDEPENDENT}::test_warmup_cosine_schedule_follows_its_formula",),
    ),
    Fault(
        "cosine_shape", "the decay after warm-up is linear, not cosine", "convzoo/training/optim.py",
        "return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))", "return 1 - min(progress, 1.0)",
        (f"{INDEPENDENT}::test_warmup_cosine_schedule_follows_its_formula",),
    ),
    Fault(
        "confusion_transposed", "confusion matrix stored (predicted, true) instead of (true, predicted)",
        "convzoo/evaluation.py",
        "labels.cpu() * num_classes + top[:, 0].cpu()", "top[:, 0].cpu() * num_classes + labels.cpu()",
        (f"{INDEPENDENT}::test_evaluation_against_a_hand_computation",),
        quick=True,
    ),
    Fault(
        "eval_top5", "top-5 counts only the first guess (top-5 equals top-1)", "convzoo/evaluation.py",
        "sums[2] += (top == labels[:, None]).any(1).sum().item()",
        "sums[2] += (top[:, :1] == labels[:, None]).any(1).sum().item()",
        (f"{INDEPENDENT}::test_evaluation_against_a_hand_computation",),
        quick=True,
    ),
    Fault(
        "eval_loss_mean", "the loss summed as per-batch means, then divided by the image count",
        "convzoo/evaluation.py",
        'F.cross_entropy(logits, labels, reduction="sum")', 'F.cross_entropy(logits, labels, reduction="mean")',
        (f"{INDEPENDENT}::test_evaluation_against_a_hand_computation",),
    ),
    Fault(
        "per_class_by_prediction", "per-class accuracy divided by predictions of the class, not its images",
        "convzoo/evaluation.py",
        "totals = self.confusion.sum(1).clamp_min(1)", "totals = self.confusion.sum(0).clamp_min(1)",
        (f"{INDEPENDENT}::test_evaluation_against_a_hand_computation",),
    ),
    Fault(
        "drop_path_rescale", "DropPath keeps samples without the 1/keep rescaling", "convzoo/layers/drop_path.py",
        "return x * mask.div_(keep)", "return x * mask",
        (f"{INDEPENDENT}::test_drop_path_scales_kept_samples_by_one_over_keep",
         f"{INDEPENDENT}::test_drop_path_preserves_the_expectation"),
        quick=True,
    ),
)  # fmt: skip


class CheckError(Exception):
    """The instrument cannot give a reading (stale fault, failing baseline, no copy): exit 2."""


# --- the copy ---------------------------------------------------------------------------------------------
def _git(*args: str, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=capture, check=True)


def copy_of_code(destination: Path, *, worktree: bool) -> None:
    """The commit's tracked files (``git archive HEAD``), or with ``worktree`` the files as they are on disk."""
    if not worktree:
        archive = _git("archive", "--format=tar", "HEAD").stdout
        subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)
        return
    listing = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def plant(fault: Fault, tree: Path) -> str:
    """Write ``fault`` into the copy; returns the original text to restore. Stale text is a CheckError."""
    path = tree / fault.file
    if not path.exists():
        raise CheckError(f"fault {fault.name}: {fault.file} does not exist in the code under test")
    original = path.read_text()
    found = original.count(fault.original)
    if found != 1:
        raise CheckError(
            f"fault {fault.name}: its text occurs {found} times in {fault.file} (needs exactly 1); "
            f"rewrite the fault against the current code: {fault.original!r}"
        )
    path.write_text(original.replace(fault.original, fault.faulty))
    return original


# --- running pytest and reading its verdicts ------------------------------------------------------------
@dataclass
class Outcome:
    """One test's verdict from the JUnit XML: passed, skipped, assertion (failed on a check), crash or error."""

    test: str
    verdict: str
    message: str = ""


ASSERTION_PREFIXES = ("assert", "AssertionError", "Failed:")  # bare assert, assert_close, pytest.raises/fail


def _node_id(case: ElementTree.Element) -> str:
    parts = case.get("classname", "").split(".")
    # classname is "tests.test_x" or "tests.test_x.TestClass"; the file is the leading path of test_ modules
    files = [i for i, part in enumerate(parts) if part.startswith("test_")]
    cut = files[0] + 1 if files else len(parts)
    path = "/".join(parts[:cut]) + ".py"
    return "::".join([path, *parts[cut:], case.get("name", "")])


def read_junit(path: Path) -> list[Outcome]:
    outcomes = []
    for case in ElementTree.parse(path).iter("testcase"):
        verdict, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                message = (child.get("message") or "").strip()
                if child.tag == "skipped":
                    verdict = "skipped"
                elif child.tag == "error":  # fixture set-up/tear-down or collection
                    verdict = "error"
                else:
                    verdict = "assertion" if message.startswith(ASSERTION_PREFIXES) else "crash"
                break
        outcomes.append(Outcome(_node_id(case), verdict, message.splitlines()[0][:200] if message else ""))
    return outcomes


def run_pytest(tree: Path, tests: tuple[str, ...], timeout: int) -> tuple[int | None, list[Outcome], str]:
    """(exit code or None on timeout, per-test outcomes, pytest's last line) for ``tests`` run inside ``tree``."""
    report = tree / ".mutation-junit.xml"
    report.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "-p",
        "no:randomly",
        f"--junitxml={report}",
        "-o",
        "junit_family=xunit1",
        *tests,
    ]
    try:
        completed = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None, [], f"timed out after {timeout} s"
    outcomes = read_junit(report) if report.exists() else []
    lines = completed.stdout.strip().splitlines() or completed.stderr.strip().splitlines() or [""]
    return completed.returncode, outcomes, lines[-1]


def selected_by(selection: str, outcomes: list[Outcome]) -> list[Outcome]:
    """The outcomes a node id or a file path selects (a parametrized test's id selects all its cases)."""
    return [o for o in outcomes if o.test == selection or o.test.startswith((selection + "[", selection + "::"))]


def check_imports_from(tree: Path) -> None:
    """The copy, not the installed checkout, must be what ``import convzoo`` finds (an editable install could win)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    found = subprocess.run(
        [sys.executable, "-c", "import convzoo; print(convzoo.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(tree.resolve()):
        raise CheckError(f"in the copy, `import convzoo` finds {found}, not the copy: the check would test nothing")


def baseline(tree: Path, faults: list[Fault], timeout: int) -> dict:
    """Every selected test on the unmutated copy, in one pytest call; a CheckError unless all pass."""
    tests = tuple(dict.fromkeys(test for fault in faults for test in fault.tests))
    start = time.perf_counter()
    code, outcomes, last = run_pytest(tree, tests, timeout * 2)
    problems = [f"pytest exit {code}: {last}"] if code != 0 else []
    problems += [f"{o.test} {o.verdict}: {o.message}" for o in outcomes if o.verdict not in ("passed", "skipped")]
    for fault in faults:
        for selection in fault.tests:
            ran = [o for o in selected_by(selection, outcomes) if o.verdict == "passed"]
            if not ran:
                problems.append(f"{fault.name}: {selection} selects no test that passes on the unmutated code")
    if problems:
        raise CheckError(
            "the baseline (unmutated code) does not pass, so no fault can be judged:\n  " + "\n  ".join(problems)
        )
    return {"tests": len(outcomes), "pytest": last, "seconds": round(time.perf_counter() - start, 1)}


def run_with_fault(fault: Fault, tree: Path, timeout: int) -> dict:
    start = time.perf_counter()
    original = plant(fault, tree)
    try:
        code, outcomes, last = run_pytest(tree, fault.tests, timeout)
    finally:
        (tree / fault.file).write_text(original)
    mine = [o for selection in fault.tests for o in selected_by(selection, outcomes)]
    caught_by = [o.test for o in mine if o.verdict == "assertion"]
    if code is None:
        why = last
    elif code == 5 or not mine:
        why = "no test selected"
    elif caught_by:
        why = ""
    else:
        other = [f"{o.test}: {o.verdict} ({o.message})" for o in mine if o.verdict in ("crash", "error")]
        why = "; ".join(other) if other else "every selected test passed"
    return {
        **asdict(fault),
        "caught": bool(caught_by) and code is not None,
        "caught_by": caught_by,
        "not_caught_because": why or None,
        "pytest_exit": code,
        "pytest": last,
        "seconds": round(time.perf_counter() - start, 1),
    }


def _record(args: argparse.Namespace) -> dict:
    """Provenance of the code under test: HEAD, clean (the copy is the commit), unless ``--worktree``."""
    record = provenance(allow_dirty=True)
    head = _git("rev-parse", "--short", "HEAD").stdout.decode().strip()
    dirty = bool(args.worktree and _git("status", "--porcelain").stdout.strip())
    return {
        **record,
        "git_commit": head + ("-dirty" if dirty else ""),
        "dirty": dirty,
        "code_under_test": "working tree copy" if args.worktree else "git archive HEAD",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="fault names to run (default: all); writes no record")
    parser.add_argument("--quick", action="store_true", help="the CI subset; writes no record")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per fault")
    parser.add_argument("--worktree", action="store_true", help="test the files on disk, not HEAD (recorded dirty)")
    parser.add_argument("--list", action="store_true", help="print the faults and exit")
    args = parser.parse_args()
    faults = [f for f in FAULTS if (not args.only or f.name in args.only) and (not args.quick or f.quick)]
    if args.list:
        for fault in faults:
            print(f"{fault.name:26s} {'quick' if fault.quick else '     '} {fault.file}: {fault.what}")
        return 0
    unknown = set(args.only or ()) - {f.name for f in FAULTS}
    if unknown:
        print(f"error: no fault named {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    record = _record(args)
    start = time.perf_counter()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="convzoo-mutation-") as temporary:
            tree = Path(temporary)
            copy_of_code(tree, worktree=args.worktree)
            check_imports_from(tree)
            for fault in faults:  # every fault's text first: a stale one is named before minutes of tests
                (tree / fault.file).write_text(plant(fault, tree))
            base = baseline(tree, faults, args.timeout)
            print(f"baseline: {base['pytest']} ({base['seconds']} s)", flush=True)
            for fault in faults:
                result = run_with_fault(fault, tree, args.timeout)
                verdict = (
                    f"caught by {', '.join(result['caught_by'])}" if result["caught"] else result["not_caught_because"]
                )
                print(
                    f"{'caught  ' if result['caught'] else 'SURVIVED'} {fault.name:26s} {result['seconds']:6.1f} s  "
                    f"{verdict}",
                    flush=True,
                )
                results.append(result)
    except CheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    survived = [r["name"] for r in results if not r["caught"]]
    seconds = round(time.perf_counter() - start, 1)
    if not args.only and not args.quick:
        RESULT.write_text(
            json.dumps(
                {**record, "seconds": seconds, "baseline": base, "faults": results, "survived": survived}, indent=2
            )
            + "\n"
        )
        print(f"wrote {RESULT.relative_to(ROOT)}")
    print(
        f"{len(results) - len(survived)} of {len(results)} faults caught in {seconds} s"
        + (f"; survived: {', '.join(survived)}" if survived else "")
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
