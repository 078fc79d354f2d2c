#!/usr/bin/python3
"""Exports CLIP ViT-B/32 as an fp32, device-free TorchScript module for vdlab's clip_sim and fc metrics.

OpenAI's released ViT-B-32.pt is a JIT archive with CUDA devices and fp16 casts baked into its graphs, so
LibTorch on a CPU cannot run it. This script rebuilds the model from that archive's weights with the
public `clip` package (https://github.com/openai/CLIP; `pip install git+https://github.com/openai/CLIP`),
casts it to float32 and traces the two methods vdlab calls:

    encode_image(Tensor[N, 3, 224, 224] float32, CLIP-normalised) -> Tensor[N, 512]
    encode_text(Tensor[N, 77] int64)                             -> Tensor[N, 512]

(forward is encode_image). The result loads with torch::jit::load on any device.

Usage: /usr/bin/python3 scripts/export_clip.py [--jit ViT-B-32.pt] --out WEIGHTS/clip-vit-b32.pt
Without --jit the `clip` package downloads ViT-B/32 itself (its SHA-256 is checked by the package).
"""
import argparse
import hashlib
import os
import sys

import torch


class ClipForVdlab(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image):
        return self.model.encode_image(image)

    def encode_image(self, image):
        return self.model.encode_image(image)

    def encode_text(self, text):
        return self.model.encode_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jit", default="ViT-B/32", help="path of ViT-B-32.pt, or a model name for clip.load")
    parser.add_argument("--out", required=True, help="where to write the TorchScript module")
    args = parser.parse_args()
    try:
        import clip
    except ImportError:
        sys.exit("export_clip: needs the `clip` package (pip install git+https://github.com/openai/CLIP)")

    model, _ = clip.load(args.jit, device="cpu", jit=False)  # rebuilds nn.Modules from the weights
    model = model.float().eval()
    wrapper = ClipForVdlab(model).eval()
    image = torch.randn(2, 3, 224, 224)
    text = clip.tokenize(["a diagram", "a red square moving to the right"])
    with torch.no_grad():
        traced = torch.jit.trace_module(wrapper, {"forward": image, "encode_image": image, "encode_text": text})
        # The traced module must agree with the eager one, on another batch size too.
        image3 = torch.randn(3, 3, 224, 224)
        text3 = clip.tokenize(["a dog", "a cat", "two birds flying over a lake"])
        for got, want in [(traced.encode_image(image3), model.encode_image(image3)),
                          (traced.encode_text(text3), model.encode_text(text3))]:
            if got.shape != want.shape or not torch.allclose(got, want, atol=1e-4, rtol=1e-4):
                sys.exit("export_clip: the traced module disagrees with the eager model")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".part"
    traced.save(tmp)
    os.replace(tmp, args.out)
    digest = hashlib.sha256(open(args.out, "rb").read()).hexdigest()
    print(f"export_clip: wrote {args.out} (sha256 {digest})")


if __name__ == "__main__":
    main()
