"""agreement: inter-coder agreement for qualitative coding (percent agreement, Cohen's
kappa, Krippendorff's alpha).

Two coders who code the same documents rarely agree perfectly; the question a reviewer
asks is whether they agree more than chance would make them. Percent agreement answers
"how often", kappa and alpha answer "how much better than chance". Kappa is the familiar
figure for two coders with complete data; alpha also copes with more coders, missing
values and non-nominal scales, and is the figure content-analysis journals ask for.

References:
- Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and
  Psychological Measurement 20(1), 37-46.
- Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School
  for Communication, University of Pennsylvania (the coincidence-matrix method below).

Every statistic returns None when it is undefined (no data, or no variation to measure
agreement against) rather than raising or inventing a number: the caller shows "–".
Pure Python, stdlib only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

LEVELS = ("nominal", "ordinal", "interval", "ratio")

# A squared difference function delta²(c, k) between two values of the variable.
Metric = Callable[[Hashable, Hashable], float]


# --- two coders, complete data --------------------------------------------------------


def percent_agreement(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    """Share of units (0..1) on which coder A and coder B chose the same label.

    None for no pairs: 0 % would claim total disagreement where there is no evidence."""
    if not pairs:
        return None
    return sum(1 for a, b in pairs if a == b) / len(pairs)


def cohen_kappa(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's kappa for two coders over the units both coded; each pair is
    (label by coder A, label by coder B).

    kappa = (p_o - p_e) / (1 - p_e), with p_o the observed agreement and p_e the
    agreement expected if each coder picked labels at random with their own observed
    frequencies.

    Returns None when kappa is undefined:
    - no pairs;
    - p_e == 1, which happens exactly when both coders used one and the same single
      category for every unit. Then p_o is necessarily 1 as well and kappa is 0/0:
      perfect agreement, but on a variable that never varied, so it says nothing about
      reliability. We return None (not 1.0, not 0.0) and let the caller show "–"."""
    n = len(pairs)
    if n == 0:
        return None
    agreements = sum(1 for a, b in pairs if a == b)
    chance = _chance_agreement_count(pairs)
    # Multiplying p_o, p_e by n² keeps everything in integers, so the p_e == 1 test is
    # exact rather than a float comparison: kappa = (n·agree - Σ a_c·b_c) / (n² - Σ a_c·b_c).
    denominator = n * n - chance
    if denominator == 0:
        return None
    return (n * agreements - chance) / denominator


def _chance_agreement_count(pairs: Sequence[tuple[Hashable, Hashable]]) -> int:
    """Σ_c (units coder A put in c) × (units coder B put in c), i.e. p_e · n²."""
    by_a = Counter(a for a, _ in pairs)
    by_b = Counter(b for _, b in pairs)
    return sum(count * by_b[label] for label, count in by_a.items())


# --- Krippendorff's alpha -------------------------------------------------------------


