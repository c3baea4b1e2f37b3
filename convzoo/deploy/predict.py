"""Top-k predictions for image files, prepared exactly as the checkpoint's training data was."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..checkpoint import Checkpoint
from ..errors import DataError


@dataclass
class Prediction:
    path: str
    top: list[tuple[str, float]] | None  # (class, probability), best first; None if the file was skipped
    error: str | None = None


def load_image(path: Path, channels: int, size: int) -> torch.Tensor:
    """A uint8 ``(C, size, size)`` tensor from any file PIL reads."""
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms.v2 import functional as TF

    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            tensor = TF.pil_to_tensor(image)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable image ({type(error).__name__})") from None
    return TF.resize(tensor, [size, size], antialias=True)


class Predictor:
    def __init__(self, checkpoint: Checkpoint, device: torch.device = torch.device("cpu")) -> None:
        self.spec, self.device = checkpoint.model, device
        self.model = checkpoint.build_model().to(device).eval()
        self.adapter = self.spec.adapter().to(device)
        self.classes = self.spec.classes

    @torch.no_grad()
    def predict(self, paths: list[Path], k: int = 5) -> list[Prediction]:
        results, images, readable = [], [], []
        for path in paths:
            try:
                images.append(load_image(path, self.spec.data_channels, self.spec.image_size))
                readable.append(len(results))
                results.append(Prediction(str(path), None))
            except DataError as error:
                results.append(Prediction(str(path), None, str(error)))
        if images:
            probabilities = self.model(self.adapter(torch.stack(images).to(self.device))).softmax(1)
            top = probabilities.topk(min(k, len(self.classes)), dim=1)
            for index, values, classes in zip(readable, top.values.tolist(), top.indices.tolist()):
                results[index].top = [(self.classes[c], round(v, 5)) for c, v in zip(classes, values)]
        return results
