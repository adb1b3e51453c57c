"""The Ansible role: ansible-lint (production profile) clean, the playbook parses, and the
config template renders to a config the agent accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO
from tests.deploy.test_ci_configs import venv_tool

ANSIBLE = REPO / "deploy" / "ansible"
ROLE = ANSIBLE / "roles" / "logagent"


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ANSIBLE, **kw)


def test_role_passes_ansible_lint_production_profile() -> None:
    r = run([venv_tool("ansible-lint"), "--offline", "--profile", "production", "site.yml", "roles/logagent"])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def test_playbook_syntax() -> None:
    r = run([venv_tool("ansible-playbook"), "-i", "inventory.ini", "--syntax-check", "site.yml"])
    assert r.returncode == 0, r.stdout + r.stderr


def render(tmp_path: Path, overrides: dict) -> Path:
    variables = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(overrides)
    variables.pop("logagent_unit_source", None)
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(variables))
    dest = tmp_path / "logagent.toml"
    r = run(
        [
            venv_tool("ansible"),
            "localhost",
            "-c",
            "local",
            "-i",
            "localhost,",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-e",
            f"@{vars_file}",
            "-m",
            "ansible.builtin.template",
            "-a",
            f"src={ROLE / 'templates' / 'logagent.toml.j2'} dest={dest}",
        ]
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return dest


def check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logagent", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_template_renders_a_valid_config(tmp_path: Path) -> None:
    dest = render(
        tmp_path,
        {
            "logagent_sources": {
                "nginx": {"type": "file", "include": ["/var/log/nginx/*.log"], "labels": {"job": "nginx"}},
                "app": {
                    "type": "file",
                    "include": ["/srv/app/*.log"],
                    "read_from": "end",
                    "max_line_bytes": 4096,
                },
            },
            "logagent_sinks": {"local": {"type": "file", "inputs": ["nginx", "app"], "fsync": True}},
            "logagent_labels": {"env": "prod"},
        },
    )
    r = check(dest)
    assert r.returncode == 0, dest.read_text() + r.stderr
    text = dest.read_text()
    assert 'labels = { env = "prod", job = "nginx" }' in text
    assert "fsync = true" in text


def test_template_with_bad_variables_fails_validation(tmp_path: Path) -> None:
    dest = render(tmp_path, {"logagent_sources": {"x": {"type": "file", "include": "/not/a/list"}}})
    r = check(dest)
    assert r.returncode == 2 and "sources.x.include" in r.stderr
