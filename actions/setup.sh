#!/usr/bin/env bash
# Install dragonfly_ci from this action repository's own files (the ref the
# consumer pinned) into a virtual environment, and reuse it when it is there.
#
# Called by actions/setup/action.yml and by every gate action's first step.
# Reads (all optional):
#   DRAGONFLY_ACTION_REF   the ref the consumer pinned (github.action_ref); part of the cache key
#   DRAGONFLY_CI_CACHE     where the environments live (default: $RUNNER_TEMP/dragonfly-ci)
#   DRAGONFLY_ADD_TO_PATH  "true": put the environment's bin/ on $GITHUB_PATH for later steps
# Writes step outputs python, dragonfly-ci, version, cache-hit. Uses the runner's
# python3 (3.10 or newer), or the one actions/setup-python put first on PATH.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

fail() {
    echo "::error title=dragonfly-ci setup::$1"
    exit 2
}

python="$(command -v python3 || true)"
[ -n "$python" ] || fail "python3 was not found on PATH; use a runner with Python 3.10 or newer, or set the action's python-version input"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || fail "dragonfly-ci needs Python 3.10 or newer; $python is $("$python" -V 2>&1); set the action's python-version input"
python_version="$("$python" -c 'import platform; print(platform.python_version())')"

# The key names the ref and the interpreter; the stamp inside also holds a hash
# of the package's files, so a moved tag (v1) or an edited working tree never
# reuses an environment built from other code.
ref="${DRAGONFLY_ACTION_REF:-}"
ref="${ref:-local}"
key="$(printf '%s' "$ref" | tr -c 'A-Za-z0-9._-' '_')-py${python_version}"
source_hash="$(cd "$root" && find pyproject.toml dragonfly_ci -type f ! -name '*.pyc' -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-32)"

cache="${DRAGONFLY_CI_CACHE:-}"
if [ -z "$cache" ]; then
    [ -n "${RUNNER_TEMP:-}" ] || fail "neither DRAGONFLY_CI_CACHE nor RUNNER_TEMP is set"
    cache="$RUNNER_TEMP/dragonfly-ci"
fi
venv="$cache/$key"
stamp="$venv/.dragonfly-ci-source"
mkdir -p "$cache"

# One installer at a time per cache (parallel jobs on one self-hosted runner).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache/.lock"
    flock 9
fi

if [ -x "$venv/bin/dragonfly-ci" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$source_hash" ]; then
    hit=true
else
    hit=false
    rm -rf "$venv"
    started=$SECONDS
    "$python" -m venv "$venv" || fail "could not create a virtual environment with $python (on Debian and Ubuntu: apt-get install python3-venv)"
    # Build from a copy so nothing is written into the action's own checkout.
    build="$(mktemp -d)"
    trap 'rm -rf "$build"' EXIT
    cp -R "$root/pyproject.toml" "$root/README.md" "$root/dragonfly_ci" "$build/"
    find "$build" -name __pycache__ -prune -exec rm -rf {} +
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet "$build" \
        || fail "pip could not install dragonfly-ci from $root"
    printf '%s\n' "$source_hash" > "$stamp"
    echo "installed in $((SECONDS - started)) s"
fi
command -v flock >/dev/null 2>&1 && flock -u 9

version="$("$venv/bin/dragonfly-ci" --version)"
echo "$version, Python $python_version, ref $ref, cache hit: $hit ($venv)"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    {
        echo "python=$venv/bin/python"
        echo "dragonfly-ci=$venv/bin/dragonfly-ci"
        echo "version=${version#dragonfly-ci }"
        echo "cache-hit=$hit"
    } >> "$GITHUB_OUTPUT"
fi
if [ "${DRAGONFLY_ADD_TO_PATH:-false}" = "true" ] && [ -n "${GITHUB_PATH:-}" ]; then
    echo "$venv/bin" >> "$GITHUB_PATH"
fi
