"""CUDA checks (``pytest -m gpu``): each model in each precision mode trains, and an ensemble member equals its lone run.

They skip, saying why, where there is no CUDA device; the same code paths run on the CPU in test_engine.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.data import DeviceData
from harness.models import CifarCNN, student, teacher
from harness.train import TrainConfig, train

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device: run `pytest -m gpu` on a machine "
                                                                    "with an NVIDIA GPU and a CUDA build of torch")]

MODELS = {"r002 CNN": (lambda: CifarCNN(3, "tanh"), 32, 4), "r000 teacher": (teacher, 64, 8),
          "r000 student": (student, 64, 8)}


def _data(size: int, n: int = 64) -> DeviceData:
    g = np.random.default_rng(0)
    return DeviceData((g.integers(0, 255, (n, size, size, 3), dtype=np.uint8), g.integers(0, 10, n)), "cuda",
                      (0.5,) * 3, (0.5,) * 3)


@pytest.mark.parametrize("mode", ["fp32", "fp16", "fp16-amp", "bf16-amp"])
@pytest.mark.parametrize("name", list(MODELS))
def test_each_model_trains_in_each_precision_mode(name, mode):
    model_fn, size, batch = MODELS[name]
    cfg = TrainConfig(epochs=1, batch_size=batch, optimizer="sgd", lr=0.01, momentum=0.9, precision=mode,
                      max_steps_per_epoch=5, watch_nonfinite=True)
    result = train(model_fn, [0, 1], _data(size), None, cfg)
    assert result.steps == 5 and result.history["train_loss"].shape == (2, 1)


@pytest.mark.parametrize("name", list(MODELS))
def test_an_ensemble_member_equals_its_lone_run_on_cuda(name):
    model_fn, size, batch = MODELS[name]
    torch.backends.cudnn.deterministic = True
    cfg = TrainConfig(epochs=1, batch_size=batch, optimizer="sgd", lr=0.01, momentum=0.9, precision="fp64",
                      max_steps_per_epoch=5)
    data = _data(size)
    together = train(model_fn, [0, 1, 2], data, None, cfg)
    alone = train(model_fn, [1], data, None, cfg)
    for a, b in zip(together.model.member(1).state_dict().values(), alone.model.member(0).state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)
