"""Inter-coder agreement against textbook examples with published values, each derived
by hand in a comment, plus the edge cases (perfect agreement, systematic disagreement,
undefined statistics) and binary_agreement for one code."""

from __future__ import annotations

import pytest

from textmine.agreement import Agreement, binary_agreement, cohen_kappa, krippendorff_alpha, percent_agreement

M = None  # a missing value in reliability data


def table(yes_yes: int, yes_no: int, no_yes: int, no_no: int) -> list[tuple[str, str]]:
    """A 2x2 contingency table (coder A first, coder B second) as a list of pairs."""
    return [("yes", "yes")] * yes_yes + [("yes", "no")] * yes_no + [("no", "yes")] * no_yes + [("no", "no")] * no_no


# --- Cohen's kappa --------------------------------------------------------------------


def test_kappa_wikipedia_50_applicants() -> None:
    # Wikipedia, "Cohen's kappa", simple worked example: 50 grant proposals, A and B both
    # yes 20, A yes B no 5, A no B yes 10, both no 15.
    # p_o = (20 + 15) / 50 = 0.70. A says yes 25/50 = 0.5, B says yes 30/50 = 0.6.
    # p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.50. kappa = (0.70 - 0.50) / (1 - 0.50) = 0.4.
    pairs = table(20, 5, 10, 15)
    assert percent_agreement(pairs) == pytest.approx(0.70, abs=1e-3)
    assert cohen_kappa(pairs) == pytest.approx(0.4, abs=1e-3)


def test_kappa_same_percent_agreement_different_kappa() -> None:
    # Wikipedia, "Cohen's kappa", "Same percentages but different numbers": two tables of
    # 100 units that both have p_o = 0.60 but different marginals.
    # Table 1: 45, 15, 25, 15. A yes 60/100, B yes 70/100.
    #   p_e = 0.6 * 0.7 + 0.4 * 0.3 = 0.54; kappa = (0.60 - 0.54) / 0.46 = 0.1304.
    # Table 2: 25, 35, 5, 35. A yes 60/100, B yes 30/100.
    #   p_e = 0.6 * 0.3 + 0.4 * 0.7 = 0.46; kappa = (0.60 - 0.46) / 0.54 = 0.2593.
    first, second = table(45, 15, 25, 15), table(25, 35, 5, 35)
    assert percent_agreement(first) == percent_agreement(second) == pytest.approx(0.60, abs=1e-3)
    assert cohen_kappa(first) == pytest.approx(0.1304, abs=1e-3)
    assert cohen_kappa(second) == pytest.approx(0.2593, abs=1e-3)


def test_kappa_three_categories() -> None:
    # Hand-made 3x3 table (rows coder A, columns coder B), 40 units:
    #        x   y   z
    #   x   10   2   3     A: x 15, y 10, z 15
    #   y    1   8   1     B: x 15, y 11, z 14
    #   z    4   1  10
    # p_o = 28/40 = 0.70; p_e = (15*15 + 10*11 + 15*14) / 40² = 545/1600 = 0.340625.
    # kappa = (0.70 - 0.340625) / (1 - 0.340625) = 575/1055 = 0.5450.
    counts = {("x", "x"): 10, ("x", "y"): 2, ("x", "z"): 3, ("y", "x"): 1, ("y", "y"): 8,
              ("y", "z"): 1, ("z", "x"): 4, ("z", "y"): 1, ("z", "z"): 10}
    pairs = [pair for pair, count in counts.items() for _ in range(count)]
    assert cohen_kappa(pairs) == pytest.approx(0.5450, abs=1e-3)


def test_kappa_is_symmetric_in_the_coders() -> None:
    pairs = table(45, 15, 25, 15)
    swapped = [(b, a) for a, b in pairs]
    assert cohen_kappa(swapped) == pytest.approx(cohen_kappa(pairs), abs=1e-12)


# --- Krippendorff's alpha -------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four
# coders, 12 units, missing values. Rows here are units (the paper's columns).
CODER_A = [1, 2, 3, 3, 2, 1, 4, 1, 2, M, M, M]
CODER_B = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, M, 3]
CODER_C = [M, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, M]
CODER_D = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, M]
FOUR_CODERS = list(zip(CODER_A, CODER_B, CODER_C, CODER_D))

# Unit 12 has a single value and is dropped. The coincidence matrix of the rest
# (o_ck, values 1..5) is
#        1     2     3     4    5      n_c
#   1    7    4/3   1/3   1/3   0       9
#   2   4/3   10    4/3   1/3   0      13
#   3   1/3   4/3    8    1/3   0      10
#   4   1/3   1/3   1/3    4    0       5
#   5    0     0     0     0    3       3        n = 40
# alpha = 1 - (n - 1) * Σ_{c≠k} o_ck δ²_ck / Σ_{c≠k} n_c n_k δ²_ck.


def test_alpha_krippendorff_2011_nominal() -> None:
    # Nominal: Σ o_cc = 32, Σ n_c² = 81 + 169 + 100 + 25 + 9 = 384.
    # alpha = 1 - 39 * (40 - 32) / (40² - 384) = 1 - 312/1216 = 0.743 (published 0.743).
    assert krippendorff_alpha(FOUR_CODERS) == pytest.approx(0.743, abs=1e-3)
    assert krippendorff_alpha(FOUR_CODERS, "nominal") == pytest.approx(0.743, abs=1e-3)


