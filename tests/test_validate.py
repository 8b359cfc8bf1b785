"""The argument checks every public function uses (DESIGN.md conventions)."""

import numpy as np
import pytest

from crlib import _validate as v


@pytest.mark.parametrize("bad", [0.0, -1.0, np.array([1.0, -2.0])])
def test_positive_rejects_and_names_parameter(bad):
    with pytest.raises(ValueError, match=r"H must be > 0"):
        v.positive("H", bad)


@pytest.mark.parametrize("bad", [np.nan, np.inf, np.array([1.0, np.nan])])
def test_non_finite_is_rejected(bad):
    with pytest.raises(ValueError, match="D must be finite"):
        v.positive("D", bad)


def test_tolerance_range():
    assert v.tolerance("tol", 1e-10) == 1e-10
    for bad in (0.0, 1.0, 2.0, -1e-3):
        with pytest.raises(ValueError, match=r"tol must be in \(0.0, 1.0\)"):
            v.tolerance("tol", bad)


def test_non_numeric_input():
    with pytest.raises(ValueError, match="x must be numeric"):
        v.as_float_array("x", ["a", "b"])


def test_arrays_come_back_contiguous_float64():
    a = np.arange(10, dtype=np.int32)[::2]
    out = v.as_float_array("a", a)
    assert out.dtype == np.float64 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, [0, 2, 4, 6, 8])


def test_same_length():
    assert v.same_length(x=np.zeros(3), y=np.ones(3)) == 3
    with pytest.raises(ValueError, match="x has 3, y has 4"):
        v.same_length(x=np.zeros(3), y=np.ones(4))


def test_positive_int():
    assert v.positive_int("n", 3) == 3
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            v.positive_int("n", bad)


def test_closed_interval():
    assert v.in_closed_interval("f", 1.0, 0.0, 1.0) == 1.0
    with pytest.raises(ValueError, match=r"f must be in \[0.0, 1.0\], got 1.5"):
        v.in_closed_interval("f", 1.5, 0.0, 1.0)
