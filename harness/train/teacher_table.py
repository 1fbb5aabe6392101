"""A distilled student's teacher logits: computed once per teacher, data set and precision, then looked up.

An eval-mode teacher on unaugmented images gives each image the same logits every epoch, so
distillation looks them up per batch instead of running the teacher every step. Several
students distill from one teacher (report 000's controls: eight runs a seed), so a table is
kept for the next student of the same teacher, data and precision, within a memory bound.

A table is reused only when everything it depends on is the same: the teacher's weights
(their values), its architecture (every module's type and settings), the data's images and
normalization (the very tensors, unchanged in place), the autocast dtype and the batch size.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import weakref

import torch
from torch import nn

from ..data.device_data import DeviceData
from . import precision

# All tables together, on whatever device they sit; the least recently used go first. A table never
# outlives its data set (dropped when the data is).
CACHE_BYTES = 1 << 30
_TABLES: "collections.OrderedDict[tuple, tuple[weakref.ref, torch.Tensor]]" = collections.OrderedDict()


def _weights(module: nn.Module) -> str:
    """SHA-256 of every parameter and buffer: names, dtypes, shapes and values."""
    digest = hashlib.sha256()
    for name, tensor in itertools.chain(module.named_parameters(), module.named_buffers()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}".encode())
        if value.numel():
            digest.update(value.view(torch.uint8).numpy())
    return digest.hexdigest()


def _architecture(module: nn.Module) -> str:
    """What the forward computes besides the weights: the class, and every submodule's type and public settings
    (an ensemble's architecture is its template's)."""
    parts = [type(module).__qualname__, f"native={getattr(module, 'native', None)}"]
    for name, sub in getattr(module, "template", module).named_modules():
        settings = sorted((k, repr(v)) for k, v in vars(sub).items() if not k.startswith("_"))
        parts.append(f"{name}:{type(sub).__qualname__}:{settings}")
    return "\n".join(parts)


def _data_state(data: DeviceData) -> tuple:
    """The image and normalization tensors a table was computed from, and their in-place versions."""
    return tuple((id(t), t._version) for t in (data.x, data.mean, data.std))


def _forget(ref: weakref.ref) -> None:
    for key in [k for k, (r, _) in _TABLES.items() if r is ref]:
        del _TABLES[key]


def clear() -> None:
    """Drop every table (after running out of memory, say)."""
    _TABLES.clear()


def cached_bytes() -> int:
    """Memory the tables hold now."""
    return sum(t.numel() * t.element_size() for _, t in _TABLES.values())


@torch.no_grad()
def _compute(teacher: nn.Module, data: DeviceData, mode: str, batch_size: int) -> torch.Tensor:
    outs = []
    for x, _ in data.batches(data.epoch_order(None), batch_size):
        with precision.autocast(mode, data.device):
            outs.append(teacher(x.expand(teacher.size, *x.shape[1:]).float()))
    return torch.cat(outs, dim=1)


def teacher_logit_table(teacher: nn.Module, data: DeviceData, mode: str, batch_size: int) -> torch.Tensor:
    """Every member of ``teacher`` on every image of ``data`` in order: ``E x N x classes``, as a step computes
    them; computed once, looked up by every later student of the same teacher, data, autocast dtype and batch."""
    key = (id(data), _data_state(data), _weights(teacher), _architecture(teacher), teacher.training,
           precision.autocast_dtype(mode), batch_size)
    entry = _TABLES.get(key)
    if entry is not None and entry[0]() is data:
        _TABLES.move_to_end(key)
        return entry[1]
    table = _compute(teacher, data, mode, batch_size)
    _TABLES[key] = (weakref.ref(data, _forget), table)
    while cached_bytes() > CACHE_BYTES and len(_TABLES) > 1:
        _TABLES.popitem(last=False)
    return table
