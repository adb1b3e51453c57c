"""``logagent check-config --check-sinks`` reaches each sink's endpoint and says what failed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from logagent.cli import main
from tests.moto_server import MotoServer, free_port
from tests.sinks.cloudwatch.faultproxy import FaultProxy


def write_config(tmp_path: Path, endpoint: str, extra: str = "") -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(
        f"""
[agent]
data_dir = "{tmp_path / "data"}"

[sources.app]
type = "file"
include = ["{tmp_path}/*.log"]

[sinks.local]
type = "file"

[sinks.cw]
type = "cloudwatch"
region = "us-east-1"
endpoint_url = "{endpoint}"
log_group = "/logagent/{{source}}"
{extra}
"""
    )
    return path


def test_reachable_sinks_pass(moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["check-config", "--config", str(write_config(tmp_path, moto.url)), "--check-sinks"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "sink cw (cloudwatch): ok" in out.out and "sink local (file): ok" in out.out


def test_an_unreachable_endpoint_fails_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    rc = main(["check-config", "--config", str(write_config(tmp_path, dead)), "--check-sinks"])
    out = capsys.readouterr()
    assert rc == 1
    assert "sink cw (cloudwatch): FAILED:" in out.err and "Could not connect" in out.err
    assert "sink local (file): ok" in out.out


def test_rejected_credentials_fail_with_the_error_code(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FaultProxy(moto.url) as proxy:
        proxy.inject("DescribeLogGroups", "UnrecognizedClientException")
        rc = main(["check-config", "--config", str(write_config(tmp_path, proxy.url)), "--check-sinks"])
    err = capsys.readouterr().err
    assert rc == 1 and "UnrecognizedClientException" in err


def test_no_credentials_anywhere_is_reported(
    moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    rc = main(["check-config", "--config", str(write_config(tmp_path, moto.url)), "--check-sinks"])
    err = capsys.readouterr().err
    assert rc == 1 and "Unable to locate credentials" in err


def test_a_missing_group_without_create_missing_fails(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, moto.url).read_text().replace("/logagent/{source}", "/fixed/group")
    path = tmp_path / "fixed.toml"
    path.write_text(cfg + "create_missing = false\n")
    assert main(["check-config", "--config", str(path), "--check-sinks"]) == 1
    err = capsys.readouterr().err
    assert "log group '/fixed/group' does not exist and create_missing is false" in err
    moto.client("logs").create_log_group(logGroupName="/fixed/group")
    assert main(["check-config", "--config", str(path), "--check-sinks"]) == 0, capsys.readouterr().err


def test_the_real_command_line_exits_1_on_a_failed_sink(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "logagent",
            "check-config",
            "-c",
            str(write_config(tmp_path, dead)),
            "--check-sinks",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "sink cw (cloudwatch): FAILED:" in proc.stderr and "sink local (file): ok" in proc.stdout
