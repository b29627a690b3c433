#!/usr/bin/python3
"""scipy's answers for the cases in a JSON file, for tests/unit/statistics_test.cpp.

Usage: /usr/bin/python3 scipy_reference.py CASES.json > ANSWERS.json

Each key of the input holds a list of cases; the output has the same keys, one answer per case, in
order. Run with Debian's python3 (python3-scipy, installed by scripts/install-deps.sh).
"""
import json
import math
import sys

import numpy as np
from scipy import stats


def proportions_ztest(x1, n1, x2, n2, alternative):
    # statsmodels.stats.proportion.proportions_ztest([x2, x1], [n2, n1]) step by step (statsmodels is
    # not installed here): pooled variance, then the normal distribution.
    count = np.array([x2, x1], dtype=float)
    nobs = np.array([n2, n1], dtype=float)
    prop = count * 1.0 / nobs
    diff = prop[0] - prop[1] - 0
    p_pooled = np.sum(count) * 1.0 / np.sum(nobs)
    nobs_fact = np.sum(1.0 / nobs)
    var = p_pooled * (1 - p_pooled) * nobs_fact
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / np.sqrt(var)
    if alternative == "two-sided":
        p = stats.norm.sf(np.abs(z)) * 2
    elif alternative == "greater":
        p = stats.norm.sf(z)
    else:
        p = stats.norm.cdf(z)
    answer = {"z": float(z), "p": float(p)}
    if alternative == "two-sided" and var > 0:
        table = [[x2, n2 - x2], [x1, n1 - x1]]
        answer["chi2_contingency_p"] = float(stats.chi2_contingency(table, correction=False)[1])
    return answer


def goodness_of_fit(observed, expected):
    observed = np.array(observed, dtype=float)
    expected = np.array(expected, dtype=float)
    expected = expected * (observed.sum() / expected.sum())
    keep = expected != 0
    result = stats.chisquare(observed[keep], f_exp=expected[keep])
    return [float(result[0]), float(result[1])]


def wald_interval(x1, n1, x2, n2, confidence):
    p1 = x1 / n1
    p2 = x2 / n2
    difference = p2 - p1
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = stats.norm.ppf(0.5 + confidence / 2)
    return [difference - z * se, difference + z * se]


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    answers = {
        "normal_cdf": [float(stats.norm.cdf(z)) for z in cases["normal_cdf"]],
        "normal_sf": [float(stats.norm.sf(z)) for z in cases["normal_sf"]],
        "normal_quantile": [float(stats.norm.ppf(p)) for p in cases["normal_quantile"]],
        "chi_squared_sf": [float(stats.chi2.sf(x, dof)) for x, dof in cases["chi_squared_sf"]],
        "two_proportion_z_test": [proportions_ztest(*case) for case in cases["two_proportion_z_test"]],
        "fisher_exact": [
            [float(v) for v in stats.fisher_exact([[a, b], [c, d]], alternative=alternative)]
            for a, b, c, d, alternative in cases["fisher_exact"]
        ],
        "mann_whitney_u": [
            [float(v) for v in stats.mannwhitneyu(case["x"], case["y"], use_continuity=True,
                                                  alternative=case["alternative"], method="asymptotic")]
            for case in cases["mann_whitney_u"]
        ],
        "chi_squared_goodness_of_fit": [
            goodness_of_fit(case["observed"], case["expected"]) for case in cases["chi_squared_goodness_of_fit"]
        ],
        "proportion_difference_interval": [wald_interval(*case) for case in cases["proportion_difference_interval"]],
        "alpha_for_look": [alpha * 6 / (math.pi * math.pi * look * look) for alpha, look in cases["alpha_for_look"]],
    }
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
