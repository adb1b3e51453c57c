"""CI and container configs: schema-valid, cross-referenced, and linted by the real tools."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI, REPO


def venv_tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        if IN_CI:
            pytest.fail(f"{name} is required in CI (a test extra in pyproject.toml)")
        pytest.skip(f"{name} not installed")
    return found


def test_circleci_config_is_schema_valid() -> None:
    r = subprocess.run(
        [
            venv_tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.circle-ci",
            str(REPO / ".circleci/config.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_circleci_workflows_reference_defined_jobs_and_make_targets() -> None:
    config = yaml.safe_load((REPO / ".circleci/config.yml").read_text())
    jobs = set(config["jobs"])
    for workflow in config["workflows"].values():
        for entry in workflow["jobs"]:
            name = entry if isinstance(entry, str) else next(iter(entry))
            assert name in jobs, f"workflow uses undefined job {name}"
            if isinstance(entry, dict):
                for req in entry[name].get("requires", []):
                    assert req in jobs, f"{name} requires undefined job {req}"
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z.][\w./-]*):", makefile, re.M))
    text = "\n".join(
        line
        for line in (REPO / ".circleci/config.yml").read_text().splitlines()
        if not line.lstrip().startswith("#")
    )
    for target in re.findall(r"\bmake ([\w./-]+)", text):
        assert target in targets, f"CircleCI runs `make {target}`, which the Makefile lacks"


def test_dockerfile_passes_hadolint() -> None:
    r = subprocess.run(
        [venv_tool("hadolint"), "--failure-threshold", "info", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_dockerfile_essentials() -> None:
    text = (REPO / "Dockerfile").read_text()
    for needle in ("ARG BASE=", "HEALTHCHECK", "/health", "STOPSIGNAL", "VOLUME", "USER 10001"):
        assert needle in text


def test_example_configs_validate() -> None:
    configs = [REPO / "config/docker/logagent.toml", *sorted((REPO / "config").glob("*.toml"))]
    for cfg in configs:
        r = subprocess.run(
            [sys.executable, "-m", "logagent", "check-config", "--config", str(cfg)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, f"{cfg}: {r.stderr}"
