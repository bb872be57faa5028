#!/usr/bin/env bash
# CPU per product-page check on real pages, against the release binary
# (issue 17): the captured pages of monitor/tests/fixtures/pages and
# fixtures/product-pages served on loopback, each a "page" source
# checked every second; once with every page byte for byte the same at each
# fetch (targets: <= 1.3 ms), once with bytes changing at every fetch
# (<= 3 ms). Net of the server's idle CPU. loadgen/src/bin/pages.rs.
#   scripts/bench-pages.sh            (DW_PAGES_SECS=30 per phase)
# The in-process variant over 1,000 demo pages: cargo bench ... -- page_check
# (monitor/benches/page_check.rs; builds SurrealDB once more in release).
set -euo pipefail
exec "$(dirname "$0")/loadgen.sh" pages
