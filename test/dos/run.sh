#!/usr/bin/env bash
# `npm run test:dos`: the heavy abuse scenarios (DESIGN §10), printing their figures.
# slowhttptest is found or installed by the vitest global setup (test/support/dos-setup.ts). File
# descriptors for 2,000 idle sockets in both the test and the server process: raised here to 8192 if lower.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then ulimit -n 8192; fi
# The servers under test run as child processes from the built packages.
npx tsc -b
exec npx vitest run --config vitest.dos.config.ts "$@"
