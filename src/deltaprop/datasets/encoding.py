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

Each column also writes the nodes it becomes in an exported ONNX graph
(``onnx_nodes(graph, x)``, from the column as a graph input ``[N, 1]``), and
:meth:`TableEncoder.onnx_inputs` only composes them, as ``transform`` does: a boolean's and a
category's encoding is one small table, :meth:`CategoricalColumn.state_matrix` (a row for
each level, for a missing value and for an unseen one), which ``transform`` indexes by each
value's row and the graph multiplies by the value's one-hot row; a number's imputation and
scaling are ``Where``, ``Sub`` and ``Div`` in float64, as here.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter

import numpy as np

from .base import MISSING, DatasetError, is_number
from .table import Table, factorize, infer_kind

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


def missing_spellings() -> list[str]:
    """Every spelling of a missing-value marker (:data:`~deltaprop.datasets.base.MISSING`)
    in any mix of upper and lower case (``NA``, ``Na``, ``nA``, ``na``...): what an exported
    graph, which has no case folding for a ``[N, 1]`` column, matches as missing."""
    spellings: set[str] = set()
    for word in sorted(MISSING):
        letters = [(c.lower(), c.upper()) if c.isalpha() else (c,) for c in word]
        spellings.update("".join(p) for p in itertools.product(*letters))
    return sorted(spellings)


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

    # -- the exported graph ----------------------------------------------------------------
    def onnx_type(self, graph):
        """The ``TensorProto`` element type the column takes in an exported graph: numbers
        in the graph's dtype (``NaN``: missing)."""
        return graph.elem_type

    def onnx_input(self, graph):
        """Declare the column as the graph input ``name``, ``[N, 1]``; returns its name."""
        return graph.input(self.name, self.onnx_type(graph), [None, 1])

    def onnx_nodes(self, graph, x):  # pragma: no cover - each kind writes its own
        """The nodes that encode the column ``x`` ``[N, 1]``; returns the name of its
        float64 block ``[N, len(feature_names)]``."""
        raise NotImplementedError


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

    def transform(self, table, out=None):
        """The column's block ``[rows, len(feature_names)]`` (written into ``out`` when
        given), and the masks of the missing and the unseen values."""
        v = table.numbers([self.name], allow_missing=True)[:, 0]
        missing = np.isnan(v)
        block = ((np.where(missing, self.fill, v) - self.mean) / self.scale)[:, None]
        block = self._with_indicator(block, missing)
        if out is not None:
            out[...] = block
            block = out
        return block, missing, np.zeros(len(v), dtype=bool)

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

    def onnx_nodes(self, graph, x):
        """``(x or fill − mean) / scale`` in float64 (``Where``, ``Sub``, ``Div``), and the
        indicator ``IsNaN(x)`` when the column has one."""
        double = graph.TensorProto.DOUBLE
        if graph.dtype != np.float64:
            x = graph.node("Cast", [x], to=double)
        missing = graph.node("IsNaN", [x])
        filled = graph.node("Where", [missing, graph.constant(self.fill, "fill", np.float64), x])
        centred = graph.node("Sub", [filled, graph.constant(self.mean, "mean", np.float64)])
        z = graph.node("Div", [centred, graph.constant(self.scale, "scale", np.float64)])
        if not self.indicator:
            return z
        return graph.node("Concat", [z, graph.node("Cast", [missing], to=double)], axis=1)


