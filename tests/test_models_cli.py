"""Models as the reports describe them, and the command line."""

from __future__ import annotations

import torch
from torch import nn

from harness.cli import main
from harness.models import CifarCNN, fc_widths, student, teacher


def _count(model, kind):
    return sum(isinstance(m, kind) for m in model.modules())


def test_report_002_cnn():
    assert fc_widths(3) == [120, 84] and fc_widths(6) == [120, 84, 84, 84, 84] and fc_widths(2) == [120]
    assert fc_widths(5, added_width=256) == [120, 84, 256, 256]
    for n_fc in (2, 3, 6):
        model = CifarCNN(n_fc, "sigmoid")
        assert _count(model, nn.Linear) == n_fc and _count(model, nn.Conv2d) == 2
        assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert _count(CifarCNN(6, "tanh", batch_norm=True), nn.BatchNorm1d) == 5
    assert CifarCNN(2, "relu", num_classes=2, dropout=0.5)(torch.zeros(1, 3, 32, 32)).shape == (1, 2)


def test_xavier_initialization():
    model = CifarCNN(3, "tanh", init="xavier")
    assert torch.count_nonzero(model.out.bias) == 0
    bound = (6 / (84 + 10)) ** 0.5
    assert model.out.weight.abs().max() <= bound


def test_report_000_teacher_and_student():
    t, s = teacher(), student()
    assert _count(t, nn.Conv2d) == 12 and _count(s, nn.Conv2d) == 3
    for model in (t, s):
        pools = _count(model, nn.AdaptiveAvgPool2d) + _count(model, nn.AvgPool2d)
        assert pools == 1 and _count(model, nn.MaxPool2d) == 0
        assert model.features[0].out_channels == 12
        assert model.fc[0].out_features == 1024
        assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 200)
    assert _count(teacher(batch_norm=True), nn.BatchNorm2d) == 12
    assert teacher(pool="early")(torch.zeros(1, 3, 64, 64)).shape == (1, 200)


def test_cli_status_and_import(tmp_path, capsys, monkeypatch, cifar_root):
    from harness.data import manifest

    from .helpers import make_archive

    archive = tmp_path / "cifar10-fixture.tar.xz"
    sha = make_archive(cifar_root, "cifar10", archive)
    monkeypatch.setitem(manifest.ARCHIVES, archive.name, manifest.ArchiveSpec(archive.name, sha, "cifar10", "test"))
    root = tmp_path / "root"
    assert main(["data", "status", "--data-root", str(root)]) == 0
    assert "cifar10/train          missing; get it with: python -m harness data import" in capsys.readouterr().out
    assert main(["data", "import", str(archive), "--data-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "imported 1 archive(s)" in out and "cifar10/test           present" in out
    truncated = tmp_path / "trunc" / archive.name
    truncated.parent.mkdir()
    truncated.write_bytes(archive.read_bytes()[:100])
    assert main(["data", "import", str(truncated), "--data-root", str(tmp_path / "other")]) == 2
    assert "SHA-256" in capsys.readouterr().err and not (tmp_path / "other").exists()


def test_cli_lists_claims(capsys):
    assert main(["claims", "list"]) == 0
    out = capsys.readouterr().out
    assert "r002.depth_sweep" in out and "r000.conv_shape" in out
