"""The data sets by name: :data:`DATASETS`, :data:`GENERATED` and :func:`load_dataset`."""

from __future__ import annotations

from .base import DatasetError
from .bundled import load_breast_cancer, load_digits, load_iris, load_wine
from .generated import make_blobs, make_circles, make_moons, make_spirals, make_xor
from .idx import idx_names, load_fashion_mnist, load_mnist

DATASETS = {
    "digits": load_digits,
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "moons": make_moons,
    "circles": make_circles,
    "spirals": make_spirals,
    "xor": make_xor,
    "blobs": make_blobs,
    "mnist": load_mnist,
    "fashion-mnist": load_fashion_mnist,
}

_NEEDS_DATA_DIR = ("mnist", "fashion-mnist")
#: The data sets drawn at random (they take ``seed``, ``n_samples`` and ``noise``).
GENERATED = ("moons", "circles", "spirals", "xor", "blobs")


def _dataset_key(name) -> str:
    if isinstance(name, str):
        key = name.strip().lower()
        for candidate in (key, key.replace("_", "-"), key.replace("-", "_")):
            if candidate in DATASETS:
                return candidate
    raise DatasetError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")


def load_dataset(name, data_dir=None, **kw):
    """Load a data set by name.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS` (``"fashion_mnist"`` and ``"breast-cancer"`` are accepted
        too).
    data_dir : str or path-like, optional
        Required for ``"mnist"`` and ``"fashion-mnist"``: the directory with their IDX files.
        Ignored by the other data sets.
    **kw
        Passed to the loader, e.g. ``split="test"`` for the IDX sets (default ``"train"``), or
        ``n_samples``, ``noise`` and ``seed`` for the generated ones.

    Returns
    -------
    X, y : numpy.ndarray

    Raises
    ------
    DatasetError
        If the name is unknown (the message lists the valid ones), or ``data_dir`` is missing
        for an IDX data set.
    """
    key = _dataset_key(name)
    loader = DATASETS[key]
    if key in _NEEDS_DATA_DIR:
        if data_dir is None:
            images, labels = idx_names(kw.get("split", "train"))
            raise DatasetError(f"dataset {key!r} needs data_dir: a directory holding "
                               f"{images}[.gz] and {labels}[.gz]")
        return loader(data_dir, **kw)
    return loader(**kw)
