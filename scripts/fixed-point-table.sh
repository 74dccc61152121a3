#!/usr/bin/env bash
# Fixed-point training table (Gupta et al., ICML 2015): LeNet-300-100 trained from scratch on
# Fashion-MNIST with weights, layer inputs and gradients in fixed point of word length 16, 12 and 8
# bits, rounding to nearest vs stochastically, next to a float baseline trained the same way.
#
#   scripts/fixed-point-table.sh [EPOCHS] [DIR]        (defaults: 3 epochs, /tmp/deepshrink-fixed)
#
# Formats for word length W: weights and biases <W, W-2> (range [-2, 2)), layer inputs <W, W-5>
# (range [-16, 16)), gradients <W, W+2> (range [-1/8, 1/8)). Each run is `deepshrink compress` of an
# untrained checkpoint with a generated fixed-point recipe (plain SGD, lr 0.05, cosine decay).
# The float baseline is the same recipe shape with 32-bit words and 24/20/30 fraction bits, rounding
# to nearest (numerically close to float32 for these weight ranges). Prints a Markdown table.
set -euo pipefail
EPOCHS="${1:-3}"
DIR="${2:-/tmp/deepshrink-fixed}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DS="$ROOT/deepshrink"
mkdir -p "$DIR"

[[ -f "$DIR/init.safetensors" ]] || "$DS" train --model lenet-300-100 --epochs 0 --seed 7 --out "$DIR/init.safetensors" > "$DIR/init.log"

recipe() { # word wfrac afrac gfrac rounding
  cat <<YAML
version: 1
name: fixed-$1-$5
training: {optimizer: sgd, lr: 0.05, momentum: 0.0, batch_size: 64}
components:
  fixed:
    type: fixed-point
    word_bits: $1
    fraction_bits: $2
    activations: true
    activation_fraction_bits: $3
    gradients: true
    gradient_fraction_bits: $4
    rounding: $5
policies:
  - component: fixed
    start_epoch: 0
    end_epoch: $EPOCHS
YAML
}

run() { # label word wfrac afrac gfrac rounding
  local label="$1"; shift
  recipe "$@" > "$DIR/$label.yaml"
  [[ -f "$DIR/$label.json" ]] || "$DS" compress --model "$DIR/init.safetensors" --recipe "$DIR/$label.yaml" \
      --out "$DIR/$label.dsz" --json "$DIR/$label.json" > "$DIR/$label.log"
  python3 -c "import json,sys; print(round(100*json.load(open(sys.argv[1]))['compressed_accuracy'], 2))" "$DIR/$label.json"
}

float=$(run float 32 24 20 30 nearest)
echo "LeNet-300-100, Fashion-MNIST test accuracy (%) after $EPOCHS epochs of training from scratch (seed 7)"
echo
echo "| word length | round to nearest | stochastic rounding |"
echo "|---|---|---|"
for w in 16 12 8; do
  n=$(run "w$w-nearest" $w $((w - 2)) $((w - 5)) $((w + 2)) nearest)
  s=$(run "w$w-stochastic" $w $((w - 2)) $((w - 5)) $((w + 2)) stochastic)
  echo "| $w | $n | $s |"
done
echo "| 32 (≈ float) | $float | |"
