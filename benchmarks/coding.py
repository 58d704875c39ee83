"""Benchmark: coding 10,000 sentences with the dictionary and the embedding coder.

Beside them, in the same run, a plain-Python keyword loop (lower-case each sentence and test
every keyword of every code with ``in``: the baseline a researcher writes today, without word
boundaries, wildcards or evidence). The sentences are the seed paper's and the validation set's,
repeated to 10,000. Targets on 2 cores: dictionary coder at least 20,000 sentences per second;
embedding coder (its default, int8) at least 300 sentences per second once the model has loaded;
peak memory (resident set of the whole process) under 1 GB. The embedding coder in float32 (the
published weights) runs beside it for comparison.

    python benchmarks/coding.py [--sentences 10000] [--repeat 3] [--skip-embedding]
"""

from __future__ import annotations

import os
import time

from _common import REPO, arguments, peak_mb, timed

SEED = REPO.parent / "shared" / "seed" / "000_17f5d2a2eb818521.txt"


def corpus(n: int) -> list[str]:
    from tiplens.review.coders import validation_set
    from tiplens.review.documents import read_document
    texts = list(validation_set()["text"])
    if SEED.is_file():
        texts += list(read_document(SEED)[1]["text"])
    texts = list(dict.fromkeys(texts))
    # No sentence twice (a coder must not profit from repeats): vary each with a lead-in.
    leads = ["", "In 2019, ", "By contrast, ", "As the report notes, ", "In several regions, ", "Moreover, ",
             "According to officials, ", "In practice, ", "At the national level, ", "Since 2015, ",
             "In the same period, ", "For many observers, ", "In short, ", "Even so, ", "In the region, ",
             "Across the sample, ", "In some cases, ", "Historically, ", "Today, ", "In theory, ",
             "On paper, ", "Meanwhile, ", "Above all, ", "In addition, ", "Similarly, ", "Likewise, ",
             "Arguably, ", "Nevertheless, ", "Crucially, ", "In most countries, "]
    out = []
    for lead in leads:
        out += [lead + (t[0].lower() + t[1:] if lead else t) for t in texts]
    if len(out) < n:
        raise SystemExit(f"only {len(out)} distinct sentences; ask for fewer with --sentences")
    return out[:n]


def keyword_loop(texts: list[str], book) -> list[tuple[int, str]]:
    keywords = {c.code: [k.lower().replace("*", "").replace("?", "") for k in c.keywords] for c in book.codes}
    found = []
    for row, text in enumerate(texts):
        lower = text.lower()
        for code, words in keywords.items():
            for word in words:
                if word in lower:
                    found.append((row, code))
                    break
    return found


def main() -> None:
    parser = arguments(__doc__, repeat=3, data=False)
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--skip-embedding", action="store_true")
    args = parser.parse_args()

    from tiplens.review.codebooks import shipped_codebook
    from tiplens.review.coders import DictionaryCoder
    book = shipped_codebook("liberalism")
    texts = corpus(args.sentences)
    n = len(texts)
    mean_chars = sum(map(len, texts)) / n
    print(f"{n:,} distinct sentences (mean {mean_chars:.0f} characters), codebook liberalism "
          f"({len(book.codes)} codes); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    base = timed(lambda: keyword_loop(texts, book), args.repeat)
    dictionary = DictionaryCoder(book)
    dictionary.suggest(texts[:100])  # compile and warm (start-up, not the coder's work)
    dict_time = timed(lambda: dictionary.suggest(texts), args.repeat)
    dict_peak = peak_mb()
    rows = [("plain keyword loop (baseline)", base, None), ("dictionary coder", dict_time, 20_000)]

    load_time = embed_time = None
    if not args.skip_embedding:
        from tiplens.review.coders import EmbeddingCoder
        for precision in ("int8", "float32"):
            start = time.perf_counter()
            embedding = EmbeddingCoder(book, precision=precision)
            embedding.suggest(texts[:64])  # the first batch initialises torch kernels
            if precision == "int8":
                load_time = time.perf_counter() - start
            embed_time = timed(lambda coder=embedding: coder.suggest(texts), 1)
            # the target is for the default (int8); float32 is the published model, shown beside it
            # torch gets the idle CPUs, looked at every 2,000 sentences (tiplens.review.coders.embed)
            rows.append((f"embedding coder, {precision}", embed_time,
                         300 if precision == "int8" else None))

    print(f"{'coder':32} {'seconds':>8} {'sent/s':>10} {'x baseline time':>16} {'target':>12}")
    for name, seconds, target in rows:
        rate = n / seconds
        verdict = "" if target is None else ("ok" if rate >= target else "MISSED")
        goal = "" if target is None else f">= {target:,}/s"
        print(f"{name:32} {seconds:8.3f} {rate:10,.0f} {seconds / base:15.2f}x {goal:>12} {verdict}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    if load_time is not None:
        print(f"model load + first batch: {load_time:.1f} s (once per process)")
    print(f"peak memory after the dictionary coder: {dict_peak:,.0f} MB")
    total = peak_mb()
    print(f"peak memory of the whole run: {total:,.0f} MB (target < 1,024 MB) {'ok' if total < 1024 else 'MISSED'}")
    from run_all import figure, result_line
    figures = [figure(f"coding: {name} (sentences/s)", n / seconds, "sent/s",
                      None if target is None else f">= {target}", baseline=n / base)
               for name, seconds, target in rows]
    figures.append(figure("coding: peak memory", total, "MB", "< 1024"))
    print(result_line(figures))


if __name__ == "__main__":
    main()
