"""``[parsers.NAME]``: regex/json/logfmt/chain parsers from config, validated at load time."""

from __future__ import annotations

import time

import pytest

from logagent.config import load_config_text
from logagent.errors import ConfigError, ConfigErrors
from logagent.topology import build_parser
from parsers.configured import ChainParser, RegexParser
from parsers.registry import get_parser
from tests.parsers.conftest import ns

BASE = """
[sources.app]
type = "file"
include = ["/tmp/never-read-{name}.log"]
parser = "{name}"

[sinks.out]
type = "stdout"
"""


def _load(name: str, section: str):
    return load_config_text(BASE.replace("{name}", name) + section)


def _errors(text: str) -> list[str]:
    with pytest.raises((ConfigError, ConfigErrors)) as exc:
        load_config_text(BASE.replace("{name}", "x") + text)
    errs = exc.value.errors if isinstance(exc.value, ConfigErrors) else [exc.value]
    return [str(e) for e in errs]


def test_regex_parser_types_time_level_message() -> None:
    config = _load(
        "app",
        r"""
[parsers.app]
type = "regex"
pattern = '^(?P<when>\S+ \S+) \[(?P<sev>\w+)\] (?P<status>\d+) (?P<ok>\w+) (?P<took>[\d.]+)s (?P<text>.*)$'
types = { status = "int", ok = "bool", took = "float" }
time_key = "when"
time_format = "%Y-%m-%d %H:%M:%S"
timezone = "Europe/Paris"
level_key = "sev"
message_key = "text"
""",
    )
    parser = build_parser(config, "app")
    ok, bad_type, nomatch = parser.parse_batch(
        ["2026-07-01 12:00:00 [WARN] 404 yes 0.5s gone", "2026-07-01 12:00:00 [INFO] 200 maybe 1s x", "nope"]
    )
    assert ok.error is None
    assert ok.ts_ns == ns(2026, 7, 1, 10)  # CEST
    assert ok.level == "warning"
    assert ok.message == "gone"
    assert ok.fields == {"status": 404, "ok": True, "took": 0.5}
    assert bad_type.error == "field 'ok' is not bool"
    assert bad_type.fields["status"] == 200  # what could be read is kept
    assert nomatch.error == "does not match the regex" and nomatch.message == "nope"


def test_regex_parser_optional_groups_errors_and_keys_it_does_not_have() -> None:
    # Optional groups that did not take part are left out; every failed conversion is named, in
    # the pattern's order; a time/level/message key the pattern has no group for changes nothing.
    parser = RegexParser(
        r"^(?P<n>\w+)(?: (?P<opt>\d+))? (?P<f>\S+) (?P<s>\S+)$",
        types={"n": "int", "opt": "int", "f": "float", "s": "str", "absent": "int"},
        time_key="nope",
        level_key="no_such_group",
        message_key="missing",
    )
    both_bad, good, without_opt = parser.parse_batch(["x 7 y z", "3 4 2.5 s", "5 1.0 s"])
    assert both_bad.error == "field 'n' is not int; field 'f' is not float"
    assert both_bad.fields == {"n": "x", "opt": 7, "f": "y", "s": "z"}
    assert both_bad.message == "x 7 y z" and both_bad.ts_ns is None and both_bad.level is None
    assert good.error is None and list(good.fields.items()) == [("n", 3), ("opt", 4), ("f", 2.5), ("s", "s")]
    assert without_opt.error is None and without_opt.fields == {"n": 5, "f": 1.0, "s": "s"}


def test_regex_timeout_stops_catastrophic_backtracking() -> None:
    parser = RegexParser(r"^(?P<a>(a|aa)+)$", timeout_ms=20, batch_timeout_ms=150)
    lines = ["a" * 40 + "b"] * 50 + ["aaaa"]
    started = time.monotonic()
    recs = parser.parse_batch(lines)
    elapsed = time.monotonic() - started
    assert len(recs) == len(lines)
    assert recs[0].error == "regex timed out after 20 ms"
    assert recs[-1].error == "regex batch time budget exceeded"  # the batch budget ran out first
    assert elapsed < 5  # 50 lines x 20 ms would be 1 s; the budget caps it near 150 ms
    assert parser.parse_batch(["aaaa"])[0].fields == {"a": "aaaa"}  # a new batch has a new budget


