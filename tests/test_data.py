"""Data layer: layouts, decoding once, subsets, import with checksums, status."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tarfile

import numpy as np
import pytest
import torch

from harness import cli
from harness.data import (DataError, DataMissing, DeviceData, class_balanced_indices, format_status, import_archives,
                          load_images, member_generators)
from harness.data import decode as decode_module
from harness.data import manifest
from harness.data.archives import read_imported
from harness.data.cache import sha256_of

from .helpers import SHARED_DATA, make_archive, write_tiny


def test_cifar_jpeg_layout_loads_with_official_labels(cifar_root):
    images = load_images("cifar10", "train", cifar_root)
    assert images.images.shape == (30, 32, 32, 3) and images.images.dtype == np.uint8
    assert np.bincount(images.labels).tolist() == [3] * 10
    assert images.classes[0] == "airplane" and images.classes[9] == "truck"
    assert "JPEG ImageFolder" in images.form


def test_decoded_once_then_read_from_cache(cifar_root, monkeypatch):
    first = load_images("cifar10", "test", cifar_root)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(decode_module, "decode_files", no_decoding)
    monkeypatch.setattr("harness.data.images.decode_files", no_decoding)
    second = load_images("cifar10", "test", cifar_root)
    np.testing.assert_array_equal(first.images, second.images)
    assert len(list((cifar_root / "cache").glob("*.npz"))) == 1


def test_cache_key_follows_the_source(cifar_root):
    load_images("cifar10", "test", cifar_root)
    extra = cifar_root / "cifar10" / "test" / "cat" / "0002.jpg"
    shutil.copy(cifar_root / "cifar10" / "test" / "cat" / "0000.jpg", extra)
    assert len(load_images("cifar10", "test", cifar_root)) == 21
    assert len(list((cifar_root / "cache").glob("*.npz"))) == 2


def test_class_balanced_subset(cifar_root):
    images = load_images("cifar10", "train", cifar_root, per_class=2, seed=1)
    assert np.bincount(images.labels).tolist() == [2] * 10
    labels = np.repeat(np.arange(3), 5)
    idx = class_balanced_indices(labels, 2, seed=0)
    assert np.bincount(labels[idx]).tolist() == [2, 2, 2]
    with pytest.raises(DataError, match="fewer than"):
        class_balanced_indices(labels, 6)


def test_tiny_imagenet_layout(tiny_root):
    train = load_images("tiny-imagenet", "train", tiny_root)
    val = load_images("tiny-imagenet", "val", tiny_root)
    assert train.images.shape == (400, 64, 64, 3) and val.images.shape == (200, 64, 64, 3)
    assert np.bincount(train.labels).tolist() == [2] * 200
    assert val.labels.tolist() == list(range(200))


def test_wrong_class_count_names_the_file(tmp_path):
    root = write_tiny(tmp_path / "d", per_class=1, classes=199)
    with pytest.raises(DataError, match="wnids.txt: lists 199 classes"):
        load_images("tiny-imagenet", "train", root)


def test_undecodable_image_names_the_file(cifar_root):
    bad = cifar_root / "cifar10" / "test" / "dog" / "0001.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="dog/0001.jpg: does not decode"):
        load_images("cifar10", "test", cifar_root)
    assert not list((cifar_root / "cache").glob("*.npz")), "a failed decode must leave no cache"


def test_missing_data_names_the_command(tmp_path):
    with pytest.raises(DataMissing) as info:
        load_images("cifar10", "train", tmp_path)
    assert "python -m harness data import" in info.value.hint


def _register(monkeypatch, archive, sha, dataset):
    monkeypatch.setitem(manifest.ARCHIVES, archive.name, manifest.ArchiveSpec(archive.name, sha, dataset, "test"))


def test_import_verifies_and_extracts(cifar_root, tmp_path, monkeypatch):
    archive = tmp_path / "cifar10-fixture.tar.xz"
    _register(monkeypatch, archive, make_archive(cifar_root, "cifar10", archive), "cifar10")
    dest = tmp_path / "imported"
    before = format_status(dest)
    assert "cifar10/train          missing" in before
    import_archives([archive], dest, log=lambda *_: None)
    after = format_status(dest)
    assert "cifar10/train          present       30 images" in after
    assert read_imported(dest) == {archive.name: manifest.ARCHIVES[archive.name].sha256}
    assert not list(dest.glob(".import-*")), "the staging folder must be gone"


def test_truncated_archive_leaves_nothing(cifar_root, tmp_path, monkeypatch):
    archive = tmp_path / "cifar10-fixture.tar.xz"
    make_archive(cifar_root, "cifar10", archive)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    dest = tmp_path / "imported"
    # Wrong checksum: refused before anything is written.
    _register(monkeypatch, archive, "0" * 64, "cifar10")
    with pytest.raises(DataError, match="cifar10-fixture.tar.xz: SHA-256 is"):
        import_archives([archive], dest, log=lambda *_: None)
    assert not dest.exists() or not any(dest.iterdir())
    # Even an archive whose checksum matches but that is cut short extracts nothing.
    import hashlib

    _register(monkeypatch, archive, hashlib.sha256(archive.read_bytes()).hexdigest(), "cifar10")
    with pytest.raises(DataError, match="cannot be extracted"):
        import_archives([archive], dest, log=lambda *_: None)
    assert not (dest / "cifar10").exists() and not list(dest.glob(".import-*"))
    assert read_imported(dest) == {}


def test_unknown_archive_is_refused(tmp_path):
    stray = tmp_path / "something.tar.xz"
    stray.write_bytes(b"x")
    with pytest.raises(DataError, match="not an archive the harness knows"):
        import_archives([stray], tmp_path / "d")


@pytest.mark.skipif(not (SHARED_DATA / "cifar10-jpeg.tar.xz").exists(), reason="needs ../shared/data (the shared folder beside the checkout)")
def test_truncated_copy_of_the_real_archive_is_refused(tmp_path):
    copy = tmp_path / "cifar10-jpeg.tar.xz"
    with open(SHARED_DATA / "cifar10-jpeg.tar.xz", "rb") as fh:
        copy.write_bytes(fh.read(1 << 20))
    with pytest.raises(DataError, match="truncated or corrupt"):
        import_archives([copy], tmp_path / "d")
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


def test_device_data_batches_are_shuffled_per_member_and_normalized():
    x = np.arange(10 * 2 * 2 * 3, dtype=np.uint8).reshape(10, 2, 2, 3)
    y = np.arange(10) % 3
    data = DeviceData((x, y), "cpu", (0.5,) * 3, (0.5,) * 3)
    order = data.epoch_order(member_generators([0, 1]))
    assert order.shape == (2, 10) and not torch.equal(order[0], order[1])
    assert sorted(order[0].tolist()) == list(range(10))
    batches = list(data.batches(order, 4))
    assert [b[0].shape[1] for b in batches] == [4, 4, 2]  # the last batch partial, as a DataLoader gives
    xb, yb = batches[0]
    assert xb.shape == (2, 4, 3, 2, 2)
    expected = (torch.from_numpy(x[order[0, 0].item()]).permute(2, 0, 1).float() / 255 - 0.5) / 0.5
    torch.testing.assert_close(xb[0, 0], expected)
    assert yb[1, 0].item() == y[order[1, 0].item()]


def test_data_orders_come_from_cpu_generators_on_every_device():
    """Issue 23, item 1: a seed's order is the CPU generator's shuffle whatever the data's device (CUDA's generator
    is another algorithm), so a GPU run trains on the CPU run's batches; tests/test_gpu.py checks it on CUDA."""
    from types import SimpleNamespace

    generators = member_generators([0, 1])
    assert all(g.device.type == "cpu" for g in generators)
    data = DeviceData((np.zeros((10, 2, 2, 3), np.uint8), np.arange(10) % 3), "cpu", (0.5,) * 3, (0.5,) * 3)
    order = data.epoch_order(member_generators([0, 1]))
    for row, seed in zip(order, (0, 1)):
        assert torch.equal(row, torch.randperm(10, generator=torch.Generator().manual_seed(seed * 1_000_003 + 1)))
    with pytest.raises(ValueError, match="CPU generators"):
        data.epoch_order([SimpleNamespace(device=torch.device("cuda"))])


