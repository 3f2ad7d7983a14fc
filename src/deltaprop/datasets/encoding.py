"""From a table's columns to the network's input matrix, one column at a time.

Each column is a small object with recorded state, learned from the training rows in
``fit`` and replayed in ``transform``: :class:`NumericColumn` (imputed with the median,
standardised), :class:`BooleanColumn` (0/1, not standardised) and
:class:`CategoricalColumn` (one-hot over the training rows' levels, not standardised).
:class:`TableEncoder` only composes them, as scikit-learn transformers compose (``fit``,
``transform``, ``get_feature_names_out``, ``get_params``), and answers for the whole
table. The state (``get_state``) is what a model file stores as its data contract.

The rules, in one place:

* **Missing values** (``missing="impute"``): a number gets the training rows' median, a
  boolean its most frequent value, a category a level of its own (all zeros over the known
  levels); each column that had a missing value in the training rows also gets an
  indicator column (1 where the value was missing). ``missing="error"`` refuses them,
  naming the line.
* **Unseen levels** (``unknown="ignore"``): all zeros for a category, the training rows'
  proportion for a boolean (the value that says nothing either way); counted in
  ``report_``. ``unknown="error"`` refuses them, naming the line.
* **Many levels**: at most ``max_levels`` one-hot columns a column; the rarer levels of
  the training rows are pooled into one ``(other)`` column.
* **Identifiers**: a text column whose values are nearly all distinct (a name, an ID: at
  least 90 % of its rows and more than 20 values) is not a feature; it is left out and
  named in ``excluded_``, with the hint to drop it or pass it through predictions.
"""

from __future__ import annotations

import numpy as np

from .base import DatasetError, is_number
from .table import Table, infer_kind

#: Spellings of a true value, for the order of a boolean's two levels (false, true).
TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "on"})
#: The name of the pooled rare levels.
OTHER = "(other)"
#: Share of distinct values (and least count) that makes a text column an identifier.
ID_SHARE, ID_MIN = 0.9, 20
#: Share of numbers in a text column over which its other cells are taken as typos.
NUMERIC_SHARE = 0.9


def _suffix(name, what):
    return f"{name}={what}"


class _ColumnBase:
    """What the three column kinds share: the name, the indicator of missing values."""

    kind = ""

    def __init__(self, name):
        self.name = name
        self.indicator = False

    @property
    def feature_names(self) -> list[str]:
        return self._names() + ([f"{self.name} (missing)"] if self.indicator else [])

    def _names(self) -> list[str]:  # pragma: no cover - each kind names its own
        raise NotImplementedError

    def _with_indicator(self, block, missing):
        return np.column_stack([block, missing.astype(np.float64)]) if self.indicator \
            else block

    def describe(self) -> str:
        """One line: the column's kind, encoding, scaling and imputation."""
        raise NotImplementedError  # pragma: no cover


class NumericColumn(_ColumnBase):
    """A number: the median where missing, then standardised with the training rows'
    mean and standard deviation (``standardize=False``: left as it is)."""

    kind = "numeric"

    def fit(self, table, standardize=True):
        v = table.numbers([self.name], allow_missing=True)[:, 0]
        missing = np.isnan(v)
        if missing.all():
            raise DatasetError(f"{table.source}, column {self.name!r}: every value is "
                               f"missing in the training rows (--drop {self.name})")
        self.fill = float(np.median(v[~missing]))
        self.indicator = bool(missing.any())
        v = np.where(missing, self.fill, v)
        self.mean, self.scale = (float(v.mean()), float(v.std())) if standardize else (0.0, 1.0)
        if not self.scale > 1e-12 * max(1.0, abs(self.mean)):
            self.scale = 1.0
        return self

    def transform(self, table):
        v = table.numbers([self.name], allow_missing=True)[:, 0]
        missing = np.isnan(v)
        block = ((np.where(missing, self.fill, v) - self.mean) / self.scale)[:, None]
        return self._with_indicator(block, missing), missing, np.zeros(len(v), dtype=bool)

    def _names(self):
        return [self.name]

    def describe(self):
        scaled = (f"standardised (mean {self.mean:.4g}, sd {self.scale:.4g})"
                  if (self.mean, self.scale) != (0.0, 1.0) else "not scaled")
        return (f"{self.name}: numeric, {scaled}; missing: median {self.fill:.4g}"
                f"{' + indicator' if self.indicator else ''}")

    def get_state(self):
        return {"name": self.name, "kind": self.kind, "fill": self.fill,
                "indicator": self.indicator, "mean": self.mean, "scale": self.scale}

    def set_state(self, state):
        self.fill, self.indicator = float(state["fill"]), bool(state["indicator"])
        self.mean, self.scale = float(state["mean"]), float(state["scale"])
        if not (np.isfinite([self.fill, self.mean, self.scale]).all() and self.scale > 0):
            raise ValueError(f"column {self.name!r}: fill, mean and scale must be finite "
                             f"and scale > 0")
        return self


