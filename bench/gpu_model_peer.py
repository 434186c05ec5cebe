"""The peer of lightrl-bench-gpu-model: transformers' MiniMaxForCausalLM on the same GPU.

FP32 weights with bf16 autocast (the trunk's products in bf16 with FP32 accumulation, as
lightrl's CUDA model). Training: one forward with labels (mean cross-entropy) and backward
over a [train_seqs, train_len] batch. Generation: greedy model.generate of exactly
gen_tokens new tokens for gen_batch prompts of gen_prompt tokens, prefill included.
Medians over --repeats after --warmup (wall clock after a device synchronize). Prints:
    peer train_tokens_per_s=T gen_tokens_per_s=G
"""
import argparse
import json
import statistics
import time

import torch
from transformers import MiniMaxConfig, MiniMaxForCausalLM


def median_seconds(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    for name, default in (("train_seqs", 8), ("train_len", 2048), ("gen_batch", 64),
                          ("gen_prompt", 128), ("gen_tokens", 128), ("repeats", 3),
                          ("warmup", 1)):
        parser.add_argument("--" + name, type=int, default=default)
    args = parser.parse_args()
    with open(args.config) as f:
        fields = json.load(f)
    for key in ("architectures", "model_type", "torch_dtype"):
        fields.pop(key, None)
    config = MiniMaxConfig(**fields)
    torch.manual_seed(0)
    model = MiniMaxForCausalLM(config).cuda().float()
    vocab = config.vocab_size
    autocast = lambda: torch.autocast("cuda", dtype=torch.bfloat16)

    tokens = torch.randint(3, vocab, (args.train_seqs, args.train_len), device="cuda")

    def train_step():
        model.zero_grad(set_to_none=True)
        with autocast():
            loss = model(input_ids=tokens, labels=tokens).loss
        loss.backward()

    model.train()
    train_s = median_seconds(train_step, args.repeats, args.warmup)
    model.zero_grad(set_to_none=True)
    model.eval()

    prompts = torch.randint(3, vocab, (args.gen_batch, args.gen_prompt), device="cuda")
    mask = torch.ones_like(prompts)

    def generate():
        with torch.no_grad(), autocast():
            out = model.generate(input_ids=prompts, attention_mask=mask, do_sample=False,
                                 max_new_tokens=args.gen_tokens, min_new_tokens=args.gen_tokens,
                                 pad_token_id=config.pad_token_id)
        assert out.shape[1] == args.gen_prompt + args.gen_tokens, out.shape

    gen_s = median_seconds(generate, args.repeats, args.warmup)
    print(f"peer train_tokens_per_s={args.train_seqs * args.train_len / train_s:.1f} "
          f"gen_tokens_per_s={args.gen_batch * args.gen_tokens / gen_s:.1f}")


if __name__ == "__main__":
    main()
