# SPDX-License-Identifier: MIT
"""Where released weights files live on disk, and how they get there.

- torchvision's files go where torchvision puts them,
  ``torch.hub.get_dir()/checkpoints/<file>`` (``$TORCH_HOME``), so a file that
  torchvision already downloaded is used with no network, and the other way
  round.
- timm's files are read from the Hugging Face cache (``$HF_HUB_CACHE``) when
  ``huggingface_hub`` is installed and timm already downloaded them; otherwise
  they are downloaded to ``torch.hub.get_dir()/checkpoints/huggingface/<repo>/<file>``.
- Downloads go through :func:`convzoo.download.download`: atomic, hash-checked,
  with a progress bar, and ``$CONVZOO_MIRROR`` points them at a mirror. With no
  network and no cached file, the error names the URL and the exact path to
  put the file at.

Every file is checked before it is read: against the table's SHA-256 (prefix)
where one is published, against the Hugging Face cache's content address
(blobs are named by their SHA-256) otherwise, and it is read without running
code (safetensors, or ``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import torch

from .. import checkpoint as ckpt
from ..download import digest_of, download, verified
from ..errors import CheckpointError
from .catalog import Weights

_SHA256 = re.compile(r"[0-9a-f]{64}")


def hub_dir() -> Path:
    return Path(torch.hub.get_dir())


def local_path(weights: Weights) -> Path:
    """Where convzoo keeps (or looks for) the file it downloads for ``weights``."""
    checkpoints = hub_dir() / "checkpoints"
    if weights.hf_repo:
        return checkpoints / "huggingface" / weights.hf_repo / weights.file_name
    return checkpoints / weights.file_name


def huggingface_cached(weights: Weights) -> Path | None:
    """The file in the Hugging Face cache, if ``huggingface_hub`` is installed and the file is there."""
    if not weights.hf_repo:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    cache_dir = os.environ.get("HF_HUB_CACHE")  # read now: huggingface_hub reads it once, at import
    found = try_to_load_from_cache(
        weights.hf_repo, weights.file_name, cache_dir=cache_dir, revision=weights.hf_revision
    )
    if not isinstance(found, str):  # None (not cached) or a marker that the file does not exist upstream
        return None
    path = Path(found)
    blob = path.resolve().name  # the cache names each blob by its SHA-256
    if _SHA256.fullmatch(blob) and digest_of(path) != blob:
        raise CheckpointError(f"{path} in the Hugging Face cache is corrupt (its SHA-256 is not {blob}); delete it")
    return path


def cached_file(weights: Weights) -> Path:
    """The verified weights file: from a cache if it is there, else downloaded."""
    found = huggingface_cached(weights)
    if found is not None:
        return found
    path = local_path(weights)
    if path.exists():
        return verified(path, weights.sha256, error=CheckpointError)
    return download(weights.url, path, weights.sha256, error=CheckpointError)


def read_weights_file(path: Path) -> dict[str, torch.Tensor]:
    """A released weights file's state dict, read without running code.

    Some torchvision files (2017's VGG, AlexNet) predate the zip format. Their
    digest has been checked and ``torch.load(weights_only=True)`` reads the
    legacy format safely since torch 2.6 (CVE-2025-32434), so they are read
    there and refused on older torch.
    """
    if path.suffix == ".safetensors" or zipfile.is_zipfile(path):
        return ckpt.load_state_dict_file(path)
    if tuple(int(part) for part in torch.__version__.split(".")[:2]) < (2, 6):
        raise CheckpointError(f"{path} is in torch's legacy format, which reads safely only with torch >= 2.6")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  (any failure to read is the file's fault, reported in one line)
        raise CheckpointError(f"{path} is not a readable weights file ({type(error).__name__}): delete it") from None
    return ckpt.state_dict_from_payload(payload, path)


__all__ = ["cached_file", "hub_dir", "huggingface_cached", "local_path", "read_weights_file"]
