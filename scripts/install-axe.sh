#!/bin/sh
# axe-core (the accessibility engine) for the browser tests of the readers' site: the npm package,
# installed into .browser/ (git-ignored), with Debian's node and npm if they are missing.
set -eu
target=.browser
if [ -f "$target/node_modules/axe-core/axe.min.js" ]; then exit 0; fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root to run: $*" >&2; exit 1; fi; }
if ! command -v npm >/dev/null; then
  echo "installing Debian's nodejs and npm for axe-core" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
mkdir -p "$target"
[ -f "$target/package.json" ] || echo '{"private": true}' > "$target/package.json"
npm install --prefix "$target" --no-audit --no-fund --loglevel=error "axe-core@^4.10"
