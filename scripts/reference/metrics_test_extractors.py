#!/usr/bin/python3
"""Small TorchScript modules with the standard extractor interfaces, for vdlab's extractor tests.

Scripted with Debian's python3-torch; written to tests/fixtures/metrics/extractors/. They are not
feature networks of any value: deterministic functions of their input with the real files' signatures
and output layout ([N, D] features: 256 here where Inception has 2048, to keep the tests fast; I3D: 400;
CLIP: 512-d embeddings), so the loading,
interface checks, hashing, preprocessing and statistics paths run without the third-party weights.
Their projection matrices are computed inside forward from fixed formulas, so the files stay a few KB.

  image_extractor.pt     forward(img, return_features=False, use_fp16=False, no_output_bias=False)
  image_extractor_b.pt   the same interface, different projection (a "changed extractor")
  video_extractor.pt     forward(x, rescale=False, resize=False, return_features=False)
  clip_extractor.pt      encode_image(image), encode_text(text)
  wrong_interface.pt     forward(x) only

Run: /usr/bin/python3 scripts/reference/metrics_test_extractors.py
"""
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "metrics", "extractors")


def projection(rows: int, cols: int, phase: float) -> torch.Tensor:
    i = torch.arange(rows, dtype=torch.float32).unsqueeze(1)
    j = torch.arange(cols, dtype=torch.float32).unsqueeze(0)
    return torch.sin(i * 0.37 + j * 1.13 + phase) / float(rows) ** 0.5


class ImageExtractor(torch.nn.Module):
    def __init__(self, phase: float):
        super().__init__()
        self.phase = phase

    def forward(self, img: torch.Tensor, return_features: bool = False, use_fp16: bool = False,
                no_output_bias: bool = False) -> torch.Tensor:
        x = img.to(torch.float32) / 255.0
        x = F.interpolate(x, size=[8, 8], mode="bilinear", align_corners=False)  # any input size
        x = x.reshape(x.shape[0], 192)
        f = torch.tanh(x @ projection(192, 256, self.phase)) * 4.0
        if return_features:
            return f
        return f[:, :100]


class VideoExtractor(torch.nn.Module):
    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        v = x.to(torch.float32)
        if rescale:
            v = v / 127.5 - 1.0
        b, c, t, h, w = v.shape
        v = v.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        if resize:
            v = F.interpolate(v, size=[16, 16], mode="bilinear", align_corners=False)
        else:
            v = F.adaptive_avg_pool2d(v, [16, 16])
        v = F.adaptive_avg_pool2d(v, [4, 4]).reshape(b, t, 48)
        motion = (v[:, 1:] - v[:, :-1]).abs().mean(1) if t > 1 else torch.zeros_like(v[:, 0])
        feats = torch.cat([v.mean(1), motion], 1)
        out = torch.tanh(feats @ projection(96, 400, 0.5)) * 3.0
        return out if return_features else out.softmax(1)


class ClipExtractor(torch.nn.Module):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.encode_image(image)

    @torch.jit.export
    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(image.to(torch.float32), [8, 8]).reshape(image.shape[0], 192)
        return x @ projection(192, 512, 0.25) + 0.1

    @torch.jit.export
    def encode_text(self, text: torch.Tensor) -> torch.Tensor:
        t = text.to(torch.float32)
        mask = (text > 0).to(torch.float32)
        x = torch.cat([torch.cos(t * 0.001).mul(mask).sum(1, keepdim=True),
                       torch.sin(t * 0.003).mul(mask).sum(1, keepdim=True),
                       mask.sum(1, keepdim=True)], 1)
        return x @ projection(3, 512, 0.75) + 0.1


class WrongInterface(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2.0


def main():
    os.makedirs(OUT, exist_ok=True)
    modules = {
        "image_extractor.pt": ImageExtractor(0.0),
        "image_extractor_b.pt": ImageExtractor(1.0),
        "video_extractor.pt": VideoExtractor(),
        "clip_extractor.pt": ClipExtractor(),
        "wrong_interface.pt": WrongInterface(),
    }
    for name, module in modules.items():
        path = os.path.join(OUT, name)
        torch.jit.script(module.eval()).save(path)
        print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
