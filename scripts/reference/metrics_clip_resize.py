#!/usr/bin/python3
"""Reference geometry of "resize the shorter side to 224, centre crop 224" from torchvision itself.

CLIP's image preprocessing is torchvision's Resize(224) then CenterCrop(224) (and the center-crop FVD
protocol resizes the same way). Resize with an int keeps the aspect ratio and *truncates* the longer
side, int(224 * long / short), and CenterCrop offsets by int(round((size - 224) / 2)) (Python's round,
halves to even). For each input size this script runs both transforms on a tensor whose values are
their own flat index and records what came out: the resized height and width, and the crop's top and
left (read back from the index at the crop's corner), into tests/fixtures/metrics/clip_resize_reference.json.

Run: /usr/bin/python3 scripts/reference/metrics_clip_resize.py   (Debian: python3-torchvision)
"""
import json
import os

import torch
import torchvision
from torchvision import transforms
from torchvision.transforms import InterpolationMode

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "fixtures", "metrics", "clip_resize_reference.json")

# (height, width): landscape and portrait, odd crops (a .5 offset), upscaling, already square.
SIZES = [(240, 320), (320, 240), (480, 640), (64, 64), (32, 48), (225, 300), (227, 401), (256, 341),
         (360, 640), (224, 224), (100, 999), (299, 224)]


def main():
    cases = []
    for h, w in SIZES:
        resized = transforms.Resize(224, interpolation=InterpolationMode.BICUBIC)(torch.zeros(1, h, w))
        rh, rw = resized.shape[-2:]
        index = torch.arange(rh * rw, dtype=torch.float64).reshape(1, rh, rw)
        corner = int(transforms.CenterCrop(224)(index)[0, 0, 0].item())
        cases.append({"height": h, "width": w, "resized_height": int(rh), "resized_width": int(rw),
                      "top": corner // int(rw), "left": corner % int(rw)})
    with open(OUT, "w") as f:
        json.dump({"source": "torchvision " + torchvision.__version__ + ": Resize(224, bicubic), CenterCrop(224)",
                   "size": 224, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
