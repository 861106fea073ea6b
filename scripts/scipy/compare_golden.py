#!/usr/bin/env python3
"""Golden values for pkg/monitor's comparison statistics, from scipy.

Run with Debian's Python (python3-scipy 1.10.1):
    /usr/bin/python3 scripts/scipy/compare_golden.py > pkg/monitor/testdata/scipy-compare.json

Fixed data (numpy's legacy RandomState, seeded) for three cases: a shadow
(paired, the same rows), a split (Welch, other rows), and a tie. For each,
the errors of A and B, and what scipy computes:
  - per variant, at confidence c, with n rows:
      mse, mae, bias:  scipy.stats.t.interval(c, n-1, loc=mean(x), scale=scipy.stats.sem(x))
      rmse:            sqrt of mse's (low clipped at 0)
  - paired:  scipy.stats.ttest_rel(eb**2, ea**2)                      -> t, p
             scipy.stats.t.interval(c, n-1, loc=mean(d), scale=sem(d)) -> the interval of d = eb**2 - ea**2
  - welch:   scipy.stats.ttest_ind(eb**2, ea**2, equal_var=False)     -> t, p
             df = (va+vb)**2 / (va**2/(na-1) + vb**2/(nb-1)), v = var(x, ddof=1)/n
             interval: diff -+ scipy.stats.t.ppf(0.5+c/2, df) * sqrt(va+vb)
  - sample size (when undecided): ceil((norm.ppf(0.5+c/2) + norm.ppf(0.8))**2 * s2 / effect**2),
             s2 = var(d, ddof=1) (paired) or var(a**2)+var(b**2) (welch), effect = min_effect * mse_a
"""
import json
import math

import numpy as np
from scipy import stats

C = 0.95
MIN_EFFECT = 0.01


def interval(x):
    x = np.asarray(x)
    lo, hi = stats.t.interval(C, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    return {"value": float(x.mean()), "low": float(lo), "high": float(hi)}


def variant(e):
    e = np.asarray(e)
    mse = interval(e ** 2)
    return {
        "n": len(e),
        "rmse": {"value": math.sqrt(mse["value"]), "low": math.sqrt(max(0.0, mse["low"])), "high": math.sqrt(mse["high"])},
        "mae": interval(np.abs(e)),
        "bias": interval(e),
    }


def zsum():
    return stats.norm.ppf(0.5 + C / 2) + stats.norm.ppf(0.8)


def paired(ea, eb):
    d = eb ** 2 - ea ** 2
    res = stats.ttest_rel(eb ** 2, ea ** 2)
    iv = interval(d)
    effect = MIN_EFFECT * float(np.mean(ea ** 2))
    n = math.ceil(zsum() ** 2 * np.var(d, ddof=1) / effect ** 2)
    return {"kind": "paired", "t": float(res.statistic), "p": float(res.pvalue), "df": len(d) - 1,
            "diff": iv, "min_effect": effect, "sample_size": n}


def welch(ea, eb):
    a, b = ea ** 2, eb ** 2
    res = stats.ttest_ind(b, a, equal_var=False)
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    diff = float(b.mean() - a.mean())
    h = stats.t.ppf(0.5 + C / 2, df) * math.sqrt(va + vb)
    effect = MIN_EFFECT * float(a.mean())
    n = math.ceil(zsum() ** 2 * (np.var(a, ddof=1) + np.var(b, ddof=1)) / effect ** 2)
    return {"kind": "welch", "t": float(res.statistic), "p": float(res.pvalue), "df": float(df),
            "diff": {"value": diff, "low": diff - h, "high": diff + h}, "min_effect": effect, "sample_size": n}


def case(name, ea, eb, test, verdict):
    out = {"name": name, "confidence": C, "min_effect": MIN_EFFECT, "a_errors": [float(x) for x in ea],
           "b_errors": [float(x) for x in eb], "a": variant(ea), "b": variant(eb), "test": test(ea, eb), "verdict": verdict}
    return out


rs = np.random.RandomState(20261203)
# A shadow: the same 400 rows; B's errors are A's shrunk by 30% plus noise.
ea = rs.normal(0.05, 0.6, 400)
eb = 0.7 * ea + rs.normal(0, 0.15, 400)
cases = [case("shadow, B better", ea, eb, paired, "better")]
# A split: 900 rows on A, 100 on B, B worse.
cases.append(case("split, B worse", rs.normal(0, 0.5, 900), rs.normal(0.1, 0.8, 100), welch, "worse"))
# A tie: B's 60 rows are A's, shuffled and nudged.
a = rs.normal(0, 0.5, 60)
cases.append(case("split, a tie", a, rs.permutation(a) + rs.normal(0, 0.02, 60), welch, "undecided"))
# A shadow that changes almost nothing.
e = rs.normal(0, 0.5, 80)
cases.append(case("shadow, a tie", e, e + rs.normal(0, 0.01, 80), paired, "undecided"))
print(json.dumps({"scipy": __import__("scipy").__version__, "cases": cases}, indent=1))
