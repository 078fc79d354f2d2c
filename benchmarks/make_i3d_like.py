#!/usr/bin/python3
"""Writes a random-weight TorchScript video extractor with the real I3D's input size and interface, for
benchmarks/bench_extract.cpp: forward(x, rescale, resize, return_features) on [B, 3, 16, 224, 224] clips,
as StyleGAN-V's i3d_torchscript.pt (values in [0, 255] rescaled to [-1, 1], trilinear resize to 224,
400-dimensional features). The layers follow I3D's stem (a 7x7 spatial, stride-2 3-D convolution, spatial
max pooling, 1x1x1 and 3x3x3 convolutions) at fewer channels, about 2 GFLOP per clip, so the benchmark
fits a shared machine; weights are seeded, nothing is downloaded.

Usage: /usr/bin/python3 benchmarks/make_i3d_like.py OUT.pt
"""
import sys

import torch
import torch.nn.functional as F


class I3DLike(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv3d(3, 16, (3, 7, 7), stride=(2, 2, 2), padding=(1, 3, 3))
        self.pool = torch.nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.reduce = torch.nn.Conv3d(16, 32, 1)
        self.mix1 = torch.nn.Conv3d(32, 64, 3, stride=2, padding=1)
        self.mix2 = torch.nn.Conv3d(64, 128, 3, stride=2, padding=1)
        self.logits = torch.nn.Linear(128, 400)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        x = x.float()
        if rescale:
            x = x / 127.5 - 1.0
        if resize:
            x = F.interpolate(x, size=(x.shape[2], 224, 224), mode="trilinear", align_corners=False)
        x = self.pool(F.relu(self.stem(x)))
        x = F.relu(self.reduce(x))
        x = F.relu(self.mix1(x))
        x = F.relu(self.mix2(x))
        features = self.logits(x.mean(dim=(2, 3, 4)))
        if return_features:
            return features
        return features.softmax(dim=1)


def main():
    torch.manual_seed(0)
    module = torch.jit.script(I3DLike().eval())
    module.save(sys.argv[1])


if __name__ == "__main__":
    main()
