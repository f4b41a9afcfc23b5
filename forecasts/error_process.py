"""A forecast-error process fitted on real forecast errors, for sites without an NWP archive.

The as-issued forecast of a site without archived NWP (the default's typical-year sites) is the
actual series plus an error drawn from this process: ``forecast(t0, t0 + h - 1) = actual + e``.
The target hour's actual value stands in for what a numerical weather prediction knows about
that hour; the error is what it gets wrong, with the statistics of real forecasts (see
``docs/forecast_errors.md`` for the data, the fit and the numbers).

Process
-------
For one quantity at one site, the error of the forecast issued at hour ``i`` for lead ``h``
(1..H) is ``e[i, h] = s * sigma[h] * x[i, h]``: ``s`` is the scale of the quantity (wind farm
capacity; the plant's clear-sky power at the target hour for PV, so nights have no error),
``sigma[h]`` the fitted error by lead time, and ``x`` a unit-variance Gaussian field on the
(issue, target) grid with the separable correlation

    corr(x[i, j], x[i', j']) = a ** |i - i'| * phi ** |j - j'|        (j = i + h - 1, target hour)

``phi`` is the correlation of consecutive target hours within one issue (the lag-1
autocorrelation across hours), ``a`` that of consecutive issues for the same target hour (a
forecast changes slowly from one hour's issue to the next). The field is generated row by row
(issue by issue) with the exact separable AR(1) x AR(1) recursion

    x[i, j] = a x[i-1, j] + phi x[i, j-1] - a phi x[i-1, j-1] + sqrt((1 - a^2)(1 - phi^2)) eps[i, j]

on a band of ``H + PAD_H`` leads. The innovations ``eps`` of issue hour ``i`` are drawn from a
generator seeded with ``(seed, i)`` (hours since 1970), so the error of an issue does not
depend on when the run started beyond a burn-in of ``BURN_IN_H`` issues, and never on anything
after the issue. Sites are correlated through their innovations, ``corr = exp(-d / L)`` for
sites ``d`` km apart (``L`` = ``corr_length_km``).

Bounds: the forecast is clipped to what the plant can produce (``[0, capacity]``); the clipping
removes error where the actual is near a bound, so ``sigma`` and ``phi`` are fitted *through*
the clipping (a few fixed-point iterations on the real actuals, :func:`fit_process`) so that the
clipped errors reproduce the real ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

logger = logging.getLogger(__name__)

PAD_H = 48
"""Leads beyond the horizon carried in the band (the edge effect dies out within them)."""
BURN_IN_H = 96
"""Issues generated before the first one asked for (the chain forgets its start: a^96 ~ 0)."""
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class ErrorProcess:
    """Fitted error statistics of one quantity (see the module docstring).

    Attributes
    ----------
    kind
        ``"wind"`` (scale = farm capacity) or ``"pv"`` (scale = clear-sky power of the target hour).
    sigma
        (H,) error standard deviation by lead 1..H, in units of the scale, before clipping.
    phi
        Correlation of consecutive target hours in one issue.
    a
        Correlation of consecutive hourly issues for the same target hour.
    corr_length_km
        e-folding distance of the correlation between sites [km].
    """

    kind: str
    sigma: np.ndarray
    phi: float
    a: float
    corr_length_km: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.phi < 1.0 and 0.0 <= self.a < 1.0):
            raise ValueError(f"{self.kind}: phi={self.phi}, a={self.a}; both must be in [0, 1)")
        if self.corr_length_km <= 0:
            raise ValueError(f"{self.kind}: corr_length_km={self.corr_length_km}; give a positive distance")

    @property
    def horizon_h(self) -> int:
        return len(self.sigma)

    @classmethod
    def from_dict(cls, values: dict) -> ErrorProcess:
        return cls(values["kind"], np.asarray(values["sigma"], dtype=float), float(values["phi"]),
                   float(values["a"]), float(values["corr_length_km"]))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "sigma": [round(float(v), 5) for v in self.sigma], "phi": round(self.phi, 5),
                "a": round(self.a, 5), "corr_length_km": round(self.corr_length_km, 1)}


def site_correlation(lat_deg: np.ndarray, lon_deg: np.ndarray, corr_length_km: float) -> np.ndarray:
    """(S, S) correlation ``exp(-d / L)`` of sites ``d`` km apart (great circle)."""
    lat, lon = np.radians(np.asarray(lat_deg, float)), np.radians(np.asarray(lon_deg, float))
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    distance_km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return np.exp(-distance_km / corr_length_km)


def unit_field(issues: pd.DatetimeIndex, horizon_h: int, phi: float, a: float, correlation: np.ndarray,
               seed: int) -> np.ndarray:
    """The unit-variance field ``x`` for hourly ``issues`` (consecutive), leads 1..``horizon_h``.

    Returns
    -------
    numpy.ndarray
        (n_issue, horizon_h, n_site).
    """
    n_site = correlation.shape[0]
    if len(issues) == 0:
        return np.zeros((0, horizon_h, n_site))
    if len(issues) > 1 and not (np.diff(issues.asi8) == 3_600_000_000_000).all():
        raise ValueError("issues must be consecutive hours; pass a pd.date_range(..., freq='h')")
    chol = np.linalg.cholesky(correlation + 1e-9 * np.eye(n_site))
    width = horizon_h + PAD_H
    first_hour = int(issues[0].value // 3_600_000_000_000) - BURN_IN_H
    n_total = len(issues) + BURN_IN_H
    c_edge0 = np.sqrt(1.0 - a * a)
    c_edge1 = np.sqrt(1.0 - phi * phi)
    c_inner = c_edge0 * c_edge1
    out = np.empty((len(issues), horizon_h, n_site))
    prev = None
    for n in range(n_total):
        eps = np.random.default_rng([seed, first_hour + n]).standard_normal((n_site, width))
        eps = chol @ eps  # correlated between sites
        if prev is None:  # stationary start: an AR(1) row of unit variance
            row = np.empty_like(eps)
            row[:, 0] = eps[:, 0]
            row[:, 1:] = _ar1_from(eps[:, 0], eps[:, 1:], phi, c_edge1)
        else:
            u = np.empty_like(eps)
            u[:, 0] = a * prev[:, 1] + c_edge0 * eps[:, 0]
            u[:, 1:-1] = a * prev[:, 2:] - a * phi * prev[:, 1:-1] + c_inner * eps[:, 1:-1]
            u[:, -1] = c_edge1 * eps[:, -1]  # right edge: row recursion only
            row = np.empty_like(eps)
            row[:, 0] = u[:, 0]
            row[:, 1:] = lfilter([1.0], [1.0, -phi], u[:, 1:], axis=1, zi=(phi * u[:, :1]))[0]
        prev = row
        if n >= BURN_IN_H:
            out[n - BURN_IN_H] = row[:, :horizon_h].T
    return out


def _ar1_from(first: np.ndarray, eps: np.ndarray, phi: float, scale: float) -> np.ndarray:
    """x[0] = first, x[k] = phi x[k-1] + scale eps[k-1] (unit variance when first is)."""
    return lfilter([1.0], [1.0, -phi], scale * eps, axis=1, zi=(phi * first)[:, None])[0]


def errors(process: ErrorProcess, issues: pd.DatetimeIndex, scale: np.ndarray, correlation: np.ndarray,
           seed: int) -> np.ndarray:
    """Unclipped errors ``scale * sigma[h] * x`` (n_issue, H, n_site); ``scale`` broadcasts to it
    (e.g. (1, 1, S) capacities, or (n_issue, H, S) clear-sky power of the target hours)."""
    x = unit_field(issues, process.horizon_h, process.phi, process.a, correlation, seed)
    return scale * process.sigma[None, :, None] * x


# ----------------------------------------------------------------------------------- fitting


def lag1_autocorrelation(error: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Pooled correlation of errors at consecutive leads of the same issue, (n_issue, H) arrays;
    pairs where ``mask`` is False on either side (or an error is NaN) are left out."""
    e0, e1 = error[:, :-1], error[:, 1:]
    ok = np.isfinite(e0) & np.isfinite(e1)
    if mask is not None:
        ok &= mask[:, :-1] & mask[:, 1:]
    return float(np.corrcoef(e0[ok], e1[ok])[0, 1])


