"""Data sets: IDX reading and validation, the real MNIST files, CSV files, generated
problems, scikit-learn sets, train/test split and Standardizer."""

import gzip
import json
import re
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from deltaprop.datasets import (
    dataset_info,
    DATASETS,
    DatasetError,
    Standardizer,
    load_csv,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_features_csv,
    load_idx_dataset,
    load_mnist,
    make_blobs,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
    read_idx,
    train_test_split,
)

# tests/ is in the repository root, whose parent holds shared/datasets (read-only).
SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"

# -- IDX files written by the tests --------------------------------------------------------

IMAGES = np.arange(5 * 3 * 4, dtype=np.uint8).reshape(5, 3, 4) * 4
LABELS = np.array([3, 0, 9, 1, 3], dtype=np.uint8)


def idx_bytes(array, magic=None):
    magic = (0x0800 | array.ndim) if magic is None else magic
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


def write(path, data, gz=False):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip(tmp_path, gz):
    images = read_idx(write(tmp_path / "images", idx_bytes(IMAGES), gz))
    labels = read_idx(write(tmp_path / "labels", idx_bytes(LABELS), gz))
    assert images.dtype == np.uint8 and images.shape == (5, 3, 4)
    np.testing.assert_array_equal(images, IMAGES)
    np.testing.assert_array_equal(labels, LABELS)
    images[0, 0, 0] = 1  # a writable copy


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    gz_named_plain = write(tmp_path / "labels.gz", idx_bytes(LABELS))
    plain_named_gz = write(tmp_path / "labels.idx", idx_bytes(LABELS), gz=True)
    np.testing.assert_array_equal(read_idx(gz_named_plain), LABELS)
    np.testing.assert_array_equal(read_idx(plain_named_gz), LABELS)


CORRUPT = {
    "wrong magic": (idx_bytes(LABELS, magic=0x12345678), "bad magic number 0x12345678"),
    "float type": (idx_bytes(LABELS, magic=0x00000D01), "unsupported IDX data type 0x0D"),
    "too short": (b"\x00\x00", "too short"),
    "short header": (idx_bytes(IMAGES)[:10], "truncated header"),
    "truncated": (idx_bytes(IMAGES)[:-1], "truncated: shape (5, 3, 4) needs 60 data bytes"),
    "extra bytes": (idx_bytes(LABELS) + b"\x00\x00", "extra bytes: shape (5,) needs 5 data"),
}


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_read_idx_rejects_corrupt_files(tmp_path, case, gz):
    data, message = CORRUPT[case]
    path = write(tmp_path / f"bad-{case.replace(' ', '_')}", data, gz)
    with pytest.raises(DatasetError, match=re.escape(message)) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    if case == "truncated":
        assert "found 59" in str(info.value)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "crc"])
def test_read_idx_rejects_bad_gzip(tmp_path, damage):
    stream = gzip.compress(idx_bytes(IMAGES))
    if damage == "truncate":
        stream = stream[: len(stream) // 2]
    elif damage == "garbage":
        stream = stream[:10] + b"\xff" * (len(stream) - 10)
    else:
        stream = stream[:-8] + bytes(8)  # wrong CRC and length
    path = write(tmp_path / "images.gz", stream)
    with pytest.raises(DatasetError, match="corrupt gzip stream") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="no such file") as info:
        read_idx(tmp_path / "nope")
    assert "nope" in str(info.value)
    assert issubclass(DatasetError, ValueError)


def write_split(directory, split="train", gz=True, images=IMAGES, labels=LABELS):
    directory.mkdir(exist_ok=True)
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if gz else ""
    write(directory / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images), gz)
    write(directory / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels), gz)
    return directory


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_dataset_plain_and_gzip_names(tmp_path, gz):
    data_dir = write_split(tmp_path / "data", "test", gz=gz)
    X, y = load_idx_dataset(data_dir, "test")
    assert X.shape == (5, 12) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(X, IMAGES.reshape(5, 12).astype(np.float32) / 255)
    np.testing.assert_array_equal(y, LABELS)

    X, _ = load_idx_dataset(data_dir, "test", flatten=False, normalize=False, dtype="float64")
    assert X.shape == (5, 3, 4) and X.dtype == np.float64
    np.testing.assert_array_equal(X, IMAGES)


