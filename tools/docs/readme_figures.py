# SPDX-License-Identifier: MIT
"""The README's measured sentences and tables: the demo runs, the full training runs, deployment, the lab."""

from __future__ import annotations

from pathlib import Path

from convzoo.experiments import NAMES
from convzoo.experiments.verdicts import headline
from convzoo.formats import markdown

from .lab_figures import longer_runs, read_run, threads_label
from .records import DEMO_RUNS, LAB_RUNS, read_record


def readme_demo(root: Path) -> str:
    """The committed `make demo` runs (``convzoo demo``: the lecture's claims and line-up in one budget), per CPU kind:
    what each part took and decided, and how many of the 13 models compare timed (README)."""
    runs = []
    for suffix in ("", "-avx2-emulated"):
        if not (root / DEMO_RUNS / f"demo{suffix}.json").exists():
            continue
        demo = read_record(root, f"demo{suffix}.json", DEMO_RUNS)
        compare = read_record(root, f"results{suffix}.json", DEMO_RUNS)
        timed = sum(1 for row in compare["rows"] if row.get("latency_b1_ms") is not None)
        parts = "; ".join(
            f"{part['part']}{' (' + part['scope'] + ')' if part.get('scope') else ''} "
            + ("skipped" if part.get("skipped") else f"{part['seconds'] / 60:.1f} min")
            + (f": {part['headline']}" if part.get("headline") else "")
            + (f": {timed} of {len(compare['rows'])} models timed" if part["part"] == "compare" else "")
            for part in demo["parts"]
        )
        cpu = demo["cpu"]
        runs.append(
            f"{demo['seconds'] / 60:.1f} of {demo['budget_minutes']:g} minutes on {cpu['model']} as {cpu['label']} "
            f"(commit `{demo['provenance']['git_commit']}`): {parts}"
        )
    return (
        "`make demo`, measured, set-up excluded: "
        + ("; and ".join(runs) or "no committed run yet")
        + ". The page: [docs/demo/index.html](docs/demo/index.html) (screenshot: [docs/demo.png](docs/demo.png))."
    )


def readme_full_runs(root: Path) -> str:
    """Full Fashion-MNIST runs behind the report's accuracy column (README)."""
    runs = read_record(root, "fashion_mnist_full.json")["runs"]
    described = ", ".join(
        f"{run['model']} {run['test_top1']:.1%} after {run['epochs']} epochs (seed {run['seed']}, {_threads(run)})"
        for run in runs
    )
    return f"Recorded so far: {described} (`benchmarks/results/fashion_mnist_full.json`)."


def _threads(run: dict) -> str:
    """The threads the run recorded and the machine's cores, as recorded ("not recorded" where missing)."""
    environment = run.get("environment") or {}
    threads, cores = environment.get("threads"), environment.get("cpu_count")
    if threads is None:
        return "threads not recorded"
    label = (environment.get("cpu") or {}).get("label", "")
    machine = f" of a {cores}-core {label} CPU".replace("  ", " ") if cores else ""
    return f"{threads} thread{'s' if threads != 1 else ''}{machine}"


def readme_deploy(root: Path) -> str:
    """The headline optimized-inference ratios for ResNet-50 (README)."""
    ratio = {
        variant: next(
            r["ratio"]
            for r in read_record(root, f"deploy-{variant}.json")["rows"]
            if r["impl"] == "convzoo" and r["model"] == "resnet50"
        )
        for variant in ("compiled-fp32", "compiled-bf16")
    }
    return (
        f"  ResNet-50 through `optimize(compile=True)` runs at {ratio['compiled-fp32']:.2f}× (fp32) and "
        f"{ratio['compiled-bf16']:.2f}× (bf16) the speed of eager torchvision."
    )


def _moved(parts: list[dict], longer: list[dict]) -> list[str]:
    """``part: before → after`` for each part whose verdict the longer run changed."""
    after = {part["name"]: part["verdict"] for part in longer}
    return [
        f"{part['name']}: {part['verdict']} → {after[part['name']]}"
        for part in parts
        if part["name"] in after and after[part["name"]] != part["verdict"]
    ]


def readme_lab(root: Path) -> str:
    """The lab's committed runs (README): each experiment's claim, verdict, machine and wall time, linked.

    Records judged in parts (``parts: [...]``) list each part's verdict under the claim's; older records, which
    have none, render as before.
    """
    rows = []
    for name in NAMES:
        record = read_record(root, "results.json", LAB_RUNS / name)
        verdict = f"**{headline(record)}**"
        if record.get("parts"):
            verdict += "<br>" + "<br>".join(f"{part['name']}: {part['verdict']}" for part in record["parts"])
        cpu = record["provenance"]["environment"]["cpu"]
        run = f"{record['wall_seconds'] / 60:.1f} min, {cpu['label']}{threads_label(record)}"
        for folder in longer_runs(root, name):
            longer = read_run(folder)
            moved = _moved(record.get("parts", []), longer.get("parts", []))
            run += (
                f"<br>[--budget {longer['budget_minutes']:g}](docs/experiments/{name}/{folder.name}/report.md): "
                f"{longer['wall_seconds'] / 60:.1f} min{threads_label(longer)}"
                + ("<br>" + "<br>".join(moved) if moved else ", no part moved")
            )
        rows.append((f"[{name}](docs/experiments/{name}/report.md)", record["claim"], verdict, run))
    return markdown(["experiment", "the lecture's claim", "at this scale", "run"], rows)