def krippendorff_alpha(units: Sequence[Sequence[Hashable | None]], level: str = "nominal") -> float | None:
    """Krippendorff's alpha for reliability data given as one row per unit with one
    value per coder (None = that coder did not code the unit).

    alpha = 1 - D_o / D_e, computed from the coincidence matrix (Krippendorff 2011):
    observed disagreement between values within the same unit, against the disagreement
    expected between any two pairable values regardless of unit.

    level: "nominal" (labels), "ordinal" (ranked values, Krippendorff's rank-based
    metric), "interval" or "ratio" (numbers).

    Units with fewer than 2 values are dropped: a lone value cannot be compared with
    anything. Returns None when alpha is undefined: fewer than 2 pairable values, or
    expected disagreement 0 (every pairable value is the same, so there is no variation
    against which to judge agreement)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    coincidences = _coincidences(units)
    marginals = _marginals(coincidences)
    n = sum(marginals.values())
    # With a single distinct value every metric gives delta² = 0, so D_e = 0; testing
    # the count of distinct values avoids comparing a float sum with zero.
    if n < 2 or len(marginals) < 2:
        return None
    metric = _metric(level, marginals)
    observed = sum(weight * metric(c, k) for (c, k), weight in coincidences.items() if c != k)
    expected = sum(n_c * n_k * metric(c, k) for c, n_c in marginals.items() for k, n_k in marginals.items() if c != k)
    # alpha = 1 - D_o / D_e with D_o = observed / n and D_e = expected / (n (n - 1)).
    return 1.0 - (n - 1) * observed / expected


def _coincidences(units: Sequence[Sequence[Hashable | None]]) -> dict[tuple[Hashable, Hashable], float]:
    """The coincidence matrix o_ck: every ordered pair of values from different coders
    within a unit, each unit weighted 1/(m_u - 1) so that a unit with m_u values
    contributes exactly m_u pairable values, however many coders it had."""
    matrix: dict[tuple[Hashable, Hashable], float] = {}
    for unit in units:
        values = Counter(value for value in unit if value is not None)
        m_u = sum(values.values())
        if m_u < 2:
            continue  # not pairable (Krippendorff 2011, step "omit units with m_u < 2")
        for c, n_c in values.items():
            for k, n_k in values.items():
                # Pairs of values from different coders: a value is never paired with itself.
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                if pairs:
                    matrix[(c, k)] = matrix.get((c, k), 0.0) + pairs / (m_u - 1)
    return matrix


def _marginals(coincidences: dict[tuple[Hashable, Hashable], float]) -> dict[Hashable, float]:
    """n_c: how many pairable values of each kind there are (row sums of o_ck)."""
    totals: dict[Hashable, float] = {}
    for (c, _), weight in coincidences.items():
        totals[c] = totals.get(c, 0.0) + weight
    return totals


def _metric(level: str, marginals: dict[Hashable, float]) -> Metric:
    """delta²(c, k) for the level of measurement."""
    if level == "nominal":
        return lambda c, k: 0.0 if c == k else 1.0
    if level == "interval":
        return lambda c, k: float(c - k) ** 2  # type: ignore[operator]
    if level == "ratio":
        return lambda c, k: 0.0 if c == k else ((c - k) / (c + k)) ** 2  # type: ignore[operator]
    positions = _ordinal_positions(marginals)
    return lambda c, k: (positions[c] - positions[k]) ** 2


def _ordinal_positions(marginals: dict[Hashable, float]) -> dict[Hashable, float]:
    """Place each rank where the middle of its values falls among all pairable values.

    Krippendorff's ordinal metric is delta_ck = Σ_{g=c..k} n_g - (n_c + n_k)/2: the
    distance counts how many values lie between two ranks, not how far apart the rank
    numbers are. That sum telescopes to (cum_k - n_k/2) - (cum_c - n_c/2), where cum is
    the cumulative frequency up to and including a rank, so each rank gets the position
    cum - n/2 and the metric becomes a squared difference of positions."""
    ranks = sorted(marginals)  # ordinal values must be orderable
    cumulative = accumulate(marginals[rank] for rank in ranks)
    return {rank: total - marginals[rank] / 2 for rank, total in zip(ranks, cumulative)}


# --- one code as a presence/absence decision ------------------------------------------


@dataclass
class Agreement:
    """Agreement of two coders on one code over the units both looked at."""

    n_units: int
    percent: float | None
    kappa: float | None
    alpha: float | None


def binary_agreement(a: set, b: set, universe: Iterable) -> Agreement:
    """Agreement on ONE code, read as a yes/no decision per unit.

    universe: ids of the units both coders coded (looked at); a unit neither coder
    opened says nothing about agreement, so the caller must not pass it. a / b: the unit
    ids to which coder A / coder B applied the code. Ids in a or b outside the universe
    are ignored for the same reason.

    Each unit becomes (in a, in b); percent, kappa and nominal alpha (two coders, no
    missing values) are computed over those pairs. When both coders left the code off
    every unit (or put it on every unit) kappa and alpha are None: there was no decision
    to disagree about."""
    units = list(dict.fromkeys(universe))  # de-duplicate, keep order
    pairs = [(unit in a, unit in b) for unit in units]
    return Agreement(
        n_units=len(pairs),
        percent=percent_agreement(pairs),
        kappa=cohen_kappa(pairs),
        alpha=krippendorff_alpha(pairs, "nominal"),
    )
