"""The file source: discovery by glob, identity by content fingerprint, tailing through rotation.

Modules: ``config`` (options), ``discovery`` (globs, excludes, directories to watch),
``fingerprint`` (file identity), ``watcher`` (inotify wake-ups via watchdog), ``reader`` (one
tracked file: reading, line splitting, flags), ``source`` (the lifecycle of all tracked files).
"""
