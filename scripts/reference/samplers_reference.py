#!/usr/bin/python3
"""Float64 transcription of the reference samplers (METHODS.md section 1), written from the formulas.

Writes tests/fixtures/samplers/reference.json: the beta schedules' alphas_cumprod tables and, for a grid
of sampler settings, the endpoint of each sampler run on a small nonlinear elementwise test denoiser.
The C++ samplers run the same cases in float64 and must agree elementwise to 1e-6 relative
(tests/methods/sampler_oracle_test.cpp). Also prints the public reference values of METHODS.md 1.5.

Conventions, the same as vdlab's samplers:
- betas in float32 as diffusers builds them (torch.linspace in float32; the cosine schedule in double,
  rounded); alphas_cumprod accumulated in double and rounded to float32 per entry (torch's CPU cumprod);
  everything after that in float64 (sigma tables included, where diffusers keeps float32).
- the step noise of the stochastic samplers (DDPM, DDIM with eta > 0) is the fixed pattern
  step_noise(i, k) below, so both sides see the same draws.

Run: /usr/bin/python3 scripts/reference/samplers_reference.py [--out PATH]
"""
import argparse
import json
import math
import os

import numpy as np

np.seterr(divide="ignore", invalid="ignore")  # h = 0 at a Karras last step: inf and nan as torch gives them
import torch  # only for the float32 betas, exactly as diffusers makes them

T = 1000


# ----------------------------------------------------------------------------------------- schedules
def make_schedule(kind="linear", beta_start=0.0001, beta_end=0.02, n=T):
    if kind == "linear":
        betas = torch.linspace(beta_start, beta_end, n, dtype=torch.float32).numpy()
    elif kind == "scaled_linear":
        betas = (torch.linspace(beta_start ** 0.5, beta_end ** 0.5, n, dtype=torch.float32) ** 2).numpy()
    elif kind == "squaredcos_cap_v2":
        abar = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
        betas = np.array([min(1 - abar((i + 1) / n) / abar(i / n), 0.999) for i in range(n)], dtype=np.float32)
    else:
        raise ValueError(kind)
    alphas = (np.float32(1.0) - betas).astype(np.float32)
    ac = np.cumprod(alphas.astype(np.float64)).astype(np.float32).astype(np.float64)
    return betas.astype(np.float64), ac


def sigma_table(ac):
    return np.sqrt((1.0 - ac) / ac)


def interp(t, table):
    """np.interp on the integer grid 0..T-1."""
    return float(np.interp(t, np.arange(len(table), dtype=np.float64), table))


# ------------------------------------------------------------------------------------------ spacing
def multistep_timesteps(n, spacing, offset, ntrain=T):
    """UniPC and DPM-Solver: N timesteps from N + 1 points, the last dropped."""
    if spacing == "linspace":
        ts = np.linspace(0, ntrain - 1, n + 1).round()[::-1][:-1]
    elif spacing == "leading":
        ratio = ntrain // (n + 1)
        ts = (np.arange(0, n + 1) * ratio).round()[::-1][:-1] + offset
    elif spacing == "trailing":
        ts = np.arange(ntrain, 0, -ntrain / n).round() - 1
    else:
        raise ValueError(spacing)
    return [int(t) for t in ts]


