#!/usr/bin/env bash
# Checks the tree is formatted as committed: Prettier for the TypeScript and JavaScript
# (.prettierrc.json), clang-format for native/ (.clang-format). With --write, formats
# instead of checking.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t native_files < <(git ls-files 'native/*.cpp' 'native/*.h')
if [ "${1:-}" = "--write" ]; then
  npx prettier --log-level warn --write .
  clang-format -i "${native_files[@]}"
  exit 0
fi
npx prettier --check --log-level warn .
clang-format --dry-run --Werror "${native_files[@]}"
echo "format: prettier and clang-format clean"
