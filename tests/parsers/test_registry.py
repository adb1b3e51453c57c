"""The registry: lazy built-ins, entry-point plugins scanned on first lookup, duplicates refused."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from parsers import registry
from parsers.base import Parser
from tests.conftest import REPO


def _run(code: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    env_path = ":".join([str(REPO), *map(str, paths)])
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": env_path}, timeout=60
    )


def test_parsers_import_without_logagent_and_builtins_load_lazily() -> None:
    code = (
        "import sys, parsers\n"
        "assert 'parsers.nginx' not in sys.modules, 'built-ins must load on first use'\n"
        "from parsers.registry import available, get_parser\n"
        "for n in available(): get_parser(n).parse_batch(['x'])\n"
        "bad = [m for m in sys.modules if m == 'logagent' or m.startswith('logagent.')]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def _plugin(root: Path, dist: str, module: str, entries: dict[str, str]) -> Path:
    """A real installed distribution (dist-info with entry_points.txt) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(
        "from parsers.base import Parser, Record\n"
        "class Upper(Parser):\n"
        "    name = 'upper'\n"
        "    description = 'Upper-cases the message.'\n"
        "    def parse_batch(self, lines):\n"
        "        return [Record(message=l.upper()) for l in lines]\n"
    )
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entries.items())
    (info / "entry_points.txt").write_text(f"[logagent.parsers]\n{lines}\n")
    return root


@pytest.fixture
def plugin_path(tmp_path: Path) -> Iterator[list[Path]]:
    added: list[Path] = []
    yield added
    for p in added:
        sys.path.remove(str(p))
    registry.reset_plugins()


def test_plugin_is_found_on_first_lookup_not_at_import(tmp_path: Path, plugin_path: list[Path]) -> None:
    registry.reset_plugins()
    root = _plugin(tmp_path / "a", "acme-parsers", "acme_upper", {"upper": "acme_upper:Upper"})
    sys.path.insert(0, str(root))
    plugin_path.append(root)
    assert "upper" in registry.available()
    parser = registry.get_parser("upper")
    assert isinstance(parser, Parser)
    assert parser.parse_batch(["abc"])[0].message == "ABC"
    entry = next(e for e in registry.entries() if e.name == "upper")
    assert (entry.origin, entry.owner) == ("plugin", "acme-parsers")


def test_plugin_reusing_a_builtin_name_is_refused_naming_both(
    tmp_path: Path, plugin_path: list[Path]
) -> None:
    registry.reset_plugins()
    root = _plugin(tmp_path / "b", "evil-parsers", "evil_mod", {"nginx": "evil_mod:Upper"})
    sys.path.insert(0, str(root))
    plugin_path.append(root)
    with pytest.raises(registry.DuplicateParser) as exc:
        registry.get_parser("not-a-builtin")
    msg = str(exc.value)
    assert "evil-parsers" in msg and "built-in" in msg and "parsers.nginx:NginxParser" in msg
    # A built-in lookup never needs the scan, so it keeps working.
    assert registry.get_parser("nginx").name == "nginx"


def test_two_plugins_with_one_name_are_refused_naming_both(tmp_path: Path, plugin_path: list[Path]) -> None:
    registry.reset_plugins()
    for dist, mod in (("one-dist", "one_mod"), ("two-dist", "two_mod")):
        root = _plugin(tmp_path / dist, dist, mod, {"shout": f"{mod}:Upper"})
        sys.path.insert(0, str(root))
        plugin_path.append(root)
    with pytest.raises(registry.DuplicateParser) as exc:
        registry.available()
    assert "one-dist" in str(exc.value) and "two-dist" in str(exc.value)


def test_unknown_parser_lists_the_known_ones() -> None:
    with pytest.raises(registry.ParserNotFound, match=r"unknown parser 'nope'; known: .*nginx"):
        registry.get_parser("nope")


def test_every_builtin_has_a_description_and_a_matching_name() -> None:
    for name in registry.BUILTINS:
        cls = registry.get_parser_class(name)
        assert cls.description, name  # type: ignore[attr-defined]
        assert registry.get_parser(name).name == name
