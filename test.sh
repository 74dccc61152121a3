#!/usr/bin/env bash
# Runs the whole DeepShrink test suite (Release). Installs the Fashion-MNIST Debian package first
# when it is missing and this user can (root + apt-get); tests that need it fail clearly otherwise.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if [[ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing dataset-fashion-mnist..."
    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist
  else
    echo "test.sh: Fashion-MNIST is missing; install it with: sudo apt-get install dataset-fashion-mnist" >&2
  fi
fi

LOG="$(mktemp)"
dotnet test "$ROOT/DeepShrink.slnx" -c Release --nologo "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
# One summary line over all test assemblies: "N passed, N failed, N skipped".
awk '/^(Passed!|Failed!) +- +Failed:/ {
        for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1));
          if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$LOG"
rm -f "$LOG"
dotnet build-server shutdown >/dev/null 2>&1 || true
exit $rc
