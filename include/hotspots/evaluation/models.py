"""The count model: Poisson regression with area fixed effects, standard errors clustered by area.

The area effects are profiled out exactly: the conditional Poisson likelihood of Hausman, Hall and Griliches
(1984), whose estimates equal those of a Poisson GLM with one dummy per area. The remaining coefficients (day of
week, treatment terms) are found by ``scipy.optimize.minimize`` with the analytic gradient and Hessian, and the
covariance is the cluster-robust sandwich over areas with the factor G/(G-1) (Wooldridge 1999: consistent without
any Poisson variance assumption, so over-dispersed counts are covered). statsmodels' GLM with area dummies gives
the same estimates (tests/evaluation/test_estimators.py checks it) but is about 30 times slower on a 300 x 365
trial, whose place-days carry continuous minutes and so do not collapse into few cells; its ConditionalPoisson
has no cluster-robust covariance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Fit:
    """Coefficients (log rate ratios) by name, their cluster-robust covariance, and the clusters used."""

    names: tuple[str, ...]
    beta: np.ndarray
    cov: np.ndarray
    clusters: int
    converged: bool

    def ratio(self, name: str) -> dict:
        """rate_ratio, ci_low, ci_high (95%) and the Wald p_value of one term; None values if not estimable."""
        if name not in self.names:
            return {"rate_ratio": None, "ci_low": None, "ci_high": None, "p_value": None}
        i = self.names.index(name)
        b, se = float(self.beta[i]), float(np.sqrt(max(self.cov[i, i], 0.0)))
        if not np.isfinite(b) or not np.isfinite(se):
            return {"rate_ratio": None, "ci_low": None, "ci_high": None, "p_value": None}
        p = float(2 * stats.norm.sf(abs(b) / se)) if se > 0 else None
        return {
            "rate_ratio": float(np.exp(b)),
            "ci_low": float(np.exp(b - Z95 * se)),
            "ci_high": float(np.exp(b + Z95 * se)),
            "p_value": p,
            "se_log": se,
        }


def poisson_fe(y: np.ndarray, exposure: np.ndarray, x: np.ndarray, groups: np.ndarray, names: list[str]) -> Fit:
    """Fit log E[y] = log(exposure) + alpha_group + x @ beta on cells; cluster-robust covariance by group.

    Groups with no events carry no information about beta (their alpha goes to minus infinity) and are dropped;
    columns with no variation left are not identified and are dropped too (their ratio is reported as None).
    """
    y = np.asarray(y, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    x = np.asarray(x, dtype=float).reshape(len(y), -1)
    _, g = np.unique(np.asarray(groups), return_inverse=True)
    totals = np.bincount(g, weights=y)
    keep = (totals[g] > 0) & (exposure > 0)
    y, exposure, x, g = y[keep], exposure[keep], x[keep], g[keep]
    _, g = np.unique(g, return_inverse=True)
    n_groups = int(g.max()) + 1 if len(g) else 0
    varies = _varies_within(x, g, n_groups)
    names_kept = tuple(n for n, v in zip(names, varies) if v)
    x = x[:, varies]
    if n_groups < 2 or x.shape[1] == 0:
        return Fit(names_kept, np.full(x.shape[1], np.nan), np.full((x.shape[1],) * 2, np.nan), n_groups, False)
    y_g = np.bincount(g, weights=y, minlength=n_groups)
    log_n = np.log(exposure)

    def parts(beta: np.ndarray):
        eta = log_n + x @ beta
        top = np.zeros(n_groups)
        np.maximum.at(top, g, eta)
        w = np.exp(eta - top[g])
        denom = np.bincount(g, weights=w, minlength=n_groups)
        p = w / denom[g]
        return p, denom, top

    def negloglik(beta):
        p, _, _ = parts(beta)
        return -float(np.sum(y * np.log(np.maximum(p, 1e-300))))

    def gradient(beta):
        p, _, _ = parts(beta)
        resid = y - y_g[g] * p
        return -(x.T @ resid)

    def hessian(beta):
        p, _, _ = parts(beta)
        mean_x = np.stack([np.bincount(g, weights=p * x[:, j], minlength=n_groups) for j in range(x.shape[1])], 1)
        centred = x - mean_x[g]
        return (centred * (y_g[g] * p)[:, None]).T @ centred

    result = optimize.minimize(
        negloglik, np.zeros(x.shape[1]), jac=gradient, hess=hessian, method="trust-exact", options={"gtol": 1e-9}
    )
    beta = result.x
    p, _, _ = parts(beta)
    resid = y - y_g[g] * p
    scores = np.stack([np.bincount(g, weights=resid * x[:, j], minlength=n_groups) for j in range(x.shape[1])], 1)
    bread = np.linalg.pinv(hessian(beta))
    meat = scores.T @ scores
    cov = bread @ meat @ bread * (n_groups / (n_groups - 1))
    return Fit(names_kept, beta, cov, n_groups, bool(result.success))


def _varies_within(x: np.ndarray, g: np.ndarray, n_groups: int) -> list[bool]:
    """Whether each column varies within at least one group (else it is absorbed by the group effects)."""
    out = []
    for j in range(x.shape[1]):
        lo = np.full(n_groups, np.inf)
        hi = np.full(n_groups, -np.inf)
        np.minimum.at(lo, g, x[:, j])
        np.maximum.at(hi, g, x[:, j])
        out.append(bool(np.any(hi > lo)))
    return out
