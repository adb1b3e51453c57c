"""Configuration: TOML parsed once into frozen, validated objects.

``load_config(path)`` is the only entry point; every component gets its typed config object and
never sees the raw TOML. Component config classes live beside their component and are found
through :mod:`logagent.registry` by their ``type`` key.
"""

from logagent.config.loader import default_config_path, load_config, load_config_text
from logagent.config.model import AgentSection, Config, SinkConfig, SourceConfig, StrictModel

__all__ = [
    "AgentSection",
    "Config",
    "SinkConfig",
    "SourceConfig",
    "StrictModel",
    "default_config_path",
    "load_config",
    "load_config_text",
]