def test_load_idx_dataset_missing_directory_and_files(tmp_path):
    with pytest.raises(DatasetError, match="does not exist") as info:
        load_idx_dataset(tmp_path / "absent")
    message = str(info.value)
    assert "absent" in message and "train-images-idx3-ubyte" in message
    assert "train-labels-idx1-ubyte" in message

    data_dir = write_split(tmp_path / "data", "train")
    (data_dir / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match=r"no train-labels-idx1-ubyte\[\.gz\]") as info:
        load_idx_dataset(data_dir)
    assert str(data_dir) in str(info.value)
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte"):
        load_idx_dataset(data_dir, "test")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_idx_dataset(data_dir, "validation")


def test_load_idx_dataset_checks_counts_and_kinds(tmp_path):
    data_dir = write_split(tmp_path / "a", labels=LABELS[:4])
    with pytest.raises(DatasetError, match="holds 5 images but .* holds 4 labels"):
        load_idx_dataset(data_dir)
    swapped = write_split(tmp_path / "b", images=LABELS, labels=IMAGES)
    with pytest.raises(DatasetError, match="expected images of shape"):
        load_idx_dataset(swapped)


def test_load_mnist_finds_named_subdirectory(tmp_path):
    write_split(tmp_path / "mnist")
    write_split(tmp_path / "fashion-mnist", labels=LABELS[::-1].copy())
    np.testing.assert_array_equal(load_mnist(tmp_path)[1], LABELS)
    np.testing.assert_array_equal(load_fashion_mnist(tmp_path)[1], LABELS[::-1])


# -- the real files -------------------------------------------------------------------------

needs_shared = pytest.mark.skipif(
    not SHARED_DATASETS.is_dir(), reason=f"no shared data sets at {SHARED_DATASETS}")

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
EXPECTED_COUNTS = {
    ("mnist", "train"): MNIST_TRAIN_COUNTS,
    ("mnist", "test"): MNIST_TEST_COUNTS,
    ("fashion-mnist", "train"): [6000] * 10,
    ("fashion-mnist", "test"): [1000] * 10,
}


