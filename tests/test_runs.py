"""Runs declared, then trained (harness.runs): frozen specifications, checked relations, the suites' declarations."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from harness.claims import catalog
from harness.models import CifarCNN, student
from harness.runs import ClaimUnderReading, Data, Model, Run, declared, every_run, runs_of, spread_steps
from harness.train import TrainConfig

from .test_engine import synthetic_data

CFG = TrainConfig(epochs=2, batch_size=8, optimizer="sgd", lr=0.01)
CIFAR = Data("cifar10", "train", per_class=2)


def test_a_model_is_its_builder_and_arguments_by_value():
    a = Model.of(CifarCNN, n_fc=3, activation="tanh")
    same = Model.of(CifarCNN, activation="tanh", n_fc=3)
    assert a == same and hash(a) == hash(same) and a != Model.of(CifarCNN, n_fc=4, activation="tanh")
    assert a.spec == {"model": "CifarCNN", "n_fc": 3, "activation": "tanh", "num_classes": 10, "batch_norm": False,
                      "skip": False, "init": "default", "dropout": 0.0, "added_width": None}
    torch.manual_seed(0)
    built = a.factory()
    torch.manual_seed(0)
    direct = CifarCNN(n_fc=3, activation="tanh")
    assert repr(built) == repr(direct)
    assert all(torch.equal(p, q) for p, q in zip(built.state_dict().values(), direct.state_dict().values()))


def test_gradient_norm_points_are_spread_over_the_run_first_and_last_included():
    assert spread_steps(5, 1000) == (0, 249, 499, 749, 999)
    assert spread_steps(5, 3) == (0, 1, 2) and spread_steps(1, 10) == (9,) and spread_steps(0, 10) == ()


@pytest.mark.parametrize(("longer", "message"), [
    (Run(Model.of(CifarCNN, n_fc=3), CFG, CIFAR), "must train more epochs"),
    (Run(Model.of(CifarCNN, n_fc=3), TrainConfig(epochs=4, batch_size=8), CIFAR), r"no snapshot after epoch 2"),
    (Run(Model.of(CifarCNN, n_fc=4), TrainConfig(epochs=4, batch_size=8, snapshot_epochs=(2,)), CIFAR), "its model"),
    (Run(Model.of(CifarCNN, n_fc=3), TrainConfig(epochs=4, batch_size=8, lr=0.1, snapshot_epochs=(2,)), CIFAR),
     "its config"),
], ids=["not longer", "no snapshot", "another model", "another config"])
def test_first_epochs_of_another_run_is_a_checked_relation(longer, message):
    with pytest.raises(ValueError, match=message):
        Run(Model.of(CifarCNN, n_fc=3), CFG, CIFAR, first_epochs_of=longer)
    # The same run but for its epochs (and the snapshot the cut needs) is accepted.
    fine = Run(Model.of(CifarCNN, n_fc=3), TrainConfig(epochs=4, batch_size=8, snapshot_epochs=(2,)), CIFAR)
    assert Run(Model.of(CifarCNN, n_fc=3), CFG, CIFAR, first_epochs_of=fine).first_epochs_of is fine


def _claim(claim_id: str, reading: str, profile: str = "smoke") -> ClaimUnderReading:
    record = catalog.get(claim_id)
    return ClaimUnderReading(record, record.reading(reading), profile)


def test_report_002s_2_epoch_nets_are_declared_as_the_first_epochs_of_their_longer_runs():
    from suites.r002.runs import cnn_run

    tanh = declared(_claim("r002.tanh_learns", "momentum=0.9"))["tanh"]
    longer = declared(_claim("r002.sigmoid_catches_up", "momentum=0.9,signed-gap"))["tanh"]
    assert tanh.first_epochs_of == longer and longer.config.snapshot_epochs == (tanh.config.epochs,)
    assert every_run([tanh]) == [longer, tanh]
    # A budget whose longer run is no longer (the claim file refuses it; a declaration never recurses on it) declares
    # the report's run alone.
    same = SimpleNamespace(budget={"epochs": 2, "longer_epochs": 2, "train_per_class": 2, "test_per_class": 1},
                           choices={"momentum": 0.0})
    run = cnn_run(same, n_fc=3, activation="tanh")
    assert run.first_epochs_of is None and run.config.epochs == 2 and run.config.snapshot_epochs == ()


def test_claims_that_declare_an_equal_run_share_it():
    depth6 = declared(_claim("r002.depth_sweep", "momentum=0"))["depth6"]
    assert declared(_claim("r002.fix_init", "momentum=0,gain=1"))["unfixed"] == depth6
    assert declared(_claim("r002.depth6_vanishing", "momentum=0"))["depth6"] == depth6
    assert declared(_claim("r002.fix_init", "momentum=0.9,gain=1"))["unfixed"] != depth6  # another momentum
    # Report 000: the pure-fp16 student's reported run is the evaluating claims' run (with its EMA) where one of
    # them declares it, and a cheaper unevaluated run where none does (the SGD reading).
    from suites.r000.runs import BASE

    adam = declared(_claim("r000.student_fp16_nan", "adam"))[BASE]
    assert adam == declared(_claim("r000.student_ema_nan", "adam"))["student"] and adam.test is not None
    sgd = declared(_claim("r000.student_fp16_nan", "sgd"))[BASE]
    assert sgd.test is None and sgd.config.ema_decay is None and sgd.config.optimizer == "sgd"
    assert adam.teacher == declared(_claim("r000.teacher_ema", "literal"))["teacher"]


def test_every_declaration_reads_only_the_record_reading_and_budget():
    """Each claim of the repository under each reading and profile declares its runs without data or training (what
    collection and plan mode ask of it), and a claim whose tests train declares at least one."""
    trains = set()
    for claim in catalog.all_claims():
        for reading in claim.readings:
            for profile in ("smoke", "full"):
                runs = declared(ClaimUnderReading(claim, reading, profile))
                assert all(isinstance(r, Run) for r in every_run(runs.values()))
                if runs:
                    trains.add(claim.id)
    assert {"r002.tanh_learns", "r000.teacher_ema", "r000.constant_val_acc", "control.cifar10_tutorial",
            "r000.epoch_time"} <= trains
    assert not trains & {"r002.gradient_check", "r000.conv_shape", "r000.regularized_cost"}


DECLARATIONS = '''from harness.models import CifarCNN
from harness.runs import Data, Model, Run, runs_of
from harness.train import TrainConfig


@runs_of("r901.beats_chance")
def as_a_list(claim):
    return [Run(Model.of(CifarCNN), TrainConfig(epochs=1, batch_size=4), Data("cifar10", "train"))]
'''


def test_a_declaration_is_registered_once_and_returns_runs_by_name(tmp_path):
    from .test_claims_folders import _folder

    folder = _folder(tmp_path)
    (folder / "runs.py").write_text(DECLARATIONS)
    catalog.add_dir(folder)
    claim = _claim("r901.beats_chance", "literal")
    with pytest.raises(TypeError, match=r"as_a_list \(the runs of r901.beats_chance\) must return a dict of name → "
                                        r"harness.runs.Run, not list"):
        declared(claim)
    # A second function for the claim, of a folder the catalogue holds, is refused naming both.
    with pytest.raises(ValueError, match=r"r901.beats_chance has two run declarations: as_a_list \(.*runs.py\) and "
                                         r".*other"):
        @runs_of("r901.beats_chance")
        def other(claim):
            return {}
    # A claim its folder declares no runs for declares none.
    assert declared(_claim("r002.gradient_check", "as-written")) == {}


def test_a_declared_run_trains_as_the_same_run_asked_for_directly(tmp_path):
    """A declared run (model built from its spec, gradient-norm points placed on its steps, a teacher, a cut from a
    longer run) trains bit for bit as the same run asked of Harness.trained, and is one run of the memo."""
    from harness.runstore import RunStore
    from harness.session import Harness

    data = synthetic_data(n=32)
    data.description = "synthetic: 32 images"
    harness = Harness(profile="smoke", data_root=tmp_path, results_dir=tmp_path / "results",
                      runs=RunStore(torch.device("cpu"), [0, 1], {"device": "CPU: test"}))
    claim = SimpleNamespace(data=lambda *a, **k: data, run_sources={"trained": 0, "loaded": 0, "shared": 0},
                            record=SimpleNamespace(id="x.y"), reading=SimpleNamespace(name="r"))
    longer = Run(Model.of(CifarCNN, n_fc=3, activation="tanh"),
                 TrainConfig(epochs=2, batch_size=8, snapshot_epochs=(1,)), CIFAR, CIFAR, grad_norm_points=3)
    cut = Run(longer.model, TrainConfig(epochs=1, batch_size=8), CIFAR, CIFAR, first_epochs_of=longer)
    declared_cut = harness.train_run(claim, cut)
    direct = harness.trained(lambda: CifarCNN(n_fc=3, activation="tanh"), longer.model.spec,
                             TrainConfig(epochs=2, batch_size=8, snapshot_epochs=(1,), grad_norm_steps=(0, 3, 7)),
                             data, data)
    assert harness.train_run(claim, longer) is direct  # one run of the memo, however it is asked for
    assert claim.run_sources == {"trained": 1, "loaded": 0, "shared": 1}
    assert list(direct.grad_norms) == [0, 3, 7]
    np.testing.assert_array_equal(declared_cut.history["test_acc"], direct.history["test_acc"][:, :1])
    taught = Run(Model.of(student), TrainConfig(epochs=1, batch_size=8, kd_temperature=2.0), CIFAR, None,
                 teacher=Run(Model.of(CifarCNN, n_fc=3, activation="tanh"), TrainConfig(epochs=1, batch_size=8),
                             CIFAR, None))
    assert taught.teacher in every_run([taught]) and every_run([taught]).index(taught.teacher) == 0


def test_a_specification_holds_plain_values_with_the_builders_defaults_filled_in():
    from harness.models import teacher

    assert Model.of(CifarCNN) == Model.of(CifarCNN, n_fc=3, activation="tanh")  # one net, so one run
    assert Model.of(teacher, batch_norm=True).spec == {"model": "teacher", "batch_norm": True}  # **overrides
    assert Model.of(student).spec == {"model": "student"}
    assert dict(Model.of(CifarCNN, added_width=[256]).args)["added_width"] == (256,)  # hashable
    with pytest.raises(TypeError, match=r"Model.of\(CifarCNN, activation=...\) = <built-in .*plain values only"):
        Model.of(CifarCNN, activation=torch.tanh)
    with pytest.raises(TypeError, match="give the class or function that builds the model"):
        Model.of(__import__("functools").partial(CifarCNN, n_fc=3))
    data = Data("cifar10", "test", select_classes=[0, 1])
    assert data == Data("cifar10", "test", None, (0, 1)) and hash(data) == hash(Data("cifar10", "test", None, (0, 1)))
    with pytest.raises(TypeError, match=r"per_class='all'\): give a number of images or None \(all\); claim.budget "
                                        r"reads a record's \"all\" as None"):
        Data("cifar10", "test", per_class="all")


def test_values_that_compare_equal_are_one_run_and_one_key():
    from harness.runstore import run_key

    a = TrainConfig(epochs=2, batch_size=4, momentum=0, label="one")
    b = TrainConfig(epochs=2, batch_size=4, momentum=0.0, label="another")
    assert a == b and Run(Model.of(CifarCNN), a, CIFAR) == Run(Model.of(CifarCNN), b, CIFAR)
    data = synthetic_data(n=8)
    data.description = "d"
    assert run_key({"n_fc": 3, "lr": 1}, a, data, None, [0]) == run_key({"n_fc": 3, "lr": 1.0}, b, data, None, [0])
    assert run_key({"n_fc": 3}, a, data, None, [0]) != run_key({"n_fc": 4}, a, data, None, [0])


@pytest.mark.parametrize("bad", ["teacher alone", "cut alone", "cut with its own gradient norms"])
def test_runs_trained_alone_and_cut_runs_are_refused_where_they_would_mean_nothing(bad):
    longer = Run(Model.of(CifarCNN), TrainConfig(epochs=4, batch_size=8, snapshot_epochs=(2,)), CIFAR)
    with pytest.raises(ValueError):
        if bad == "teacher alone":
            Run(Model.of(student), CFG, CIFAR, teacher=replace(longer, alone=True))
        elif bad == "cut alone":
            Run(Model.of(CifarCNN), CFG, CIFAR, first_epochs_of=longer, alone=True)
        else:
            Run(Model.of(CifarCNN), CFG, CIFAR, first_epochs_of=longer, grad_norm_points=5)


def test_a_folder_that_is_no_package_imports_its_runs_as_pytest_would(tmp_path):
    """A runs.py beside a module of its own (``from consts import ...``), in a folder that is no package and not on
    sys.path, loads for validate as it does under pytest."""
    from harness.runs import load_runs_file

    from .test_claims_folders import _folder

    folder = _folder(tmp_path)
    (folder / "consts_r901.py").write_text("EPOCHS = 1\n")
    (folder / "runs.py").write_text(DECLARATIONS.replace("from harness.train import TrainConfig",
                                                         "from harness.train import TrainConfig\n"
                                                         "from consts_r901 import EPOCHS")
                                    .replace("return [Run(", "return {'cnn': Run(").replace("))]", "))}")
                                    .replace("epochs=1", "epochs=EPOCHS"))
    catalog.add_dir(folder)
    assert load_runs_file(folder) is not None
    assert declared(_claim("r901.beats_chance", "literal"))["cnn"].config.epochs == 1
