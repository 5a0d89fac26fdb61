#!/usr/bin/env bash
# Seeds the reader's fuzz corpus from plnr-samples/ (the corpus itself is not committed).
# Then: cargo +nightly fuzz run reader
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/reader
find ../plnr-samples -name '*.plnr' -exec cp {} corpus/reader/ \;
echo "seeded corpus/reader with $(ls corpus/reader | wc -l) files"
