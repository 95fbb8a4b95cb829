"""Plain-text tools for Indonesian news copy: sentences, word-safe cuts, tidy spaces.

Lengths are measured as Instagram counts them (:func:`bot.preflight.instagram_length`),
so a cut that fits here fits there.
"""

from __future__ import annotations

import re
import unicodedata

from bot.limits import instagram_length

ELLIPSIS = "…"
# Sentence-final punctuation, Latin and not: Arabic and Urdu (؟ ۔), Devanagari (। ॥),
# Armenian (։), Ethiopic (። ፧), Myanmar (။), CJK full and half width (。！？｡),
# and the doubled marks (‼ ⁇ ⁈ ⁉). A sentence ending in any of them gets no extra ".".
TERMINAL = ".!?…؟۔।॥։።፧။。！？｡‼⁇⁈⁉"
CLOSERS = "\"'”’»)]」』）】〉》"
OPENERS = "\"'“‘«([「『（【〈《"
_PAIRS = {"“": "”", "(": ")", "«": "»", "‘": "’", "「": "」", "『": "』", "（": "）"}


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``, for readable constant tables."""
    return frozenset(text.split())


_SPACE_RE = re.compile(r"\s+")
_INVISIBLE_RE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
# Control characters (and terminal escape sequences) never belong in a caption.
_CONTROL_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_CANDIDATE_RE = re.compile(r"[.!?…]+[\"'”’»)\]]*\s+")
_ENDS_SENTENCE_RE = re.compile(rf"[{re.escape(TERMINAL)}][{re.escape(CLOSERS)}]*$")
_DEGREE_RE = re.compile(r"^(?:[A-Za-z]{1,4}\.)+[A-Za-z]{1,4}$")  # S.Sos, M.Si, a.n, S.H
_WORD_CHARS_RE = re.compile(r"\w")

# Abbreviations that end with a full stop in Indonesian news copy but do not end a
# sentence: titles, ranks, addresses, units and the usual Latin and Indonesian short
# forms. Compared case-insensitively, without the dot.
ABBREVIATIONS = word_set(
    """
    a.n an u.p up yth ybs sdr sdri bpk bp ny nn tn hj h kh ust dr drg drs dra ir prof st amd
    kab kec kel ds prov kp gg jl jln rt rw no nomor hlm pt cv tbk ud kop rp tgl
    dll dsb dkk dst tsb spt dgn yg utk krn sbg ttd ttg
    jan feb mar apr jun jul agu agt ags sep sept okt nov des
    kol letkol mayjen brigjen kompol akbp akp iptu ipda aiptu aipda bripka brigpol
    bripda briptu serka sertu serda pelda kopda praka pratu kapt lettu letda mr mrs ms vs
    """
)


def tidy(text: str) -> str:
    """One line of text: control and invisible characters dropped, every run of spaces
    (line breaks included) folded to one."""
    text = _CONTROL_RE.sub("", _INVISIBLE_RE.sub("", text.replace("\xa0", " ")))
    return _SPACE_RE.sub(" ", text).strip()


def ends_sentence(text: str) -> bool:
    """Whether ``text`` ends with sentence punctuation (possibly inside quotes)."""
    return bool(_ENDS_SENTENCE_RE.search(text.rstrip()))


def has_words(text: str) -> bool:
    """Whether ``text`` holds at least one letter or digit."""
    return bool(_WORD_CHARS_RE.search(text))


def same_text(a: str, b: str) -> bool:
    """Whether two texts say the same words, ignoring case, spaces and punctuation."""

    def key(text: str) -> str:
        return "".join(c for c in text.casefold() if c.isalnum())

    return bool(key(a)) and key(a) == key(b)


def end_sentence(text: str) -> str:
    """``text`` with a full stop added unless it already ends a sentence."""
    text = text.rstrip()
    return text if not text or ends_sentence(text) else text + "."


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    after = text[match.end():].lstrip(OPENERS)
    if not after or not after[0].isupper():
        # Indonesian sentences start with a capital; a lower-case word, a digit or a
        # bracket after the stop means an abbreviation, a number or a citation.
        return False
    punctuation = match.group(0).rstrip().rstrip(CLOSERS)
    if punctuation != ".":
        return True
    before = text[:match.start()].rsplit(maxsplit=1)
    token = before[-1].lstrip(OPENERS) if before else ""
    if not token:
        return True
    if token.casefold() in ABBREVIATIONS:
        return False
    if len(token) == 1 and token.isalpha():
        return False  # an initial, as in "H. Ardiansyah"
    return not _DEGREE_RE.match(token)


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences without breaking at abbreviations or numbers."""
    sentences: list[str] = []
    start = 0
    for match in _CANDIDATE_RE.finditer(text):
        if _is_boundary(text, match):
            sentence = text[start:match.end()].strip()
            if sentence:
                sentences.append(sentence)
            start = match.end()
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