class BooleanColumn(_ColumnBase):
    """Two values as 0 and 1 (the second of ``levels`` is 1: yes, true, 1... when the
    values are such words, else the later one in sorted order); not scaled."""

    kind = "boolean"

    def fit(self, table, standardize=True):
        values = table.text(self.name)
        present = [v for v in values.tolist() if v is not None]
        levels = sorted(set(present))
        if len(levels) != 2:
            raise DatasetError(f"{table.source}, column {self.name!r}: a boolean column has "
                               f"two values, got {len(levels)}")
        if levels[0].lower() in TRUE_WORDS and levels[1].lower() not in TRUE_WORDS:
            levels.reverse()
        self.levels = levels
        codes = np.array([v == levels[1] for v in present], dtype=np.float64)
        self.fill = float(codes.mean() >= 0.5)
        self.mean = float(codes.mean())
        self.indicator = len(present) < len(values)
        return self

    def transform(self, table):
        values = table.text(self.name).tolist()
        missing = np.array([v is None for v in values])
        unknown = np.array([v is not None and v not in self.levels for v in values])
        codes = np.array([1.0 if v == self.levels[1] else 0.0 for v in values])
        codes[missing] = self.fill
        codes[unknown] = self.mean
        return self._with_indicator(codes[:, None], missing), missing, unknown

    def _names(self):
        return [_suffix(self.name, self.levels[1])]

    def describe(self):
        return (f"{self.name}: boolean, {self.levels[1]!r} = 1, {self.levels[0]!r} = 0, not "
                f"scaled; missing: {self.levels[int(self.fill)]!r}"
                f"{' + indicator' if self.indicator else ''}; unseen: {self.mean:.3g}")

    def get_state(self):
        return {"name": self.name, "kind": self.kind, "levels": list(self.levels),
                "fill": self.fill, "mean": self.mean, "indicator": self.indicator}

    def set_state(self, state):
        self.levels = [str(v) for v in state["levels"]]
        self.fill, self.mean = float(state["fill"]), float(state["mean"])
        self.indicator = bool(state["indicator"])
        if len(self.levels) != 2 or self.fill not in (0.0, 1.0) or not 0 <= self.mean <= 1:
            raise ValueError(f"column {self.name!r}: a boolean needs two levels, a fill of 0 "
                             f"or 1 and a mean in [0, 1]")
        return self


class CategoricalColumn(_ColumnBase):
    """One-hot over the training rows' levels (the ``max_levels - 1`` most frequent and
    one ``(other)`` column when there are more); not scaled. A missing value is a level of
    its own: zeros, and the indicator column."""

    kind = "categorical"

    def fit(self, table, max_levels=50):
        values = [v for v in table.text(self.name).tolist() if v is not None]
        if not values:
            raise DatasetError(f"{table.source}, column {self.name!r}: every value is "
                               f"missing in the training rows (--drop {self.name})")
        levels, counts = np.unique(np.array(values, dtype=object), return_counts=True)
        self.other = []
        if len(levels) > max_levels:
            order = np.lexsort((levels.astype(str), -counts))  # most frequent, then by name
            keep = np.sort(order[:max_levels - 1])
            self.other = sorted(set(levels.tolist()) - set(levels[keep].tolist()))
            levels = levels[keep]
        self.levels = [str(v) for v in levels.tolist()]
        self.indicator = len(values) < len(table)
        return self

    def transform(self, table):
        values = table.text(self.name).tolist()
        index = {level: j for j, level in enumerate(self.levels)}
        if self.other:
            index.update({level: len(self.levels) for level in self.other})
        width = len(self.levels) + bool(self.other)
        block = np.zeros((len(values), width))
        missing = np.array([v is None for v in values])
        unknown = np.zeros(len(values), dtype=bool)
        for i, v in enumerate(values):
            if v is None:
                continue
            j = index.get(v)
            if j is None:
                unknown[i] = True
            else:
                block[i, j] = 1.0
        return self._with_indicator(block, missing), missing, unknown

    def _names(self):
        return [_suffix(self.name, level) for level in self.levels] + (
            [_suffix(self.name, OTHER)] if self.other else [])

    def describe(self):
        pooled = f" + {OTHER} for {len(self.other)} rare levels" if self.other else ""
        return (f"{self.name}: categorical, {len(self.levels)} levels, one-hot{pooled}, not "
                f"scaled; missing: a level of its own"
                f"{' (indicator)' if self.indicator else ''}; unseen: all zeros")

    def get_state(self):
        return {"name": self.name, "kind": self.kind, "levels": list(self.levels),
                "other": list(self.other), "indicator": self.indicator}

    def set_state(self, state):
        self.levels = [str(v) for v in state["levels"]]
        self.other = [str(v) for v in state.get("other", [])]
        self.indicator = bool(state["indicator"])
        if not self.levels or len(set(self.levels) | set(self.other)) != \
                len(self.levels) + len(self.other):
            raise ValueError(f"column {self.name!r}: levels must be non-empty and distinct")
        return self


