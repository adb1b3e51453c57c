"""Container log sources built on the file source: Docker's json-file driver and CRI (Kubernetes).

Modules: ``rfc3339`` (fast timestamp parsing), ``joiner`` (the shared base: a file source that
decodes a container log format per batch and rejoins messages the runtime split, without ever
checkpointing past a held piece), ``metadata`` (``config.v2.json`` and container selection),
``source`` (``type = "docker"``). ``type = "kubernetes"`` lives in :mod:`logagent.sources.kubernetes`.
"""
