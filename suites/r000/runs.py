"""The training runs report 000's claims measure, each declared once (:mod:`harness.runs`).

Q1: the report's two teachers on Tiny ImageNet (the literal one and a batch-norm reading), and the students distilled
from them or trained from scratch; every Q1 claim trains on, or distils from, a teacher, so their tests share runs.
Constants of the setup (batch, learning rate, EMA decay, distillation temperature and weight) are read from the
claim record's parameters, where each is written once. Q2.1: each cause of constant validation accuracy on
CIFAR-10, beside a healthy run.
"""

from __future__ import annotations

from dataclasses import replace

from harness.claims import catalog
from harness.models import CifarCNN, student, teacher
from harness.runs import ClaimUnderReading, Data, Model, Run, declared, runs_of
from harness.train import TrainConfig

# The report's warning comes from F.kl_div with reduction='mean' (PyTorch 1.x warned there).
REPORT_KD_REDUCTION = "mean"


def tiny(budget) -> tuple[Data, Data]:
    """Tiny ImageNet's train and val images of a claim's budget."""
    return (Data("tiny-imagenet", "train", per_class=budget["train_per_class"]),
            Data("tiny-imagenet", "val", per_class=budget["val_per_class"]))


def teacher_run(claim, batch_norm: bool = False) -> Run:
    """The teacher of the report (Adam, batch 64), with an EMA of its weights kept beside it.

    The EMA does not touch training, so the same run is both the plain teacher and the EMA one. It is what makes
    report 000's Q1 expensive: like every run, it is costed from its first steps, and a session whose time budget it
    does not fit stops it there and records its claims NOT RUN with the estimate.
    """
    p = claim.record.params
    config = TrainConfig(epochs=claim.budget["epochs"], batch_size=p["batch_size"], optimizer="adam", lr=p["lr"],
                         ema_decay=p["ema_decay"], eval_batch_size=500)
    return Run(Model.of(teacher, batch_norm=batch_norm), config, *tiny(claim.budget))


def student_config(claim, **changes) -> TrainConfig:
    """The distilled student's training: the report's setup under the harness's readings, then ``changes``."""
    p = claim.record.params
    base = dict(epochs=claim.budget["epochs"], batch_size=p["batch_size"], optimizer="adam", lr=p["lr"],
                precision="fp32", kd_temperature=p["kd_temperature"], kd_alpha=p["kd_alpha"],
                kd_reduction=REPORT_KD_REDUCTION, ema_decay=p["ema_decay"], watch_nonfinite=True, eval_batch_size=500)
    base.update(changes)
    return TrainConfig(**base)


def student_run(claim, config: TrainConfig, teacher_batch_norm: bool | None = False, evaluated: bool = True) -> Run:
    """A student trained under ``config``, distilled from the teacher of the same seed (``None``: from scratch).

    ``evaluated=False`` skips the validation set after each epoch, for runs whose claims read only their training
    (its history then has no test entries).
    """
    train, val = tiny(claim.budget)
    if teacher_batch_norm is None:
        return Run(Model.of(student), replace(config, kd_temperature=None), train, val if evaluated else None)
    return Run(Model.of(student), config, train, val if evaluated else None,
               teacher=teacher_run(claim, batch_norm=teacher_batch_norm))


# -- Q1: the teacher ----------------------------------------------------------------------------------------

@runs_of("r000.teacher_train_acc", "r000.teacher_ema")
def teacher_alone(claim):
    return {"teacher": teacher_run(claim, batch_norm=claim.choices["batch_norm"])}


@runs_of("r000.teacher_test_acc_zero")
def teacher_and_its_contrast(claim):
    batch_norm = claim.choices["batch_norm"]
    # The contrast: the other teacher reading, a finite model trained the same way.
    return {"teacher": teacher_run(claim, batch_norm=batch_norm),
            "other": teacher_run(claim, batch_norm=not batch_norm)}


# -- Q1: the student in pure half precision ------------------------------------------------------------------

# Each control changes one thing of the report's pure-fp16 run; the NaN's cause is what removes it.
CONTROLS = {
    "as reported (pure fp16, KL 'mean')": {},
    "Adam eps 1e-4 (representable in fp16)": {"adam_eps": 1e-4},
    "loss from fp32 logits (no fp16 exp/softmax overflow)": {"loss_in_fp32": True},
    "KL reduction 'batchmean'": {"kd_reduction": "batchmean"},
    "KL reduction 'sum'": {"kd_reduction": "sum"},
    "fp16 autocast + GradScaler": {"precision": "fp16-amp"},
    "bf16 autocast": {"precision": "bf16-amp"},
    "fp32": {"precision": "fp32"},
}
BASE = "as reported (pure fp16, KL 'mean')"
# The reading's choices that set a student's optimizer.
OPTIMIZER_CHOICES = ("optimizer", "lr", "momentum")


def nan_student(claim, evaluated: bool = True, **changes) -> Run:
    """The pure-fp16 distilled student under the reading's optimizer, with ``changes``; every control runs the base
    run's budget, on the same seeds. ``evaluated``: measured on the validation set after each epoch."""
    choices = {k: v for k, v in claim.choices.items() if k in OPTIMIZER_CHOICES}
    settings = {"precision": "fp16", "epochs": claim.budget["fp16_epochs"],
                "max_steps_per_epoch": claim.budget["fp16_steps_per_epoch"], **choices, **changes}
    return student_run(claim, student_config(claim, **settings), evaluated=evaluated)


