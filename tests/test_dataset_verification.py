# SPDX-License-Identifier: MIT
"""A dataset found on disk is verified before it is trusted, and the verification is cached by path, size, mtime."""

import gzip
import hashlib
import os

import pytest

from convzoo import download
from convzoo.cli import main
from convzoo.data import fashion_mnist, load_dataset
from convzoo.errors import DataError


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the digest cache lives there


@pytest.fixture
def planted(tmp_path):
    """The embedded sample's four files where the full dataset is looked for: right names, wrong data."""
    directory = tmp_path / "planted"
    directory.mkdir()
    for file in fashion_mnist.MINI_DIR.iterdir():
        (directory / file.name).write_bytes(file.read_bytes())
    return directory


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()  # the publisher gives MD5


def test_the_embedded_sample_planted_as_the_full_set_is_refused_naming_the_md5(planted):
    with pytest.raises(DataError) as refused:
        load_dataset("fashion-mnist", planted)
    message = str(refused.value)
    first = planted / "train-images-idx3-ubyte.gz"  # the first file checked: its content's MD5 against the official
    content = hashlib.md5(gzip.decompress(first.read_bytes())).hexdigest()
    assert message.startswith(f"{first} holds content with MD5 {content}, expected f4a8712d7a061bf5bd6d2ca38dc4d50a")
    assert "not the official Fashion-MNIST file" in message and "\n" not in message


def test_the_command_line_refuses_it_in_one_line(planted, capsys):
    code = main(["train", "--data", "fashion-mnist", "--data-dir", str(planted), "--out", str(planted.parent / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "holds content with MD5" in err and "Traceback" not in err, err


def test_files_with_the_expected_digests_are_found(planted):
    checksums = {name: _md5(planted / name) for name in fashion_mnist.OFFICIAL_MD5}
    assert fashion_mnist.find(planted, checksums=checksums) == planted
    (planted / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b altered")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is corrupt or truncated"):
        fashion_mnist.find(planted, checksums=checksums)


def _contents(planted):
    return {name[:-3]: hashlib.md5(gzip.decompress((planted / name).read_bytes())).hexdigest() for name in
            fashion_mnist.OFFICIAL_MD5}  # fmt: skip


def test_a_recompressed_copy_of_the_official_content_is_accepted(planted, monkeypatch):
    # Debian's dataset-fashion-mnist ships the official content gzipped again: other .gz digests, the same content
    monkeypatch.setattr(fashion_mnist, "OFFICIAL_RAW_MD5", _contents(planted))
    for name in fashion_mnist.OFFICIAL_MD5:
        (planted / name).write_bytes(gzip.compress(gzip.decompress((planted / name).read_bytes()), mtime=1))
    assert fashion_mnist.find(planted) == planted  # no .gz matches OFFICIAL_MD5; every content matches
    first = planted / "train-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(first.read_bytes()))
    content[-1] ^= 1  # one label changed
    first.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz holds content with MD5 .* not the official"):
        fashion_mnist.find(planted)


def test_uncompressed_copies_are_checked_by_content_not_size(planted, monkeypatch):
    official = _contents(planted)
    for name in fashion_mnist.OFFICIAL_MD5:
        (planted / name[:-3]).write_bytes(gzip.decompress((planted / name).read_bytes()))
        (planted / name).unlink()
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte holds content with MD5 .*, expected f4a8712d"):
        fashion_mnist.find(planted)  # the embedded sample's content, not the official
    monkeypatch.setattr(fashion_mnist, "OFFICIAL_RAW_MD5", official)
    assert fashion_mnist.find(planted) == planted
    # a file of the right size and header with other pixels (what a size check let through: MNIST's files have
    # Fashion-MNIST's names and sizes) is refused by its content
    images = planted / "t10k-images-idx3-ubyte"
    data = bytearray(images.read_bytes())
    data[100] ^= 0xFF
    images.write_bytes(bytes(data))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte holds content with MD5"):
        fashion_mnist.find(planted)


def test_mnist_planted_as_fashion_mnist_is_named(planted, monkeypatch):
    # MNIST's digits stand in here as the files whose content digests are MNIST's (the real ones are not on disk)
    monkeypatch.setattr(fashion_mnist, "MNIST_RAW_MD5", _contents(planted))
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"):  # one gzipped, one uncompressed
        if not name.endswith(".gz"):
            (planted / name).write_bytes(gzip.decompress((planted / f"{name}.gz").read_bytes()))
            (planted / f"{name}.gz").unlink()
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz holds .*: these are MNIST's handwritten digits"):
        fashion_mnist.find(planted)
    monkeypatch.setattr(fashion_mnist, "OFFICIAL_RAW_MD5", {**fashion_mnist.OFFICIAL_RAW_MD5, **{
        k: v for k, v in _contents_or_raw(planted).items() if k != "t10k-labels-idx1-ubyte"}})  # fmt: skip
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte holds .*: these are MNIST's handwritten digits"):
        fashion_mnist.find(planted)


def _contents_or_raw(planted):
    return {
        path.name.removesuffix(".gz"): hashlib.md5(
            gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        ).hexdigest()
        for path in planted.iterdir()
    }


def test_a_second_check_reads_the_cached_digest_and_a_changed_file_is_hashed_again(planted, monkeypatch):
    hashed = []
    real = download.digest_of
    monkeypatch.setattr(
        download, "digest_of", lambda path, algorithm="sha256": hashed.append(path) or real(path, algorithm)
    )
    path = planted / "t10k-labels-idx1-ubyte.gz"
    first = download.cached_digest_of(path, "md5")
    second = download.cached_digest_of(path, "md5")
    assert first == second == _md5(path) and hashed == [path]  # hashed once
    path.write_bytes(b"other bytes")  # another size
    assert download.cached_digest_of(path, "md5") == _md5(path) and len(hashed) == 2
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # same size, new mtime
    download.cached_digest_of(path, "md5")
    assert len(hashed) == 3
