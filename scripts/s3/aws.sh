#!/usr/bin/env bash
# Runs Debian's awscli against a local test server with the test credentials, for seeding and
# checking from scripts:  scripts/s3/aws.sh [--v4] s3 cp ./dir s3://bucket/prefix/ --recursive
# Reads ${SMP_TEST_ENV:-<build>/test-services.env} written by start-servers.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
env_file=${SMP_TEST_ENV:-${SMP_BUILD_DIR:-$root/build}/test-services.env}
[ -f "$env_file" ] || { echo "aws.sh: $env_file not found; run scripts/s3/start-servers.sh first" >&2; exit 2; }
set -a; . "$env_file"; set +a
endpoint=$SMP_TEST_S3_ENDPOINT
if [ "${1:-}" = "--v4" ]; then endpoint=$SMP_TEST_S3V4_ENDPOINT; shift; fi
export AWS_ACCESS_KEY_ID=$SMP_TEST_S3_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$SMP_TEST_S3_SECRET_ACCESS_KEY
export AWS_DEFAULT_REGION=$SMP_TEST_S3_REGION AWS_PAGER= AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
exec "$SMP_TEST_AWSCLI" --endpoint-url "$endpoint" "$@"