def test_a_truncated_decoded_cache_is_detected_and_decoded_again(cifar_root, caplog):
    first = load_images("cifar10", "test", cifar_root)
    cached = next((cifar_root / "cache").glob("*.npz"))
    cached.write_bytes(cached.read_bytes()[:200])  # a crash or a full disk mid-write
    with caplog.at_level("WARNING", logger="harness.data"):
        again = load_images("cifar10", "test", cifar_root)
    assert "damaged" in caplog.text
    np.testing.assert_array_equal(again.images, first.images)
    assert cached.stat().st_size > 200  # rebuilt whole


def _cache_file(root):
    return next((root / "cache").glob("*.npz"))


def test_a_decoded_cache_altered_without_its_checksum_is_decoded_again(cifar_root, caplog):
    first = load_images("cifar10", "test", cifar_root)
    cached = _cache_file(cifar_root)
    np.savez(cached, images=np.zeros_like(first.images), labels=first.labels)  # altered, and no checksum left
    cached.with_name(cached.name + ".sha256").unlink()
    with caplog.at_level("WARNING", logger="harness.data"):
        again = load_images("cifar10", "test", cifar_root)
    assert "no .sha256" in caplog.text
    np.testing.assert_array_equal(again.images, first.images)
    assert cached.with_name(cached.name + ".sha256").read_text().strip() == sha256_of(cached)


