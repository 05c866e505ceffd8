"""The PyTorch reference of the network that core/unet.c runs.

Architecture "gd-unet-v1": an eps-prediction UNet (DESIGN.md), fully
convolutional and tile-friendly: its only normalisation is a per-pixel
LayerNorm over channels, so no statistic spans the image and a tile computes
exactly what the whole image computes in its interior.

Parameter names and shapes are the C model's; the safetensors file written by
export.py holds exactly `state_dict()`.

    temb.lin1, temb.lin2        Linear(base, 4 base), Linear(4 base, 4 base)
    conv_in                     Conv3x3(in, base)
    down.{l}.res.{i}            ResBlock(ch_prev, base*mult[l])   i < n_res
    down.{l}.down               Conv3x3 stride 2                  l < L-1
    mid.res.{0,1}               ResBlock(ch, ch)
    up.{l}.res.{i}              ResBlock(ch + skip, base*mult[l]) i <= n_res
    up.{l}.up                   nearest x2 then Conv3x3           l > 0
    norm_out, conv_out          ChannelNorm(base), Conv3x3(base, in)

ResBlock(x, emb):
    h = conv1(silu(norm1(x))) + emb_proj(silu(emb))[:, :, None, None]
    h = conv2(silu(norm2(h)))
    return skip(x) + h          (skip: 1x1 conv when channels differ)
ChannelNorm: per pixel, (x - mean_c) / sqrt(var_c + 1e-5) * weight + bias.
Timestep embedding of t (a float, fractional allowed): half = base / 2,
freq_i = exp(-ln(10000) i / half), emb = [cos(t freq), sin(t freq)].
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCH = "gd-unet-v1"
NORM_EPS = 1e-5

DEFAULT_CONFIG = {
    "arch": ARCH,
    "in_channels": 3,
    "base_channels": 32,
    "channel_mult": [1, 2, 4, 4],
    "n_res_blocks": 2,
}


class ChannelNorm(nn.Module):
    """LayerNorm over channels at each pixel (tile-friendly)."""

    def __init__(self, ch):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ch))
        self.bias = nn.Parameter(torch.zeros(ch))

    def forward(self, x):
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)
        x = (x - mean) * torch.rsqrt(var + NORM_EPS)
        return x * self.weight[None, :, None, None] + self.bias[None, :, None, None]


class ResBlock(nn.Module):
    def __init__(self, in_ch, out_ch, emb_dim):
        super().__init__()
        self.norm1 = ChannelNorm(in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, out_ch)
        self.norm2 = ChannelNorm(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Level(nn.Module):
    pass


class TimeEmbed(nn.Module):
    def __init__(self, base):
        super().__init__()
        self.base = base
        self.lin1 = nn.Linear(base, 4 * base)
        self.lin2 = nn.Linear(4 * base, 4 * base)

    def forward(self, t):
        half = self.base // 2
        freqs = torch.exp(
            -math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half
        )
        args = t.float()[:, None] * freqs[None, :]
        emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
        return self.lin2(F.silu(self.lin1(emb)))


class UNet(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        cfg = dict(DEFAULT_CONFIG)
        if config:
            cfg.update(config)
        self.config = cfg
        base = cfg["base_channels"]
        mult = cfg["channel_mult"]
        n_res = cfg["n_res_blocks"]
        in_ch = cfg["in_channels"]
        emb_dim = 4 * base
        n_levels = len(mult)

        self.temb = TimeEmbed(base)
        self.conv_in = nn.Conv2d(in_ch, base, 3, padding=1)

        skip_ch = [base]
        ch = base
        self.down = nn.ModuleList()
        for level in range(n_levels):
            lv = Level()
            lv.res = nn.ModuleList()
            out_ch = base * mult[level]
            for _ in range(n_res):
                lv.res.append(ResBlock(ch, out_ch, emb_dim))
                ch = out_ch
                skip_ch.append(ch)
            if level < n_levels - 1:
                lv.down = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
                skip_ch.append(ch)
            self.down.append(lv)

        self.mid = Level()
        self.mid.res = nn.ModuleList([ResBlock(ch, ch, emb_dim), ResBlock(ch, ch, emb_dim)])

        self.up = nn.ModuleList([Level() for _ in range(n_levels)])
        for level in reversed(range(n_levels)):
            lv = self.up[level]
            lv.res = nn.ModuleList()
            out_ch = base * mult[level]
            for _ in range(n_res + 1):
                lv.res.append(ResBlock(ch + skip_ch.pop(), out_ch, emb_dim))
                ch = out_ch
            if level > 0:
                lv.up = nn.Conv2d(ch, ch, 3, padding=1)
        assert not skip_ch

        self.norm_out = ChannelNorm(ch)
        self.conv_out = nn.Conv2d(ch, in_ch, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    @property
    def downsample_factor(self):
        return 2 ** (len(self.config["channel_mult"]) - 1)

    def forward(self, x, t):
        """x: (B, C, H, W) with H, W multiples of downsample_factor; t: (B,)."""
        emb = self.temb(t)
        h = self.conv_in(x)
        hs = [h]
        n_levels = len(self.down)
        for level, lv in enumerate(self.down):
            for block in lv.res:
                h = block(h, emb)
                hs.append(h)
            if level < n_levels - 1:
                h = lv.down(h)
                hs.append(h)
        for block in self.mid.res:
            h = block(h, emb)
        for level in reversed(range(n_levels)):
            lv = self.up[level]
            for block in lv.res:
                h = block(torch.cat([h, hs.pop()], dim=1), emb)
            if level > 0:
                h = lv.up(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))

    def eps(self, x, t):
        """Any size: pads right and bottom by edge replication to the
        downsampling factor, runs the network, crops.  core/unet.c does the
        same."""
        f = self.downsample_factor
        h, w = x.shape[-2:]
        ph, pw = (-h) % f, (-w) % f
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        return self.forward(x, t)[..., :h, :w]


def linear_schedule(T=1000, beta_start=1e-4, beta_end=0.02):
    """DDPM's linear schedule; abar[0] = 1, index t in 0..T (float64)."""
    betas = torch.cat(
        [torch.zeros(1, dtype=torch.float64), torch.linspace(beta_start, beta_end, T, dtype=torch.float64)]
    )
    abar = torch.cumprod(1.0 - betas, dim=0)
    return betas, abar


def count_params(model):
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    m = UNet()
    print(ARCH, m.config, "params:", count_params(m))
    x = torch.randn(2, 3, 40, 56)
    y = m.eps(x, torch.tensor([10.0, 500.5]))
    print(y.shape)
