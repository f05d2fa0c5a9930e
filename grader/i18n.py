"""The language a student reads: English (the source text) or Simplified Chinese, from gettext catalogues.

Every student-facing message is written ``_("{name}: shape {got}, expected {expected}", name=...,
got=..., expected=...)``: the English text is the message id, the words around the values are
translated, and the values (numbers, shapes, names of tasks and code) are put in as they are.
The language is bound per call, not installed for the process: ``with using("zh_CN"):`` makes
every ``_()`` in that block (and in what it calls, in this thread or task) speak Chinese, so a
batch, a test or ``grader watch`` can render for one student in one language and the next in
another. Outside any ``using`` block the text is English, exactly as written.

The catalogues are ``grader/locale/<lang>/LC_MESSAGES/deepgrade.po`` (Babel's tools extract,
update and compile them: ``python -m grader.i18n extract|update|compile``); the compiled ``.mo``
beside each is what is read at run time, compiled again from its ``.po`` when it is missing or
older (``dev.py setup`` and the student repository's export compile them too).

Which language (:func:`choose`): ``--lang`` where a command was given it, else the environment
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``, the first that is set and names a language this grader
speaks; ``C`` and ``POSIX`` name none), else course.yaml's ``language``, else English.
"""
from __future__ import annotations

import contextlib
import contextvars
import gettext
import io
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

DOMAIN = "deepgrade"
LOCALE = Path(__file__).resolve().parent / "locale"
ENGLISH = "en"
LANGUAGES = ("en", "zh_CN")  # what --lang and course.yaml's language accept
ENVIRONMENT = ("LC_ALL", "LC_MESSAGES", "LANG")  # in POSIX's order of precedence

_current: contextvars.ContextVar[str] = contextvars.ContextVar("deepgrade_language", default=ENGLISH)
_loaded: dict[str, gettext.NullTranslations] = {}


def normalise(name: str | None) -> str | None:
    """The language a locale name or ``--lang`` value means (``zh_CN.UTF-8``, ``zh-CN``, ``zh`` -> ``zh_CN``;
    ``en_GB`` -> ``en``), or None where it names none this grader speaks (``C``, ``de_DE``, ``zh_TW``)."""
    if not name:
        return None
    base = name.split(".", 1)[0].split("@", 1)[0].replace("-", "_")
    lang, _sep, region = base.partition("_")
    lang = lang.lower()
    if lang == "en":
        return ENGLISH
    if lang == "zh" and region.upper() in ("", "CN", "SG", "HANS"):
        return "zh_CN"
    return None


def from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The language the environment asks for: the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is
    set decides (as POSIX reads them), and counts only where it names a language spoken here."""
    environ = os.environ if environ is None else environ
    for var in ENVIRONMENT:
        value = environ.get(var, "")
        if value:
            return normalise(value)
    return None


def choose(option: str | None = None, course_language: str | None = None,
           environ: Mapping[str, str] | None = None) -> str:
    """``--lang``'s value, else the environment's language, else course.yaml's, else English."""
    if option:
        lang = normalise(option)
        if lang is None:
            raise ValueError(f"unknown language {option!r}: {' or '.join(LANGUAGES)}")
        return lang
    return from_environment(environ) or normalise(course_language) or ENGLISH


def current() -> str:
    """The language ``_()`` speaks here."""
    return _current.get()


@contextlib.contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Speak ``lang`` (None: English) inside the block, in this thread or task only."""
    lang = normalise(lang) or ENGLISH
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


def catalogue_path(lang: str, suffix: str = ".po") -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def _translations(lang: str) -> gettext.NullTranslations:
    if lang == ENGLISH:
        return gettext.NullTranslations()
    if lang not in _loaded:
        po, mo = catalogue_path(lang), catalogue_path(lang, ".mo")
        if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
            with mo.open("rb") as f:
                _loaded[lang] = gettext.GNUTranslations(f)
        elif po.is_file():
            data = compiled(po)
            with contextlib.suppress(OSError):  # a read-only installation still reads its .po
                mo.write_bytes(data)
            _loaded[lang] = gettext.GNUTranslations(io.BytesIO(data))
        else:
            print(f"deepgrade: no catalogue for {lang} ({po.name}): messages stay in English", file=sys.stderr)
            _loaded[lang] = gettext.NullTranslations()
    return _loaded[lang]


def _(message: str, /, **values: object) -> str:
    """``message`` in the current language, with ``values`` put in its ``{placeholders}``."""
    text = _translations(_current.get()).gettext(message)
    return text.format(**values) if values else text


def ngettext(singular: str, plural: str, n: int, /, **values: object) -> str:
    """The singular or plural form for ``n`` in the current language; ``{n}`` and ``values`` are put in."""
    text = _translations(_current.get()).ngettext(singular, plural, n)
    return text.format(n=n, **values)


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is defined; ``_()`` translates it where it is shown."""
    return message


# The catalogue tools (Babel). Imported here only: reading a compiled catalogue needs the standard library alone.

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract(root: Path = LOCALE.parent) -> object:
    """Every message of the grader's code, as a Babel catalogue (the ``.pot``)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    catalog = Catalog(project="deepgrade", domain=DOMAIN, charset="utf-8")
    for name, line, message, comments, context in extract_from_dir(
            root, [("**.py", "python")], keywords=KEYWORDS, comment_tags=("i18n:",), strip_comment_tags=True):
        catalog.add(message, None, [(f"grader/{name}", line)], auto_comments=comments, context=context)
    return catalog


def compiled(po: Path) -> bytes:
    """The ``.mo`` bytes of a ``.po`` file (deterministic: the same ``.po`` gives the same bytes)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parent.parent.name, domain=DOMAIN)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def compile_all() -> list[Path]:
    """Compile every language's ``.po`` to its ``.mo``; the ``.mo`` files written."""
    written = []
    for lang in LANGUAGES:
        po = catalogue_path(lang)
        if po.is_file():
            catalogue_path(lang, ".mo").write_bytes(compiled(po))
            written.append(catalogue_path(lang, ".mo"))
    return written


def update(po: Path, template: object | None = None) -> None:
    """Bring one ``.po`` up to date with the code: new messages added untranslated, gone ones made obsolete;
    a catalogue already up to date is written back byte for byte."""
    from babel.messages.pofile import read_po, write_po
    template = extract() if template is None else template
    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parent.parent.name, domain=DOMAIN)
    created = catalog.creation_date
    catalog.update(template, no_fuzzy_matching=True)
    catalog.creation_date = created
    with po.open("wb") as f:
        write_po(f, catalog, width=120, omit_header=False, include_previous=False, include_lineno=False)


def update_all() -> None:
    """:func:`update` every language's ``.po``."""
    template = extract()
    for lang in LANGUAGES:
        if catalogue_path(lang).is_file():
            update(catalogue_path(lang), template)


def main(argv: list[str]) -> int:
    """``python -m grader.i18n extract FILE.pot | update | compile``: Babel's extract, update and compile."""
    if argv[:1] == ["extract"] and len(argv) == 2:
        from babel.messages.pofile import write_po
        with open(argv[1], "wb") as f:
            write_po(f, extract(), width=120)
        return 0
    if argv == ["update"]:
        update_all()
        return 0
    if argv == ["compile"]:
        for path in compile_all():
            print(f"compiled {path.relative_to(LOCALE.parent.parent)}")
        return 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
