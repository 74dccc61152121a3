#!/usr/bin/env bash
# Nightly fuzzing of every reader (IDX, safetensors, .dsz, .dsz runtime load, YAML recipes, ONNX import, image folders): N mutants
# per reader (default 10000), deterministic for a seed. Reports per reader: mutants, accepted, rejected,
# findings (crashes = undocumented exception types or multi-line messages, hangs, slow reads, allocations
# above the bound). Findings are saved under $FINDINGS/<reader>/ - copy small ones to
# tests/DeepShrink.Fuzz.Tests/Regressions/<reader>/ once fixed. Exit code: 0 when there were no findings.
#
#   scripts/fuzz.sh [MUTANTS] [SEED]
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export DEEPSHRINK_FUZZ_MUTANTS="${1:-10000}" DEEPSHRINK_FUZZ_SEED="${2:-17}"
export DEEPSHRINK_FUZZ_FINDINGS="${DEEPSHRINK_FUZZ_FINDINGS:-$ROOT/.cache/fuzz-findings}"
export DEEPSHRINK_FUZZ_REPORT="$(mktemp)"
mkdir -p "$DEEPSHRINK_FUZZ_FINDINGS"
echo "fuzz.sh: $DEEPSHRINK_FUZZ_MUTANTS mutants per reader, seed $DEEPSHRINK_FUZZ_SEED, findings in $DEEPSHRINK_FUZZ_FINDINGS"
start=$(date +%s)
# A hang inside one read is caught by the runner's watchdog; this outer limit catches anything else.
timeout 3h dotnet test "$ROOT/tests/DeepShrink.Fuzz.Tests/DeepShrink.Fuzz.Tests.csproj" -c Release --nologo \
  --filter "FullyQualifiedName~MutantsAreRejectedCleanly" >/dev/null 2>&1
rc=$?
echo "fuzz.sh: finished in $(( $(date +%s) - start )) s (dotnet test exit code $rc)"
grep -E '^fuzz ' "$DEEPSHRINK_FUZZ_REPORT" || echo "fuzz.sh: no report lines (build failure or a hang beyond the watchdog?)"
findings=$(grep -vcE '^fuzz ' "$DEEPSHRINK_FUZZ_REPORT")
[[ $findings -gt 0 ]] && grep -vE '^fuzz ' "$DEEPSHRINK_FUZZ_REPORT" | head -50
rm -f "$DEEPSHRINK_FUZZ_REPORT"
if [[ $rc -eq 0 && $findings -eq 0 ]]; then echo "fuzz.sh: zero findings"; exit 0; fi
echo "fuzz.sh: $findings findings" >&2
exit 1