def ddim_timesteps(n, spacing, offset, ntrain=T):
    """DDIM and DDPM: N points."""
    if spacing == "linspace":
        ts = np.linspace(0, ntrain - 1, n).round()[::-1]
    elif spacing == "leading":
        ts = (np.arange(0, n) * (ntrain // n)).round()[::-1] + offset
    elif spacing == "trailing":
        ts = np.round(np.arange(ntrain, 0, -ntrain / n)) - 1
    else:
        raise ValueError(spacing)
    return [int(t) for t in ts]


def euler_timesteps(n, spacing, offset, ntrain=T):
    """Euler: N points, fractional for linspace (float32 as the reference keeps them)."""
    if spacing == "linspace":
        ts = np.linspace(0, ntrain - 1, n, dtype=np.float32)[::-1]
    elif spacing == "leading":
        ts = (np.arange(0, n) * (ntrain // n)).round()[::-1].astype(np.float32) + offset
    elif spacing == "trailing":
        ts = np.arange(ntrain, 0, -ntrain / n).round().astype(np.float32) - 1
    else:
        raise ValueError(spacing)
    return [float(t) for t in ts]


def karras(sig_max, sig_min, n, rho=7.0):
    ramp = np.linspace(0, 1, n)
    lo, hi = sig_min ** (1 / rho), sig_max ** (1 / rho)
    return [float(s) for s in (hi + ramp * (lo - hi)) ** rho]


def multistep_karras(ac, n, kind="linear"):
    """DPM-Solver++ and UniPC with Karras sigmas (diffusers' use_karras_sigmas): n sigmas between the whole
    table's largest and smallest sigma, timesteps by log-sigma interpolation, rounded (truncated for the
    cosine schedule, whose unrounded timesteps the reference casts to int64). The steps use the sigmas."""
    tab = sigma_table(ac)
    sig = karras(float(tab[-1]), float(tab[0]), n)
    log_sig = np.log(tab)
    ts = [sigma_to_t(s, log_sig) for s in sig]
    ts = [float(math.trunc(t)) if kind == "squaredcos_cap_v2" else float(np.round(t)) for t in ts]
    return ts, sig


def sigma_to_t(sigma, log_sigmas):
    log_sigma = math.log(max(sigma, 1e-10))
    dists = log_sigma - log_sigmas
    low = int(np.cumsum(dists >= 0).argmax())
    low = min(low, len(log_sigmas) - 2)
    high = low + 1
    w = (log_sigmas[low] - log_sigma) / (log_sigmas[low] - log_sigmas[high])
    w = min(max(w, 0.0), 1.0)
    return (1 - w) * low + w * high


def alpha_sigma(s):
    """VP alpha and sigma of a variance-exploding sigma."""
    a = 1.0 / math.sqrt(s * s + 1.0)
    return a, s * a


def lam(s):
    """log(alpha) - log(sigma); +inf at sigma 0, as the reference's float arithmetic gives it."""
    a, sg = alpha_sigma(s)
    return math.log(a) - (math.log(sg) if sg > 0 else -math.inf)


# ---------------------------------------------------------------------------- model output handling
def threshold(x0, ratio, max_value):
    """Dynamic thresholding per batch entry over every other axis."""
    b = x0.shape[0]
    flat = x0.reshape(b, -1)
    s = np.quantile(np.abs(flat), ratio, axis=1)
    s = np.clip(s, 1.0, max_value)[:, None]
    return (np.clip(flat, -s, s) / s).reshape(x0.shape)


def to_x0(out, x, alpha, sigma, prediction):
    if prediction == "eps":
        return (x - sigma * out) / alpha
    if prediction == "v":
        return alpha * x - sigma * out
    return out


def to_eps(out, x, alpha, sigma, prediction):
    if prediction == "eps":
        return out
    if prediction == "v":
        return alpha * out + sigma * x
    return (x - alpha * out) / sigma


# ------------------------------------------------------------------------------------------ samplers
def final_sigma(kind, sig_tab):
    return 0.0 if kind == "zero" else float(sig_tab[0])


def unipc(model, x, ac, p):
    if p["variant"] == "bh1" and p["final_sigma"] == "zero":
        raise ValueError("bh1 with a zero final sigma")
    if not p["predict_x0"] and p["final_sigma"] == "zero":
        raise ValueError("noise prediction with a zero final sigma")
    if not p["lower_order_final"] and p["order"] > 1 and p["final_sigma"] == "zero":
        raise ValueError("order > 1 at the last step with a zero final sigma")
    if p.get("karras", False) and not p["lower_order_final"] and p["order"] > 2 and p["final_sigma"] == "sigma_min":
        raise ValueError("order 3 at a Karras last step of h = 0")
    tab = sigma_table(ac)
    ts, sig = step_sigmas(ac, p)
    sig = sig + [final_sigma(p["final_sigma"], tab)]
    n = len(ts)
    order, bh1, px0 = p["order"], p["variant"] == "bh1", p["predict_x0"]

    def coefficients(i_to, i_from, hist_idx, order_):
        """h, hh, hphi1, B, rks, and the R, b system for a step from sig[i_from] to sig[i_to]."""
        h = lam(sig[i_to]) - lam(sig[i_from])
        rks = [(lam(sig[j]) - lam(sig[i_from])) / h for j in hist_idx] + [1.0]
        hh = np.float64(-h if px0 else h)  # numpy division: h = 0 (a Karras last step) gives nan, unused
        hphi1 = np.expm1(hh)
        B = hh if bh1 else math.expm1(hh)
        hphik = hphi1 / hh - 1
        fact = 1
        R, b = [], []
        for j in range(1, order_ + 1):
            R.append([r ** (j - 1) for r in rks])
            b.append(hphik * fact / B)
            fact *= j + 1
            hphik = hphik / hh - 1 / fact
        return h, hh, hphi1, B, rks, np.array(R), np.array(b)

    M = []
    last = None
    this_order = 0
    lower = 0
    for i in range(n):
        out = model(x, ts[i])
        a, s = alpha_sigma(sig[i])
        if px0:
            m = to_x0(out, x, a, s, p["prediction"])
            if p["thresholding"]:
                m = threshold(m, p["threshold_ratio"], p["sample_max"])
        else:
            m = to_eps(out, x, a, s, p["prediction"])
        if p["corrector"] and i > 0 and (i - 1) not in p["disable_corrector"] and last is not None:
            # UniC-p for the step from i-1 to i, with history up to i-1 and the new output m.
            pc = this_order
            m0 = M[-1]
            hist = [i - 1 - k for k in range(1, pc)]
            h, hh, hphi1, B, rks, R, b = coefficients(i, i - 1, hist, pc)
            D1s = [(M[-1 - k] - m0) / rks[k - 1] for k in range(1, pc)]
            rhos = [0.5] if pc == 1 else list(np.linalg.solve(R, b))
            extra = rhos[-1] * (m - m0)
            corr = sum(r * d for r, d in zip(rhos[:-1], D1s)) if D1s else 0.0
            a_t, s_t = alpha_sigma(sig[i])
            a_s, s_s = alpha_sigma(sig[i - 1])
            if px0:
                x = s_t / s_s * last - a_t * hphi1 * m0 - a_t * B * (corr + extra)
            else:
                x = a_t / a_s * last - s_t * hphi1 * m0 - s_t * B * (corr + extra)
        M.append(m)
        this_order = min(order, n - i) if p["lower_order_final"] else order
        this_order = min(this_order, lower + 1)
        last = x
        # UniP-p from i to i+1.
        m0 = M[-1]
        hist = [i - k for k in range(1, this_order)]
        h, hh, hphi1, B, rks, R, b = coefficients(i + 1, i, hist, this_order)
        D1s = [(M[-1 - k] - m0) / rks[k - 1] for k in range(1, this_order)]
        if this_order == 1:
            pred = 0.0
        else:
            rhos = [0.5] if this_order == 2 else list(np.linalg.solve(R[:-1, :-1], b[:-1]))
            pred = sum(r * d for r, d in zip(rhos, D1s))
        a_t, s_t = alpha_sigma(sig[i + 1])
        a_s, s_s = alpha_sigma(sig[i])
        if px0:
            x = s_t / s_s * x - a_t * hphi1 * m0 - a_t * B * pred
        else:
            x = a_t / a_s * x - s_t * hphi1 * m0 - s_t * B * pred
        lower = min(lower + 1, order)
    return x


def step_sigmas(ac, p):
    """The multistep solvers' model timesteps and the VE sigma of each step."""
    if p.get("karras", False):
        return multistep_karras(ac, p["steps"])
    tab = sigma_table(ac)
    ts = multistep_timesteps(p["steps"], p["spacing"], p["steps_offset"], len(ac))
    return ts, [interp(t, tab) for t in ts]


def dpmpp(model, x, ac, p):
    n = p["steps"]
    last_first_order = p["euler_at_final"] or (p["lower_order_final"] and n < 15) or p["final_sigma"] == "zero"
    if (p.get("karras", False) and p["final_sigma"] == "sigma_min" and p["order"] == 2 and p["solver_type"] == "heun"
            and not last_first_order):
        raise ValueError("heun at a Karras last step of h = 0")
    tab = sigma_table(ac)
    ts, sig = step_sigmas(ac, p)
    sig = sig + [final_sigma(p["final_sigma"], tab)]
    n = len(ts)
    M = []
    lower = 0
    for i in range(n):
        out = model(x, ts[i])
        a, s = alpha_sigma(sig[i])
        m = to_x0(out, x, a, s, p["prediction"])
        if p["thresholding"]:
            m = threshold(m, p["threshold_ratio"], p["sample_max"])
        M.append(m)
        last_step = i == n - 1
        first_final = last_step and (p["euler_at_final"] or (p["lower_order_final"] and n < 15)
                                     or p["final_sigma"] == "zero")
        a_t, s_t = alpha_sigma(sig[i + 1])
        a_s, s_s = alpha_sigma(sig[i])
        h = np.float64(lam(sig[i + 1]) - lam(sig[i]))  # numpy division: h = 0 (a Karras last step) gives inf
        if p["order"] == 1 or lower < 1 or first_final:
            x = s_t / s_s * x - a_t * math.expm1(-h) * M[-1]
        else:
            h0 = lam(sig[i]) - lam(sig[i - 1])
            r0 = h0 / h
            D0, D1 = M[-1], (M[-1] - M[-2]) / r0
            if p["solver_type"] == "midpoint":
                x = s_t / s_s * x - a_t * math.expm1(-h) * D0 - 0.5 * a_t * math.expm1(-h) * D1
            else:
                x = s_t / s_s * x - a_t * math.expm1(-h) * D0 + a_t * (math.expm1(-h) / h + 1.0) * D1
        lower = min(lower + 1, p["order"])
    return x


def next_listed(ts, i):
    """The next listed timestep, -1 after the last (diffusers' DDPMScheduler.previous_timestep)."""
    return ts[i + 1] if i + 1 < len(ts) else -1


def ddim_like_prev(ts, i, p, n, ntrain=T):
    if p.get("prev_timestep", "diffusers") == "diffusers":
        return ts[i] - ntrain // n
    return next_listed(ts, i)


def ddim(model, x, ac, p, noise):
    n = p["steps"]
    ts = ddim_timesteps(n, p["spacing"], p["steps_offset"], len(ac))
    final_ac = 1.0 if p["final_sigma"] == "zero" else float(ac[0])
    for i, t in enumerate(ts):
        out = model(x, t)
        prev = ddim_like_prev(ts, i, p, n, len(ac))
        a_t = float(ac[t])
        a_prev = float(ac[prev]) if prev >= 0 else final_ac
        al, sg = math.sqrt(a_t), math.sqrt(1 - a_t)
        x0 = to_x0(out, x, al, sg, p["prediction"])
        eps = to_eps(out, x, al, sg, p["prediction"])
        if p["thresholding"]:
            x0 = threshold(x0, p["threshold_ratio"], p["sample_max"])
        elif p["clip_sample"]:
            x0 = np.clip(x0, -p["clip_range"], p["clip_range"])
        var = (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)
        std = p["eta"] * math.sqrt(var)
        if p["use_clipped_model_output"]:
            eps = (x - al * x0) / sg
        x = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev - std * std) * eps
        if p["eta"] > 0:
            x = x + std * noise(i, x.shape)
    return x


def ddpm(model, x, ac, p, noise):
    n = p["steps"]
    ts = ddim_timesteps(n, p["spacing"], p["steps_offset"], len(ac))
    for i, t in enumerate(ts):
        out = model(x, t)
        prev = next_listed(ts, i)
        a_t = float(ac[t])
        a_prev = float(ac[prev]) if prev >= 0 else 1.0
        b_t, b_prev = 1 - a_t, 1 - a_prev
        cur_a = a_t / a_prev
        cur_b = 1 - cur_a
        x0 = to_x0(out, x, math.sqrt(a_t), math.sqrt(b_t), p["prediction"])
        if p["thresholding"]:
            x0 = threshold(x0, p["threshold_ratio"], p["sample_max"])
        elif p["clip_sample"]:
            x0 = np.clip(x0, -p["clip_range"], p["clip_range"])
        mean = (math.sqrt(a_prev) * cur_b / b_t) * x0 + (math.sqrt(cur_a) * b_prev / b_t) * x
        if t > 0:
            var = max(b_prev / b_t * cur_b, 1e-20) if p["variance"] == "fixed_small" else cur_b
            mean = mean + math.sqrt(var) * noise(i, x.shape)
        x = mean
    return x


def euler(model, x, ac, p):
    tab = sigma_table(ac)
    ts = euler_timesteps(p["steps"], p["spacing"], p["steps_offset"], len(ac))
    sig = [interp(t, tab) for t in ts]
    if p["karras"]:
        # Euler keeps the fractional timestep of each Karras sigma (in float32), unlike the multistep solvers.
        log_sig = np.log(tab)
        sig = karras(sig[0], sig[-1], p["steps"])
        ts = [float(np.float32(sigma_to_t(s, log_sig))) for s in sig]
    sig = sig + [final_sigma(p["final_sigma"], tab)]
    smax = max(sig)
    init = smax if p["spacing"] in ("linspace", "trailing") else math.sqrt(smax * smax + 1)
    x = x * init
    for i, t in enumerate(ts):
        s = sig[i]
        xin = x / math.sqrt(s * s + 1)
        out = model(xin, t)
        if p["prediction"] == "eps":
            x0 = x - s * out
        elif p["prediction"] == "v":
            x0 = out * (-s / math.sqrt(s * s + 1)) + x / (s * s + 1)
        else:
            x0 = out
        d = (x - x0) / s
        x = x + d * (sig[i + 1] - s)
    return x


# ------------------------------------------------------------------------------ test denoisers, inputs
def diffusers_test_model(x, t):
    return x * t / (t + 1)


def oracle_model(x, t):
    """Nonlinear and elementwise, so every element checks the sampler's arithmetic independently."""
    return x * t / (t + 1) + 0.1 * np.sin(3.0 * x + t / 100.0)


ORACLE_SHAPE = [1, 2, 3, 2, 2]


def oracle_input():
    k = np.arange(int(np.prod(ORACLE_SHAPE)), dtype=np.float64)
    return (1.2 * np.sin(1.7 * k + 0.3)).reshape(ORACLE_SHAPE)


def step_noise(i, shape):
    """The stochastic samplers' draw at step i: a fixed unit-scale pattern, also written in the C++ test."""
    k = np.arange(int(np.prod(shape)), dtype=np.float64)
    return (math.sqrt(2.0) * np.sin(0.9 * k + 1.3 * (i + 1) + 0.5)).reshape(shape)


def diffusers_sample(shape=(4, 3, 8, 8)):
    """diffusers' dummy_sample_deter: arange(n) / n laid out as [C, *spatial, B], batch moved first."""
    n = int(np.prod(shape))
    b = shape[0]
    x = (np.arange(n, dtype=np.float64) / n).reshape(tuple(shape[1:]) + (b,))
    return np.moveaxis(x, -1, 0).copy()


def torch_step_noise(seed=0):
    """The draws of diffusers' stochastic full loops: torch.randn in float32 from a generator seeded once
    (torch.manual_seed(seed)), one draw per noisy step, widened to float64. LibTorch's CPU generator makes
    the same draws."""
    g = torch.Generator().manual_seed(seed)
    return lambda i, shape: torch.randn(tuple(shape), generator=g, dtype=torch.float32).double().numpy()


# ---------------------------------------------------------------------------------------- the grid
COMMON = dict(steps_offset=0, prediction="eps", thresholding=False, threshold_ratio=0.995, sample_max=1.0)


def cases():
    out = []
    for spacing in ("linspace", "leading", "trailing"):
        for steps in (10, 20, 50):
            for final in ("zero", "sigma_min"):
                for order in (1, 2, 3):
                    for variant in ("bh1", "bh2"):
                        for corrector in (True, False):
                            out.append(("unipc", dict(COMMON, steps=steps, spacing=spacing, final_sigma=final,
                                        order=order, variant=variant, corrector=corrector, predict_x0=True,
                                        lower_order_final=True, disable_corrector=[])))
                for order in (1, 2):
                    for st in ("midpoint", "heun"):
                        for lof in (True, False):
                            out.append(("dpmsolver++", dict(COMMON, steps=steps, spacing=spacing, final_sigma=final,
                                        order=order, solver_type=st, lower_order_final=lof, euler_at_final=False)))
                for eta in (0.0, 0.5):
                    for clip in (False, True):
                        for prev in ("diffusers", "next"):
                            out.append(("ddim", dict(COMMON, steps=steps, spacing=spacing, final_sigma=final, eta=eta,
                                        clip_sample=clip, clip_range=1.0, prev_timestep=prev,
                                        use_clipped_model_output=False)))
                for k in (False, True):
                    out.append(("euler", dict(COMMON, steps=steps, spacing=spacing, final_sigma=final, karras=k)))
            for var in ("fixed_small", "fixed_large"):
                out.append(("ddpm", dict(COMMON, steps=steps, spacing=spacing, clip_sample=True, clip_range=1.0,
                                         variance=var)))
    # Noise prediction, other parameterisations, thresholding, per-step corrector, lower_order_final off.
    base = dict(COMMON, steps=20, spacing="linspace", final_sigma="sigma_min", order=2, variant="bh2",
                corrector=True, predict_x0=True, lower_order_final=True, disable_corrector=[])
    for order in (1, 2, 3):
        for variant in ("bh1", "bh2"):
            out.append(("unipc", dict(base, order=order, variant=variant, predict_x0=False)))
            out.append(("unipc", dict(base, order=order, variant=variant, lower_order_final=False)))
            for pred in ("v", "x0"):
                out.append(("unipc", dict(base, order=order, variant=variant, prediction=pred)))
    out.append(("unipc", dict(base, thresholding=True, threshold_ratio=0.9, sample_max=1.5)))
    out.append(("unipc", dict(base, order=3, disable_corrector=[0, 3, 4, 11])))
    out.append(("unipc", dict(base, steps_offset=1, spacing="leading")))
    out.append(("dpmsolver++", dict(COMMON, steps=20, spacing="linspace", final_sigma="zero", order=2,
                                    solver_type="midpoint", lower_order_final=True, euler_at_final=False,
                                    prediction="v", thresholding=True, threshold_ratio=0.9, sample_max=1.5)))
    out.append(("ddim", dict(COMMON, steps=20, spacing="leading", final_sigma="zero", eta=0.3, clip_sample=True,
                             clip_range=1.0, prev_timestep="diffusers", use_clipped_model_output=True,
                             prediction="v")))
    out.append(("euler", dict(COMMON, steps=20, spacing="leading", steps_offset=1, final_sigma="zero", karras=False,
                              prediction="v")))
    # Karras sigmas for the multistep solvers (the spacing plays no part).
    for steps in (10, 20, 50):
        for final in ("zero", "sigma_min"):
            for order in (1, 2, 3):
                for variant in ("bh1", "bh2"):
                    out.append(("unipc", dict(COMMON, steps=steps, spacing="linspace", final_sigma=final, order=order,
                                              variant=variant, corrector=True, predict_x0=True, lower_order_final=True,
                                              disable_corrector=[], karras=True)))
            for order in (1, 2):
                for st in ("midpoint", "heun"):
                    for lof in (True, False):
                        out.append(("dpmsolver++", dict(COMMON, steps=steps, spacing="linspace", final_sigma=final,
                                                        order=order, solver_type=st, lower_order_final=lof,
                                                        euler_at_final=False, karras=True)))
    for pred in ("v", "x0"):
        out.append(("unipc", dict(base, karras=True, prediction=pred)))
        out.append(("dpmsolver++", dict(COMMON, steps=20, spacing="linspace", final_sigma="sigma_min", order=2,
                                        solver_type="midpoint", lower_order_final=True, euler_at_final=False,
                                        karras=True, prediction=pred)))
    return out


def run(name, model, x, ac, p):
    if name == "unipc":
        return unipc(model, x, ac, p)
    if name == "dpmsolver++":
        return dpmpp(model, x, ac, p)
    if name == "ddim":
        return ddim(model, x, ac, p, step_noise)
    if name == "ddpm":
        return ddpm(model, x, ac, p, step_noise)
    if name == "euler":
        return euler(model, x, ac, p)
    raise ValueError(name)


def sampler_params(name, p):
    """The case's settings as vdlab's sampler parameters (the test-only ones dropped)."""
    q = dict(p)
    q.pop("prediction")
    return q


# diffusers' scheduler tests that publish a full-loop value, as vdlab sampler settings: the schedule (beta
# start, end, T), the sample (dummy_sample_deter, 4-d or its 1-d variant), the stochastic draws, and
# the statistic the test checks. The published numbers themselves are quoted in the C++ test.
DIFFUSERS_UNIPC = dict(steps=10, spacing="linspace", final_sigma="sigma_min", order=2, variant="bh2",
                       corrector=True, predict_x0=True, lower_order_final=True, disable_corrector=[])
DIFFUSERS_DPM = dict(steps=10, spacing="linspace", final_sigma="sigma_min", order=2, solver_type="midpoint",
                     lower_order_final=False, euler_at_final=False)
DIFFUSERS_DDIM = dict(steps=10, spacing="leading", final_sigma="zero", eta=0.0, clip_sample=True, clip_range=1.0,
                      prev_timestep="diffusers", use_clipped_model_output=False)
DIFFUSERS_EULER = dict(steps=10, spacing="linspace", final_sigma="zero", karras=False)
DIFFUSERS_DDPM = dict(steps=1000, spacing="leading", clip_sample=True, clip_range=1.0, variance="fixed_small")


def diffusers_cases():
    def case(name, sampler, params, prediction="eps", beta_start=0.0001, train=1000, sample=(4, 3, 8, 8),
             noise="none"):
        return {"name": name, "sampler": sampler, "params": dict(COMMON, **params), "prediction": prediction,
                "schedule": {"betas": "linear", "beta_start": beta_start, "beta_end": 0.02,
                             "num_train_timesteps": train},
                "sample_shape": list(sample), "noise": noise}
    u, d = DIFFUSERS_UNIPC, DIFFUSERS_DPM
    one_d = (4, 3, 8)
    return [
        case("unipc_full_loop_no_noise", "unipc", u),
        case("unipc_full_loop_with_karras", "unipc", dict(u, karras=True)),
        case("unipc_full_loop_with_v_prediction", "unipc", u, "v"),
        case("unipc_full_loop_with_karras_and_v_prediction", "unipc", dict(u, karras=True), "v"),
        case("unipc_1d_full_loop_no_noise", "unipc", u, sample=one_d),
        case("unipc_1d_full_loop_with_karras", "unipc", dict(u, karras=True), sample=one_d),
        case("unipc_1d_full_loop_with_v_prediction", "unipc", u, "v", sample=one_d),
        case("unipc_1d_full_loop_with_karras_and_v_prediction", "unipc", dict(u, karras=True), "v", sample=one_d),
        case("dpm_multi_full_loop_no_noise", "dpmsolver++", d),
        case("dpm_multi_full_loop_no_noise_thres", "dpmsolver++",
             dict(d, thresholding=True, threshold_ratio=0.87, sample_max=0.5)),
        case("dpm_multi_full_loop_with_v_prediction", "dpmsolver++", d, "v"),
        case("dpm_multi_full_loop_with_karras_and_v_prediction", "dpmsolver++", dict(d, karras=True), "v"),
        case("euler_full_loop_no_noise", "euler", DIFFUSERS_EULER, train=1100),
        case("euler_full_loop_with_v_prediction", "euler", DIFFUSERS_EULER, "v", train=1100),
        case("euler_full_loop_device_karras_sigmas", "euler", dict(DIFFUSERS_EULER, karras=True), train=1100),
        case("ddim_full_loop_no_noise", "ddim", DIFFUSERS_DDIM),
        case("ddim_full_loop_with_v_prediction", "ddim", DIFFUSERS_DDIM, "v"),
        case("ddim_full_loop_with_set_alpha_to_one", "ddim", DIFFUSERS_DDIM, beta_start=0.01),
        case("ddim_full_loop_with_no_set_alpha_to_one", "ddim", dict(DIFFUSERS_DDIM, final_sigma="sigma_min"),
             beta_start=0.01),
        case("ddpm_full_loop_no_noise", "ddpm", DIFFUSERS_DDPM, noise="torch_seed0"),
        case("ddpm_full_loop_with_v_prediction", "ddpm", DIFFUSERS_DDPM, "v", noise="torch_seed0"),
    ]


def run_diffusers_case(c):
    _, ac = make_schedule("linear", c["schedule"]["beta_start"], c["schedule"]["beta_end"],
                          c["schedule"]["num_train_timesteps"])
    p = dict(c["params"], prediction=c["prediction"])
    x = diffusers_sample(c["sample_shape"])
    name = c["sampler"]
    if name == "ddpm":
        y = ddpm(diffusers_test_model, x, ac, p, torch_step_noise(0))
    else:
        y = run(name, diffusers_test_model, x, ac, p)
    return {"sum_abs": float(np.abs(y).sum()), "mean_abs": float(np.abs(y).mean())}


def public_values(ac):
    """METHODS.md 1.5 in this transcription (they agree with diffusers' tests to the digits given)."""
    x = diffusers_sample()
    base = dict(COMMON, steps=10, spacing="linspace", final_sigma="sigma_min")
    u = unipc(diffusers_test_model, x, ac, dict(base, order=2, variant="bh2", corrector=True, predict_x0=True,
                                                lower_order_final=True, disable_corrector=[]))
    d = dpmpp(diffusers_test_model, x, ac, dict(base, order=2, solver_type="midpoint", lower_order_final=False,
                                                euler_at_final=False))
    g = ddim(diffusers_test_model, x, ac, dict(base, spacing="leading", final_sigma="zero", eta=0.0, clip_sample=True,
                                               clip_range=1.0, prev_timestep="diffusers",
                                               use_clipped_model_output=False), step_noise)
    return {"unipc_bh2_order2_mean_abs": float(np.abs(u).mean()),
            "dpmsolver++_2m_midpoint_mean_abs": float(np.abs(d).mean()),
            "ddim_clip_sum_abs": float(np.abs(g).sum()), "ddim_clip_mean_abs": float(np.abs(g).mean())}


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(root, "tests", "fixtures", "samplers", "reference.json"))
    args = ap.parse_args()

    schedules = {}
    for kind, b0, b1 in (("linear", 0.0001, 0.02), ("scaled_linear", 0.00085, 0.012),
                         ("squaredcos_cap_v2", 0.0001, 0.02)):
        _, ac = make_schedule(kind, b0, b1)
        schedules[kind] = {"beta_start": b0, "beta_end": b1, "alphas_cumprod": [float(v) for v in ac]}
    _, ac = make_schedule("linear")

    x = oracle_input()
    out_cases = []
    for name, p in cases():
        case = {"sampler": name, "prediction": p["prediction"], "params": sampler_params(name, p)}
        try:
            y = run(name, oracle_model, x.copy(), ac, p)
            case["result"] = [float(v) for v in y.reshape(-1)]
        except ValueError as e:
            case["refused"] = str(e)
        out_cases.append(case)

    pub = public_values(ac)
    for k, v in pub.items():
        print(f"{k}: {v:.6f}")
    dcases = []
    for c in diffusers_cases():
        c["sampler_params"] = sampler_params(c["sampler"], dict(c["params"], prediction=c["prediction"]))
        c.update(run_diffusers_case(c))
        del c["params"]
        print(f"{c['name']}: sum|x| {c['sum_abs']:.6f} mean|x| {c['mean_abs']:.6g}")
        dcases.append(c)
    doc = {
        "generator": "scripts/reference/samplers_reference.py",
        "schedules": schedules,
        "oracle_shape": ORACLE_SHAPE,
        "oracle_input": [float(v) for v in oracle_input().reshape(-1)],
        "public_values": pub,
        "diffusers_cases": dcases,
        "cases": out_cases,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {len(out_cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