@pytest.fixture(scope="module", params=["mnist", "fashion-mnist"])
def real_train(request):
    """Each training set, read once per module."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"no shared data sets at {SHARED_DATASETS}")
    X, y = load_dataset(request.param, data_dir=SHARED_DATASETS / request.param)
    return request.param, X, y


def check_real(X, y, name, split, n):
    assert X.shape == (n, 784) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.min() == 0 and y.max() == 9
    counts = np.bincount(y, minlength=10)
    assert counts.sum() == n
    assert counts.tolist() == EXPECTED_COUNTS[name, split]


def test_real_training_sets(real_train):
    name, X, y = real_train
    check_real(X, y, name, "train", 60000)


@needs_shared
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_test_sets(name):
    X, y = load_dataset(name, data_dir=SHARED_DATASETS / name, split="test")
    check_real(X, y, name, "test", 10000)
    images, _ = load_dataset(name, data_dir=SHARED_DATASETS, split="test", flatten=False,
                             normalize=False, dtype="float64")
    assert images.shape == (10000, 28, 28) and images.max() == 255
    np.testing.assert_array_equal((images.reshape(10000, -1) / 255).astype(np.float32), X)


# -- CSV ------------------------------------------------------------------------------------


def write_csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_is_read_into_a_typed_table(tmp_path):
    path = write_csv(tmp_path, "a,species,b,ok\n1.5,setosa,2,yes\n-3,virginica, 4e2 ,no\n\n"
                               "0,setosa,,yes\n")
    table = load_csv(path)
    assert table.names == ["a", "species", "b", "ok"] and len(table) == 3
    assert table.kinds == {"a": "numeric", "species": "boolean", "b": "numeric", "ok": "boolean"}
    np.testing.assert_array_equal(table["a"], [1.5, -3, 0])
    assert np.isnan(table["b"][2]) and table["b"][1] == 400  # missing, and stripped
    assert table["species"].tolist() == ["setosa", "virginica", "setosa"]
    assert table.lines.tolist() == [2, 3, 5]  # the blank line is skipped, lines still named


def test_csv_numeric_target_and_options(tmp_path):
    path = write_csv(tmp_path, "\ufeffx1\tx2\tprice\n1\t2\t3.25\n4\t5\t6\n", name="data.tsv")
    table = load_csv(path, delimiter="\t")
    assert table.names == ["x1", "x2", "price"]
    assert table.numbers(["x1", "x2"], dtype="float64").tolist() == [[1, 2], [4, 5]]


CSV_ERRORS = {
    "empty": ("", "is empty"),
    "blank": ("\n  \n", "is empty"),
    "header only": ("a,y\n", "has a header row but no data rows"),
    "empty column name": ("a,,y\n1,2,3\n", "line 1, column 2: empty column name"),
    "duplicate column": ("a,a,y\n1,2,3\n", "line 1: duplicate column name 'a'"),
    "ragged short": ("a,b,y\n1,2,0\n1,2\n", "line 3: 2 values, but the header has 3 columns"),
    "ragged long": ("a,b,y\n1,2,0,9\n", "line 2: 4 values, but the header has 3 columns"),
    "bad quoting": ('a,y\n1,"0\n', "line 2: unexpected end of data"),
    "stray quote": ('a,y\n1,"0"x\n', "line 2: ',' expected after '\"'"),
}


@pytest.mark.parametrize("case", sorted(CSV_ERRORS))
def test_csv_errors(tmp_path, case):
    text, message = CSV_ERRORS[case]
    path = write_csv(tmp_path, text)
    with pytest.raises(DatasetError, match=message) as info:
        load_csv(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_csv_unreadable(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_csv(tmp_path / "missing.csv")
    with pytest.raises(DatasetError, match="is a directory"):
        load_csv(tmp_path)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"a,y\n\xff\xfe,1\n")
    with pytest.raises(DatasetError, match="is not a UTF-8 text file"):
        load_csv(binary)


def test_an_endless_line_is_refused_before_it_is_held(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("a,b\n" + "1" * 5000 + ",2\n")
    with pytest.raises(DatasetError, match="line 2: longer than 1,000 characters"):
        load_csv(path, limit=1000)


def test_numbers_are_plain_decimals(tmp_path):
    path = write_csv(tmp_path, "a,b\n1_000,1\n2,2\n")
    table = load_csv(path)
    assert table.kinds["a"] == "boolean" and table["a"].tolist() == ["1_000", "2"]  # text
    assert table["b"].dtype == np.float64


def test_the_first_row_is_the_header_always(tmp_path):
    path = write_csv(tmp_path, "1,2,3,label\n4,5,6,x\n")
    assert load_csv(path).names == ["1", "2", "3", "label"]
    table = load_csv(path, header=False)
    assert table.names == ["1", "2", "3", "4"] and len(table) == 2 and not table.has_header


def test_features_csv_with_and_without_header(tmp_path):
    expected = [[1.5, 2], [-3, 400], [0, 0]]
    with_header = write_csv(tmp_path, "\ufeffa,b\n1.5,2\n-3, 4e2 \n\n0,0\n", name="h.csv")
    X = load_features_csv(with_header)
    assert X.dtype == np.float32 and X.tolist() == expected
    without = write_csv(tmp_path, "\n1.5;2\n-3;4e2\n0;0\n", name="n.csv")
    X = load_features_csv(without, delimiter=";", dtype="float64", header=False)
    assert X.dtype == np.float64 and X.tolist() == expected


FEATURE_CSV_ERRORS = {
    "empty": ("\n \n", "is empty"),
    "header only": ("a,b\n", "has a header row but no data rows"),
    "ragged after header": ("a,b\n1,2\n3\n", "line 3: 1 values, but the header has 2 columns"),
    "not a number": ("a,b\n1,2\n3,x4\n", "line 3, column 'b': 'x4' is not a number"),
    "empty value": ("a,b\n1,\n", "line 2, column 'b': missing value"),
    "nan": ("a,b\n1,2\n3,nan\n", "line 3, column 'b': missing value"),
    "inf": ("a,b\n1,2\n3,1e999\n", "line 3, column 'b': inf is not a finite float32 number"),
}


@pytest.mark.parametrize("case", sorted(FEATURE_CSV_ERRORS))
def test_features_csv_errors(tmp_path, case):
    text, message = FEATURE_CSV_ERRORS[case]
    path = write_csv(tmp_path, text)
    with pytest.raises(DatasetError, match=re.escape(message)) as info:
        load_features_csv(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_features_csv_unreadable(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_features_csv(tmp_path / "missing.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"1,2\n\xff\xfe,1\n")
    with pytest.raises(DatasetError, match="is not a UTF-8 text file"):
        load_features_csv(binary)


# -- generated problems ---------------------------------------------------------------------

GENERATORS = {
    "moons": make_moons,
    "circles": make_circles,
    "spirals": make_spirals,
    "xor": make_xor,
    "blobs": make_blobs,
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generated_sets_deterministic_balanced_shuffled(name):
    make = GENERATORS[name]
    X, y = make(n_samples=301, seed=7)
    X2, y2 = make(n_samples=301, seed=7)
    X3, _ = make(n_samples=301, seed=8)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, X3)
    assert X.shape == (301, 2) and X.dtype == np.float32 and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.sum() == 301 and counts.max() - counts.min() <= 1
    assert len(counts) == (3 if name == "blobs" else 2)
    assert not np.all(np.diff(y) >= 0)  # shuffled, not sorted by class
    assert make(n_samples=20, seed=0, dtype="float64")[0].dtype == np.float64


def test_moons_noise_free_exact():
    X, y = make_moons(n_samples=100, noise=0, seed=0, dtype="float64")
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1)
    assert upper[:, 1].min() >= -1e-12 and lower[:, 1].max() <= 0.5 + 1e-12


def test_circles_noise_free_exact():
    X, y = make_circles(n_samples=200, noise=0.0, factor=0.3, seed=1, dtype="float64")
    radius = np.hypot(*X.T)
    np.testing.assert_allclose(radius[y == 0], 1)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    with pytest.raises(ValueError, match="factor"):
        make_circles(factor=1.0)


def test_spirals_noise_free_exact_and_classes():
    X, y = make_spirals(n_samples=300, noise=0, n_classes=3, turns=1.5, seed=2,
                        dtype="float64")
    assert np.bincount(y).tolist() == [100, 100, 100]
    r = np.hypot(*X.T)
    assert r.min() >= 0.1 - 1e-12 and r.max() <= 1 + 1e-12
    expected = 2 * np.pi * (y / 3 + 1.5 * r)
    np.testing.assert_allclose(X, r[:, None] * np.column_stack([np.cos(expected),
                                                                np.sin(expected)]), atol=1e-12)
    with pytest.raises(ValueError, match="n_classes"):
        make_spirals(n_classes=1)


def test_xor_noise_free_labels_by_quadrant():
    X, y = make_xor(n_samples=400, noise=0, seed=3)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    assert np.abs(X).max() <= 1
    quadrant = (X[:, 0] > 0) * 2 + (X[:, 1] > 0)
    assert np.bincount(quadrant).tolist() == [100, 100, 100, 100]


def test_blobs_centres_and_spread():
    centers = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0], [5.0, -5.0]])
    X, y = make_blobs(n_samples=80, centers=centers, cluster_std=0, seed=4, dtype="float64")
    np.testing.assert_array_equal(X, centers[y])
    X, y = make_blobs(n_samples=4000, centers=centers, cluster_std=0.5, seed=4)
    for k, c in enumerate(centers):
        np.testing.assert_allclose(X[y == k].mean(axis=0), c, atol=0.06)
        np.testing.assert_allclose(X[y == k].std(axis=0), 0.5, rtol=0.1)
    X, _ = make_blobs(n_samples=30, centers=2, n_features=5, noise=0, seed=0)
    assert X.shape == (30, 5) and len(np.unique(X, axis=0)) == 2


def test_generator_argument_errors():
    with pytest.raises(ValueError, match="noise"):
        make_moons(noise=-1)
    with pytest.raises(ValueError, match="n_samples"):
        make_blobs(n_samples=2, centers=3)
    with pytest.raises(TypeError, match="n_samples"):
        make_xor(n_samples=10.5)
    with pytest.raises(ValueError, match="dtype"):
        make_moons(dtype="int32")


# -- scikit-learn sets and the registry -----------------------------------------------------


@pytest.mark.parametrize("name,shape,n_classes", [
    ("digits", (1797, 64), 10), ("iris", (150, 4), 3), ("wine", (178, 13), 3),
    ("breast_cancer", (569, 30), 2),
])
def test_small_sets_are_scikit_learns_to_the_bit(name, shape, n_classes):
    sk_datasets = pytest.importorskip("sklearn.datasets")
    X, y = load_dataset(name, dtype="float64")
    assert X.shape == shape and X.dtype == np.float64
    assert y.dtype == np.int64 and np.unique(y).tolist() == list(range(n_classes))
    bunch = getattr(sk_datasets, f"load_{name}")()
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)
    info = dataset_info(name)
    assert info["target_names"] == [str(t) for t in bunch.target_names]
    assert len(info["feature_names"]) == shape[1]


def test_small_sets_load_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert dataset_info("iris")["target_names"] == ["setosa", "versicolor", "virginica"]


def test_registry_names_and_errors(tmp_path):
    assert set(DATASETS) == {"digits", "iris", "wine", "breast_cancer", "moons", "circles",
                             "spirals", "xor", "blobs", "mnist", "fashion-mnist"}
    assert all(callable(f) for f in DATASETS.values())
    X, y = load_dataset("moons", n_samples=10, seed=0)
    assert X.shape == (10, 2)
    np.testing.assert_array_equal(load_dataset("Spirals", seed=1)[0], make_spirals(seed=1)[0])
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'; valid names: digits, "):
        load_dataset("cifar")
    with pytest.raises(DatasetError, match="'mnist' needs data_dir.*train-images-idx3-ubyte"):
        load_dataset("mnist")
    with pytest.raises(DatasetError, match="fashion-mnist' needs data_dir.*t10k-images"):
        load_dataset("fashion_mnist", split="test")
    write_split(tmp_path / "fashion-mnist", "test")
    X, y = load_dataset("fashion-mnist", data_dir=tmp_path, split="test")
    assert X.shape == (5, 12)
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte"):
        load_dataset("fashion-mnist", data_dir=tmp_path)  # train split by default


# -- train_test_split -----------------------------------------------------------------------


def test_split_sizes_and_no_overlap():
    X = np.arange(200).reshape(100, 2)
    y = np.arange(100)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
    assert len(X_train) == len(y_train) == 75 and len(X_test) == len(y_test) == 25
    np.testing.assert_array_equal(X_train[:, 0] // 2, y_train)  # rows stay paired
    np.testing.assert_array_equal(X_test[:, 0] // 2, y_test)
    assert not set(y_train) & set(y_test)
    assert sorted([*y_train, *y_test]) == list(range(100))
    assert len(train_test_split(X, y, test_size=10)[1]) == 10
    assert len(train_test_split(X, y, test_size=0.333)[1]) == 34  # rounded up
    again = train_test_split(X, y, test_size=0.25, seed=0)
    np.testing.assert_array_equal(again[3], y_test)


def test_split_stratified_keeps_proportions():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = np.arange(100.0)[:, None]
    for seed in range(5):
        _, _, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=seed, stratify=True)
        assert np.bincount(y_test).tolist() == [12, 6, 2]
        assert np.bincount(y_train).tolist() == [48, 24, 8]
    labels = np.array(["a", "b"] * 5 + ["c"])
    _, _, y_train, y_test = train_test_split(np.zeros((11, 1)), labels, test_size=0.5,
                                             seed=1, stratify=True)
    assert len(y_test) == 6 and sorted(y_test.tolist()).count("a") == 3
    onehot = np.eye(3)[y]
    _, _, _, t_test = train_test_split(X, onehot, test_size=0.2, seed=0, stratify=True)
    assert t_test.sum(axis=0).tolist() == [12, 6, 2]


def test_split_read_only_and_memmap_inputs(tmp_path):
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    X.setflags(write=False)
    y.setflags(write=False)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, seed=0,
                                                        stratify=False)
    assert X_train.flags.writeable and len(X_test) == 10
    np.testing.assert_array_equal(X, np.arange(40.0).reshape(20, 2))
    path = tmp_path / "X.dat"
    np.arange(40.0).reshape(20, 2).tofile(path)
    mm = np.memmap(path, dtype=np.float64, mode="r", shape=(20, 2))
    parts = train_test_split(mm, y, test_size=5, seed=0, stratify=y % 2)
    assert type(parts[0]) is np.ndarray and parts[1].shape == (5, 2)
    del mm


def test_split_errors():
    X, y = np.zeros((10, 2)), np.zeros(10)
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        train_test_split(X, y[:9])
    for bad in (0, 10, 0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="test_size"):
            train_test_split(X, y, test_size=bad)


# -- Standardizer ---------------------------------------------------------------------------


def test_standardizer_mean_std_and_constant_column():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(3, 5, 500), np.full(500, 0.1), rng.uniform(-1, 1, 500)])
    scaler = Standardizer()
    Z = scaler.fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), [1, 0, 1])
    assert scaler.scale_[1] == 1.0 and np.all(np.isfinite(Z))
    assert scaler.n_features_in_ == 3
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, atol=1e-12)


def test_standardizer_keeps_float32_and_does_not_modify_input():
    rng = np.random.default_rng(0)
    X = rng.normal(10, 2, size=(50, 4)).astype(np.float32)
    X.setflags(write=False)
    scaler = Standardizer().fit(X)
    Z = scaler.transform(X)
    assert Z.dtype == np.float32 and scaler.mean_.dtype == np.float64
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-5)
    assert Standardizer().fit_transform(np.arange(6).reshape(3, 2)).dtype == np.float64


def test_standardizer_state_roundtrip_through_json():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3)) * [1, 100, 1e-3]
    scaler = Standardizer().fit(X)
    state = json.loads(json.dumps(scaler.get_state()))
    assert set(state) == {"mean", "scale"} and isinstance(state["mean"], list)
    again = Standardizer.from_state(state)
    np.testing.assert_array_equal(again.mean_, scaler.mean_)
    np.testing.assert_array_equal(again.scale_, scaler.scale_)
    np.testing.assert_array_equal(again.transform(X), scaler.transform(X))


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        Standardizer().transform(np.zeros((2, 2)))
    scaler = Standardizer().fit(np.eye(3))
    with pytest.raises(ValueError, match="X has 2 features, but the Standardizer was fitted"):
        scaler.transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="2-D"):
        scaler.transform(np.zeros(3))
    with pytest.raises(ValueError, match="NaN or inf"):
        Standardizer().fit([[1.0], [np.nan]])
    with pytest.raises(ValueError, match="not a Standardizer state"):
        Standardizer.from_state({"mean": [0.0]})
    with pytest.raises(ValueError, match="scales positive"):
        Standardizer.from_state({"mean": [0.0], "scale": [0.0]})


@pytest.mark.parametrize("sep,suffix", [(",", ".csv"), (";", ".csv"), ("\t", ".tsv"),
                                        ("\t", ".txt"), ("|", ".csv")])
def test_csv_delimiter_is_detected(sep, suffix, tmp_path):
    path = tmp_path / f"data{suffix}"
    path.write_text(sep.join(["x 1", "x2", "y"]) + "\n" + sep.join(["1.5", "2", "a"]) + "\n"
                    + sep.join(["3", "4.25", "b"]) + "\n")
    table = load_csv(path)
    assert table.names == ["x 1", "x2", "y"]
    np.testing.assert_array_equal(table.numbers(["x 1", "x2"]), [[1.5, 2], [3, 4.25]])
