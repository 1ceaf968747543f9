#!/usr/bin/env bash
# Starts the local S3 test servers on 127.0.0.1 (free ports) and writes their addresses to
# ${SMP_TEST_ENV:-<build>/test-services.env} for the `s3` tests, the benchmark and e2e tests:
#   SMP_TEST_S3_ENDPOINT     s3rver 3: fast, checks no signatures (general tests, benchmark)
#   SMP_TEST_S3V4_ENDPOINT   @20minutes/s3rver 5: verifies SigV4 (signature/credential tests)
#   SMP_TEST_S3_ACCESS_KEY_ID / SMP_TEST_S3_SECRET_ACCESS_KEY / SMP_TEST_S3_REGION
#     the servers' fixed public test pair (S3RVER/S3RVER), never a real credential
#   SMP_TEST_AWSCLI          Debian's awscli v2, the independent client tests seed/read with
#   SMP_TEST_S3_PID / SMP_TEST_S3V4_PID  the server processes (the benchmark reads their CPU time)
# Data, logs and pid files live in ${SMP_S3_STATE_DIR:-<dir of the env file>/s3-servers}.
# Idempotent: stops servers it started before. Without node/npm it warns and exits 0, and the
# `s3` tests skip saying why.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${SMP_BUILD_DIR:-$root/build}
env_file=${SMP_TEST_ENV:-$build/test-services.env}
state=${SMP_S3_STATE_DIR:-$(dirname "$env_file")/s3-servers}

"$here/stop-servers.sh" >/dev/null 2>&1 || true

if ! command -v node >/dev/null 2>&1; then
  echo "s3/start-servers: node is not installed; the s3 tests will be skipped" >&2
  exit 0
fi
if [ ! -d "$here/node_modules" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

mkdir -p "$state"
rm -rf "$state/data-v3" "$state/data-v4"
mkdir -p "$state/data-v3" "$state/data-v4" "$(dirname "$env_file")"
# Node 17+ needs OpenSSL's legacy provider or s3rver's paginated listings fail with HTTP 500.
export NODE_OPTIONS=--openssl-legacy-provider

start() {  # kind name
  rm -f "$state/$2.port"
  nohup node "$here/serve.js" "$1" "$state/data-$2" "$state/$2.port" >"$state/$2.log" 2>&1 &
  echo $! >"$state/$2.pid"
}
start s3rver v3
start s3rver-v4 v4

wait_port() {  # name → port on stdout
  for _ in $(seq 1 200); do
    if [ -s "$state/$1.port" ]; then cat "$state/$1.port"; return 0; fi
    if ! kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "s3/start-servers: the $1 server did not start; its log:" >&2
  cat "$state/$1.log" >&2
  return 1
}
p3=$(wait_port v3)
p4=$(wait_port v4)

# Both must answer HTTP (any status) before the tests start.
for port in "$p3" "$p4"; do
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
  done
done

awscli=/usr/bin/aws
[ -x "$awscli" ] || awscli=$(command -v aws || true)
tmp="$env_file.tmp.$$"
cat >"$tmp" <<ENV
SMP_TEST_S3_ENDPOINT=http://127.0.0.1:$p3
SMP_TEST_S3V4_ENDPOINT=http://127.0.0.1:$p4
SMP_TEST_S3_ACCESS_KEY_ID=S3RVER
SMP_TEST_S3_SECRET_ACCESS_KEY=S3RVER
SMP_TEST_S3_REGION=us-east-1
SMP_TEST_AWSCLI=$awscli
SMP_TEST_S3_PID=$(cat "$state/v3.pid")
SMP_TEST_S3V4_PID=$(cat "$state/v4.pid")
ENV
# Other parts may add their own lines to the same file: replace only ours.
if [ -f "$env_file" ]; then
  grep -v -E '^SMP_TEST_(S3_|S3V4_|AWSCLI=)' "$env_file" >>"$tmp" || true
fi
mv "$tmp" "$env_file"
echo "s3/start-servers: s3rver on 127.0.0.1:$p3, SigV4-verifying s3rver on 127.0.0.1:$p4 -> $env_file"
