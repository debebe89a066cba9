#!/usr/bin/env bash
# Runs all 300 mutated fixtures through the transcoder (the suite transcodes 24 by default).
set -euo pipefail
cd "$(dirname "$0")/.."
VIDD_MUTATION_TRANSCODES="${1:-300}" swift test --filter "MutationTests"
