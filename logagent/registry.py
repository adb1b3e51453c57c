"""Component registry: a ``type`` name -> the dotted path of its config class, imported lazily.

Adding a source or sink = one new module with a config class (a subclass of
``SourceConfig``/``SinkConfig`` whose ``build`` returns the component) and one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

SOURCES: dict[str, str] = {
    "file": "logagent.sources.file.config:FileSourceConfig",
    "journald": "logagent.sources.journald:JournaldSourceConfig",
    "syslog": "logagent.sources.syslog.config:SyslogSourceConfig",
    "docker": "logagent.sources.docker.source:DockerSourceConfig",
    "kubernetes": "logagent.sources.kubernetes:KubernetesSourceConfig",
    "stdin": "logagent.sources.stdin:StdinSourceConfig",
}

SINKS: dict[str, str] = {
    "file": "logagent.sinks.file:FileSinkConfig",
    "stdout": "logagent.sinks.stdout:StdoutSinkConfig",
    "loki": "logagent.sinks.loki.config:LokiSinkConfig",
    "cloudwatch": "logagent.sinks.cloudwatch.config:CloudWatchSinkConfig",
}

#: Extra top-level config sections: name -> "module:function(raw_table, key_prefix) -> typed object".
SECTIONS: dict[str, str] = {
    "parsers": "logagent.parser_config:load_section",
    "metrics": "logagent.logmetrics.config:load_section",
    "tests": "logagent.logmetrics.testcases:load_section",
}


def load_class(target: str) -> Any:
    """Import ``"module:attr"`` and return the attribute."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)
