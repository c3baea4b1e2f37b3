# SPDX-License-Identifier: MIT
"""The package's layers and its error contract: who may import whom, and what the CLI does with an error."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import convzoo
from convzoo.cli import main
from convzoo.errors import ConvzooError, ResourceError

PACKAGE = Path(convzoo.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of the convzoo modules a file imports (relative imports resolved)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = _absolute(path, node)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module a ``from ... import`` in ``path`` reads from, relative levels resolved."""
    package = ".".join(("convzoo", *path.relative_to(PACKAGE).parent.parts))
    base = package.rsplit(".", node.level - 1)[0] if node.level else ""
    return ".".join(part for part in (base, node.module or "") if part)


def _room(module: str) -> str:
    """The package a convzoo module belongs to: ``convzoo.report.plots`` -> ``report``; a top-level module is its
    own."""
    return module.split(".")[1] if module.count(".") else module


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_names_from_other_packages(path: Path, source: str | None = None) -> list[str]:
    """``_name``s a file takes from another convzoo package: imported, or read as an imported module's attribute."""
    room = _room(".".join(("convzoo", *path.relative_to(PACKAGE).with_suffix("").parts)))
    tree = ast.parse(source if source is not None else path.read_text())
    bound: dict[str, str] = {}  # local name -> the convzoo module or object it is
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _absolute(path, node).startswith("convzoo"):
            module = _absolute(path, node)
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{module}.{alias.name}"
                if _is_private(alias.name) and _room(module) != room:
                    found.append(f"{module}.{alias.name}")
        elif isinstance(node, ast.Import):
            bound.update(
                {alias.asname or alias.name: alias.name for alias in node.names if alias.name.startswith("convzoo")}
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            owner = bound[node.value.id]
            if _is_private(node.attr) and _room(owner) != room:
                found.append(f"{owner}.{node.attr}")
    return found


@pytest.mark.parametrize(
    "path", ["deploy/*.py", "cli/evaluate.py", "cli/export.py", "cli/predict.py", "checkpoint/*.py", "evaluation.py"]
)
def test_checkpoint_readers_do_not_import_the_training_package(path):
    files = sorted(PACKAGE.glob(path))
    assert files
    for file in files:
        training = sorted(m for m in _imported_modules(file) if m.startswith("convzoo.training"))
        assert not training, f"{file.relative_to(PACKAGE)} imports {training}"


def test_the_import_check_sees_relative_imports():
    assert "convzoo.training.engine" in _imported_modules(PACKAGE / "training" / "__init__.py")


def _imports_the_cli(module: str) -> bool:
    return module == "convzoo.cli" or module.startswith("convzoo.cli.")


def test_no_arrow_points_up_into_the_cli():
    """The CLI parses arguments and dispatches; report/, experiments/, training/ and every layer under them
    never reach back into it (``__main__`` is the CLI's own door)."""
    outside = [p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in ("cli", "__main__.py")]
    assert {"report", "experiments", "training"} <= {p.relative_to(PACKAGE).parts[0] for p in outside}
    found = [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in sorted(outside)
        for module in sorted(_imported_modules(path))
        if _imports_the_cli(module)
    ]
    assert not found, found


def test_private_names_stay_in_their_package():
    """A ``_name`` is a package's own business: another package that needs it needs a public name instead."""
    found = {
        str(path.relative_to(PACKAGE)): names
        for path in sorted(PACKAGE.rglob("*.py"))
        if (names := _private_names_from_other_packages(path))
    }
    assert not found, found


def test_the_private_name_check_sees_imports_and_attributes():
    lab = PACKAGE / "experiments" / "lab.py"
    assert _private_names_from_other_packages(lab, "from ..report.plots import _pyplot\n") == [
        "convzoo.report.plots._pyplot"
    ]
    assert _private_names_from_other_packages(lab, "from .. import files\nfiles._temporary()\n") == [
        "convzoo.files._temporary"
    ]
    assert _private_names_from_other_packages(lab, "import convzoo.files as f\nf._temporary()\n") == [
        "convzoo.files._temporary"
    ]
    assert _private_names_from_other_packages(lab, "from .verdicts import _rule\n") == []  # same package


def test_user_errors_are_one_line_and_bugs_keep_their_traceback(monkeypatch, capsys):
    from convzoo.cli import models as models_command

    def fails_as_a_bug(args):
        raise KeyError("a bug")

    monkeypatch.setattr(models_command, "run", fails_as_a_bug)
    with pytest.raises(KeyError, match="a bug"):
        main(["models"])

    def fails_for_the_user(args):
        raise ConvzooError("what to change")

    monkeypatch.setattr(models_command, "run", fails_for_the_user)
    assert main(["models"]) == 2
    assert capsys.readouterr().err == "convzoo: error: what to change\n"


def test_out_of_memory_is_caught_by_type(tmp_path, monkeypatch):
    from convzoo.training import TrainConfig, engine

    def out_of_memory(self, on_step=None):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(engine.Trainer, "fit", out_of_memory)
    config = TrainConfig(epochs=1, batch_size=4096, out=str(tmp_path / "run"), progress=False)
    with pytest.raises(ResourceError, match="out of memory; try a smaller --batch-size than 4096"):
        engine.train(config)
    assert not (tmp_path / "run" / ".lock").exists()


def test_generic_code_names_no_family_or_model():
    """Training, benchmarking and deployment work through the model interface and registry facts only."""
    import re

    from convzoo.registry import get_entry, list_models

    names = set(list_models()) | {get_entry(name).family for name in list_models()}
    pattern = re.compile(
        r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b", re.IGNORECASE
    )
    found = [
        f"{path.relative_to(PACKAGE)}:{text[: match.start()].count(chr(10)) + 1}: {match.group()}"
        for layer in ("training", "bench", "deploy")
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for text in [path.read_text()]
        for match in pattern.finditer(text)
    ]
    assert not found, found


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with ``root``'s pyproject.toml contracts, analysing the ``convzoo`` package under ``root``."""
    command = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [*command, "--no-cache"], check=False, cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_import_contracts_hold():
    result = _lint_imports(PACKAGE.parent)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 kept, 0 broken" in result.stdout


PLANTED = {
    # the registry reaching up for the weights code, at load time and inside a function (the old circle)
    "upward at load time": ("registry.py", "from .weights import pretrained  # planted\n", "layers"),
    "upward inside a function": (
        "registry.py",
        "def _planted():\n    from .factory import create_model  # planted\n\n    return create_model\n",
        "layers",
    ),
    # within one layer: the precision choice importing the lab, which imports it (the old circle)
    "a circle inside a function": (
        "experiments/precision.py",
        "def _planted():\n    from .lab import Lab  # planted\n\n    return Lab\n",
        "sibling",
    ),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_the_import_contracts_fail_on_a_planted_import(tmp_path, case):
    module, code, broken = PLANTED[case]
    shutil.copytree(PACKAGE, tmp_path / "convzoo", ignore=shutil.ignore_patterns("__pycache__", "assets"))
    shutil.copy(PACKAGE.parent / "pyproject.toml", tmp_path)
    planted = tmp_path / "convzoo" / module
    planted.write_text(planted.read_text() + "\n\n" + code)
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    contract = {"layers": "each layer imports only from the layers below it", "sibling": "no two sibling modules"}
    assert re.search(rf"^{contract[broken]}.* BROKEN$", result.stdout, re.MULTILINE), result.stdout[-3000:]
