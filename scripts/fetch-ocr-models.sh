#!/usr/bin/env bash
# Fetches the OCR models of `--photo-text` (text inside listing photos) from PyPI:
# PaddleOCR's PP-OCRv4 text detection and recognition models in ONNX form, as the
# wheel `rapidocr-onnxruntime` ships them (Apache-2.0). markhound never downloads
# them itself: this script is the one setup step, run once.
#
#   scripts/fetch-ocr-models.sh [DEST]     (default: target/ocr-models)
#
# DEST then holds det.onnx, rec.onnx, keys.txt (the recogniser's characters, one a
# line, read from the recognition model's `character` metadata) and LICENSE-models.
# markhound looks for them in --ocr-models DIR, else $MARKHOUND_OCR_MODELS, else
# target/ocr-models. Needs python3 with pip; nothing is installed.
set -euo pipefail
version=1.4.4
dest="${1:-target/ocr-models}"
if [ -f "$dest/det.onnx" ] && [ -f "$dest/rec.onnx" ] && [ -s "$dest/keys.txt" ]; then
    echo "OCR models already in $dest"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: \
    "rapidocr-onnxruntime==$version" -d "$tmp"
wheel=$(ls "$tmp"/rapidocr_onnxruntime-"$version"-*.whl)
python3 - "$wheel" "$tmp/w" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    for name in wheel.namelist():
        if name.startswith("rapidocr_onnxruntime/models/"):
            wheel.extract(name, sys.argv[2])
PY
models="$tmp/w/rapidocr_onnxruntime/models"
mkdir -p "$dest"
cp "$models/ch_PP-OCRv4_det_infer.onnx" "$dest/det.onnx"
cp "$models/ch_PP-OCRv4_rec_infer.onnx" "$dest/rec.onnx"
# The recogniser's character list is not a file of the wheel: it is the
# `character` entry of the model's metadata (ModelProto.metadata_props, field 14,
# key/value pairs of fields 1 and 2). Read it with the standard library alone
# rather than install the `onnx` package for one field.
python3 - "$dest/rec.onnx" "$dest/keys.txt" <<'EOF'
import sys

def varint(b, i):
    shift = value = 0
    while True:
        byte = b[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i

def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(b, i)
        elif wire == 1:
            value, i = b[i:i + 8], i + 8
        elif wire == 2:
            size, i = varint(b, i)
            value, i = b[i:i + size], i + size
        elif wire == 5:
            value, i = b[i:i + 4], i + 4
        else:
            sys.exit(f"unexpected protobuf wire type {wire} in {sys.argv[1]}")
        yield number, value

model = open(sys.argv[1], "rb").read()
for number, entry in fields(model):
    if number == 14:
        pair = dict(fields(entry))
        if pair.get(1) == b"character":
            with open(sys.argv[2], "wb") as out:
                out.write(pair[2].rstrip(b"\n") + b"\n")
            break
else:
    sys.exit(f"no character list in the metadata of {sys.argv[1]}")
EOF
cat > "$dest/LICENSE-models" <<EOF
det.onnx and rec.onnx: PaddleOCR PP-OCRv4 (ch_PP-OCRv4_det_infer, ch_PP-OCRv4_rec_infer)
as converted to ONNX and shipped by the PyPI wheel rapidocr-onnxruntime $version,
licensed Apache-2.0 (https://github.com/RapidAI/RapidOCR). keys.txt is the
recognition model's own character list (its \`character\` metadata).
EOF
echo "OCR models (rapidocr-onnxruntime $version) in $dest: $(wc -l <"$dest/keys.txt") characters"
