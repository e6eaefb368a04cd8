#!/bin/sh
# The web UI tests drive Debian's Chromium through Playwright (its own browser download is not
# reachable here, and not needed).
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root to run: $*" >&2; exit 1; fi; }
echo "installing Debian's chromium for the browser tests" >&2
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
