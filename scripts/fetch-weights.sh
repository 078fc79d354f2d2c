#!/usr/bin/env bash
# Downloads the third-party metric extractors into a weights folder (on a machine with internet), checks
# their SHA-256, and records every file's SHA-256 in <dir>/SHA256SUMS. vdlab records the SHA-256 of the
# file it used with every metric value, so values from different files are never mixed.
#
#   scripts/fetch-weights.sh [DIR]        DIR defaults to $VDLAB_WEIGHTS, else ~/.cache/vdlab/weights
#
# Files (names as vdlab looks for them in the weights folder):
#   inception-2015-12-05.pt        FID (StyleGAN2-ADA / StyleGAN3 / clean-fid legacy TorchScript Inception)
#   i3d_torchscript.pt             FVD (StyleGAN-V's TorchScript port of the TF-Hub I3D)
#   ViT-B-32.pt                    CLIP-SIM, FC: OpenAI's released JIT archive (CUDA and fp16 inside; run
#                                  scripts/export_clip.py to get clip-vit-b32.pt, fp32 and device-free)
#   bpe_simple_vocab_16e6.txt.gz   CLIP's tokenizer vocabulary
#
# Checksums: OpenAI publishes the SHA-256 of ViT-B-32.pt in its download URL (and checks it in clip.py);
# that value is pinned below. NVIDIA and the StyleGAN-V authors publish none for their files, so for those
# the script pins nothing and prints the SHA-256 it got: compare it with a colleague's SHA256SUMS (every
# vdlab result carries it too) before trusting a new download. Set VDLAB_SHA256_<NAME> (dots and dashes as
# underscores, e.g. VDLAB_SHA256_i3d_torchscript_pt) to pin a value of your own.
set -euo pipefail

dir="${1:-${VDLAB_WEIGHTS:-${VDLAB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vdlab}/weights}}"
mkdir -p "$dir"

clip_sha=40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af
files=(
  "inception-2015-12-05.pt|https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt|"
  "i3d_torchscript.pt|https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1|"
  "ViT-B-32.pt|https://openaipublic.azureedge.net/clip/models/${clip_sha}/ViT-B-32.pt|${clip_sha}"
  "bpe_simple_vocab_16e6.txt.gz|https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz|"
)

fetch() {
  local url="$1" out="$2"
  if command -v curl >/dev/null; then curl -fL --retry 3 -o "$out" "$url"
  elif command -v wget >/dev/null; then wget -q -O "$out" "$url"
  else echo "fetch-weights: needs curl or wget" >&2; exit 1; fi
}

status=0
: > "$dir/SHA256SUMS.new"
for entry in "${files[@]}"; do
  IFS='|' read -r name url pinned <<<"$entry"
  var="VDLAB_SHA256_$(echo "$name" | tr '.-' '__')"
  pinned="${!var:-$pinned}"
  target="$dir/$name"
  if [ ! -s "$target" ]; then
    echo "fetch-weights: downloading $name"
    fetch "$url" "$target.part"
    mv "$target.part" "$target"
  fi
  got=$(sha256sum "$target" | cut -d' ' -f1)
  if [ -n "$pinned" ] && [ "$got" != "$pinned" ]; then
    echo "fetch-weights: $name: SHA-256 $got does not match the pinned $pinned; moved to $target.bad" >&2
    mv "$target" "$target.bad"
    status=1
    continue
  fi
  echo "$got  $name" >> "$dir/SHA256SUMS.new"
  echo "fetch-weights: $name sha256 $got${pinned:+ (matches the pinned value)}"
done
mv "$dir/SHA256SUMS.new" "$dir/SHA256SUMS"

if [ -s "$dir/ViT-B-32.pt" ] && [ ! -s "$dir/clip-vit-b32.pt" ]; then
  echo "fetch-weights: exporting an fp32 device-free CLIP module (needs python3 with torch and the clip package)"
  /usr/bin/python3 "$(dirname "$0")/export_clip.py" --jit "$dir/ViT-B-32.pt" --out "$dir/clip-vit-b32.pt" ||
    echo "fetch-weights: export failed; vdlab falls back to ViT-B-32.pt, which needs CUDA" >&2
fi
echo "fetch-weights: weights in $dir (pass --weights $dir or set VDLAB_WEIGHTS)"
exit $status
