"""`[tool.leaklint]` in pyproject.toml: keys, selection, excludes, per-file-ignores, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import LEAKY_TASK, json_findings, run_cli

from leaklint import registry
from leaklint.config import ConfigError, load_settings


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.leaklint]\n{table}\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(LEAKY_TASK)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text(LEAKY_TASK)
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "gen.py").write_text(LEAKY_TASK)
    return tmp_path


def _paths(result: object) -> set[str]:
    return {f["path"] for f in json_findings(result)}  # type: ignore[arg-type]


def test_defaults_skip_build_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path, ""))
    result = run_cli("check", ".", "--format", "json", "--no-cache")
    assert _paths(result) == {"src/app.py", "tests/test_app.py"}


def test_exclude_and_per_file_ignores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(
        _project(tmp_path, 'exclude = ["tests/"]\nper-file-ignores = { "src/*" = ["LK105"] }')
    )
    assert _paths(run_cli("check", ".", "--format", "json", "--no-cache")) == set()
    # A file named explicitly is always checked, even when excluded.
    named = run_cli("check", "tests/test_app.py", "--format", "json", "--no-cache")
    assert _paths(named) == {"tests/test_app.py"}


def test_select_and_ignore_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path, 'ignore = ["LK1"]'))
    assert run_cli("check", "src", "--no-cache").exit_code == 0
    # The command line overrides the file's select; ignore still adds up.
    assert run_cli("check", "src", "--no-cache", "--select", "LK105").exit_code == 1


def test_config_found_from_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, 'ignore = ["LK105"]')
    monkeypatch.chdir(tmp_path / "src")
    assert run_cli("check", "app.py", "--no-cache").exit_code == 0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("selekt = ['LK']", "unknown key 'selekt'"),
        ("select = ['LK999']", "'LK999' matches no leaklint rule"),
        ("ignore = 3", "expected a list of strings"),
        ("per-file-ignores = ['x']", "expected a table"),
        ("[tool.leaklint.LK105]\nthreshold = 3", "unknown option 'threshold'"),
    ],
)
def test_bad_configuration_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, message: str
) -> None:
    monkeypatch.chdir(_project(tmp_path, table))
    result = run_cli("check", "src", "--no-cache")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_toml_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint\n")
    (tmp_path / "a.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    result = run_cli("check", "a.py")
    assert result.exit_code == 2 and "invalid TOML" in result.stderr


def test_explicit_config_file(tmp_path: Path) -> None:
    config = tmp_path / "lint.toml"
    config.write_text("[tool.leaklint]\nignore = ['LK105']\n")
    settings = load_settings(str(config), str(tmp_path))
    assert registry.find_rule("LK105") not in settings.rules()
    with pytest.raises(ConfigError):
        load_settings(str(tmp_path / "missing.toml"), str(tmp_path))


def test_off_by_default_rules_need_their_full_code() -> None:
    off = [rule for rule in registry.ALL_RULES if not rule.DEFAULT_ENABLED]
    for rule in off:
        assert rule not in registry.select_rules(["LK"])
        assert rule not in registry.select_rules([rule.CODE[:3]])
        assert rule in registry.select_rules(["LK"], (), [rule.CODE])


def test_longest_prefix_wins() -> None:
    lk105 = registry.find_rule("LK105")
    assert lk105 not in registry.select_rules(["LK1"], ["LK10"])
    assert lk105 in registry.select_rules(["LK105"], ["LK1"])
