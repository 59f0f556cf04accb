"""Extract, update and compile the app's message catalogs: the one translator workflow (README, "Translations").

    python installer/translations.py           # extract every string, update each .po, compile each .mo
    python installer/translations.py --check   # only report what is stale or untranslated (exit 1)

One gettext catalog covers the whole app. The extractor (Babel) reads the Python sources and finds
``tr("...")`` and ``self.tr("...")`` (core, CLI, window), ``trn("...", "...", n)``, ``N_("...")`` and
Qt's ``translate("Context", "...")``; the context is not kept, since one English sentence gets one
translation everywhere. Translators edit ``resources/translations/<lang>/LC_MESSAGES/mfg_desktop.po``
(Poedit, Qt Linguist, Lokalize or any text editor) and run this again; the compiled ``.mo`` is
committed beside it and ``tests/test_translations.py`` fails when it is stale or a string is missing.
Babel is needed only here (the ``[test]`` extra); the app reads ``.mo`` files with the standard library.
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "mfg_desktop"
TRANSLATIONS = ROOT / "resources" / "translations"
DOMAIN = "mfg_desktop"
LANGUAGES = ["zh_CN"]
# function name -> which arguments are the message (1-based), as Babel's extractor wants them
KEYWORDS = {"tr": (1,), "trn": (1, 2), "N_": (1,), "translate": (2,)}
# fixed header fields: running the tool twice on the same sources writes the same bytes
HEADER = {"project": "mfg-desktop", "version": "0.1", "domain": DOMAIN, "copyright_holder": "the mfg-desktop authors",
              "msgid_bugs_address": "", "creation_date": datetime(2026, 12, 4, tzinfo=UTC),
              "revision_date": datetime(2026, 12, 4, tzinfo=UTC), "fuzzy": False}


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def extract() -> Catalog:
    """Every translatable string in the sources (locations by file only, so edits elsewhere in a
    file do not churn the catalogs)."""
    template = Catalog(**HEADER)
    for filename, _lineno, message, comments, context in extract_from_dir(
        str(SOURCES), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
        strip_comment_tags=True,
    ):
        template.add(message, locations=[(f"mfg_desktop/{filename}", None)], auto_comments=comments,
                     context=context)
    return template


def read_catalog(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, **HEADER)
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=110, include_lineno=False, sort_output=False, ignore_obsolete=True)
    return out.getvalue()


def updated(lang: str, template: Catalog) -> Catalog:
    catalog = read_catalog(lang)
    # no fuzzy guesses: a new English sentence stays untranslated until a translator has read it
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
    catalog.obsolete.clear()
    catalog.fuzzy = False  # a fuzzy header would leave the .mo without its plural rule
    catalog.revision_date = HEADER["revision_date"]
    return catalog


def problems(lang: str, template: Catalog | None = None) -> list[str]:
    """What makes ``lang``'s catalogs not ready to ship: strings missing from the .po or left
    untranslated, and a .mo that is not the compiled .po."""
    template = template or extract()
    catalog = read_catalog(lang)
    found = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        name = message.id if isinstance(message.id, str) else message.id[0]
        where = ", ".join(sorted({loc for loc, _ in message.locations}))
        if entry is None:
            found.append(f"{po_path(lang).name} ({lang}) lacks the string {name!r} from {where}")
        elif not entry.string or (isinstance(entry.string, tuple) and not all(entry.string)) or entry.fuzzy:
            found.append(f"{lang}: no translation for {name!r} ({where})")
    if not mo_path(lang).exists() or mo_path(lang).read_bytes() != compiled(catalog):
        found.append(f"{mo_path(lang)} is not the compiled {po_path(lang).name}: run python installer/translations.py")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale or untranslated strings")
    args = parser.parse_args(argv)
    template = extract()
    if not args.check:
        pot = TRANSLATIONS / f"{DOMAIN}.pot"
        pot.parent.mkdir(parents=True, exist_ok=True)
        pot.write_bytes(po_bytes(template))
        for lang in LANGUAGES:
            catalog = updated(lang, template)
            po_path(lang).parent.mkdir(parents=True, exist_ok=True)
            po_path(lang).write_bytes(po_bytes(catalog))
            mo_path(lang).write_bytes(compiled(read_catalog(lang)))
    bad = [line for lang in LANGUAGES for line in problems(lang, template)]
    for line in bad[:200]:
        print(line)
    if len(bad) > 200:
        print(f"... and {len(bad) - 200} more")
    print(f"{len(template)} strings; {len(bad)} problems", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
