"""Accuracy on the shared corpus (by path; skipped when ../shared is absent).

The measurement itself lives in bench/parser_accuracy.py (which prints the table); these tests
hold its thresholds: loghub timestamp+level agreement >= 99 % per system, nginx field-by-field
equality with filebeat's expected output, and every real line of every other kind parsed.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from tests.conftest import REPO, require_corpus


def _accuracy() -> ModuleType:
    spec = importlib.util.spec_from_file_location("parser_accuracy", REPO / "bench" / "parser_accuracy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


acc = _accuracy()


@pytest.mark.parametrize("system", sorted(acc.LOGHUB))
def test_loghub_timestamp_and_level_match_ground_truth(system: str) -> None:
    require_corpus("loghub", system, f"{system}_2k.log_structured.csv")
    result = acc.loghub(system)
    assert result.total >= 1999
    assert result.share >= 0.99, f"{system}: {result.good}/{result.total}; e.g. {result.note}"


def test_nginx_fields_equal_filebeat_expected_output() -> None:
    require_corpus("nginx", "beats_nginx_access_test.log-expected.json")
    result = acc.nginx_expected()
    assert result.total >= 60
    assert result.good == result.total, result.note


@pytest.mark.parametrize("kind", acc.KINDS, ids=[f"{k[0]}:{k[2]}" for k in acc.KINDS])
def test_every_real_line_of_each_kind_parses(kind: tuple) -> None:
    require_corpus(kind[2].split("/")[0])
    result = acc.corpus_kind(*kind)
    assert result.total > 0
    assert result.good == result.total, f"{result.good}/{result.total}; e.g. {result.note}"
