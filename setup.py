"""Build hook for the optional compiled fast paths (everything else is in pyproject.toml).

``parsers._speedups`` is optional: without a C compiler, or with ``LOGAGENT_NO_EXTENSIONS=1`` in
the environment, the package installs without it and the parsers use their pure-Python paths
(same results, slower). ``logagent parsers`` says which one is in use.
"""

import os

from setuptools import Extension, setup

ext_modules = []
if not os.environ.get("LOGAGENT_NO_EXTENSIONS"):
    ext_modules.append(
        Extension(
            "parsers._speedups",
            sources=["parsers/_speedups.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
        )
    )

setup(ext_modules=ext_modules)
