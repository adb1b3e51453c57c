#!/bin/sh
# Install the real tools the test suite drives (no-op when present; needs root and apt).
set -e
need=""
command -v prometheus >/dev/null 2>&1 || need="$need prometheus"
[ -x /lib/systemd/systemd-journal-remote ] || need="$need systemd-journal-remote"
command -v mtail >/dev/null 2>&1 || need="$need mtail"
command -v logger >/dev/null 2>&1 || need="$need bsdutils"
command -v journalctl >/dev/null 2>&1 || need="$need systemd"
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
