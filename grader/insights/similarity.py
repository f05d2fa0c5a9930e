"""Similar submissions: which students' code for one assignment is alike beyond the skeleton.

The fingerprinting is copydetect's (the winnowing of Schleimer, Wilkerson and Aiken, as MOSS
does it): each student's files are tokenised by Pygments and normalised (every name becomes V,
F or O, every string S; comments and whitespace are dropped), so renamed variables, changed
comments and layout change nothing; the hashes of its k-grams are winnowed, which keeps a
fingerprint of every run of ``guarantee`` characters whatever the order of the functions around it.
Every k-gram of the skeleton (each file, and all of them one after the other as a submission's are
read) is boilerplate and taken out, so docstrings, signatures and stubs are never shared code; an
untouched skeleton has no fingerprint of its own left and is never paired.

A pair's score is the number of fingerprints both have over the larger of the two students' own
fingerprints, in [0, 1]: 1 when one student's whole code is inside the other's and both are the same
size. All pairs are scored at once as a sparse product (students x fingerprints), so a class of
hundreds takes seconds; copydetect then works out the matching regions of the pairs shown.
"""
from __future__ import annotations

import bisect
import html
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from grader.insights.model import Pair, Region, Similarity, Skipped

NOISE = 20        # copydetect's noise threshold: shorter matches (in normalised characters) never count
GUARANTEE = 24    # ... and its guarantee threshold: a match this long is always found (window 5)
FLAG_ABOVE = 0.4  # a pair scoring at least this is worth a look
MIN_SHARED = 12   # ... if it shares at least this many fingerprints (a few lines alike is no sign)
TOP = 25          # pairs listed per assignment, highest first (how many more are flagged is said)
MAX_FILE_BYTES = 1_000_000
CONTEXT_LINES = 3  # lines around the matching regions in a pair's side-by-side view


@dataclass
class Code:
    """One student's code for an assignment: its .py files one after the other, each under a header line."""

    student: str
    text: str
    files: list[tuple[int, str]]  # (character offset of its header, its path in the assignment's folder)


def header(name: str) -> str:
    return f"# ==== {name}\n"


def read_code(student: str, folder: Path, skipped: list[Skipped]) -> Code | None:
    """The .py files under ``folder`` (caches and hidden files aside), in path order. A file that cannot be
    read (not UTF-8, too big, a link) is left out and said in ``skipped``."""
    parts, files, offset = [], [], 0
    for py in sorted(folder.rglob("*.py")):
        rel = py.relative_to(folder).as_posix()
        if any(p.startswith(".") or p == "__pycache__" for p in py.relative_to(folder).parts):
            continue
        try:
            if py.is_symlink() or not py.is_file():
                raise OSError("a symbolic link, never followed" if py.is_symlink() else "not a regular file")
            if py.stat().st_size > MAX_FILE_BYTES:
                raise OSError(f"larger than {MAX_FILE_BYTES // 1_000_000} MB")
            source = py.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            why = e.strerror or str(e) if isinstance(e, OSError) else "not UTF-8 text"
            skipped.append(Skipped(student, f"{rel} not read: {why}"))
            continue
        files.append((offset, rel))
        chunk = header(rel) + source + ("" if source.endswith("\n") else "\n")
        parts.append(chunk)
        offset += len(chunk)
    if not files:
        return None
    return Code(student, "".join(parts), files)


class Fingerprint:
    """copydetect's ``CodeFingerprint`` of a text (the attributes its ``compare_files`` reads), with a hash of
    the k-grams that is the same in every process: copydetect's own uses Python's ``hash()``, which
    changes from run to run, and so would the fingerprints winnowing keeps and every score."""

    def __init__(self, name: str, text: str, k: int, window: int, boilerplate=None):
        import numpy as np
        from copydetect.utils import filter_code, get_token_coverage, winnow

        filtered, offsets = filter_code(text, name, "python")
        hashes = kgram_hashes(filtered, k)
        idx = np.arange(len(hashes))
        if window > 1 and len(hashes):
            hashes, idx = winnow(hashes, window, remove_duplicates=False)
        if boilerplate is not None and len(boilerplate) and len(hashes):
            keep = ~np.isin(hashes, boilerplate)
            hashes, idx = hashes[keep], idx[keep]
        positions: dict[int, list[int]] = {}
        for h, i in zip(hashes.tolist(), idx.tolist()):
            positions.setdefault(h, []).append(i)
        self.filename, self.raw_code, self.filtered_code, self.offsets = name, text, filtered, offsets
        self.hashes, self.hash_idx, self.k = set(positions), positions, k
        self.token_coverage = get_token_coverage(positions, k, len(filtered))


