#!/usr/bin/env bash
# The end-to-end demo on the embedded defaults: a fresh home with a local SQLite registry, procedural
# art drawn on the spot, registration under licences, a disputed copy, verification, a small generator
# trained on built-in data whose images are born registered, audit, and a token minted on the in-process chain.
set -euo pipefail
cd "$(dirname "$0")/.."

export ARTFORGE_HOME="${ARTFORGE_HOME:-$PWD/.artforge-demo/home}"
# Keys are encrypted at rest by default; like any script, the demo gives the passphrase through the
# environment (choose your own; --no-encrypt at init opts out of encryption).
export ARTFORGE_PASSPHRASE="${ARTFORGE_PASSPHRASE:-demo passphrase, not a secret}"
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

step "Verify the disputed copy (and write the report as a page a person can read: open it in a browser)"
artforge verify "$work/disputed.jpg" --diff "$work/disputed.diff.png" --report "$work/disputed.html"
echo "wrote $work/disputed.html"

step "Content Credentials (C2PA) for the granted work, signed by your identity's certificate from this home's CA"
artforge export "$work_id" --c2pa "$work/night-study.c2pa.png" --image "$work/art-3.png"
artforge verify "$work/night-study.c2pa.png" | grep -E "^(verdict|credentials):"

step "Save the log's checkpoint outside the home (a buyer, a court or your backup would keep it)"
artforge log checkpoint --out "$work/checkpoint-kept.txt" --json >/dev/null
echo "saved $work/checkpoint-kept.txt"

step "Train a small prompt-conditioned GAN on the built-in shapes (CPU, about a minute; a real run trains longer)"
ckpt=$(artforge train --model cgan --data builtin:shapes --size 32 --width 16 --steps 1000 \
  --out "$(dirname "$ARTFORGE_HOME")/runs/shapes" --sample-every 100 --checkpoint-every 1000)
echo "$ckpt"

step "Generate from a prompt; every image is born registered"
artforge generate "$ckpt" -n 4 --prompt "red circle on a black background" --out "$work/generated" \
  --grid "$work/generated-grid.png" --register --license CC-BY-4.0 \
  | tee "$work/generated.txt"

step "Verify a generated image: its record names the checkpoint, seed and prompt"
artforge verify "$(head -1 "$work/generated.txt")" --json \
  | python -c 'import json,sys; r=json.loads(sys.stdin.readline())["data"]; g=r["work"]["work"]["origin"]["generator"]; print(r["verdict"], g["family"], "seed", g["seed"], repr(g["prompt"]), "checkpoint", g["checkpoint_sha256"][:16])'

step "Audit every signature, chain, row and the transparency log, which must still extend the kept checkpoint"
artforge audit --against "$work/checkpoint-kept.txt"

step "The log's signed checkpoint, and an evidence bundle for the granted work, checked offline"
artforge log checkpoint
artforge export "$work_id" --bundle "$work/evidence.json"
python -m artforge.verify_bundle "$work/evidence.json" \
  --log-key "$(artforge log checkpoint --json | python -c 'import json,sys; print(json.load(sys.stdin)["data"]["public_key"])')"

step "Mint a token for a generated image (CC-BY-4.0) on the in-process chain: ERC-721 with a 7.5% ERC-2981 royalty"
artforge mint "$(head -1 "$work/generated.txt")" --royalty-bps 750 --json \
  | python -c 'import json,sys; t=json.load(sys.stdin)["data"]; print("token", t["token_id"], "on chain", t["chain_id"], "contract", t["contract"]); print("uri", t["token_uri"]); print("image", "ipfs://" + t["image_cid"]); print("kept in the registry:", t["recorded"], "(the in-process chain ends with the command; see artforge chain up)")'

