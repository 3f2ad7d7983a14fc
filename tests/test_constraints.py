"""The declarative parameter checks of deltaprop.constraints: each kind accepts and rejects
what it should, and every error names the parameter, what it expected and what it got."""

import math
from fractions import Fraction
from numbers import Integral, Real

import numpy as np
import pytest

from deltaprop.constraints import (Boolean, Callable, InstanceOf, Interval, Options,
                                   ParameterError, SequenceOf, StrOptions, describe,
                                   validate_params)

BOOLS = [True, False, np.bool_(True), np.bool_(False)]


def accepted(constraint, values):
    return [v for v in values if constraint.is_satisfied_by(v)]


def test_interval_bounds_and_closedness():
    values = [-1, 0, 0.5, 1, 2]
    assert accepted(Interval(Real, 0, 1, closed="both"), values) == [0, 0.5, 1]
    assert accepted(Interval(Real, 0, 1, closed="left"), values) == [0, 0.5]
    assert accepted(Interval(Real, 0, 1, closed="right"), values) == [0.5, 1]
    assert accepted(Interval(Real, 0, 1, closed="neither"), values) == [0.5]
    assert accepted(Interval(Real, 0, None, closed="left"), values) == [0, 0.5, 1, 2]
    assert accepted(Interval(Real, None, 0, closed="neither"), values) == [-1]
    assert accepted(Interval(Real, None, None, closed="neither"), values) == values


def test_interval_kinds_bools_are_not_numbers_numpy_scalars_are():
    integers = Interval(Integral, 1, None, closed="left")
    numbers = Interval(Real, 0, None, closed="left")
    assert accepted(integers, [1, 7, np.int64(3), np.uint8(2), 1.0, 2.5, "3", None]) == [
        1, 7, np.int64(3), np.uint8(2)]
    assert accepted(numbers, [0, 2.5, np.float32(0.5), np.float64(3), np.int32(4), "1",
                              [1], None]) == [0, 2.5, np.float32(0.5), np.float64(3),
                                              np.int32(4)]
    for constraint in (integers, numbers, Interval(Real, None, None, closed="neither")):
        assert accepted(constraint, BOOLS) == []


def test_interval_holds_only_finite_values():
    everything = Interval(Real, None, None, closed="both")
    assert accepted(everything, [math.inf, -math.inf, math.nan, np.float64(np.inf),
                                 np.float32(np.nan), 1e308]) == [1e308]


@pytest.mark.parametrize("constraint, text", [
    (Interval(Integral, 1, None, closed="left"), "an integer >= 1"),
    (Interval(Real, 0, None, closed="neither"), "a finite number > 0"),
    (Interval(Real, None, 1, closed="right"), "a finite number <= 1"),
    (Interval(Real, None, 1, closed="left"), "a finite number < 1"),
    (Interval(Real, 0, 1, closed="left"), "a finite number in [0, 1)"),
    (Interval(Real, 0, 1, closed="right"), "a finite number in (0, 1]"),
    (Interval(Integral, None, None, closed="neither"), "an integer"),
])
def test_interval_descriptions(constraint, text):
    assert str(constraint) == text


@pytest.mark.parametrize("make, match", [
    (lambda: Interval(float, 0, 1, closed="both"), "kind"),
    (lambda: Interval(Real, 0, 1, closed="open"), "closed"),
    (lambda: Interval(Real, 2, 1, closed="both"), "low"),
    (lambda: Options([]), "at least one"),
    (lambda: SequenceOf(), "at least one"),
    (lambda: InstanceOf(), "at least one"),
    (lambda: validate_params({"a": 1}, {"a": ["boolean"]}), "not a constraint"),
])
def test_bad_constraints_are_refused(make, match):
    with pytest.raises(TypeError if "constraint" in match else ValueError, match=match):
        make()


def test_options_compare_values_not_bool_lookalikes():
    inf = Options([math.inf])
    assert accepted(inf, [math.inf, np.float64(np.inf), np.float32(np.inf), -math.inf,
                          1e308, "inf", None]) == [math.inf, np.float64(np.inf),
                                                   np.float32(np.inf)]
    one = Options([1, "auto"])
    assert accepted(one, [1, np.int64(1), 1.0, "auto", np.str_("auto"), True,
                          np.bool_(True), "AUTO", np.array([1, 1])]) == [
        1, np.int64(1), 1.0, "auto", np.str_("auto")]
    assert accepted(Options([True]), [True, np.bool_(True), 1]) == [True, np.bool_(True)]
    assert accepted(Options([math.nan]), [math.nan]) == []


