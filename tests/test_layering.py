"""The package's layers and its error contract: who may import whom, and what the CLI does with an error."""

import ast
from pathlib import Path

import pytest
import torch

import convzoo
from convzoo.cli import main
from convzoo.errors import ConvzooError, ResourceError

PACKAGE = Path(convzoo.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of the convzoo modules a file imports (relative imports resolved)."""
    package = ".".join(("convzoo", *path.relative_to(PACKAGE).parent.parts))
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize(
    "path", ["deploy/*.py", "cli/evaluate.py", "cli/export.py", "cli/predict.py", "checkpoint.py", "evaluation.py"]
)
def test_checkpoint_readers_do_not_import_the_training_package(path):
    files = sorted(PACKAGE.glob(path))
    assert files
    for file in files:
        training = sorted(m for m in _imported_modules(file) if m.startswith("convzoo.training"))
        assert not training, f"{file.relative_to(PACKAGE)} imports {training}"


def test_the_import_check_sees_relative_imports():
    assert "convzoo.training.engine" in _imported_modules(PACKAGE / "training" / "__init__.py")


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
    with pytest.raises(ResourceError, match="out of memory with batch size 4096; try a smaller --batch-size"):
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
