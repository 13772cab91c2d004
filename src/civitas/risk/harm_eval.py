"""How the imminent-harm lexicon fares on real messages (no database needed).

    python -m civitas.risk.harm_eval /work/shared/data/changsha [--show]

Reads every message (title and text) of the Changsha files once (by message id), flags them
with ``civitas.risk.harm.assess``, and prints how many were flagged per class; ``--show``
prints each flagged message's id, classes, terms and the text around the first term, for a
person to judge (the precision in docs/EVALUATION.md is that person's count).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

from civitas.risk.harm import assess

FILES = ("messages_labelled.csv", "messages_with_votes.csv", "messages_with_replies.csv")


def messages(folder: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in FILES:
        path = folder / name
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out.setdefault(row["message_id"], f"{row['title']}\n{row['detail']}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args(argv)
    texts = messages(args.folder)
    flagged = 0
    classes: Counter[str] = Counter()
    for mid, text in sorted(texts.items()):
        found = assess(text)
        if found is None:
            continue
        flagged += 1
        classes.update(found.classes)
        if args.show:
            first = found.hits[0].start
            snippet = text[max(0, first - 30) : first + 30].replace("\n", " ")
            terms = ",".join(h.term for h in found.hits)
            print(f"{mid}\t{'+'.join(found.classes)}\t{terms}\t{snippet}")
    share = flagged / len(texts) if texts else 0.0
    print(f"messages {len(texts)}, flagged {flagged} ({share:.1%}); by class: {dict(classes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
