"""The forecast-error process reproduces the real forecast errors it was fitted on: RMSE by lead
time and lag-1 autocorrelation across hours within +-10 % (GEFCom 2012 NWP wind errors, State Grid
solar errors), and its field has the correlations it is built with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasts.error_data import solar_real_errors, wind_real_errors
from forecasts.error_process import lag1_autocorrelation, rmse_by_lead, simulate_errors, site_correlation, unit_field
from forecasts.synthetic import fitted_process

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.mark.parametrize("kind", ["wind", "pv"])
def test_generated_errors_reproduce_the_real_ones(kind: str) -> None:
    real = wind_real_errors(DATA / "wind/gefcom2012") if kind == "wind" else solar_real_errors(DATA / "solar/stategrid")
    process = fitted_process(kind)
    # a different seed than the fit's: the statistics, not one draw, are reproduced
    generated = np.concatenate(simulate_errors(process, real, seed=12345), axis=0)
    real_error, mask = real.pooled(real.error), real.pooled(real.mask)
    ratio = rmse_by_lead(generated) / rmse_by_lead(real_error)
    print(kind, "rmse ratio by lead", np.round(ratio[[0, 5, 11, 23, 47]], 3))
    assert np.all(np.abs(ratio - 1.0) <= 0.10), f"{kind}: RMSE ratio by lead {np.round(ratio, 3)}"
    real_lag1, got_lag1 = lag1_autocorrelation(real_error, mask), lag1_autocorrelation(generated, mask)
    print(kind, "lag-1 autocorrelation real", round(real_lag1, 3), "generated", round(got_lag1, 3))
    assert abs(got_lag1 / real_lag1 - 1.0) <= 0.10
    # growth with lead time, as in the real errors
    assert rmse_by_lead(generated)[23] > 1.2 * rmse_by_lead(generated)[0]


def test_field_has_its_correlations_and_does_not_depend_on_the_run_start() -> None:
    issues = pd.date_range("2023-01-01", periods=6000, freq="h", tz="UTC")
    corr = site_correlation(np.array([40.0, 40.2, 30.0]), np.array([110.0, 110.2, 100.0]), 40.0)
    assert 0.4 < corr[0, 1] < 0.7 and corr[0, 2] < 1e-6
    x = unit_field(issues, 24, phi=0.85, a=0.9, correlation=corr, seed=3)
    assert np.allclose(x.var(axis=(0, 2)), 1.0, atol=0.12)
    assert abs(np.corrcoef(x[:, :-1, 0].ravel(), x[:, 1:, 0].ravel())[0, 1] - 0.85) < 0.03
    assert abs(np.corrcoef(x[1:, :-1, 1].ravel(), x[:-1, 1:, 1].ravel())[0, 1] - 0.9) < 0.03
    assert abs(np.corrcoef(x[:, 3, 0], x[:, 3, 1])[0, 1] - corr[0, 1]) < 0.06
    later = unit_field(issues[3000:3100], 24, phi=0.85, a=0.9, correlation=corr, seed=3)
    assert np.abs(later - x[3000:3100]).max() < 0.02  # a run starting later sees (almost) the same errors