def test_json_with_renames_and_keys_and_chain_on_docker() -> None:
    config = _load(
        "k8s",
        """
[parsers.app_json]
type = "json"
renames = { severity_text = "lvl", body = "text" }
time_key = "epoch_ms"
time_format = "unix_ms"
level_key = "lvl"
message_key = "text"

[parsers.k8s]
type = "chain"
parsers = ["docker", "app_json"]
allow_partial = true

[parsers.kv]
type = "logfmt"
renames = { m = "msg" }
""",
    )
    chain = build_parser(config, "k8s")
    assert isinstance(chain, ChainParser)
    inner = (
        '{\\"epoch_ms\\":1772445600000,\\"severity_text\\":\\"ERROR\\",\\"body\\":\\"db down\\",\\"n\\":1}'
    )
    lines = [
        '{"log":"' + inner + '\\n","stream":"stderr","time":"2026-03-02T10:00:05Z"}',
        '{"log":"plain text\\n","stream":"stdout","time":"2026-03-02T10:00:06Z"}',
        "not json",
    ]
    a, b, c = chain.parse_batch(lines)
    assert (a.error, a.level, a.message, a.ts_ns) == (None, "error", "db down", ns(2026, 3, 2, 10))
    assert a.fields == {"stream": "stderr", "n": 1}
    assert b.error is None and b.message == "plain text" and b.fields["chain_error"].startswith("app_json:")
    assert b.ts_ns == ns(2026, 3, 2, 10, 0, 6)
    assert c.error == "invalid JSON"
    kv = build_parser(config, "kv").parse_batch(["level=info m=hello"])[0]
    assert (kv.level, kv.message) == ("info", "hello")


def test_strict_chain_reports_the_failing_stage() -> None:
    chain = ChainParser([get_parser("docker"), get_parser("json")], name="c")
    rec = chain.parse_batch(['{"log":"plain\\n","stream":"stdout"}'])[0]
    assert rec.error == "json: invalid JSON"
    assert rec.message == "plain" and rec.fields == {"stream": "stdout"}


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ('[parsers.x]\ntype = "regex"\npattern = "(unclosed"\n', "parsers.x.pattern: invalid regex"),
        (
            '[parsers.x]\ntype = "regex"\npattern = "no groups"\n',
            "parsers.x.pattern: the regex has no named group",
        ),
        (
            '[parsers.x]\ntype = "regex"\npattern = "(?P<a>.)"\ntypes = { a = "date" }\n',
            "parsers.x.types.a: expected one of",
        ),
        ('[parsers.x]\ntype = "json"\ntime_format = "%Q"\n', "unsupported directive %Q"),
        ('[parsers.x]\ntype = "json"\ntimezone = "Mars/Base"\n', "unknown time zone"),
        ('[parsers.x]\ntype = "xml"\n', "parsers.x.type: unknown type 'xml'"),
        ('[parsers.x]\npattern = "a"\n', "parsers.x.type: required key is missing"),
        ('[parsers.x]\ntype = "json"\ncolour = "red"\n', "parsers.x.colour: unknown key"),
        (
            '[parsers.x]\ntype = "chain"\nparsers = ["docker", "nope"]\n',
            "parsers.x.parsers[1]: unknown parser 'nope'",
        ),
        (
            '[parsers.x]\ntype = "chain"\nparsers = ["y"]\n[parsers.y]\ntype = "chain"\nparsers = ["x"]\n',
            "parsers.x.parsers: chain loops: x -> y -> x",
        ),
    ],
)
def test_bad_parser_config_names_the_key(section: str, expected: str) -> None:
    errors = _errors(section)
    assert any(expected in e for e in errors), errors


def test_source_may_name_a_config_defined_parser_but_not_an_unknown_one() -> None:
    _load("mine", '[parsers.mine]\ntype = "logfmt"\n')
    with pytest.raises(ConfigError, match=r"sources.app.parser: unknown parser 'mine'"):
        load_config_text(BASE.replace("{name}", "mine"))
