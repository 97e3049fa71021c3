"""Checks of linear-time sentence splitting (issue 14) on the seed and the three validation corpora.

    python research/ingest_check.py write OUT   # the four sentence tables (seed, news, speeches, official) -> OUT/*.parquet
    python research/ingest_check.py compare A B # are two such folders identical? (exit 1 if not)
    python research/ingest_check.py cuts        # every body run split whole vs cut at EVERY safe sentence end
    python research/ingest_check.py inputs OUT  # the timing inputs of docs/reliability.md -> OUT/

`write` at the commit before the change and after it, then `compare`, shows that ordinary text splits
exactly as before. `cuts` stresses the cut rule far beyond what ingest does (ingest cuts only runs over
`pieces.MAX_PIECE_CHARS` characters): it counts the runs whose sentences change.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
INPUTS = {"seed": ROOT / "seeds" / "corpus",
          **{n: ROOT / "research" / "validation" / n / "corpus.csv" for n in ("news", "speeches", "official")}}


def write(out: Path) -> None:
    from framescope.config import IngestConfig
    from framescope.ingest.corpus import load_documents
    from framescope.ingest.segment import sentence_table

    out.mkdir(parents=True, exist_ok=True)
    for name, path in INPUTS.items():
        table = sentence_table(load_documents([str(path)], IngestConfig()), workers=1)
        table.to_parquet(out / f"{name}.parquet", index=False)
        print(f"{name}: {len(table)} sentences")


def compare(a: Path, b: Path) -> bool:
    same = True
    for name in INPUTS:
        x, y = pd.read_parquet(a / f"{name}.parquet"), pd.read_parquet(b / f"{name}.parquet")
        ok = x.equals(y) and list(x.dtypes) == list(y.dtypes)
        same &= ok
        print(f"{name}: {len(x)} / {len(y)} rows, {'identical' if ok else 'DIFFERENT'}")
    return same


def cuts() -> int:
    from framescope.config import IngestConfig
    from framescope.ingest import pieces, segment as sg
    from framescope.ingest.corpus import load_documents

    runs = n_cuts = differ = 0
    piece_bounds = sg.piece_bounds

    def every_cut(chunk: str) -> list[tuple[int, int]]:  # a cut at each safe sentence end of the chunk
        nonlocal n_cuts
        safe = pieces.sentence_cuts(chunk)[0]
        n_cuts += len(safe)
        bounds = [0, *safe, len(chunk)]
        return list(zip(bounds, bounds[1:]))

    try:
        for path in INPUTS.values():
            for text in load_documents([str(path)], IngestConfig())["text"]:
                blocks = sg.paragraph_spans(text)
                single = len(blocks) == 1 and "\n" not in text[blocks[0][0]:blocks[0][1]]
                for p, block in enumerate(blocks):
                    for s, e, kind in sg._line_kinds(text, block, p == 0, single):
                        if kind != "body":
                            continue
                        runs += 1
                        sg.piece_bounds = lambda chunk: [(0, len(chunk))]
                        whole = sg._repair(text, sg._pysbd_spans(text, s, e))
                        sg.piece_bounds = every_cut
                        differ += sg._repair(text, sg._pysbd_spans(text, s, e)) != whole
    finally:
        sg.piece_bounds = piece_bounds
    print(f"{runs} body runs, cut at {n_cuts} safe sentence ends: {differ} runs split differently")
    return differ


def _prose() -> list[str]:
    """The validation corpora's paragraphs of 200+ characters, each on one line."""
    import re

    texts = [t for n in ("news", "speeches", "official") for t in pd.read_csv(INPUTS[n])["text"]]
    paras = [" ".join(p.split()) for t in texts for p in re.split(r"\n\s*\n", t)]
    return [p for p in paras if len(p) > 200]


def giant_paragraph(n_chars: int) -> str:
    """One paragraph of about n_chars characters: the validation corpora's paragraphs joined by spaces."""
    paras, out, size = _prose(), [], 0
    while size < n_chars:
        out.append(paras[len(out) % len(paras)])
        size += len(out[-1]) + 1
    return " ".join(out)[:n_chars].rsplit(" ", 1)[0]


def inputs(out: Path) -> None:
    """para1mb.txt: a 1 MB paragraph under a headline; big30.txt: a ~30 MB pasted dump, the validation
    documents repeated (each copy's headline numbered, each article ending in a `Source : X` trailer)
    with the 1 MB paragraph as one article in the middle; big30.csv: the same articles as a table."""
    out.mkdir(parents=True, exist_ok=True)
    giant = giant_paragraph(1_000_000)
    (out / "para1mb.txt").write_text(f"One long paragraph\n\n{giant}\n", encoding="utf-8")
    docs = pd.concat([pd.read_csv(INPUTS[n]) for n in ("news", "speeches", "official")])
    rows, size, k = [], 1_000_000, 0
    while size < 30e6:
        for d in docs.itertuples():
            rows.append({"source": d.source, "text": f"{d.doc_id} (copy {k})\n\n{d.text.strip()}"})
            size += len(f"{rows[-1]['text']}\n\nSource : {d.source}".encode()) + 2
            if size >= 30e6:
                break
        k += 1
    rows.insert(len(rows) // 2, {"source": "Giant", "text": f"One long paragraph\n\n{giant}"})
    (out / "big30.txt").write_text("\n\n".join(f"{r['text']}\n\nSource : {r['source']}" for r in rows), encoding="utf-8")
    pd.DataFrame(rows).to_csv(out / "big30.csv", index=False)
    print(f"{out}: para1mb.txt, big30.txt, big30.csv ({len(rows)} articles)")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "write" and len(sys.argv) == 3:
        write(Path(sys.argv[2]))
    elif cmd == "compare" and len(sys.argv) == 4:
        sys.exit(0 if compare(Path(sys.argv[2]), Path(sys.argv[3])) else 1)
    elif cmd == "inputs" and len(sys.argv) == 3:
        inputs(Path(sys.argv[2]))
    elif cmd == "cuts":
        sys.exit(1 if cuts() else 0)
    else:
        sys.exit(__doc__)