class _CodedColumn(_ColumnBase):
    """A column of levels (boolean, categorical): each value is one of the rows of
    :meth:`state_matrix` (a key, missing, unseen), and its encoding is that row."""

    levels: list[str]

    @property
    def keys(self) -> list[str]:
        """The values that have a row of their own, in the rows' order."""
        return list(self.levels)

    def state_matrix(self) -> np.ndarray:  # pragma: no cover - each kind has its own
        """``(len(keys) + 2, features)``: the encoding of each key, then of a missing value,
        then of an unseen one."""
        raise NotImplementedError

    def codes(self, table):
        """Each row's row of :meth:`state_matrix`, and the masks of the missing and the
        unseen values (looked up once a distinct value, then indexed)."""
        values, inverse = factorize(table.text(self.name))
        keys = self.keys
        index = {key: k for k, key in enumerate(keys)}
        missing_row, unseen_row = len(keys), len(keys) + 1
        rows = np.array([missing_row if v is None else index.get(v, unseen_row)
                         for v in values], dtype=np.intp)
        codes = rows[inverse]
        return codes, codes == missing_row, codes == unseen_row

    #: Rows gathered at a time into ``out``: the scratch block stays in the cache.
    CHUNK = 16384

    def transform(self, table, out=None):
        """Each row's row of :meth:`state_matrix` (written into ``out`` when given), and
        the masks of the missing and the unseen values."""
        codes, missing, unknown = self.codes(table)
        state = self.state_matrix()
        if out is None:
            return state[codes], missing, unknown
        for start in range(0, len(codes), self.CHUNK):
            out[start:start + self.CHUNK] = state[codes[start:start + self.CHUNK]]
        return out, missing, unknown

    def numeric_levels(self) -> bool:
        """Whether every key is a number (a numeric column read as categories, a 0/1
        column): the exported graph then takes numbers, as the table has them."""
        return all(is_number(key) for key in self.keys)

    def onnx_type(self, graph):
        """Numbers in the graph's dtype when every level is one, else strings."""
        return graph.elem_type if self.numeric_levels() else graph.TensorProto.STRING

    def onnx_nodes(self, graph, x):
        """The one-hot row of each value over ``[keys, missing, unseen]`` (float64), times
        :meth:`state_matrix`."""
        rows = self.onnx_rows(graph, x)
        return graph.node("MatMul", [rows, graph.constant(self.state_matrix(), "encoding",
                                                          np.float64)])

    def onnx_rows(self, graph, x):
        """``[N, len(keys) + 2]`` float64: 1 in each value's row of :meth:`state_matrix`.

        Text: one ``LabelEncoder`` (``ai.onnx.ml``) from each key, and from each spelling
        of a missing value (:func:`missing_spellings`), to its row, anything else to the
        unseen row; then ``Equal`` against the rows' numbers. Numbers: ``Equal`` against
        the keys, ``IsNaN`` for a missing value, and the unseen row where neither holds.
        """
        keys, double = self.keys, graph.TensorProto.DOUBLE
        n = len(keys)
        if self.onnx_type(graph) == graph.TensorProto.STRING:
            spellings = [m for m in missing_spellings() if m not in set(keys)]
            code = graph.node("LabelEncoder", [x], domain="ai.onnx.ml",
                              keys_strings=keys + spellings,
                              values_int64s=list(range(n)) + [n] * len(spellings),
                              default_int64=n + 1)
            one_hot = graph.node("Equal", [code, graph.constant(np.arange(n + 2), "rows",
                                                                np.int64)])
            return graph.node("Cast", [one_hot], to=double)
        numbers = np.array([float(key) for key in keys], dtype=graph.dtype)
        _, first, count = np.unique(numbers, return_index=True, return_counts=True)
        if (count > 1).any():
            same = [key for key, v in zip(keys, numbers) if v == numbers[first[count > 1][0]]]
            raise ValueError(f"column {self.name!r}: the levels {same[0]} and {same[1]} are "
                             f"the same {graph.dtype} number, which a {graph.dtype} graph "
                             f"cannot tell apart (a float64 model can: train --dtype float64)")
        matches = graph.node("Cast", [graph.node("Equal", [x, graph.constant(numbers, "levels")])],
                             to=double)
        missing = graph.node("Cast", [graph.node("IsNaN", [x])], to=double)
        known = graph.node("ReduceSum", [matches, graph.constant(np.array([1]), "axis",
                                                                 np.int64)], keepdims=1)
        unseen = graph.node("Sub", [graph.node("Sub", [graph.constant(1.0, "one", np.float64),
                                                       known]), missing])
        return graph.node("Concat", [matches, missing, unseen], axis=1)


class BooleanColumn(_CodedColumn):
    """Two values as 0 and 1 (the second of ``levels`` is 1: yes, true, 1... when the
    values are such words, else the later one in sorted order); not scaled."""

    kind = "boolean"

    def fit(self, table, standardize=True):
        counts = _level_counts(table.text(self.name))
        levels = sorted(counts)
        if len(levels) != 2:
            raise DatasetError(f"{table.source}, column {self.name!r}: a boolean column has "
                               f"two values, got {len(levels)}")
        if levels[0].lower() in TRUE_WORDS and levels[1].lower() not in TRUE_WORDS:
            levels.reverse()
        self.levels = levels
        present = counts[levels[0]] + counts[levels[1]]
        mean = float(counts[levels[1]]) / present  # the mean of the 0/1 codes, exactly
        self.fill = float(mean >= 0.5)
        self.mean = mean
        self.indicator = present < len(table)
        return self

    def state_matrix(self):
        """``[0, 1, fill, mean]`` (the two levels, missing, unseen), and the indicator."""
        value = np.array([[0.0], [1.0], [self.fill], [self.mean]])
        return self._with_indicator(value, np.array([False, False, True, False]))

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


