#!/usr/bin/env bash
# README command 1: installs every dependency (apt), builds, and runs the main sample job end to
# end through smp-local, printing where the artifacts, logs and timeline are.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$root"
exec "$root/build/bin/smp-local" run fixtures/jobs/whoami/job.json "$@"
