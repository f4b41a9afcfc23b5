"""The CLI prints the project's own errors (exit 2, no traceback) and lets real bugs through."""

from __future__ import annotations

import pytest

import control.commands.report as report_command
from control.cli import USER_ERRORS, main
from control.errors import CodispatchError, InputError
from control.jobs import JobFileError
from control.settings import ConfigError
from forecasts.errors import ForecastInputError
from forecasts.weather import WeatherFileError
from grid_models.errors import GridInputError
from grid_models.network import NetworkError


def test_the_projects_errors_are_user_errors() -> None:
    for error in (ConfigError, JobFileError, WeatherFileError, NetworkError):
        assert issubclass(error, USER_ERRORS), error
    assert issubclass(InputError, CodispatchError) and issubclass(InputError, ValueError)  # old `except ValueError` still work
    assert issubclass(WeatherFileError, ForecastInputError) and issubclass(NetworkError, GridInputError)
    assert not issubclass(KeyError, USER_ERRORS) and not issubclass(ValueError, USER_ERRORS)


def test_an_input_error_prints_its_message_and_exits_2(default_config, tmp_path, capsys) -> None:
    code = main(["simulate", "--config", str(default_config), "--out", str(tmp_path), "--policies", "agnostic,nope"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("codispatch simulate: error: unknown policy") and "choose from" in err


@pytest.mark.parametrize("bug", [KeyError("site"), ValueError("cannot reshape array")])
def test_a_bug_keeps_its_traceback(monkeypatch, tmp_path, bug) -> None:
    def broken(args):  # noqa: ANN001, ANN202
        raise bug

    monkeypatch.setattr(report_command, "run", broken)
    with pytest.raises(type(bug)):
        main(["report", "--sim", str(tmp_path), "--config", str(tmp_path / "x.toml")])