# Words an Indonesian editor would never leave dangling before an ellipsis.
_DANGLING = word_set(
    """
    dan atau serta yang di ke dari untuk dengan pada dalam oleh bagi karena sebagai bahwa
    agar supaya seperti hingga sampai tentang kepada antara para sang si maupun namun tetapi
    melalui terhadap akan telah sudah belum juga adalah ialah yakni yaitu bersama
    """
)


def cut_words(text: str, budget: int, *, truncated: bool = False,
              partial_word: bool = False) -> str:
    """``text`` if it fits in ``budget``, else its longest whole-word start ending in "…".

    Prefers to stop after a clause (a comma or semicolon) when that keeps most of the
    room, drops a dangling conjunction or preposition, and closes a quotation or a
    bracket left open. Returns "" when not even one word fits, unless ``partial_word``
    (for a headline that is one long token, or a URL): then that word is cut, so
    something of the text always shows. With ``truncated`` the text is known to stop
    mid-sentence already, so it ends in "…" even when it fits.
    """
    if not truncated and instagram_length(text) <= budget:
        return text
    room = budget - instagram_length(ELLIPSIS) - 2  # two closers at most: ” and )
    words = text.split()
    kept: list[str] = []
    used = 0
    for word in words:
        cost = instagram_length(word) + (1 if kept else 0)
        if used + cost > room:
            break
        kept.append(word)
        used += cost
    if not kept:
        if partial_word and words:
            return _cut_token(words[0], budget - instagram_length(ELLIPSIS))
        return ""
    clause = _last_clause_end(kept, room)
    if clause is not None:
        kept = kept[:clause + 1]
    while kept:
        last = kept[-1].rstrip(",;:–—-")
        core = last.strip(OPENERS + CLOSERS + ",;:.!?").casefold()
        if not last or not has_words(last) or (len(kept) > 1 and core in _DANGLING):
            kept.pop()
            continue
        kept[-1] = last
        break
    if not kept:
        return ""
    body = " ".join(kept).rstrip(TERMINAL)
    return body + ELLIPSIS + _closers_for(body)


def _cut_token(word: str, room: int) -> str:
    """The longest start of ``word`` that fits ``room``, with "…"; never splits a
    character from its combining marks."""
    cut = 0
    used = 0
    for i, char in enumerate(word):
        used += instagram_length(char)
        if used > room:
            break
        if i + 1 == len(word) or not unicodedata.combining(word[i + 1]):
            cut = i + 1
    head = word[:cut].rstrip(",;:–—-")
    return head + ELLIPSIS if head else ""


def _last_clause_end(words: list[str], room: int) -> int | None:
    used = 0
    best = None
    for i, word in enumerate(words):
        used += instagram_length(word) + (1 if i else 0)
        if word.endswith((",", ";")) and used >= room * 0.6 and i < len(words) - 1:
            best = i
    return best


def _closers_for(text: str) -> str:
    stack: list[str] = []
    for char in text:
        if char in _PAIRS:
            stack.append(_PAIRS[char])
        elif stack and char == stack[-1]:
            stack.pop()
    return "".join(reversed(stack[-2:]))
