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
    first = planted / "train-images-idx3-ubyte.gz"  # the first file checked
    assert message.startswith(f"{first} has MD5 {_md5(first)}, expected 8d4fb7e6c68d591d4c3dfef9ec88bf0d")
    assert "\n" not in message


def test_the_command_line_refuses_it_in_one_line(planted, capsys):
    code = main(["train", "--data", "fashion-mnist", "--data-dir", str(planted), "--out", str(planted.parent / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "has MD5" in err and "Traceback" not in err, err


def test_files_with_the_expected_digests_are_found(planted):
    checksums = {name: _md5(planted / name) for name in fashion_mnist.OFFICIAL_MD5}
    assert fashion_mnist.find(planted, checksums=checksums) == planted
    (planted / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b altered")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz has MD5"):
        fashion_mnist.find(planted, checksums=checksums)


def test_uncompressed_copies_must_have_the_official_sizes(planted):
    for name in fashion_mnist.OFFICIAL_MD5:
        (planted / name[:-3]).write_bytes(gzip.decompress((planted / name).read_bytes()))
        (planted / name).unlink()
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte has 3,920,016 bytes, expected 47,040,016"):
        fashion_mnist.find(planted)  # 16 + 5,000 · 784 bytes against 16 + 60,000 · 784


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
