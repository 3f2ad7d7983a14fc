"""Data sets: IDX files (MNIST, Fashion-MNIST), CSV files, generated 2-D problems,
scikit-learn's small real sets, a train/test split and a feature standardizer.

Only NumPy and the standard library are needed: the four small real sets (digits, iris,
wine, breast cancer) ship with the package. Nothing is ever unpickled.

Every loader of a built-in set returns ``(X, y)``: ``X`` a float array (``float32`` unless
``dtype`` says otherwise), ``y`` ``int64`` class labels. ``load_csv`` returns a typed
:class:`Table` (text categories, missing values and all), which :class:`TableEncoder` (a
scikit-learn-style transformer) turns into the network's input matrix;
``load_features_csv`` returns a numeric ``X``. Bad files raise :class:`DatasetError`, a
``ValueError`` whose message names the file and, where it applies, the line, the column and
the offending value.

One concept a module: :mod:`.base` (the error, the wording of an unreadable file, the dtype
check), :mod:`.idx` (IDX files, MNIST, Fashion-MNIST), :mod:`.csvfile` (CSV files),
:mod:`.table` (the typed :class:`Table`), :mod:`.encoding` (:class:`TableEncoder` and its
column encoders), :mod:`.generated` (moons, circles, ...), :mod:`.bundled` (the shipped
small sets), :mod:`.split` (train/test split), :mod:`.scaling` (:class:`Standardizer`) and :mod:`.registry` (the data
sets by name).
"""

from .base import DatasetError
from .bundled import SMALL_SETS, dataset_info, load_breast_cancer, load_digits, load_iris, load_wine
from .csvfile import load_csv, load_features_csv
from .encoding import BooleanColumn, CategoricalColumn, NumericColumn, TableEncoder
from .generated import make_blobs, make_circles, make_moons, make_spirals, make_xor
from .idx import (
    GZIP_MAGIC,
    IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
    load_fashion_mnist,
    load_idx_dataset,
    load_mnist,
    read_idx,
)
from .registry import DATASETS, GENERATED, load_dataset
from .scaling import Standardizer
from .split import split_indices, train_test_split
from .table import Table

__all__ = [
    "BooleanColumn",
    "CategoricalColumn",
    "DATASETS",
    "DatasetError",
    "SMALL_SETS",
    "dataset_info",
    "Standardizer",
    "load_breast_cancer",
    "load_csv",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_features_csv",
    "load_idx_dataset",
    "load_iris",
    "load_mnist",
    "load_wine",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
    "NumericColumn",
    "Table",
    "TableEncoder",
    "read_idx",
    "split_indices",
    "train_test_split",
]
