"""Config validation: typed, strict, every error names the dotted key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from logagent.config import load_config_text
from logagent.errors import ConfigError, ConfigErrors

GOOD = """
[agent]
data_dir = "/tmp/x"
listen = "127.0.0.1:9880"
[sources.app]
type = "file"
include = ["/var/log/app/*.log*"]
exclude = ["*.gz"]
read_from = "beginning"
parser = "json"
labels = { job = "app" }
[sinks.local]
type = "file"
path = "/tmp/x/out"
inputs = ["app"]
"""


def errors_of(text: str) -> list[str]:
    try:
        load_config_text(text)
    except ConfigErrors as exc:
        return [str(e) for e in exc.errors]
    except ConfigError as exc:
        return [str(exc)]
    return []


def test_the_documented_example_is_valid() -> None:
    cfg = load_config_text(GOOD)
    assert cfg.sources["app"].include == ["/var/log/app/*.log*"]
    assert cfg.sinks_for("app") == ["local"]
    assert cfg.agent.listen_host_port == ("127.0.0.1", 9880)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('include = ["/var/log/app/*.log*"]', 'include = "/var/log/*.log"'),
            "sources.app.include: expected a list of globs",
        ),
        (('read_from = "beginning"', 'read_from = "middle"'), "sources.app.read_from: expected one of"),
        (
            ('type = "file"\ninclude', 'type = "file"\ncolour = "red"\ninclude'),
            "sources.app.colour: unknown key",
        ),
        (('inputs = ["app"]', 'inputs = ["nope"]'), "sinks.local.inputs[0]: unknown source 'nope'"),
        (('parser = "json"', 'parser = "no-such-parser"'), "sources.app.parser: unknown parser"),
        (('listen = "127.0.0.1:9880"', 'listen = "nowhere"'), "agent.listen: expected HOST:PORT"),
        (
            ('[sinks.local]\ntype = "file"', '[sinks.local]\ntype = "kafka"'),
            "sinks.local.type: unknown type 'kafka'",
        ),
    ],
)
def test_errors_name_the_dotted_key(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in GOOD
    errs = errors_of(GOOD.replace(old, new))
    assert any(e.startswith(message) for e in errs), errs


def test_unknown_top_level_key() -> None:
    assert errors_of(GOOD + "\n[extra]\na = 1\n")[0].startswith("extra: unknown key")


def test_env_interpolation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_DIR", "/srv/app")
    cfg = load_config_text(
        GOOD.replace("/var/log/app/", "${APP_DIR}/logs/").replace("/tmp/x/out", "${OUT:-/tmp/o}")
    )
    assert cfg.sources["app"].include == ["/srv/app/logs/*.log*"]
    assert str(cfg.sinks["local"].path) == "/tmp/o"
    assert errors_of(GOOD.replace("/tmp/x/out", "${SURELY_UNSET_VAR}")) == [
        "sinks.local.path: environment variable SURELY_UNSET_VAR is not set"
    ]


def test_invalid_toml_is_reported() -> None:
    assert "invalid TOML" in errors_of("[agent\n")[0]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logagent", *args], capture_output=True, text=True, timeout=60
    )


def test_check_config_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    r = run_cli("check-config", "--config", str(good))
    assert r.returncode == 0, r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('include = ["/var/log/app/*.log*"]', 'include = "/x"'))
    r = run_cli("check-config", "--config", str(bad))
    assert r.returncode == 2
    assert "sources.app.include: expected a list of globs" in r.stderr
    r = run_cli("check-config", "--config", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and "cannot read config" in r.stderr


def test_version_and_packaged_default() -> None:
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("logagent ")
    r = run_cli("check-config")
    assert r.returncode == 0, r.stderr
    assert "packaged default" in r.stdout