# The claims that evaluate the pure-fp16 student, and keep its EMA: r000.student_fp16_nan shares their run.
EVALUATING_CLAIMS = ("r000.student_ema_nan", "r000.student_test_acc_100")


@runs_of("r000.student_fp16_nan")
def student_fp16_nan(claim):
    # This claim reads only training (non-finite steps, training losses), and evaluating a pure-fp16 model is slow
    # on a CPU (about 10 s a seed for smoke's 1,000 validation images): no run is evaluated and none keeps an EMA,
    # except the reported run where a reading of a claim that evaluates it declares the same run: then it is theirs,
    # trained as they train it (evaluated, with its EMA), and shared.
    controls = CONTROLS if claim.choices["optimizer"] == "adam" else {BASE: {}, "fp32": {"precision": "fp32"}}
    theirs = {run for other in EVALUATING_CLAIMS for reading in catalog.get(other).readings
              for run in declared(ClaimUnderReading(catalog.get(other), reading, claim.profile)).values()}
    runs = {name: nan_student(claim, evaluated=False, **changes, ema_decay=None) for name, changes in controls.items()}
    if nan_student(claim) in theirs:
        runs[BASE] = nan_student(claim)
    return runs


@runs_of(*EVALUATING_CLAIMS)
def nan_student_and_teacher(claim):
    return {"student": nan_student(claim), "teacher": teacher_run(claim)}


# -- Q1: distillation against training from scratch, and the epoch times -------------------------------------

@runs_of("r000.kd_vs_scratch")
def kd_vs_scratch(claim):
    config = student_config(claim, kd_reduction="batchmean")
    bn = claim.choices["teacher_batch_norm"]
    return {"distilled": student_run(claim, config, teacher_batch_norm=bn),
            "scratch": student_run(claim, config, teacher_batch_norm=None),
            "teacher": teacher_run(claim, batch_norm=bn)}


@runs_of("r000.epoch_time")
def epoch_time(claim):
    p = claim.record.params
    train, _ = tiny(claim.budget)
    config = TrainConfig(epochs=1, batch_size=p["batch_size"], optimizer="adam", lr=p["lr"])
    # The report's student runs its teacher on every batch: no table of the teacher's logits computed beforehand.
    kd_config = replace(config, kd_temperature=p["kd_temperature"], kd_alpha=p["kd_alpha"], teacher_logits_once=False)
    return {"teacher": Run(Model.of(teacher), config, train, alone=True),
            "student": Run(Model.of(student), kd_config, train, teacher=teacher_run(claim), alone=True)}


# -- Q2.1: constant validation accuracy ----------------------------------------------------------------------

GRAD_NORM_STEPS = (0, 5, 10, 20, 40)  # early steps, where every run has them
HEALTHY = dict(model=dict(n_fc=3, activation="tanh"), cfg=dict(optimizer="sgd", lr=0.01, momentum=0.9))
# The vanishing-gradient net is compared with the same net, optimizer and data with tanh instead of sigmoid.
VANISHING_BASELINE = dict(model=dict(n_fc=6, activation="tanh"), cfg=dict(optimizer="sgd", lr=0.01))
# "X can cause it" is an existence claim: each cause is searched over a small grid declared here (and listed in the
# record), in this order; one configuration that goes constant with the cause's mechanism measured shows it.
_TANH3 = dict(n_fc=3, activation="tanh")
_SGD09 = dict(optimizer="sgd", lr=0.01, momentum=0.9)
CAUSES = {
    "vanishing": [dict(model=dict(n_fc=6, activation="sigmoid"), cfg=dict(optimizer="sgd", lr=0.01))],
    "nan": [dict(model=_TANH3, cfg=dict(optimizer="adam", lr=1e-3, precision="fp16"))],
    "lr": [dict(model=_TANH3, cfg=dict(optimizer="sgd", lr=lr, momentum=0.9)) for lr in (5.0, 50.0, 500.0)],
    "little_data": [dict(model=_TANH3, cfg=_SGD09, per_class=k) for k in (10, 3, 1)],
    "overfitting": [dict(model=_TANH3, cfg=_SGD09, per_class=k, epochs_factor=f)
                    for k, f in ((50, 3), (20, 5), (10, 10))],
}


def cause_run(claim, spec: dict) -> Run:
    """One configuration of a cause's grid (or the healthy run): the CNN on CIFAR-10 at batch 32, its early gradient
    norms and any non-finite step watched."""
    budget = claim.budget
    train = Data("cifar10", "train", per_class=budget["train_per_class"],
                 limit=spec.get("per_class", budget["train_per_class"]))
    config = TrainConfig(epochs=budget["epochs"] * spec.get("epochs_factor", 1), batch_size=32,
                         grad_norm_steps=GRAD_NORM_STEPS, watch_nonfinite=True, **spec["cfg"])
    return Run(Model.of(CifarCNN, **spec["model"]), config, train,
               Data("cifar10", "test", per_class=budget["val_per_class"]))


def cause_name(cause: str, i: int) -> str:
    """The run of configuration ``i`` of ``cause``'s grid."""
    return f"{cause}[{i}]"


@runs_of("r000.constant_val_acc")
def constant_val_acc(claim):
    cause = claim.choices["cause"]
    runs = {"healthy": cause_run(claim, HEALTHY)}
    runs.update({cause_name(cause, i): cause_run(claim, spec) for i, spec in enumerate(CAUSES[cause])})
    if cause == "vanishing":
        runs["baseline"] = cause_run(claim, VANISHING_BASELINE)
    return runs
