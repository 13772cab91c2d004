"""How fast is the text classifier? Training, the model file, one appeal at a time, batches.

    .venv/bin/python bench/classify_bench.py [--data ../shared/data]

Trains a TextClassifier on the 395 labelled Changsha messages with the unlabelled messages
and the taxonomy seeds (the configuration of docs/EVALUATION.md) and saves it with joblib.
A fresh Python process then loads the file (as a server worker would), makes its first
prediction (which pays jieba's dictionary load) and times ``top(text)`` for every labelled
message, best of 3 per message (the machine may be shared), and ``predict_proba`` on all of
them in one call. Single-text times are also given for the longest tenth of the messages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common as c
from classify_cv import load

REPEATS = 3


def main() -> None:
    if "--child" in sys.argv:
        child(Path(sys.argv[sys.argv.index("--child") + 1]))
        return
    data = c.data_dir()
    c.require(data / "changsha" / "messages_labelled.csv")
    import joblib

    from civitas.understanding.textclass import TextClassifier

    d = load(data)
    model, fit_s = c.timed(
        lambda: TextClassifier().fit(
            d["texts"], d["labels"], unlabelled=d["unlabelled"], seeds=d["seeds"]
        )
    )
    with c.temp_dir() as tmp:
        path = tmp / "classifier.joblib"
        _, dump_s = c.timed(lambda: joblib.dump(model, path, compress=3))
        (tmp / "texts.json").write_text(json.dumps(d["texts"]), encoding="utf-8")
        size_mb = path.stat().st_size / 1e6
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(tmp)],
            check=True,
            capture_output=True,
            text=True,
        )
    c.emit(
        "classify",
        {
            "n_train": len(d["texts"]),
            "n_unlabelled": len(d["unlabelled"]),
            "n_features": model.summary["n_features"],
            "fit_s": round(fit_s, 1),
            "model_file_mb": round(size_mb, 1),
            "dump_s": round(dump_s, 2),
            **json.loads(out.stdout),
        },
    )


def child(tmp: Path) -> None:
    import numpy as np

    started = time.perf_counter()
    import joblib

    model = joblib.load(tmp / "classifier.joblib")
    load_s = time.perf_counter() - started
    texts: list[str] = json.loads((tmp / "texts.json").read_text(encoding="utf-8"))
    _, first_s = c.timed(lambda: model.top(texts[0]))
    best = []
    for text in texts:
        runs = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            model.top(text)
            runs.append(time.perf_counter() - t0)
        best.append(min(runs))
    ms = np.array(best) * 1000
    chars = np.array([len(t) for t in texts])
    long = chars >= np.percentile(chars, 90)
    _, batch_s = c.timed(lambda: model.predict_proba(texts))

    def figures(values: Any) -> dict[str, float]:
        return {
            "median": round(float(np.median(values)), 2),
            "p95": round(float(np.percentile(values, 95)), 2),
            "max": round(float(values.max()), 2),
        }

    print(
        json.dumps(
            {
                "load_s": round(load_s, 2),
                "first_top_s": round(first_s, 2),
                "top_ms": figures(ms),
                "text_chars": {"median": int(np.median(chars)), "max": int(chars.max())},
                "top_ms_longest_tenth": {
                    **figures(ms[long]),
                    "from_chars": int(chars[long].min()),
                },
                "batch_ms_per_text": round(batch_s * 1000 / len(texts), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