_MASK = (1 << 64) - 1


def kgram_hashes(text: str, k: int):
    """A 64-bit hash of every k-gram of ``text`` (a polynomial over its code points, then splitmix64's
    finaliser so that winnowing's minimum is a fair pick), as int64."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < k:
        return np.array([], dtype=np.int64)
    base = 0x100000001B3
    powers = np.array([pow(base, k - 1 - j, 1 << 64) for j in range(k)], dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = (sliding_window_view(codes, k) * powers).sum(axis=1, dtype=np.uint64)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h.view(np.int64)


def boilerplate_hashes(skeleton: Path | None, noise: int = NOISE):
    """Every k-gram hash of the skeleton's files, each alone and all of them in a row (as read_code reads a
    submission), as boilerplate."""
    import numpy as np

    code = read_code("skeleton", skeleton, []) if skeleton is not None and skeleton.is_dir() else None
    if code is None:
        return np.array([], dtype=np.int64)
    found = []
    for i, (start, name) in enumerate(code.files):
        end = code.files[i + 1][0] if i + 1 < len(code.files) else len(code.text)
        found.append(kgram_hashes(_filtered(code.text[start:end]), noise))
    found.append(kgram_hashes(_filtered(code.text), noise))
    return np.unique(np.concatenate(found))


def _filtered(text: str) -> str:
    from copydetect.utils import filter_code
    return filter_code(text, "skeleton.py", "python")[0]


def compare(codes: list[Code], skeleton: Path | None, skipped: list[Skipped], *, flag_above: float = FLAG_ABOVE,
            min_shared: int = MIN_SHARED, top: int = TOP, noise: int = NOISE, guarantee: int = GUARANTEE,
            step: Callable[[str], None] | None = None) -> Similarity:
    """Every pair of ``codes`` scored; the ``top`` highest kept, ranked, and how many are flagged in all."""
    import numpy as np
    from copydetect.detector import compare_files
    from scipy import sparse

    started = time.perf_counter()
    boilerplate = boilerplate_hashes(skeleton, noise)
    prints, students, no_own = [], [], []
    for code in codes:
        if step is not None:
            step(f"fingerprinting {code.student}")
        fp = Fingerprint(f"{code.student}.py", code.text, noise, guarantee - noise + 1, boilerplate)
        if fp.hashes:
            prints.append((code, fp))
            students.append(code.student)
        else:
            no_own.append(code.student)
    columns: dict[int, int] = {}
    rows, cols = [], []
    for i, (_, fp) in enumerate(prints):
        for h in fp.hashes:
            rows.append(i)
            cols.append(columns.setdefault(h, len(columns)))
    n = len(prints)
    pairs: list[Pair] = []
    flagged_total = 0
    if n >= 2:
        matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(n, len(columns)))
        shared = (matrix @ matrix.T).toarray()
        own = np.diag(shared).astype(float)
        scores = shared / np.maximum.outer(own, own)
        upper = np.triu(np.ones((n, n), dtype=bool), 1) & (shared > 0)
        i_idx, j_idx = np.nonzero(upper)
        values = scores[i_idx, j_idx]
        flagged_total = int(np.count_nonzero((values >= flag_above) & (shared[i_idx, j_idx] >= min_shared)))
        order = np.lexsort((j_idx, i_idx, -values))[:top]  # highest first; ties by the students' order
        for k in order:
            i, j = int(i_idx[k]), int(j_idx[k])
            score, common = float(values[k]), int(shared[i, j])
            flagged = score >= flag_above and common >= min_shared
            pairs.append(_pair(prints[i], prints[j], round(score, 4), common, flagged, compare_files))
    return Similarity(compared=len(codes), no_own_code=no_own, skipped=skipped, pairs=pairs, flagged=flagged_total,
                      pairs_compared=n * (n - 1) // 2, flag_above=flag_above, min_shared=min_shared, noise=noise,
                      guarantee=guarantee, boilerplate=str(skeleton) if skeleton is not None else "",
                      seconds=round(time.perf_counter() - started, 3))


def _pair(first, second, score: float, common: int, flagged: bool, compare_files) -> Pair:
    (code_a, fp_a), (code_b, fp_b) = first, second
    pair = Pair(code_a.student, code_b.student, score, common, len(fp_a.hashes), len(fp_b.hashes), 0.0, 0.0,
                flagged)
    _, (covered_a, covered_b), (slices_a, slices_b) = compare_files(fp_a, fp_b)
    pair.covered_a, pair.covered_b = round(min(1.0, float(covered_a)), 4), round(min(1.0, float(covered_b)), 4)
    if flagged:
        pair.regions_a, pair.regions_b = regions(code_a, slices_a), regions(code_b, slices_b)
        pair.view_a, pair.view_b = view(code_a, slices_a), view(code_b, slices_b)
    return pair


def regions(code: Code, slices) -> list[Region]:
    """copydetect's matching slices (character offsets into ``code.text``) as files and line ranges."""
    found: list[Region] = []
    if len(slices) == 0 or len(slices[0]) == 0:
        return found
    starts = [s for s, _ in code.files]
    for start, end in zip(slices[0], slices[1]):
        start, end = int(start), max(int(start), int(end) - 1)
        i = max(k for k, s in enumerate(starts) if s <= start)
        base = starts[i] + len(header(code.files[i][1]))
        first = code.text.count("\n", base, start) + 1
        last = code.text.count("\n", base, end) + 1
        name = code.files[i][1]
        if found and found[-1].file == name and found[-1].last_line >= first - 1:
            found[-1].last_line = max(found[-1].last_line, last)
        else:
            found.append(Region(name, max(first, 1), max(last, first, 1)))
    return found


