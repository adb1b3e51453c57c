"""The CloudFormation template: cfn-lint clean, creates in moto's CloudFormation with no
parameters, and the agent ships into the log group the stack created."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess
from tests.conftest import REPO
from tests.deploy.test_ci_configs import venv_tool
from tests.moto_server import MotoServer

TEMPLATE = REPO / "deploy" / "cloudformation" / "logagent.yaml"


def test_template_passes_cfn_lint() -> None:
    r = subprocess.run(
        [venv_tool("cfn-lint"), "--non-zero-exit-code", "error", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_cfn_lint_catches_a_bad_retention(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        TEMPLATE.read_text().replace("Default: 30\n    AllowedValues", "Default: 31\n    AllowedValues")
    )
    r = subprocess.run(
        [venv_tool("cfn-lint"), "--non-zero-exit-code", "error", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0


@pytest.fixture
def moto() -> MotoServer:
    with MotoServer() as server:
        yield server


def test_stack_creates_and_agent_ships_into_its_log_group(moto: MotoServer, tmp_path: Path) -> None:
    cfn = moto.client("cloudformation")
    cfn.create_stack(StackName="logagent", TemplateBody=TEMPLATE.read_text(), Capabilities=["CAPABILITY_IAM"])
    cfn.get_waiter("stack_create_complete").wait(
        StackName="logagent", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName="logagent")["Stacks"][0]["Outputs"]
    }
    group = outputs["SourceLogGroupName"]
    assert group == "/logagent/app"
    logs = moto.client("logs")
    created = {
        g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix="/logagent")["logGroups"]
    }
    assert created[group]["retentionInDays"] == 30
    assert "/logagent/agent" in created

    logdir = tmp_path / "logs"
    logdir.mkdir()
    (logdir / "app.log").write_text("".join(f"shipped {i}\n" for i in range(25)))
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"""
[agent]
data_dir = "{tmp_path / "data"}"
listen = "127.0.0.1:0"
[sources.app]
type = "file"
include = ["{logdir}/*.log"]
[sinks.cw]
type = "cloudwatch"
region = "{outputs["Region"]}"
endpoint_url = "{moto.url}"
log_group = "{group}"
log_stream = "host-1/{{source}}"
""")
    with AgentProcess(cfg).start() as agent:
        deadline = time.monotonic() + 60
        while True:
            events = logs.filter_log_events(logGroupName=group).get("events", [])
            if len(events) >= 25 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert agent.stop() == 0
    assert sorted(e["message"] for e in events) == sorted(f"shipped {i}" for i in range(25))
