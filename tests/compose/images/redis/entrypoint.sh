#!/bin/sh
# As the official image: a redis-server command runs as the redis user with
# protected mode off (it has no password; the container network is the fence).
set -e
if [ "$1" = "redis-server" ]; then
  shift
  chown -R redis:redis /data
  cd /data
  exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no "$@"
fi
exec "$@"
