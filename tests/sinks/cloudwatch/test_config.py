"""Config validation names the key and the reason; error codes map to the documented handling."""

from __future__ import annotations

import pytest

from logagent.config.loader import load_config_text
from logagent.errors import ConfigError, ConfigErrors
from logagent.sinks.cloudwatch.config import CloudWatchSinkConfig, check_template, render
from logagent.sinks.cloudwatch.sink import (
    AUTH,
    DELIVERED,
    MISSING,
    REJECT,
    RETRY,
    classify_error,
    error_reason,
)

BASE = """
[sources.app]
type = "file"
include = ["/tmp/x.log"]

[sinks.cw]
type = "cloudwatch"
region = "eu-west-1"
log_group = "/logagent/{source}"
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises((ConfigError, ConfigErrors)) as info:
        load_config_text(text)
    exc = info.value
    return [str(e) for e in (exc.errors if isinstance(exc, ConfigErrors) else [exc])]


def test_a_minimal_config_loads_with_documented_defaults() -> None:
    cfg = load_config_text(BASE).sinks["cw"]
    assert isinstance(cfg, CloudWatchSinkConfig)
    assert cfg.log_stream == "{host}/{source}" and cfg.create_missing and cfg.retention_days is None
    assert (cfg.batch.max_events, cfg.batch.max_bytes, cfg.batch.timeout_secs) == (10_000, 1_048_576, 1.0)


def test_a_retention_the_api_refuses_is_a_config_error() -> None:
    (err,) = errors_of(BASE + "retention_days = 10\n")
    assert err.startswith("sinks.cw.retention_days: 10 is not a retention") and "3653" in err
    assert load_config_text(BASE + "retention_days = 14\n").sinks["cw"].retention_days == 14


def test_an_unknown_placeholder_is_a_config_error() -> None:
    (err,) = errors_of(BASE + 'log_stream = "{hostname}/{source}"\n')
    assert err.startswith("sinks.cw.log_stream: unknown placeholder {hostname}")


def test_batch_limits_above_the_api_are_config_errors() -> None:
    errs = errors_of(BASE + "[sinks.cw.batch]\nmax_events = 10001\nmax_bytes = 2000000\nbogus = 1\n")
    assert {e.split(":")[0] for e in errs} == {
        "sinks.cw.batch.max_events",
        "sinks.cw.batch.max_bytes",
        "sinks.cw.batch.bogus",
    }


def test_log_group_is_required() -> None:
    (err,) = errors_of(BASE.replace('log_group = "/logagent/{source}"\n', ""))
    assert err == "sinks.cw.log_group: required key is missing"


@pytest.mark.parametrize("bad", ["", "a{b", "a}b", "{labels.}", "{labels.a b}"])
def test_malformed_templates_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        check_template(bad)


def test_render_fills_every_placeholder() -> None:
    t = "{host}/{source}/{labels.job}/{labels.none}/{path}"
    assert render(t, "app", "h1", "/var/log/x.log", {"job": "web"}) == "h1/app/web/-//var/log/x.log"
    assert render("{path}", "app", "h1", None, {}) == "-"


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottlingException", 400, RETRY),
        ("ServiceUnavailableException", 503, RETRY),
        ("InternalFailure", 500, RETRY),
        ("SomethingNew", 502, RETRY),
        ("SomethingNew", 429, RETRY),
        ("ResourceNotFoundException", 400, MISSING),
        ("UnrecognizedClientException", 400, AUTH),
        ("AccessDeniedException", 400, AUTH),
        ("DataAlreadyAcceptedException", 400, DELIVERED),
        ("InvalidParameterException", 400, REJECT),
        ("SerializationException", 400, REJECT),
    ],
)
def test_error_codes_are_classified(code: str, status: int, kind: str) -> None:
    assert classify_error(code, status) == kind


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        ("ThrottlingException", 400, "throttled"),
        ("ServiceUnavailableException", 503, "unavailable"),
        ("SomethingNew", 502, "server_error"),
        ("ExpiredTokenException", 400, "auth"),
        ("InvalidParameterException", 400, "invalid_parameter"),
        ("SerializationException", 400, "rejected"),
    ],
)
def test_error_reasons_are_a_closed_set(code: str, status: int, reason: str) -> None:
    assert error_reason(code, status) == reason