def test_a_decoded_cache_with_other_arrays_is_decoded_again_not_a_key_error(cifar_root, caplog):
    first = load_images("cifar10", "test", cifar_root)
    cached = _cache_file(cifar_root)
    np.savez(cached, x=first.images, y=first.labels)  # e.g. written by another version of the code
    cached.with_name(cached.name + ".sha256").write_text(sha256_of(cached) + "\n")
    with caplog.at_level("WARNING", logger="harness.data"):
        again = load_images("cifar10", "test", cifar_root)
    assert "holds arrays ['x', 'y']" in caplog.text
    np.testing.assert_array_equal(again.images, first.images)
    caplog.clear()
    load_images("cifar10", "test", cifar_root)
    assert "decoding the images again" not in caplog.text  # rebuilt once, then read


def test_decoded_cache_files_follow_the_umask(cifar_root):
    old = os.umask(0o027)
    try:
        load_images("cifar10", "test", cifar_root)
    finally:
        os.umask(old)
    cached = _cache_file(cifar_root)
    assert stat.S_IMODE(cached.stat().st_mode) == 0o640


def test_a_read_only_data_root_with_a_whole_cache_is_read_without_locks(cifar_root, read_only):
    first = load_images("cifar10", "test", cifar_root)
    read_only(cifar_root)
    again = load_images("cifar10", "test", cifar_root)
    np.testing.assert_array_equal(again.images, first.images)


def test_a_read_only_data_root_holding_the_results_cache_stops_the_session_up_front(tmp_path, read_only):
    from harness.plugin.settings import _check_cache_dir
    from harness.runcache import default_cache_dir

    root = tmp_path / "data"
    (root / "runs").mkdir(parents=True)
    _check_cache_dir(default_cache_dir(root), None)  # writable: nothing said, nothing left behind
    assert not any((root / "runs").iterdir())
    read_only(root)
    with pytest.raises(pytest.UsageError, match=r"results cache .*runs \(from <data root>/runs .*cannot write there "
                                                r".*--no-cache"):
        _check_cache_dir(default_cache_dir(root), None)


def test_a_read_only_data_root_that_must_decode_names_the_option(cifar_root, read_only):
    read_only(cifar_root)
    with pytest.raises(DataError, match=r"cannot write the decoded-image cache there .*--data-root") as info:
        load_images("cifar10", "test", cifar_root)
    assert "\n" not in str(info.value)


