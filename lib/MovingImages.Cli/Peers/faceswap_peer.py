#!/usr/bin/env python3
"""The peer of `movingimages bench fakevideo --peer`: faceswap's "Original" autoencoder (the chapter's Keras model, the
same layers, sizes and padding as MovingImages' FaceSwapModel) trained in PyTorch on the same batch sizes, threads and
steps: one shared encoder, two decoders, mean absolute error, one Adam (beta1 0.5, beta2 0.999) per autoencoder, each
step A then B. fp32, and bf16 with PyTorch's CPU autocast. Inputs are fixed random batches (no augmentation: this
times the network's training step only). Prints one JSON object per (batch, precision) on stdout.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


TUNED = False


def same_pad(k, s, size):
    """TensorFlow's "same" padding: total max(k - s, 0) for sizes divisible by the stride, the extra pixel after."""
    total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
    return total // 2, total - total // 2


class SameConv(nn.Module):
    def __init__(self, cin, cout, k, s=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s)
        self.k, self.s = k, s

    def forward(self, x):
        top, bottom = same_pad(self.k, self.s, x.shape[2])
        left, right = same_pad(self.k, self.s, x.shape[3])
        if TUNED and top == bottom and left == right:
            return F.conv2d(x, self.conv.weight, self.conv.bias, self.s, (top, left))
        return self.conv(F.pad(x, (left, right, top, bottom)))


class Upscale(nn.Module):
    def __init__(self, cin, filters):
        super().__init__()
        self.conv = SameConv(cin, filters * 4, 3)

    def forward(self, x):
        return F.pixel_shuffle(F.leaky_relu(self.conv(x), 0.1), 2)


class Encoder(nn.Module):
    def __init__(self, size, dim, filters):
        super().__init__()
        chans = [3, filters, filters * 2, filters * 4, filters * 8]
        self.convs = nn.ModuleList(SameConv(chans[i], chans[i + 1], 5, 2) for i in range(4))
        self.low, self.deep = size // 16, filters * 8
        self.dense1 = nn.Linear(self.deep * self.low * self.low, dim)
        self.dense2 = nn.Linear(dim, self.deep * self.low * self.low)
        self.up = Upscale(self.deep, filters * 4)

    def forward(self, x):
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
        x = self.dense2(self.dense1(x.flatten(1)))
        return self.up(x.view(-1, self.deep, self.low, self.low))


class Decoder(nn.Module):
    def __init__(self, filters):
        super().__init__()
        chans = [filters * 4, filters * 2, filters, filters // 2]
        self.ups = nn.ModuleList(Upscale(chans[i], chans[i + 1]) for i in range(3))
        self.out = SameConv(chans[3], 3, 5)

    def forward(self, x):
        for up in self.ups:
            x = up(x)
        return torch.sigmoid(self.out(x).float())


def measure(batch, precision, args):
    torch.manual_seed(1)
    encoder = Encoder(args.size, args.encoder_dim, args.filters)
    decoders = [Decoder(args.filters), Decoder(args.filters)]
    extra = {"foreach": True} if TUNED else {}
    optims = [torch.optim.Adam(list(encoder.parameters()) + list(d.parameters()), lr=5e-5, betas=(0.5, 0.999), **extra) for d in decoders]
    warped = [torch.rand(batch, 3, args.size, args.size) for _ in range(2)]
    if TUNED:
        for m in [encoder] + decoders:
            m.to(memory_format=torch.channels_last)
        warped = [w.contiguous(memory_format=torch.channels_last) for w in warped]
    target = [torch.rand(batch, 3, args.size, args.size) for _ in range(2)]

    def step():
        losses = []
        for i in range(2):
            optims[i].zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                out = decoders[i](encoder(warped[i]))
            loss = F.l1_loss(out.float(), target[i])
            loss.backward()
            optims[i].step()
            losses.append(loss.item())
        return losses

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(args.steps):
        losses = step()
    per_step = (time.perf_counter() - start) / args.steps
    return {"batch": batch, "precision": precision, "samples_per_s": round(2 * batch / per_step, 2),
            "s_per_step": round(per_step, 4), "loss_a": round(losses[0], 5), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "tuned": TUNED}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batches", type=int, nargs="+", default=[16, 64])
    p.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--encoder-dim", type=int, default=1024)
    p.add_argument("--filters", type=int, default=128)
    p.add_argument("--tuned", action="store_true",
                   help="PyTorch's own speed-ups too: multi-tensor Adam (foreach), channels-last model and inputs, symmetric padding inside the convolution")
    args = p.parse_args()
    global TUNED
    TUNED = args.tuned
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    for batch in args.batches:
        for precision in args.precision:
            print(json.dumps(measure(batch, precision, args)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