def test_options_key_maps_the_value_before_comparing():
    dtypes = Options(["float32", "float64"], key=lambda v: getattr(v, "__name__", v))
    assert accepted(dtypes, ["float32", np.float64, "float16", np.float16, float]) == [
        "float32", np.float64]
    boom = Options(["x"], key=lambda v: v.nope)
    assert not boom.is_satisfied_by("x")  # a key that fails means "not this option"


def test_str_options_names_live_and_case():
    registry = {"adam": 1, "sgd": 2}
    names = StrOptions(registry)
    assert accepted(names, ["adam", np.str_("sgd"), "Adam", "rmsprop", 1, None]) == [
        "adam", np.str_("sgd")]
    registry["rmsprop"] = 3  # a registry that grows is read at each check
    assert names.is_satisfied_by("rmsprop")
    assert str(names) == "one of adam, sgd, rmsprop"
    caseless = StrOptions(lambda: ["relu", "tanh"], ignore_case=True)
    assert accepted(caseless, ["relu", "TANH", "Relu", "gelu"]) == ["relu", "TANH", "Relu"]
    assert str(caseless) == "one of relu, tanh"


def test_types_none_booleans_callables_and_sequences():
    assert accepted(InstanceOf(str, Real), ["a", 1.5, 2, None]) == ["a", 1.5, 2]
    assert accepted(Boolean(), [*BOOLS, 0, 1, "True", None]) == BOOLS
    assert accepted(Callable(), [len, "len", None]) == [len]
    sizes = SequenceOf(Interval(Integral, 1, None, closed="left"))
    for good in [(100,), [3, 4], (), np.array([2, 5]), range(1, 3)]:
        assert sizes.is_satisfied_by(good), good
    # not re-iterable (an iterator would be used up by the check), a string, a scalar
    for bad in [(10, 0), (True,), [2.0], "12", 12, iter([1, 2]), np.array(5), None,
                [[1]]]:
        assert not sizes.is_satisfied_by(bad), bad


def test_descriptions_of_lists_read_as_english():
    assert describe([None]) == "None"
    assert describe([Boolean()]) == "True or False"
    assert describe([Interval(Integral, 1, None, closed="left"), Options(["auto"]), None]) \
        == "an integer >= 1, 'auto' or None"
    assert describe([Interval(Integral, 1, None, closed="left"), Options([math.inf])]) \
        == "an integer >= 1 or numpy.inf"
    assert describe([Options(["float32", "float64"])]) == "'float32' or 'float64'"
    assert describe([Fraction, str]) == "an instance of fractions.Fraction or an instance of str"
    assert describe([SequenceOf(Interval(Integral, 1, None, closed="left"))]) == \
        "a sequence whose items are each an integer >= 1"
    assert describe([Callable()]) == "a callable"
    # the alternatives of each constraint join the others' in one enumeration
    assert describe([Interval(Integral, None, None, closed="neither"), Boolean()]) == \
        "an integer, True or False"
    assert str(Boolean()) == "True or False"


TABLE = {
    "lr": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, None, closed="left"), Options(["auto"]), None],
    "shuffle": [Boolean()],
    "solver": [StrOptions(("adam", "sgd"))],
}


def test_validate_params_accepts_a_valid_set_and_ignores_names_not_in_the_table():
    validate_params({"lr": 0.1, "batch_size": "auto", "shuffle": np.bool_(False),
                     "solver": "sgd", "seed": object()}, TABLE)
    validate_params({"batch_size": None}, TABLE)  # names not given are not checked


@pytest.mark.parametrize("name, value, message", [
    ("lr", 0.0, "lr must be a finite number > 0; got 0.0"),
    ("lr", True, "lr must be a finite number > 0; got True"),
    ("lr", math.nan, "lr must be a finite number > 0; got nan"),
    ("batch_size", 0, "batch_size must be an integer >= 1, 'auto' or None; got 0"),
    ("batch_size", "big", "batch_size must be an integer >= 1, 'auto' or None; got 'big'"),
    ("shuffle", "yes", "shuffle must be True or False; got 'yes'"),
    ("solver", "lbfgs", "solver must be one of adam, sgd; got 'lbfgs'"),
])
def test_one_wording_names_parameter_expectation_and_value(name, value, message):
    with pytest.raises(ParameterError) as info:
        validate_params({name: value}, TABLE)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    assert info.value.parameter == name and info.value.value is value


def test_owner_and_hint_frame_the_same_wording():
    with pytest.raises(ParameterError) as info:
        validate_params({"solver": "lbfgs"}, TABLE, owner="MLPClassifier",
                        hints={"solver": "L-BFGS is not available"})
    assert str(info.value) == ("MLPClassifier: solver must be one of adam, sgd; got 'lbfgs' "
                               "(L-BFGS is not available)")
