"""``logagent grep``: search local files (plain, rotated, gzip/zstd), Loki and CloudWatch Logs.

``search`` is the byte-level engine (whole-buffer searches, line bounds found only around
matches), ``output`` prints selected lines the way GNU grep does, ``fields`` filters parsed
records (``--where``, ``--since``), ``analysis`` aggregates (``--count-by``, ``--histogram``),
``follow`` keeps reading growing files, and ``remote_*`` fetch lines from Loki and CloudWatch.
"""
