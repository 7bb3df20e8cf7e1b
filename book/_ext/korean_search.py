"""A Sphinx extension: search for the Korean edition that finds a word whatever particle follows it.

Sphinx has no Korean search language; without one it indexes Korean as English, one "word" per run of letters, so
``어텐션은`` and ``어텐션을`` are different words and a search for ``어텐션`` finds neither. Korean attaches its
particles (조사) to the word before them, so this language strips one trailing particle from every Hangul word, in the
index (Python) and in the query (the same rule in JavaScript): ``어텐션은``, ``어텐션을`` and ``어텐션`` all become
``어텐션``. Latin words go through the English Porter stemmer, as in the English edition (``softmax를`` is
``softmax``).

What it cannot do: it does not analyse Korean morphology. It leaves a word of one syllable plus a particle as it is
(``키는`` stays ``키는``: stripping would merge short words such as ``길이`` (length) into ``길`` (road)), it strips only
particles, not verb endings (``정규화한`` stays), and a compound written without a space (``셀프어텐션``) is one word.
Book: the Korean edition (tools/i18n.py; CONTRIBUTING.md, "The Korean edition").
"""

from __future__ import annotations

import re

from sphinx.search import SearchLanguage
from sphinx.search.en import SearchEnglish, js_porter_stemmer

#: Particles, longest first, so that ``에서는`` goes before ``는``.
PARTICLES = sorted("""은 는 이 가 을 를 의 에 로 와 과 도 만 으로 에서 에게 까지 부터 처럼 보다 에는 에도 에서는 으로는 으로서
    로서 으로써 로써 이나 이며 이고 이라는 라는 이란 란 과의 와의 에서의 으로의 로의 마다 만큼 조차 밖에 인 입니다""".split(),
                   key=len, reverse=True)
HANGUL = re.compile("[\uac00-\ud7a3]")
LATIN = re.compile("^[a-z0-9_]+$")


def strip_particle(word: str) -> str:
    """``word`` without one trailing particle, if at least two characters remain."""
    for particle in PARTICLES:
        if word.endswith(particle) and len(word) - len(particle) >= 2:
            return word[: -len(particle)]
    return word


JS_STEMMER = js_porter_stemmer + """
/* Korean: the Porter stemmer above for Latin words, one trailing particle stripped from a Hangul word
   (book/_ext/korean_search.py, the same rule as the index). */
var PorterStemmer = Stemmer;
var KOREAN_PARTICLES = %s;
Stemmer = function() {
  var porter = new PorterStemmer();
  this.stemWord = function(word) {
    word = word.toLowerCase();
    if (/[\\uac00-\\ud7a3]/.test(word)) {
      for (var i = 0; i < KOREAN_PARTICLES.length; i++) {
        var p = KOREAN_PARTICLES[i];
        if (word.endsWith(p) && word.length - p.length >= 2) { word = word.slice(0, -p.length); break; }
      }
    }
    return /^[a-z0-9_]+$/.test(word) ? porter.stemWord(word) : word;
  };
};
""" % ("[" + ", ".join(f'"{p}"' for p in PARTICLES) + "]")


class SearchKorean(SearchLanguage):
    lang = "ko"
    language_name = "Korean"
    js_stemmer_code = JS_STEMMER
    stopwords: set[str] = set()

    def init(self, options: dict[str, str]) -> None:
        self.english = SearchEnglish(options)

    def stem(self, word: str) -> str:
        word = word.lower()
        if HANGUL.search(word):
            word = strip_particle(word)
        return self.english.stem(word) if LATIN.match(word) else word


def setup(app):
    app.add_search_language(SearchKorean)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
