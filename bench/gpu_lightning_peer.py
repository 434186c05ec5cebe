"""The peer of lightrl-bench-gpu's lightning section: transformers' MiniMaxLightningAttention.

Times the module's lightning core in FP32 on the GPU: the projections, the activation and the
output norm are replaced by identities and the output gate by a constant, so what runs is
transformers' block loop over [q | k | v] (the layout lightrl uses). Prints one line:
    peer forward_ms=F backward_ms=B
Forward is timed under no_grad; backward is one autograd backward of a retained graph.
Medians over --repeats after --warmup, timed with CUDA events.
"""
import argparse
import statistics

import torch
from torch import nn
from transformers import MiniMaxConfig
from transformers.models.minimax.modeling_minimax import MiniMaxLightningAttention


class ConstantGate(nn.Module):
    """Stands in for the output gate: a fixed tensor whose sigmoid is 1."""

    def __init__(self, gate):
        super().__init__()
        self.gate = gate

    def forward(self, _):
        return self.gate


def median_ms(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    for name, default in (("tokens", 4096), ("heads", 16), ("dim", 128), ("block", 256),
                          ("repeats", 5), ("warmup", 2)):
        parser.add_argument("--" + name, type=int, default=default)
    args = parser.parse_args()
    width = args.heads * args.dim
    config = MiniMaxConfig(hidden_size=width, num_attention_heads=args.heads,
                           head_dim=args.dim, block_size=args.block, num_hidden_layers=2,
                           layer_types=["linear_attention", "full_attention"])
    attention = MiniMaxLightningAttention(config, layer_idx=0).cuda().float()
    attention.qkv_proj = nn.Identity()
    attention.act_fn = nn.Identity()
    attention.norm = nn.Identity()
    attention.out_proj = nn.Identity()
    attention.output_gate = ConstantGate(torch.full((1, args.tokens, width), 30.0, device="cuda"))

    generator = torch.Generator(device="cuda").manual_seed(21)
    qkv = 0.5 * torch.randn(1, args.tokens, 3 * width, device="cuda", generator=generator)
    dout = torch.randn(1, args.tokens, width, device="cuda", generator=generator)

    def forward():
        with torch.no_grad():
            attention(qkv, None, None)

    forward_ms = median_ms(forward, args.repeats, args.warmup)
    qkv.requires_grad_(True)
    out = attention(qkv, None, None)[0]

    def backward():
        qkv.grad = None
        out.backward(dout, retain_graph=True)

    backward_ms = median_ms(backward, args.repeats, args.warmup)
    print(f"peer forward_ms={forward_ms:.4f} backward_ms={backward_ms:.4f}")


if __name__ == "__main__":
    main()
