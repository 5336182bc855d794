#!/usr/bin/env bash
# Install the pinned Supabase CLI (npm package `supabase`) into a prefix, for
# tests/test_supabase_cli.py. Usage: bash tests/supabase_cli/install.sh [PREFIX]
# PREFIX defaults to .cache/supabase-cli at the repository root, where the tests
# look (or set SUPABASE_CLI to the executable). Idempotent: a prefix that already
# holds a working CLI of the pinned version is left as it is.
#
# npm fetches the CLI binary as the platform package @supabase/cli-<os>-<arch>
# (an optional dependency of `supabase`) from the npm registry: nothing is
# downloaded from GitHub. Needs Node.js and npm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(tr -d '[:space:]' < "$here/version.txt")"
prefix="${1:-$(cd "$here/../.." && pwd)/.cache/supabase-cli}"
bin="$prefix/node_modules/.bin/supabase"

# The CLI writes telemetry and an update check under $HOME; keep both out of the way.
export SUPABASE_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

installed() {
    [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "$version" ]
}

if installed; then
    exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install.sh: npm (Node.js) is required" >&2; exit 1; }
mkdir -p "$prefix"
npm install --prefix "$prefix" --save-exact --include=optional --no-audit --no-fund \
    --loglevel=error "supabase@$version"
if ! installed; then
    echo "install.sh: supabase $version did not install a working CLI in $prefix" >&2
    exit 1
fi
echo "supabase $version installed in $prefix"