class CategoricalColumn(_CodedColumn):
    """One-hot over the training rows' levels (the ``max_levels - 1`` most frequent and
    one ``(other)`` column when there are more); not scaled. A missing value is a level of
    its own: zeros, and the indicator column."""

    kind = "categorical"

    def fit(self, table, max_levels=50):
        by_level = _level_counts(table.text(self.name))
        if not by_level:
            raise DatasetError(f"{table.source}, column {self.name!r}: every value is "
                               f"missing in the training rows (--drop {self.name})")
        levels = np.empty(len(by_level), dtype=object)
        levels[:] = sorted(by_level)
        counts = np.array([by_level[level] for level in levels], dtype=np.intp)
        self.other = []
        if len(levels) > max_levels:
            order = np.lexsort((levels.astype(str), -counts))  # most frequent, then by name
            keep = np.sort(order[:max_levels - 1])
            self.other = sorted(set(levels.tolist()) - set(levels[keep].tolist()))
            levels = levels[keep]
        self.levels = [str(v) for v in levels.tolist()]
        self.indicator = sum(by_level.values()) < len(table)
        return self

    @property
    def keys(self):
        return list(self.levels) + list(self.other)

    def state_matrix(self):
        """One-hot over the levels (a pooled level: the ``(other)`` column), zeros for a
        missing and an unseen value, and the indicator."""
        n, width = len(self.levels), len(self.levels) + bool(self.other)
        one_hot = np.zeros((n + len(self.other) + 2, width))
        one_hot[np.arange(n), np.arange(n)] = 1.0
        one_hot[n:n + len(self.other), width - 1] = 1.0
        missing = np.zeros(len(one_hot), dtype=bool)
        missing[-2] = True
        return self._with_indicator(one_hot, missing)

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


def _level_counts(values) -> dict[str, int]:
    """How many rows have each value of a text column (``None``, missing, not counted)."""
    uniques, codes = factorize(values)
    counts = np.bincount(codes, minlength=len(uniques)).tolist()
    return {u: n for u, n in zip(uniques, counts) if u is not None}


COLUMN_KINDS = {cls.kind: cls for cls in (NumericColumn, BooleanColumn, CategoricalColumn)}


def check_numbers(table, name):
    """Refuse a text column that is nearly all numbers: its other cells are typos (``1_000``,
    ``12,5`` in a comma file...), not categories; the message names the first one."""
    v = table[name]
    if v.dtype.kind == "f":
        return
    uniques, codes = factorize(v)  # each distinct cell tested once
    number = np.array([u is not None and is_number(u) for u in uniques], dtype=bool)
    count = np.bincount(codes, minlength=len(uniques))
    present = int(count[[u is not None for u in uniques]].sum()) if uniques else 0
    numbers = int(count[number].sum())
    if present and NUMERIC_SHARE * present <= numbers < present:  # all numbers: text by type
        other = np.array([u is not None and not is_number(u) for u in uniques], dtype=bool)
        i = int(np.flatnonzero(other[codes])[0])
        raise DatasetError(
            f"{table.where(i)}, column {name!r}: {v[i]!r} is not a number, but {numbers} of "
            f"the column's {present} values are: correct it, leave it empty (missing), "
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
            values = v.tolist()
            present = len(values) - values.count(None)
            levels = set(values)
            levels.discard(None)
            distinct = len(levels)
            if distinct > ID_MIN and distinct >= ID_SHARE * present:
                self.excluded_[name] = (f"{distinct} distinct values in {present} rows: "
                                        f"an identifier or a name, not a feature")
                return None
        return infer_kind(v)

    def _check_unique_names(self):
        counts = Counter(self.get_feature_names_out().tolist())
        twice = [name for name, n in counts.items() if n > 1]
        if twice:
            raise DatasetError(f"two encoded features would both be named {twice[0]!r}: rename "
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
        widths = [len(c.feature_names) for c in self.columns_]
        out = np.empty((len(table), sum(widths)))
        starts = np.cumsum([0] + widths)
        report: dict[str, dict[str, int]] = {"missing": {}, "unknown": {}}
        for column, start, stop in zip(self.columns_, starts[:-1], starts[1:]):
            _, missing, unknown = column.transform(table, out[:, start:stop])
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
        self.report_ = report
        return out

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

    # -- the exported graph -----------------------------------------------------------------
    def onnx_inputs(self, graph):
        """The columns as named inputs of an ONNX graph and the nodes that encode them; returns
        the name of the encoded matrix ``[N, features]`` in the graph's dtype.

        ``graph`` is a :class:`deltaprop.export.onnx.GraphBuilder`. Each column is an input
        ``[N, 1]`` named after it (numbers in the graph's dtype, ``NaN`` where missing; text
        as strings), encoded by its own ``onnx_nodes`` in float64, the blocks concatenated
        in :meth:`get_feature_names_out`'s order and cast once to the graph's dtype, as
        ``transform`` followed by ``predict`` does. The model's metadata gets ``columns``:
        each input's name, kind and type (JSON).
        """
        self._check_fitted()
        inputs = [c.onnx_input(graph) for c in self.columns_]  # named before any node
        blocks = [c.onnx_nodes(graph, x) for c, x in zip(self.columns_, inputs)]
        x = graph.node("Concat", blocks, axis=1) if len(blocks) > 1 else blocks[0]
        graph.metadata["columns"] = json.dumps([
            {"name": c.name, "kind": c.kind,
             "type": "string" if c.onnx_type(graph) == graph.TensorProto.STRING
             else str(graph.dtype)} for c in self.columns_])
        return x if graph.dtype == np.float64 else graph.node("Cast", [x], to=graph.elem_type)


