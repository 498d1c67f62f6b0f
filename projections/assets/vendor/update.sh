#!/usr/bin/env bash
# Copies the pinned Chart.js browser build and its licence from the npm package into this folder.
# The built file is committed, so the service, `make test` and CI never need npm; run this only to
# change the version: edit package.json, run `bash projections/assets/vendor/update.sh`, commit the
# changed files, and check the dashboard with tests/projections/test_browser.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$work/"
(cd "$work" && npm install --no-audit --no-fund --ignore-scripts --silent)
cp "$work/node_modules/chart.js/dist/chart.umd.min.js" "$here/chart.umd.min.js"
cp "$work/node_modules/chart.js/LICENSE.md" "$here/chart.js.LICENSE.md"
echo "Chart.js $(node -p "require('$work/node_modules/chart.js/package.json').version") copied to $here"
