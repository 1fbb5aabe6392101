"""Many independently seeded copies of one architecture, trained as one vectorized module.

``torch.func.stack_module_state`` stacks the members' parameters and buffers
along a new leading dimension; ``vmap`` over ``functional_call`` runs every
member on its own batch in one set of kernels. Optimizers such as SGD and Adam
act element by element, so one optimizer over the stacked tensors keeps exactly
the state each member would have alone. Batch-norm running statistics are
stacked buffers too, updated in place under vmap for each member.
"""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from ..models import cifar_cnn_ensemble


def _mangle(name: str) -> str:
    return name.replace(".", "__")


def build_members(model_fn: Callable[[], nn.Module], seeds: Sequence[int]) -> list[nn.Module]:
    """One model per seed, each initialized under its own seed (the global RNG is restored after)."""
    members = []
    for seed in seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            members.append(model_fn())
    return members


class Ensemble(nn.Module):
    """Members of one architecture as stacked tensors; ``forward`` takes ``E x B x ...`` inputs."""

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        params, buffers = stack_module_state(list(members))
        # The template holds the architecture only; kept out of the module tree so that
        # its (meta) tensors are neither parameters nor moved by .to().
        object.__setattr__(self, "template", copy.deepcopy(members[0]).to("meta"))
        self.param_names = list(params)
        self.buffer_names = list(buffers)
        for name, value in params.items():
            self.register_parameter(_mangle(name), nn.Parameter(value.detach().clone()))
        for name, value in buffers.items():
            self.register_buffer(_mangle(name), value.detach().clone())
        self.template.train(self.training)
        # Architectures with an ensemble-native forward use it (same parameters, one kernel a layer);
        # the vmap path stays the general one. Set ``native = False`` to force vmap.
        self.native = cifar_cnn_ensemble.supports(self.template)

    @property
    def size(self) -> int:
        """Number of members."""
        return getattr(self, _mangle(self.param_names[0])).shape[0]

    def stacked_params(self) -> dict[str, torch.Tensor]:
        """Member-stacked parameters by their name in the member module."""
        return {n: getattr(self, _mangle(n)) for n in self.param_names}

    def stacked_buffers(self) -> dict[str, torch.Tensor]:
        """Member-stacked buffers by their name in the member module."""
        return {n: getattr(self, _mangle(n)) for n in self.buffer_names}

    def train(self, mode: bool = True):
        super().train(mode)
        self.template.train(mode)
        return self

    def _call_one(self, params, buffers, x):
        return functional_call(self.template, (params, buffers), (x,))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Each member on its own slice of ``x`` (``E x B x ...``); returns ``E x B x outputs``."""
        if self.native:
            return cifar_cnn_ensemble.forward(self.template, self.stacked_params(), self.stacked_buffers(), x,
                                              self.training)
        return vmap(self._call_one, randomness="different")(self.stacked_params(), self.stacked_buffers(), x)

    def member(self, index: int) -> nn.Module:
        """Member ``index`` as an ordinary module with its own copy of the weights."""
        first = next(self.parameters())
        # In the ensemble's dtype before the weights are copied in: a float32 template would round float64 weights.
        module = copy.deepcopy(self.template).to_empty(device=first.device).to(first.dtype)
        state = {n: t[index].detach().clone() for n, t in {**self.stacked_params(), **self.stacked_buffers()}.items()}
        module.load_state_dict(state)
        return module.train(self.training)

    @classmethod
    def concat(cls, ensembles: Sequence["Ensemble"]) -> "Ensemble":
        """One ensemble holding the members of all ``ensembles``, in order."""
        return cls([e.member(i) for e in ensembles for i in range(e.size)])