def test_alpha_krippendorff_2011_interval() -> None:
    # Interval, δ² = (c - k)²; sums over c < k, doubled for the ordered pairs.
    # Observed: (4/3*1 + 1/3*4 + 1/3*9 + 4/3*1 + 1/3*4 + 1/3*1) * 2 = 26/3 * 2 = 52/3.
    # Expected: (117*1 + 90*4 + 45*9 + 27*16 + 130*1 + 65*4 + 39*9 + 50*1 + 30*4 + 15*1) * 2
    #         = 2240 * 2 = 4480.
    # alpha = 1 - 39 * (52/3) / 4480 = 1 - 676/4480 = 0.849 (published 0.849).
    assert krippendorff_alpha(FOUR_CODERS, "interval") == pytest.approx(0.849, abs=1e-3)


def test_alpha_krippendorff_2011_ordinal() -> None:
    # Ordinal, δ_ck = Σ_{g=c..k} n_g - (n_c + n_k)/2; e.g. δ_12 = 9 + 13 - 11 = 11,
    # δ_13 = 32 - 9.5 = 22.5, δ_14 = 37 - 7 = 30, δ_15 = 40 - 6 = 34, δ_23 = 11.5,
    # δ_24 = 28 - 9 = 19, δ_25 = 31 - 8 = 23, δ_34 = 7.5, δ_35 = 18 - 6.5 = 11.5, δ_45 = 4.
    # Observed: (4/3*121 + 1/3*506.25 + 1/3*900 + 4/3*132.25 + 1/3*361 + 1/3*56.25) * 2
    #         = 945.5 * 2 = 1891.
    # Expected: (117*121 + 90*506.25 + 45*900 + 27*1156 + 130*132.25 + 65*361 + 39*529
    #           + 50*56.25 + 30*132.25 + 15*16) * 2 = 199740 * 2 = 399480.
    # alpha = 1 - 39 * 1891 / 399480 = 0.815 (published 0.815).
    assert krippendorff_alpha(FOUR_CODERS, "ordinal") == pytest.approx(0.815, abs=1e-3)


def test_alpha_krippendorff_2011_ratio() -> None:
    # Ratio, δ² = ((c - k) / (c + k))²; same paper, published 0.797.
    assert krippendorff_alpha(FOUR_CODERS, "ratio") == pytest.approx(0.797, abs=1e-3)


def test_alpha_krippendorff_2011_binary_two_coders() -> None:
    # Krippendorff (2011), section A: binary data, two coders, 10 units, no missing.
    #   A: 0 1 0 0 0 0 0 0 1 0
    #   B: 1 1 1 0 0 1 0 0 0 0
    # Both 0 on 5 units, both 1 on 1 unit, different on 4 units:
    # o_00 = 10, o_11 = 2, o_01 = o_10 = 4; n_0 = 14, n_1 = 6, n = 20.
    # alpha = 1 - (n - 1) * o_01 / (n_0 * n_1) = 1 - 19 * 4 / 84 = 0.095 (published 0.095).
    coder_a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    coder_b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    units = list(zip(coder_a, coder_b))
    assert krippendorff_alpha(units) == pytest.approx(0.095, abs=1e-3)
    # Kappa on the same data: p_o = 0.6, A says 1 on 2/10, B on 4/10,
    # p_e = 0.2*0.4 + 0.8*0.6 = 0.56, kappa = 0.04/0.44 = 0.0909.
    assert cohen_kappa(units) == pytest.approx(0.0909, abs=1e-3)


def test_alpha_equals_kappa_when_marginals_match() -> None:
    # The 50-applicant table: with n = 100 pairable values, o_yy = 40, o_nn = 30,
    # o_yn = o_ny = 15, n_yes = 55, n_no = 45.
    # alpha = 1 - 99 * 30 / (2 * 55 * 45) = 1 - 2970/4950 = 0.4, the same as kappa.
    assert krippendorff_alpha(table(20, 5, 10, 15)) == pytest.approx(0.4, abs=1e-3)


def test_alpha_and_kappa_agree_in_direction() -> None:
    for pairs in (table(20, 5, 10, 15), table(45, 15, 25, 15), table(25, 35, 5, 35),
                  table(5, 20, 20, 5), table(8, 12, 12, 8), table(30, 2, 3, 15)):
        kappa, alpha = cohen_kappa(pairs), krippendorff_alpha(pairs)
        assert kappa is not None and alpha is not None
        assert (kappa > 0) == (alpha > 0), (pairs, kappa, alpha)


def test_alpha_at_chance_keeps_its_small_sample_correction() -> None:
    # Exactly chance-level agreement (10 in every cell of the 2x2 table): kappa is 0, but
    # alpha's (n - 1) factor leaves it slightly positive. n = 80, o_yy = o_nn = 20,
    # o_yn = o_ny = 20, n_yes = n_no = 40: alpha = 1 - 79 * 40 / (2 * 40 * 40) = 0.0125.
    pairs = table(10, 10, 10, 10)
    assert cohen_kappa(pairs) == pytest.approx(0.0, abs=1e-3)
    assert krippendorff_alpha(pairs) == pytest.approx(0.0125, abs=1e-3)


