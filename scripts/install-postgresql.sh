#!/bin/sh
# The PostgreSQL tests start a throwaway server of their own (initdb and pg_ctl in a temporary
# folder, see tests/pg.py): they need Debian's server programs, not a running service.
set -eu
if command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  exit 0
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root to run: $*" >&2; exit 1; fi; }
echo "installing Debian's postgresql for the PostgreSQL tests" >&2
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
