"""Loki sink config: every mistake is named by its dotted key at load time."""

from __future__ import annotations

import pytest

from logagent.config import load_config_text
from logagent.errors import ConfigError, ConfigErrors
from logagent.sinks.loki.config import LokiSinkConfig

BASE = """
[sources.app]
type = "file"
include = ["/tmp/x.log"]

[sinks.loki]
type = "loki"
endpoint = "http://127.0.0.1:3100"
"""


def errors_of(extra: str) -> list[str]:
    with pytest.raises((ConfigError, ConfigErrors)) as info:
        load_config_text(BASE + extra)
    exc = info.value
    return [str(e) for e in (exc.errors if isinstance(exc, ConfigErrors) else [exc])]


def test_defaults_are_loki_and_alloy_defaults() -> None:
    cfg = load_config_text(BASE).sinks["loki"]
    assert isinstance(cfg, LokiSinkConfig)
    assert cfg.encoding == "protobuf" and cfg.tls_verify
    assert cfg.batch.max_bytes == 1024 * 1024 and cfg.batch.timeout_secs == 1.0
    assert cfg.max_line_bytes == 256 * 1024


@pytest.mark.parametrize(
    ("extra", "key", "reason"),
    [
        ('labels = { "bad-name" = "x" }', "sinks.loki.labels", "invalid label name"),
        ('labels = { "__x" = "x" }', "sinks.loki.labels", "reserved"),
        ('label_fields = ["level", "level"]', "sinks.loki.label_fields", "listed twice"),
        ('label_fields = ["1x=foo"]', "sinks.loki.label_fields", "invalid label name"),
        ('username = "u"', "sinks.loki", "password_file or password_env"),
        ('password_env = "P"', "sinks.loki", "need username"),
        ('headers = { Authorization = "Bearer x" }', "sinks.loki.headers", "set by the sink"),
        ("json_gzip = true", "sinks.loki", "encoding = 'json'"),
        ('encoding = "snappy"', "sinks.loki.encoding", "expected one of"),
        ('bearer_token_env = "A"\nbearer_token_file = "/x"', "sinks.loki", "only one"),
    ],
)
def test_bad_keys_are_named(extra: str, key: str, reason: str) -> None:
    errs = errors_of(extra)
    assert any(e.startswith(key + ":") and reason in e for e in errs), errs


@pytest.mark.parametrize("endpoint", ["loki:3100", "ftp://x", "http://u:p@loki:3100", "http://loki?x=1"])
def test_bad_endpoint(endpoint: str) -> None:
    with pytest.raises((ConfigError, ConfigErrors)) as info:
        load_config_text(BASE.replace("http://127.0.0.1:3100", endpoint))
    assert "sinks.loki.endpoint" in str(info.value)


def test_too_many_labels() -> None:
    labels = ", ".join(f'l{i} = "v"' for i in range(12))
    errs = errors_of(f'labels = {{ {labels} }}\nlabel_fields = ["a", "b", "c", "d"]')
    assert any("16 labels configured" in e for e in errs), errs
