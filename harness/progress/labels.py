"""A training run in words, for progress lines and logs: what a reader needs to tell one run from another.

The run's key (``harness.session.run_key``) says everything by value; this says the parts a person reads, from the
same specification, never a Python repr.
"""

from __future__ import annotations

# Settings of report 002's CNN that a label names only where they differ from the model's defaults.
CNN_DEFAULTS = {"num_classes": 10, "batch_norm": False, "skip": False, "init": "default", "dropout": 0.0,
                "added_width": None}


def _number(value) -> str:
    """``value`` as short as it reads: 0.9, 0.001, 1e-05, 30."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _model_words(spec: dict) -> str:
    spec = dict(spec)
    if "n_fc" in spec:  # report 002's CNN (also Q2.1's nets), by its arguments
        spec.pop("model", None)
        words = [f"{spec.pop('activation', 'tanh')} CNN {spec.pop('n_fc')} FC"]
        for key, default in CNN_DEFAULTS.items():
            value = spec.pop(key, default)
            if value == default:
                continue
            words.append({"num_classes": f"{value} classes", "batch_norm": "batch norm", "skip": "skips",
                          "init": f"{value} init", "dropout": f"dropout {_number(value)}",
                          "added_width": f"width {value}"}[key])
    else:  # a named model (report 000's teacher and student)
        words = [str(spec.pop("model", "model"))]
        if spec.pop("batch_norm", False):
            words.append("batch norm")
    # Anything else a spec may carry, plainly: a new setting still shows, as words.
    words += [f"{key.replace('_', ' ')} {_number(value)}" for key, value in sorted(spec.items())
              if isinstance(value, (str, int, float, bool))]
    return words[0] + (f" ({', '.join(words[1:])})" if words[1:] else "")


def run_label(model_spec: dict, cfg) -> str:
    """A short label of a run from its model spec and ``TrainConfig``: model, optimizer, precision, epochs.

    >>> from harness.train import TrainConfig
    >>> run_label({"n_fc": 3, "activation": "tanh"}, TrainConfig(epochs=10, batch_size=4, momentum=0.9))
    'tanh CNN 3 FC, SGD lr 0.01 momentum 0.9, 10 epochs'
    """
    optimizer = f"{cfg.optimizer.upper() if cfg.optimizer == 'sgd' else cfg.optimizer.capitalize()} " \
                f"lr {_number(cfg.lr)}" + (f" momentum {_number(cfg.momentum)}" if cfg.momentum else "")
    parts = [_model_words(model_spec), optimizer]
    if cfg.penalty:
        parts.append(f"{cfg.penalty.upper()} {_number(cfg.penalty_weight)}")
    if cfg.weight_decay:
        parts.append(f"weight decay {_number(cfg.weight_decay)}")
    if cfg.precision != "fp32":
        parts.append(cfg.precision)
    if cfg.kd_temperature is not None:
        parts.append(f"distilled T={_number(cfg.kd_temperature)}")
    if cfg.ema_decay is not None:
        parts.append("EMA")
    parts.append(f"{cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''}")
    return ", ".join(parts)
