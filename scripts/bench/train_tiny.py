#!/usr/bin/python3
"""The tiny space-time UNet and its training step in Python torch: the reference side of
benchmarks/bench_train_tiny.cpp. The architecture mirrors methods/backbone/unet.cpp module by module
(same layers, shapes and parameter count), the step mirrors methods/backbone/training.cpp (per-frame
timesteps, eps target, MSE, AdamW, gradient clipping, EMA update).

usage: /usr/bin/python3 scripts/bench/train_tiny.py --config JSON --batch B --frames F --size S
                                                    --steps N --warmup W --threads T
Prints one JSON line: {"steps_per_second": ..., "parameters": ..., "threads": ..., "blas": ...,
"forward_flops": ...}; forward_flops is what torch.profiler (with_flops) counts for one forward of the
batch (convolutions and matrix products), the usual basis of a training step's FLOPs (about 3x).
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as Fn


def timestep_features(t, dim):
    half = dim // 2
    k = torch.arange(half, dtype=torch.float32)
    freqs = torch.exp(k * (-math.log(10000.0) / half))
    args = t.float().reshape(-1, 1) * freqs.reshape(1, -1)
    return torch.cat([torch.cos(args), torch.sin(args)], 1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb_proj = nn.Linear(emb, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, h, emb):
        y = self.conv1(Fn.silu(self.norm1(h)))
        y = y + self.emb_proj(Fn.silu(emb))[:, :, None, None]
        y = self.conv2(Fn.silu(self.norm2(y)))
        return (self.skip(h) if self.skip is not None else h) + y


class SpatialAttention(nn.Module):
    def __init__(self, c, heads, groups):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, h):
        n, c, hh, ww = h.shape
        d = c // self.heads
        qkv = self.qkv(self.norm(h)).reshape(n, 3, self.heads, d, hh * ww)
        q, k, v = qkv[:, 0].transpose(-1, -2), qkv[:, 1], qkv[:, 2].transpose(-1, -2)
        attn = torch.softmax(q @ k * (1.0 / math.sqrt(d)), -1)
        return h + self.proj((attn @ v).transpose(-1, -2).reshape(n, c, hh, ww))


class TemporalAttention(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(c)
        self.to_q = nn.Linear(c, c, bias=False)
        self.to_k = nn.Linear(c, c, bias=False)
        self.to_v = nn.Linear(c, c, bias=False)
        self.to_out = nn.Linear(c, c)

    def forward(self, h, b, f):
        _, c, hh, ww = h.shape
        hw, d, nh = hh * ww, c // self.heads, self.heads
        tokens = h.reshape(b, f, c, hw).permute(0, 3, 1, 2).contiguous()  # [B, HW, F, C]
        x = self.norm(tokens)
        xp = x + timestep_features(torch.arange(f), c)

        def split(y):  # [B, HW, F, C] -> [B*HW*heads, F, d]
            return y.reshape(b * hw, f, nh, d).transpose(1, 2).reshape(b * hw * nh, f, d)

        q, k, v = split(self.to_q(xp)), split(self.to_k(xp)), split(self.to_v(x))
        attn = torch.softmax(torch.bmm(q, k.transpose(1, 2)) * (1.0 / math.sqrt(d)), -1)
        out = torch.bmm(attn, v).reshape(b * hw, nh, f, d).transpose(1, 2).reshape(b, hw, f, c)
        out = self.to_out(out).permute(0, 2, 3, 1)  # [B, F, C, HW]
        return h + out.reshape(b * f, c, hh, ww)


class VideoUNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        levels = len(cfg["channel_mult"])
        ch = [cfg["base_channels"] * m for m in cfg["channel_mult"]]
        pp = cfg["patch"] ** 2
        e, g, heads = cfg["emb_dim"], cfg["groups"], cfg["heads"]
        self.stem = nn.Conv2d(cfg["in_channels"] * pp, cfg["base_channels"], 3, padding=1)
        self.time_fc1 = nn.Linear(cfg["time_features"], e)
        self.time_fc2 = nn.Linear(e, e)
        self.down_blocks, self.down_spatial, self.down_temporal, self.downsamples = (nn.ModuleList() for _ in range(4))
        cin = cfg["base_channels"]
        for l in range(levels):
            self.down_blocks.append(nn.ModuleList(
                [ResBlock(cin if r == 0 else ch[l], ch[l], e, g) for r in range(cfg["res_blocks"])]))
            self.down_spatial.append(SpatialAttention(ch[l], heads, g) if l in cfg["spatial_attention"] else nn.Identity())
            self.down_temporal.append(TemporalAttention(ch[l], heads) if l in cfg["temporal_attention"] else None)
            self.downsamples.append(nn.Conv2d(ch[l], ch[l], 3, stride=2, padding=1) if l + 1 < levels else nn.Identity())
            cin = ch[l]
        self.mid1 = ResBlock(ch[-1], ch[-1], e, g)
        self.mid_spatial = SpatialAttention(ch[-1], heads, g) if cfg["spatial_attention"] else nn.Identity()
        self.temporal_mid = TemporalAttention(ch[-1], heads)
        self.mid2 = ResBlock(ch[-1], ch[-1], e, g)
        self.up_blocks, self.up_spatial, self.up_temporal, self.upsamples = (nn.ModuleList() for _ in range(4))
        for l in range(levels):
            self.up_blocks.append(nn.ModuleList(
                [ResBlock(2 * ch[l] if r == 0 else ch[l], ch[l], e, g) for r in range(cfg["res_blocks"])]))
            self.up_spatial.append(SpatialAttention(ch[l], heads, g) if l in cfg["spatial_attention"] else nn.Identity())
            self.up_temporal.append(TemporalAttention(ch[l], heads) if l in cfg["temporal_attention"] else None)
            self.upsamples.append(nn.Conv2d(ch[l], ch[l - 1], 3, padding=1) if l > 0 else nn.Identity())
        self.out_norm = nn.GroupNorm(g, cfg["base_channels"])
        self.out_conv = nn.Conv2d(cfg["base_channels"], cfg["out_channels"] * pp, 3, padding=1)

    def forward(self, x, t):
        cfg = self.cfg
        B, C, F, H, W = x.shape
        levels = len(cfg["channel_mult"])
        emb = self.time_fc2(Fn.silu(self.time_fc1(timestep_features(t.reshape(-1), cfg["time_features"]))))
        h = x.permute(0, 2, 1, 3, 4).reshape(B * F, C, H, W)
        if cfg["patch"] > 1:
            h = Fn.pixel_unshuffle(h, cfg["patch"])
        h = self.stem(h)
        video = F > 1
        skips = []
        for l in range(levels):
            for block in self.down_blocks[l]:
                h = block(h, emb)
            h = self.down_spatial[l](h)
            if self.down_temporal[l] is not None and video:
                h = self.down_temporal[l](h, B, F)
            skips.append(h)
            h = self.downsamples[l](h)
        h = self.mid1(h, emb)
        h = self.mid_spatial(h)
        if video:
            h = self.temporal_mid(h, B, F)
        h = self.mid2(h, emb)
        for l in reversed(range(levels)):
            h = torch.cat([h, skips[l]], 1)
            for block in self.up_blocks[l]:
                h = block(h, emb)
            h = self.up_spatial[l](h)
            if self.up_temporal[l] is not None and video:
                h = self.up_temporal[l](h, B, F)
            if l > 0:
                h = self.upsamples[l](Fn.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.out_conv(Fn.silu(self.out_norm(h)))
        if cfg["patch"] > 1:
            h = Fn.pixel_shuffle(h, cfg["patch"])
        return h.reshape(B, F, cfg["out_channels"], H, W).permute(0, 2, 1, 3, 4)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = json.loads(a.config)
    model = VideoUNet(cfg)
    ema = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    ac = torch.cumprod(1.0 - torch.linspace(1e-4, 0.02, 1000, dtype=torch.float32).double(), 0).float()
    x0 = torch.rand(64, 3, a.frames, a.size, a.size) * 2 - 1

    def step():
        idx = torch.randint(64, (a.batch,))
        x = x0[idx]
        t = torch.randint(1000, (a.batch, 1)).expand(a.batch, a.frames)
        eps = torch.randn_like(x)
        act = ac[t.reshape(-1)].reshape(a.batch, 1, a.frames, 1, 1)
        xt = act.sqrt() * x + (1 - act).sqrt() * eps
        for p in model.parameters():
            p.grad = None
        loss = Fn.mse_loss(model(xt, t.float()), eps)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema, model.parameters()):
                e.mul_(0.999).add_(p, alpha=0.001)

    for _ in range(a.warmup):
        step()
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    secs = time.perf_counter() - start
    # FLOPs of one forward of the same batch, counted by the profiler (convolutions, matrix products).
    forward_flops = 0
    try:
        from torch.profiler import profile
        x = x0[:a.batch]
        t = torch.zeros(a.batch, a.frames)
        with torch.no_grad(), profile(with_flops=True) as prof:
            model(x, t)
        forward_flops = int(sum(e.flops for e in prof.key_averages() if e.flops))
    except Exception:
        pass
    blas = "unknown"
    try:
        cfgs = torch.__config__.show()
        blas = "openblas" if "BLAS_INFO=open" in cfgs else ("mkl" if "mkl" in cfgs.lower() else "other")
    except Exception:
        pass
    print(json.dumps({"steps_per_second": a.steps / secs, "seconds": secs, "steps": a.steps,
                      "parameters": sum(p.numel() for p in model.parameters()),
                      "threads": torch.get_num_threads(), "blas": blas, "torch": torch.__version__,
                      "forward_flops": forward_flops}))


if __name__ == "__main__":
    main()
