#!/usr/bin/env bash
# Stops the local S3 test servers that start-servers.sh started (by their pid files) and
# removes their lines from the env file, so later test runs skip instead of failing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${SMP_BUILD_DIR:-$root/build}
env_file=${SMP_TEST_ENV:-$build/test-services.env}
state=${SMP_S3_STATE_DIR:-$(dirname "$env_file")/s3-servers}

for name in v3 v4; do
  pidfile="$state/$name.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile" "$state/$name.port"
done
if [ -f "$env_file" ]; then
  grep -v -E '^SMP_TEST_(S3_|S3V4_|AWSCLI=)' "$env_file" >"$env_file.tmp.$$" || true
  if [ -s "$env_file.tmp.$$" ]; then mv "$env_file.tmp.$$" "$env_file"; else rm -f "$env_file.tmp.$$" "$env_file"; fi
fi