def test_a_full_disk_while_caching_says_so(cifar_root, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(DataError, match=r"the disk is full writing the decoded-image cache \(about \d+ MiB needed"):
        load_images("cifar10", "test", cifar_root)
    assert not list((cifar_root / "cache").glob("*.npz")) and not list((cifar_root / "cache").glob(".*.tmp"))


def _fixture_archive(cifar_root, tmp_path, monkeypatch):
    archive = tmp_path / "cifar10-fixture.tar.xz"
    _register(monkeypatch, archive, make_archive(cifar_root, "cifar10", archive), "cifar10")
    return archive


def _cli(capsys, *argv):
    """``python -m harness ARGV`` in this process: its exit code, its output, and the one line of its stderr."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "\n" not in err.strip(), err
    return code, out, err.strip()


def test_a_killed_imports_staging_folder_is_reported_then_removed(cifar_root, tmp_path, monkeypatch, capsys):
    archive = _fixture_archive(cifar_root, tmp_path, monkeypatch)
    dest = tmp_path / "imported"
    stale = dest / ".import-k1ll3d" / "cifar10"
    stale.mkdir(parents=True)
    (stale / "part.jpg").write_bytes(b"\0" * (3 << 20))  # what a SIGKILL mid-extraction leaves
    assert "staging folder" in format_status(dest) and "left by an interrupted import" in format_status(dest)
    code, out, _ = _cli(capsys, "data", "import", archive, "--data-root", dest)
    assert code == 0 and "removing .import-k1ll3d (3 MiB), left by an interrupted import" in out
    assert not list(dest.glob(".import-*"))
    assert "staging folder" not in format_status(dest)


def test_status_does_not_call_a_running_imports_staging_folder_stale(tmp_path):
    from harness.data.archives import import_lock

    (tmp_path / ".import-running").mkdir()
    with import_lock(tmp_path):
        assert "an import into this root is running now" in format_status(tmp_path)


def test_two_imports_at_once_keep_both_entries_of_imported_json(cifar_root, tmp_path, monkeypatch):
    import threading

    from harness.data import archives

    first = _fixture_archive(cifar_root, tmp_path, monkeypatch)
    second = tmp_path / "cifar10-fixture-2.tar.xz"
    shutil.copy(first, second)
    _register(monkeypatch, second, manifest.ARCHIVES[first.name].sha256, "cifar10")
    dest = tmp_path / "imported"
    writing, other_done = threading.Event(), threading.Event()
    real_write = archives.write_json_atomic

    def slow_write(path, payload):
        # The first import has read imported.json and is about to write it: the other gets every chance to
        # read and write it meanwhile (it cannot while the first holds the import lock: it waits, then this goes on).
        if threading.current_thread().name == "first":
            writing.set()
            other_done.wait(3)
        return real_write(path, payload)

    monkeypatch.setattr(archives, "write_json_atomic", slow_write)
    t = threading.Thread(target=import_archives, args=([first], dest), kwargs={"log": lambda *_: None}, name="first")
    t.start()
    writing.wait(30)
    import_archives([second], dest, log=lambda *_: None)
    other_done.set()
    t.join(60)
    assert sorted(read_imported(dest)) == sorted([first.name, second.name])


def test_importing_into_a_read_only_data_root_names_the_option(cifar_root, tmp_path, monkeypatch, capsys, read_only):
    archive = _fixture_archive(cifar_root, tmp_path, monkeypatch)
    dest = tmp_path / "imported"
    dest.mkdir()
    read_only(dest)
    code, _, err = _cli(capsys, "data", "import", archive, "--data-root", dest)
    assert code == 2 and f"{dest}: cannot write into the data root (" in err and "--data-root" in err


def test_a_full_disk_on_import_says_the_disk_is_full_not_copy_again(cifar_root, tmp_path, monkeypatch, capsys):
    archive = _fixture_archive(cifar_root, tmp_path, monkeypatch)

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tarfile.TarFile, "extractall", no_space)
    dest = tmp_path / "imported"
    code, _, err = _cli(capsys, "data", "import", archive, "--data-root", dest)
    assert code == 2 and "the disk is full extracting cifar10-fixture.tar.xz (about 0 MiB needed" in err, err
    assert "copy it again" not in err
    assert not list(dest.glob(".import-*")) and read_imported(dest) == {}


def test_a_data_root_that_is_a_file_is_named_by_the_cli(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for action in (["status"], ["import", tmp_path / "x.tar.xz"], ["download", "cifar10"]):
        code, _, err = _cli(capsys, "data", *action, "--data-root", blocker)
        assert code == 2 and f"--data-root {blocker}: is a file, not a folder" in err
    monkeypatch.setenv("HARNESS_DATA", str(blocker))
    assert _cli(capsys, "data", "status")[2] == f"error: $HARNESS_DATA={blocker}: is a file, not a folder; give " \
                                                 "--data-root a folder (it is made if absent)."


def test_an_extra_folder_among_the_classes_is_named_and_a_hidden_one_ignored(cifar_root, capsys):
    (cifar_root / "cifar10" / "train" / ".ipynb_checkpoints").mkdir()  # a tool's, never a class
    assert len(load_images("cifar10", "train", cifar_root)) == 30
    (cifar_root / "cifar10" / "train" / "results").mkdir()
    with pytest.raises(DataError, match=r"train: results: not a CIFAR-10 class folder; move it out of the data root"):
        load_images("cifar10", "train", cifar_root)
    code, out, _ = _cli(capsys, "data", "status", "--data-root", cifar_root)
    assert code == 0 and "BROKEN: " in out and "results: not a CIFAR-10 class folder" in out


def test_a_deleted_image_makes_a_split_partial_not_a_traceback(tiny_root):
    from harness.data.images import find_source

    (tiny_root / "tiny-imagenet-200" / "val" / "images" / "val_7.JPEG").unlink()  # listed in val_annotations.txt
    assert find_source("tiny-imagenet", "val", tiny_root).shortfall() == "partial: 199/10000"
    (tiny_root / "tiny-imagenet-200" / "train" / "n00000003" / "images" / "n00000003_0.JPEG").unlink()
    assert find_source("tiny-imagenet", "train", tiny_root).shortfall() == "partial: 399/100000"
    (tiny_root / "tiny-imagenet-200" / "train" / ".ipynb_checkpoints").mkdir()
    (tiny_root / "tiny-imagenet-200" / "train" / "old-run").mkdir()
    with pytest.raises(DataError, match=r"train: old-run: not a class of .*wnids.txt; move it out of the data root"):
        find_source("tiny-imagenet", "train", tiny_root)


def test_a_download_that_fails_its_checksum_is_a_clear_error(tmp_path, monkeypatch, capsys):
    import torchvision.datasets.utils

    def corrupted(*args, **kwargs):
        raise RuntimeError("File not found or corrupted.")

    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", corrupted)
    code, _, err = _cli(capsys, "data", "download", "tiny-imagenet", "--data-root", tmp_path)
    assert code == 2 and "downloading tiny-imagenet gave a file that fails its checksum" in err
    assert f"delete {tmp_path / 'tiny-imagenet-200.zip'}" in err
