#!/usr/bin/env bash
# Install the pinned @action-validator/cli (npm) into a prefix, for
# tests/test_workflows.py, which validates every action.yml and workflow with it.
# Usage: bash tests/act/action_validator/install.sh [PREFIX]
# PREFIX defaults to .cache/action-validator at the repository root, where the
# tests look (or set ACTION_VALIDATOR to the executable). Idempotent: a prefix
# that already holds the pinned version is left as it is. Needs Node.js and npm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(tr -d '[:space:]' < "$here/version.txt")"
prefix="${1:-$(cd "$here/../../.." && pwd)/.cache/action-validator}"
bin="$prefix/node_modules/.bin/action-validator"
manifest="$prefix/node_modules/@action-validator/cli/package.json"

installed() {
    [ -x "$bin" ] && [ -f "$manifest" ] \
        && [ "$(node -p "require('$manifest').version" 2>/dev/null)" = "$version" ]
}

if installed; then
    exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install.sh: npm (Node.js) is required" >&2; exit 1; }
mkdir -p "$prefix"
npm install --prefix "$prefix" --save-exact --no-audit --no-fund --loglevel=error \
    "@action-validator/cli@$version"
if ! installed; then
    echo "install.sh: @action-validator/cli $version did not install in $prefix" >&2
    exit 1
fi
echo "@action-validator/cli $version installed in $prefix"
