#!/bin/sh
# Install the real tools the test suite drives (no-op when present; needs root and apt).
set -e
need=""
command -v prometheus >/dev/null 2>&1 || need="$need prometheus"
[ -x /lib/systemd/systemd-journal-remote ] || need="$need systemd-journal-remote"
command -v mtail >/dev/null 2>&1 || need="$need mtail"
command -v logger >/dev/null 2>&1 || need="$need bsdutils"
command -v journalctl >/dev/null 2>&1 || need="$need systemd"
# A C compiler for the optional compiled parser module (parsers/_speedups.c), and Python's
# headers when the interpreter has none (Debian's python3 keeps them in python3-dev).
command -v gcc >/dev/null 2>&1 || need="$need gcc libc6-dev"
py="${PYTHON:-python3}"
if ! "$py" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null; then
  need="$need python3-dev"
fi
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need >/dev/null
  else
    echo "missing system tools:$need (tests that need them are skipped outside CI)" >&2
  fi
fi