def rmse_by_lead(error: np.ndarray) -> np.ndarray:
    """(H,) root-mean-square error by lead of an (n_issue, H) array, NaN skipped."""
    return np.sqrt(np.nanmean(error**2, axis=0))


def issue_correlation(rel_error: np.ndarray, issues: pd.DatetimeIndex, issue_step_h: int) -> float:
    """Per-hour issue correlation ``a``: errors of issues ``issue_step_h`` apart (and only those)
    for the same target hour, each divided by its lead's RMSE, pooled; ``a = rho ** (1 / step)``."""
    horizon_h = rel_error.shape[1]
    scaled = rel_error / rmse_by_lead(rel_error)[None, :]
    step = np.diff(issues.asi8) == issue_step_h * 3_600_000_000_000
    later = scaled[1:][step, : horizon_h - issue_step_h]
    earlier = scaled[:-1][step, issue_step_h:]
    ok = np.isfinite(later) & np.isfinite(earlier)
    rho = float(np.corrcoef(later[ok], earlier[ok])[0, 1])
    return float(np.clip(rho, 1e-3, 0.999) ** (1.0 / issue_step_h))


@dataclass(frozen=True)
class RealErrors:
    """Real forecast errors of one quantity, laid out for fitting and validation."""

    kind: str
    issues: list[pd.DatetimeIndex]
    """Per plant: issue times (hourly or every ``issue_step_h``)."""
    actual: list[np.ndarray]
    """Per plant: (n_issue, H) actual values, in units of the plant's capacity."""
    error: list[np.ndarray]
    """Per plant: (n_issue, H) forecast - actual, in units of capacity."""
    scale: list[np.ndarray]
    """Per plant: (n_issue, H) error scale (1 for wind; clear-sky power / capacity for PV)."""
    upper: list[np.ndarray]
    """Per plant: (n_issue, H) upper bound of the forecast (1 for wind; AC limit / capacity for PV)."""
    issue_step_h: int
    mask: list[np.ndarray]
    """Per plant: (n_issue, H) hours that count for the autocorrelation (daylight for PV)."""

    def pooled(self, values: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(values, axis=0)


def simulate_errors(process: ErrorProcess, real: RealErrors, seed: int = 1) -> list[np.ndarray]:
    """Generated errors on the real plants' actuals (clipped like the provider clips), per plant.
    Plants are generated independently (no site correlation); issues at the real cadence."""
    out = []
    for k, (issues, actual, scale, upper) in enumerate(zip(real.issues, real.actual, real.scale, real.upper,
                                                           strict=True)):
        hourly = pd.date_range(issues[0], issues[-1], freq="h")
        x = unit_field(hourly, process.horizon_h, process.phi, process.a, np.ones((1, 1)), seed + 7919 * k)[:, :, 0]
        x = x[hourly.get_indexer(issues)]
        forecast = np.clip(actual + scale * process.sigma[None, :] * x, 0.0, upper)
        out.append(forecast - actual)
    return out


def fit_process(real: RealErrors, corr_length_km: float, iterations: int = 6, seed: int = 1) -> ErrorProcess:
    """Fit ``sigma`` by lead, ``phi`` and ``a`` on real errors, through the clipping.

    ``a`` comes from the errors of issues ``issue_step_h`` apart for the same target hour
    (relative to the scale); ``sigma`` and ``phi`` start from the scaled real errors and are
    corrected by fixed-point iteration until the clipped generated errors have the real RMSE by
    lead and lag-1 autocorrelation.
    """
    error = real.pooled(real.error)
    scale = real.pooled(real.scale)
    mask = real.pooled(real.mask)
    rel = np.where(scale > 1e-3, error / np.where(scale > 1e-3, scale, 1.0), np.nan)
    rel = np.where(mask, rel, np.nan)
    a = float(np.mean([issue_correlation(np.where(m & (s > 1e-3), e / np.where(s > 1e-3, s, 1.0), np.nan), i,
                                         real.issue_step_h)
                       for e, s, m, i in zip(real.error, real.scale, real.mask, real.issues, strict=True)]))
    target_rmse = rmse_by_lead(error)
    target_phi = lag1_autocorrelation(error, mask)
    sigma = rmse_by_lead(rel)
    phi = float(np.clip(lag1_autocorrelation(rel), 0.0, 0.995))
    for _ in range(iterations):
        process = ErrorProcess(real.kind, sigma, phi, a, corr_length_km)
        generated = np.concatenate(simulate_errors(process, real, seed), axis=0)
        sigma = sigma * target_rmse / np.maximum(rmse_by_lead(generated), 1e-9)
        got_phi = lag1_autocorrelation(generated, mask)
        phi = float(np.clip(phi + (target_phi - got_phi), 0.0, 0.995))
        logger.info("%s fit: rmse ratio %.3f..%.3f, phi %.3f (target %.3f)", real.kind,
                    float(np.min(rmse_by_lead(generated) / target_rmse)),
                    float(np.max(rmse_by_lead(generated) / target_rmse)), got_phi, target_phi)
    return ErrorProcess(real.kind, sigma, phi, a, corr_length_km)