COLUMN_KINDS = {cls.kind: cls for cls in (NumericColumn, BooleanColumn, CategoricalColumn)}


def check_numbers(table, name):
    """Refuse a text column that is nearly all numbers: its other cells are typos (``1_000``,
    ``12,5`` in a comma file...), not categories; the message names the first one."""
    v = table[name]
    if v.dtype.kind == "f":
        return
    present = [c for c in v.tolist() if c is not None]
    numbers = sum(is_number(c) for c in present)
    if present and numbers >= NUMERIC_SHARE * len(present):
        i = next(i for i, c in enumerate(v.tolist()) if c is not None and not is_number(c))
        raise DatasetError(
            f"{table.where(i)}, column {name!r}: {v[i]!r} is not a number, but {numbers} of "
            f"the column's {len(present)} values are: correct it, leave it empty (missing), "
            f"or --categorical {name} for categories")


class TableEncoder:
    """Encode a table's columns as the network's input matrix (a scikit-learn-style
    transformer: works on pandas DataFrames in a Pipeline).

    Parameters
    ----------
    categorical : sequence of str
        Numeric columns to treat as categories (a code, a year...).
    drop : sequence of str
        Columns that are not features.
    features : sequence of str or None
        The feature columns (default: every column not dropped).
    missing : {"impute", "error"}
        What a missing value does (see the module's rules).
    unknown : {"ignore", "error"}
        What a level that the training rows did not have does.
    max_levels : int
        The most one-hot columns of one categorical column (rarer levels are pooled).
    standardize : bool
        Scale the numeric columns to mean 0 and standard deviation 1.

    Attributes
    ----------
    columns_ : list
        One encoder a feature column (:class:`NumericColumn`, :class:`BooleanColumn`,
        :class:`CategoricalColumn`), in input order.
    feature_names_in_ : numpy.ndarray
        The feature columns.
    excluded_ : dict of str to str
        Columns left out, with the reason (an identifier).
    report_ : dict
        After ``transform``: ``{"missing": {column: rows}, "unknown": {column: rows}}``.
    """

    def __init__(self, *, categorical=(), drop=(), features=None, missing="impute",
                 unknown="ignore", max_levels=50, standardize=True):
        self.categorical, self.drop, self.features = categorical, drop, features
        self.missing, self.unknown = missing, unknown
        self.max_levels, self.standardize = max_levels, standardize

    # -- scikit-learn's estimator protocol -----------------------------------------------
    _PARAMS = ("categorical", "drop", "features", "missing", "unknown", "max_levels",
               "standardize")

    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params):
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError(f"TableEncoder has no parameter {k!r}")
            setattr(self, k, v)
        return self

    def _check_params(self):
        if self.missing not in ("impute", "error"):
            raise ValueError(f"missing must be 'impute' or 'error', got {self.missing!r}")
        if self.unknown not in ("ignore", "error"):
            raise ValueError(f"unknown must be 'ignore' or 'error', got {self.unknown!r}")
        if not isinstance(self.max_levels, (int, np.integer)) or self.max_levels < 2:
            raise ValueError(f"max_levels must be an integer >= 2, got {self.max_levels!r}")

    def fit(self, X, y=None):
        """Learn each feature column's kind, levels, imputation and scaling from ``X``."""
        self._check_params()
        table = Table.coerce(X)
        self.excluded_ = {}
        names = self._feature_columns(table)
        columns = []
        for name in names:
            kind = self._kind(table, name)
            if kind is None:
                continue
            column = COLUMN_KINDS[kind](name)
            if kind == "categorical":
                column.fit(table, self.max_levels)
            else:
                column.fit(table, self.standardize)
            if self.missing == "error" and column.indicator:
                i = int(np.flatnonzero(table.missing(name))[0])
                raise DatasetError(f"{table.where(i)}, column {name!r}: missing value "
                                   f"(--missing impute fills it in, drop leaves the row out)")
            columns.append(column)
        if not columns:
            raise DatasetError(f"{table.source}: no feature columns left "
                               f"(every column is the target, dropped or an identifier)")
        self.columns_ = columns
        self.feature_names_in_ = np.array([c.name for c in columns], dtype=object)
        self.n_features_in_ = len(columns)
        self._check_unique_names()
        return self

    def _feature_columns(self, table):
        for option in ("categorical", "drop") + (("features",) if self.features else ()):
            unknown = [n for n in getattr(self, option) if n not in table]
            if unknown:
                raise DatasetError(f"{table.source} has no column {unknown[0]!r} (named in "
                                   f"{option}); its columns: {', '.join(table.names)}")
        names = list(self.features) if self.features else table.names
        if table.row_names is not None and table.row_names in names and not self.features:
            self.excluded_[table.row_names] = "the file's row names, not a feature"
        return [n for n in names if n not in set(self.drop) and n not in self.excluded_]

    def _kind(self, table, name):
        """The column's kind, or None for an identifier (recorded in ``excluded_``)."""
        if name in self.categorical:
            return "categorical"
        v = table[name]
        if v.dtype.kind != "f":
            check_numbers(table, name)
            present = [c for c in v.tolist() if c is not None]
            distinct = len(set(present))
            if distinct > ID_MIN and distinct >= ID_SHARE * len(present):
                self.excluded_[name] = (f"{distinct} distinct values in {len(present)} rows: "
                                        f"an identifier or a name, not a feature")
                return None
        return infer_kind(v)

    def _check_unique_names(self):
        names = self.get_feature_names_out()
        if len(set(names)) != len(names):
            seen, dup = set(), None
            for n in names:
                if n in seen:
                    dup = n
                    break
                seen.add(n)
            raise DatasetError(f"two encoded features would both be named {dup!r}: rename "
                               f"a column")

    def transform(self, X):
        """The encoded ``(rows, features)`` float64 matrix of ``X``'s feature columns."""
        self._check_fitted()
        table = Table.coerce(X)
        absent = [c.name for c in self.columns_ if c.name not in table]
        if absent:
            raise DatasetError(f"{table.source} has no column {absent[0]!r}, which the model "
                               f"needs ({len(absent)} missing: "
                               f"{', '.join(map(repr, absent[:5]))})")
        blocks, report = [], {"missing": {}, "unknown": {}}
        for column in self.columns_:
            block, missing, unknown = column.transform(table)
            for what, mask in (("missing", missing), ("unknown", unknown)):
                if mask.any():
                    report[what][column.name] = int(mask.sum())
                    if getattr(self, what) == "error":
                        i = int(np.flatnonzero(mask)[0])
                        value = table[column.name][i]
                        raise DatasetError(
                            f"{table.where(i)}, column {column.name!r}: " + (
                                "missing value" if what == "missing" else
                                f"{value!r} is a level the training rows did not have "
                                f"(known: {', '.join(map(repr, column.levels[:8]))})"))
            blocks.append(block)
        self.report_ = report
        return np.column_stack(blocks) if blocks else np.empty((len(table), 0))

    def fit_transform(self, X, y=None):
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features=None):
        """The encoded features' names: ``bill_length_mm``, ``island=Dream``,
        ``sex=male``, ``bill_length_mm (missing)``..."""
        self._check_fitted()
        return np.array([n for c in self.columns_ for n in c.feature_names], dtype=object)

    def _check_fitted(self):
        if not hasattr(self, "columns_"):
            raise ValueError("this TableEncoder is not fitted yet: call fit first")

    # -- the model file's data contract ---------------------------------------------------
    def get_state(self) -> list[dict]:
        """The fitted columns as JSON-able records (the model file's ``data.columns``)."""
        self._check_fitted()
        return [c.get_state() for c in self.columns_]

    @classmethod
    def from_state(cls, state, *, missing="impute", unknown="ignore"):
        """A fitted encoder from :meth:`get_state`'s records.

        Raises
        ------
        ValueError
            Naming the record that does not hold together.
        """
        encoder = cls(missing=missing, unknown=unknown)
        columns = []
        for k, record in enumerate(state):
            try:
                column = COLUMN_KINDS[record["kind"]](str(record["name"]))
                columns.append(column.set_state(record))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"data.columns[{k}] is not a column record: {exc}") from None
        if len({c.name for c in columns}) != len(columns):
            raise ValueError("data.columns names a column twice")
        encoder.columns_ = columns
        encoder.feature_names_in_ = np.array([c.name for c in columns], dtype=object)
        encoder.n_features_in_ = len(columns)
        encoder.excluded_ = {}
        return encoder

    def describe(self) -> list[str]:
        """One line a column: its kind, encoding, scaling and imputation."""
        self._check_fitted()
        return [c.describe() for c in self.columns_]


