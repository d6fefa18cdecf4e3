"""Build core/data/wordnet_nouns.tsv.gz from Debian's `wordnet-base` (WordNet 3.0 nouns).

The output is an ordinary hieralign corpus file (columns id, text, query, parents), so the built-in corpus goes through
the same loader and validation as a user's file. Run it with `python scripts/build_wordnet.py` after
`apt-get install wordnet-base`; the result is committed so users need no apt step.

- id: the synset name as NLTK spells it (first lemma lower-cased, `.n.`, sense number of that lemma), e.g. mammal.n.01
- text: `lemmas: definition` (underscores as spaces; the usage examples after the definition are dropped)
- query: the first lemma with spaces
- parents: hypernyms and instance hypernyms (`@`, `@i` pointers to nouns), `|`-separated
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
from pathlib import Path

DEFAULT_DICT = Path("/usr/share/wordnet")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "core" / "data" / "wordnet_nouns.tsv.gz"


def parse_data_noun(path: Path) -> list[tuple[str, list[str], list[str], str]]:
    """Return (offset, lemmas, hypernym offsets, definition) for every noun synset."""
    synsets = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            data, _, gloss = line.partition(" | ")
            fields = data.split()
            offset, n_words = fields[0], int(fields[3], 16)
            lemmas = [fields[4 + 2 * i] for i in range(n_words)]
            pos = 4 + 2 * n_words
            n_ptrs = int(fields[pos])
            parents = []
            for i in range(n_ptrs):
                symbol, target, target_pos = fields[pos + 1 + 4 * i : pos + 4 + 4 * i]
                if symbol in ("@", "@i") and target_pos == "n":
                    parents.append(target)
            definition = gloss.strip().split('; "')[0].strip()
            synsets.append((offset, lemmas, parents, definition))
    return synsets


def parse_index_noun(path: Path) -> dict[str, list[str]]:
    """lemma -> synset offsets in sense order (what NLTK uses to number senses)."""
    senses = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split()
            n_synsets, n_ptrs = int(fields[2]), int(fields[3])
            senses[fields[0]] = fields[6 + n_ptrs : 6 + n_ptrs + n_synsets]
    return senses


def build(dict_dir: Path, out: Path) -> int:
    synsets = parse_data_noun(dict_dir / "data.noun")
    senses = parse_index_noun(dict_dir / "index.noun")
    names = {}
    for offset, lemmas, _, _ in synsets:
        first = lemmas[0].lower()
        names[offset] = f"{first}.n.{senses[first].index(offset) + 1:02d}"
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["id", "text", "query", "parents"])
    for offset, lemmas, parents, definition in synsets:
        words = [w.replace("_", " ") for w in lemmas]
        writer.writerow([names[offset], f"{', '.join(words)}: {definition}", words[0], "|".join(names[p] for p in parents)])
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    return len(synsets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dict", type=Path, default=DEFAULT_DICT, help="WordNet dict folder (wordnet-base)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    n = build(args.dict, args.out)
    print(f"wrote {n} synsets to {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
