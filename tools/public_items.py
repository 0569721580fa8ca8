#!/usr/bin/env python3
"""Counts the public items of a crate from its rustdoc HTML (`cargo doc --no-deps -p CRATE`).

An item counts when rustdoc gave it a page of its own and its source is in the crate itself
(modules, structs, enums, traits, functions, type aliases, constants, statics, macros; a
re-export of another crate's item is not counted), plus the inherent methods, associated
constants and types, fields and variants shown on those pages (trait implementations are not
counted: they follow from the traits). `#[doc(hidden)]` items have no page and are not counted.

usage: tools/public_items.py target/doc kusto_ingest
"""
import os
import re
import sys

KINDS = ("struct", "enum", "trait", "fn", "type", "constant", "static", "macro", "union")
# Anchors of members on an item's page; the trait-implementation sections are cut off first.
MEMBER = re.compile(r'id="((?:method|structfield|variant|associatedconstant|associatedtype|tymethod)\.[^"]+)"')
CUT = ("id=\"trait-implementations", "id=\"synthetic-implementations", "id=\"blanket-implementations")


def own(html, crate):
    return f"src/{crate}/" in html


def count(doc, crate):
    root = os.path.join(doc, crate)
    items = members = 0
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".html"):
                continue
            kind = name.split(".", 1)[0]
            if name != "index.html" and kind not in KINDS:
                continue
            html = open(os.path.join(folder, name), encoding="utf-8").read()
            if not own(html, crate):
                continue
            items += 1
            cut = min([html.find(c) for c in CUT if c in html] or [len(html)])
            members += len(set(MEMBER.findall(html[:cut])))
    return items, members


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    items, members = count(sys.argv[1], sys.argv[2])
    print(f"{sys.argv[2]}: {items} item pages, {members} members, {items + members} in all")
