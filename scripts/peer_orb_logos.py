#!/usr/bin/env python3
"""The classic peer of markhound's logo search: OpenCV ORB features, a ratio test
and a RANSAC homography, run on the set `examples/eval_logos.rs` writes.

    pip install opencv-python-headless
    python3 scripts/peer_orb_logos.py target/eval-logos > results.json

Reads DIR/manifest.json (registered logos and product photos, and the listing
photos with their truth), and prints one JSON object per photo: found (the right
reference reported, with a box overlapping the truth by IoU >= 0.3 for logos),
wrong (another reference reported, or any in a negative) and ms (time to search the
photo, decoding excluded). Each reference is tried in turn, as the classic method
does: its cost grows with the registry.
"""
import json
import sys
import time

import cv2
import numpy as np

RATIO = 0.8
RANSAC_PX = 5.0


def load_reference(path):
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 3 and img.shape[2] == 4:
        # Logos on white, as a logo is usually drawn.
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        img = (img[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def main():
    root = sys.argv[1]
    manifest = json.load(open(f"{root}/manifest.json"))
    min_inliers = manifest["min_inliers"]
    orb = cv2.ORB_create(nfeatures=1000)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    refs = []
    for kind, names in (("logo", manifest["logos"]), ("photo", manifest["products"])):
        for i, name in enumerate(names):
            grey = load_reference(f"{root}/{name}")
            kps, desc = orb.detectAndCompute(grey, None)
            refs.append((kind, i, grey.shape, kps, desc))
    out = []
    for photo in manifest["photos"]:
        img = cv2.imread(f"{root}/{photo['file']}", cv2.IMREAD_GRAYSCALE)
        started = time.perf_counter()
        kps, desc = orb.detectAndCompute(img, None)
        crop = photo["family"].startswith("crop")
        hits = []
        for kind, i, shape, rkps, rdesc in refs:
            if (kind == "photo") != crop or desc is None or rdesc is None or len(rdesc) < 2:
                continue
            pairs = matcher.knnMatch(rdesc, desc, k=2)
            good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
            if len(good) < min_inliers:
                continue
            src = np.float32([rkps[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
            dst = np.float32([kps[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
            h, mask = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PX)
            if h is None or int(mask.sum()) < min_inliers:
                continue
            hh, ww = shape
            corners = cv2.perspectiveTransform(
                np.float32([[0, 0], [ww, 0], [0, hh], [ww, hh]]).reshape(-1, 1, 2), h
            ).reshape(-1, 2)
            x0, y0 = corners.min(axis=0)
            x1, y1 = corners.max(axis=0)
            hits.append((i, [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]))
        ms = (time.perf_counter() - started) * 1000.0
        found = False
        wrong = False
        for i, box in hits:
            ok = i == photo["truth"] and (photo["bbox"] is None or iou(photo["bbox"], box) >= 0.3)
            found |= ok
            wrong |= not ok
        out.append({"file": photo["file"], "family": photo["family"], "found": found, "wrong": wrong, "ms": ms})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