def test_alpha_ignores_units_with_a_single_value() -> None:
    # A unit coded by one coder only cannot be compared: adding such units, or a unit with
    # no values at all, must not change alpha.
    base = FOUR_CODERS[:11]
    assert krippendorff_alpha(base) == pytest.approx(krippendorff_alpha(FOUR_CODERS), abs=1e-12)
    padded = base + [(M, 7, M, M), (M, M, M, M)]
    assert krippendorff_alpha(padded) == pytest.approx(krippendorff_alpha(base), abs=1e-12)


def test_alpha_rejects_unknown_level() -> None:
    with pytest.raises(ValueError):
        krippendorff_alpha(FOUR_CODERS, "cardinal")


# --- perfect agreement, systematic disagreement, undefined ----------------------------


def test_perfect_agreement_gives_one() -> None:
    pairs = [("a", "a"), ("b", "b"), ("c", "c"), ("a", "a")]
    assert percent_agreement(pairs) == 1.0
    assert cohen_kappa(pairs) == 1.0
    assert krippendorff_alpha(pairs) == 1.0
    units = [(1, 1, M), (2, 2, 2), (5, M, 5)]
    for level in ("nominal", "ordinal", "interval", "ratio"):
        assert krippendorff_alpha(units, level) == 1.0


def test_systematic_disagreement_is_negative() -> None:
    # Every unit: one coder yes, the other no, balanced.
    # p_o = 0, p_e = 0.5 * 0.5 + 0.5 * 0.5 = 0.5, kappa = -0.5 / 0.5 = -1.
    # alpha: n = 20, o_yn = o_ny = 10, n_yes = n_no = 10: 1 - 19 * 20 / 200 = -0.9.
    pairs = table(0, 5, 5, 0)
    assert percent_agreement(pairs) == 0.0
    assert cohen_kappa(pairs) == pytest.approx(-1.0, abs=1e-3)
    assert krippendorff_alpha(pairs) == pytest.approx(-0.9, abs=1e-3)
    # Interval: coder B always rates two points above coder A.
    shifted = [(1, 3), (3, 1), (2, 4), (4, 2)]
    assert krippendorff_alpha(shifted, "interval") < 0


def test_undefined_cases_return_none() -> None:
    assert percent_agreement([]) is None
    assert cohen_kappa([]) is None
    # Both coders used one and the same category throughout: p_e = 1 (and p_o = 1),
    # kappa is 0/0; alpha likewise has no variation to judge agreement against.
    same = [("yes", "yes")] * 5
    assert percent_agreement(same) == 1.0
    assert cohen_kappa(same) is None
    assert krippendorff_alpha(same) is None
    assert krippendorff_alpha([]) is None
    # Only single-value units: nothing is pairable.
    assert krippendorff_alpha([(1, M, M), (M, 2, M), (M, M, M)]) is None
    # One pairable unit with one value twice: fewer than 2 distinct values.
    assert krippendorff_alpha([(3, 3), (4, M)], "interval") is None


# --- binary_agreement -----------------------------------------------------------------


def test_binary_agreement_hand_case() -> None:
    # Units 1..6 looked at by both. A applied the code to 1, 2, 3 (and 99, which B never
    # looked at, so it is ignored); B to 2, 3, 4.
    # Pairs: 1 (Y,N) 2 (Y,Y) 3 (Y,Y) 4 (N,Y) 5 (N,N) 6 (N,N): p_o = 4/6 = 0.6667.
    # A yes 3/6, B yes 3/6: p_e = 0.5, kappa = (0.6667 - 0.5) / 0.5 = 0.3333.
    # alpha: n = 12, o_YY = 4, o_NN = 4, o_YN = o_NY = 2, n_Y = n_N = 6:
    #   1 - 11 * 4 / (2 * 6 * 6) = 1 - 44/72 = 0.3889.
    result = binary_agreement({1, 2, 3, 99}, {2, 3, 4}, range(1, 7))
    assert result.n_units == 6
    assert result.percent == pytest.approx(4 / 6, abs=1e-3)
    assert result.kappa == pytest.approx(1 / 3, abs=1e-3)
    assert result.alpha == pytest.approx(28 / 72, abs=1e-3)


def test_binary_agreement_code_never_used() -> None:
    # Neither coder applied the code: they agree on every unit, but there was no
    # variation, so kappa and alpha are undefined.
    assert binary_agreement(set(), set(), ["d1", "d2", "d3"]) == Agreement(3, 1.0, None, None)


def test_binary_agreement_empty_universe() -> None:
    assert binary_agreement({"d1"}, {"d1"}, []) == Agreement(0, None, None, None)


def test_binary_agreement_repeated_units_count_once() -> None:
    once = binary_agreement({1}, {1, 2}, [1, 2, 3])
    assert binary_agreement({1}, {1, 2}, [1, 2, 2, 3, 1]) == once
