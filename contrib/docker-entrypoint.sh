#!/bin/sh
# First start: put the shipped feeds.yaml on the volume, so the editor can change it there.
set -e
if [ ! -f /data/feeds.yaml ]; then
  cp /app/feeds.yaml /data/feeds.yaml
fi
exec "$@"
