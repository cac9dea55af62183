#!/usr/bin/env bash
# The end-to-end demo on the embedded defaults: a fresh home with a local SQLite registry, procedural
# art drawn on the spot, registration under licences, a disputed copy, verification, audit.
set -euo pipefail
cd "$(dirname "$0")/.."

export ARTFORGE_HOME="${ARTFORGE_HOME:-$PWD/.artforge-demo/home}"
work="$(dirname "$ARTFORGE_HOME")/images"
rm -rf "$ARTFORGE_HOME" "$work"

step() { printf '\n== %s\n' "$*" >&2; }

step "Create a home, a registry and a signing identity"
artforge init

step "Draw four pieces of art and a disputed copy (cropped, resized, JPEG)"
python examples/make_demo_images.py "$work"

step "Register the art from a pipeline: paths on stdin, JSON out"
ls "$work"/art-[012].png | artforge register - --license CC-BY-NC-4.0 --json \
  | python -c 'import json,sys; [print(w["work_id"][:16], w["title"], w["licence"]) for w in json.load(sys.stdin)["data"]]'

step "Register one more under all rights reserved, then grant a licence on it"
work_id=$(artforge register "$work/art-3.png" --license LicenseRef-All-Rights-Reserved --title "Night study" -q)
echo "$work_id"
artforge license grant "$work_id" --to "Acme Prints Ltd" --terms "posters, up to 500 copies" --until 2027-12-31

step "Verify the disputed copy"
artforge verify "$work/disputed.jpg"

step "Audit every signature and chain in the registry"
artforge audit
