"""psm._format: Stata %g-like cells."""

import math

from psm._format import stata_g


def test_as_many_significant_digits_as_fit():
    assert stata_g(0.302439024390, 11) == " 0.30243902"  # 8 significant digits (the cap), padded to 11
    assert stata_g(33.0390243, 7) == " 33.039"  # 6 digits fit in 7 characters; %g drops the trailing 0
    assert stata_g(-0.16256158, 7) == "-0.1626"  # the sign takes a character: 4 digits


def test_missing_prints_a_dot_and_huge_values_use_an_exponent():
    assert stata_g(math.nan, 7) == "      ."
    assert stata_g(1.234e20, 11) == "  1.234e+20"
    assert stata_g(-1.234567e-20, 7) == " -1e-20"  # only one significant digit fits
    assert stata_g(1.234e20, 3) == "1.2e+20"  # nothing fits: exponent form, wider than asked