def view(code: Code, slices) -> str:
    """``code`` as escaped HTML, one line at a time (its number in its file first), the matching regions in
    <mark>; away from them only each file's header and a few lines of context are kept, gaps shown as ⋮."""
    lines = code.text.splitlines(keepends=True)
    starts, at = [], 0
    for line in lines:
        starts.append(at)
        at += len(line)
    spans = [(int(s), int(e)) for s, e in zip(slices[0], slices[1])] if len(slices) and len(slices[0]) else []
    marked_lines = set()
    for s, e in spans:
        first, last = bisect.bisect_right(starts, s) - 1, bisect.bisect_right(starts, max(s, e - 1)) - 1
        marked_lines.update(range(first, last + 1))
    headers = {bisect.bisect_right(starts, offset) - 1: name for offset, name in code.files}
    keep = set(headers)
    for i in marked_lines:
        keep.update(range(max(0, i - CONTEXT_LINES), min(len(lines), i + CONTEXT_LINES + 1)))
    out, number, skipped = [], 0, False
    for i, line in enumerate(lines):
        number = 0 if i in headers else number + 1
        if i not in keep:
            if not skipped:
                out.append('<span class="gap">⋮</span>\n')
            skipped = True
            continue
        skipped = False
        text = line.rstrip("\n")
        begin, end = starts[i], starts[i] + len(text)
        parts, cursor = [], begin
        for s, e in spans:
            s, e = max(s, begin), min(e, end)
            if s >= e:
                continue
            parts += [html.escape(code.text[cursor:s]), f"<mark>{html.escape(code.text[s:e])}</mark>"]
            cursor = e
        parts.append(html.escape(code.text[cursor:end]))
        if i in headers:
            out.append(f'<span class="file">{html.escape(headers[i])}</span>\n')
        else:
            out.append(f'<span class="ln">{number}</span>{"".join(parts)}\n')
    return "".join(out)
