"""README sections included in the documentation site, by heading.

A page says where a README section goes with one line of its own::

    <!-- readme: ## Reports, gate and CI (intro) -->
    <!-- readme: ### Gate and exit codes -->
    <!-- readme: ## Safety against production (page) -->

The first includes only the section's text before its first subheading; the second the section with its
subsections (up to the next heading of the same or a higher level), its heading becoming a level-2 heading of the
page (subheadings keep their depth below it); ``(page)`` does the same with the heading as the page's title
(level 1), for a page that is that one section.  A heading that README does not have fails
the build: a section renamed or moved out of README must be moved into its page, not silently dropped.

Links in the included text are rewritten for the site: ``#anchor`` links to a README heading go to the page that
includes that heading (a heading no page includes fails the build), ``docs/<page>.md`` to that page, repository
images are copied into the site, and other repository paths become code text (the site has no source browser).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown.extensions.toc import slugify

DIRECTIVE = re.compile(r"^<!-- readme: (?P<hashes>#{1,6}) (?P<title>.+?)(?: \((?P<mode>intro|page)\))? -->[ \t]*$",
                       re.MULTILINE)
_HEADING = re.compile(r"^(?P<hashes>#{1,6}) +(?P<title>.+?)\s*#*\s*$")
_LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")
_IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif")


class SectionError(ValueError):
    """A directive names a heading README does not have, or a link cannot be placed on the site."""


@dataclass
class Heading:
    level: int
    title: str
    line: int  # index into the README's lines
    github_anchor: str  # how README links to it on a forge


@dataclass
class Readme:
    lines: list[str]
    headings: list[Heading] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> "Readme":
        readme = cls(path.read_text(encoding="utf-8").splitlines())
        seen: dict[str, int] = {}
        fenced = False
        for index, line in enumerate(readme.lines):
            if line.startswith("```"):
                fenced = not fenced
                continue
            match = None if fenced else _HEADING.match(line)
            if match:
                title = match["title"]
                anchor = github_anchor(title)
                count = seen.get(anchor, 0)
                seen[anchor] = count + 1
                readme.headings.append(Heading(len(match["hashes"]), title, index, anchor if not count else f"{anchor}-{count}"))
        return readme

    def find(self, level: int, title: str) -> Heading:
        matches = [h for h in self.headings if h.title == title and h.level == level]
        if not matches:
            raise SectionError(f"README.md has no heading {'#' * level} {title!r} (a page includes it with "
                               f"<!-- readme: {'#' * level} {title} -->): move the section into its page")
        if len(matches) > 1:
            raise SectionError(f"README.md has {len(matches)} headings {title!r}: the include is ambiguous")
        return matches[0]

    def section(self, level: int, title: str, intro: bool) -> tuple[list[Heading], list[str]]:
        """The headings and lines of a section (its heading included)."""
        start = self.find(level, title)
        inner = [h for h in self.headings if h.line > start.line]
        end = next((h.line for h in inner if h.level <= start.level or intro), len(self.lines))
        return [start] + [h for h in inner if h.line < end], self.lines[start.line:end]


def github_anchor(title: str) -> str:
    """The anchor a forge gives a README heading (lower case, punctuation dropped, spaces to hyphens)."""
    text = re.sub(r"[`*_]", "", title).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def site_anchor(title: str) -> str:
    """The anchor MkDocs' table of contents gives the same heading on the site."""
    return slugify(re.sub(r"[`*]", "", title), "-")


def directives(markdown: str) -> list[tuple[int, str, bool]]:
    return [(len(m["hashes"]), m["title"], m["mode"] == "intro") for m in DIRECTIVE.finditer(markdown)]


def shift(lines: list[str], by: int) -> list[str]:
    out, fenced = [], False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        out.append(f"{'#' * max(1, min(6, len(match['hashes']) + by))} {match['title']}" if match else line)
    return out


class Includer:
    """Expands the README directives of the site's pages; knows which page holds each included heading."""

    def __init__(self, readme_path: Path, pages: dict[str, str], elsewhere: dict[str, str] | None = None) -> None:
        """*pages*: page path in the docs folder (``safety.md``) -> its Markdown source; *elsewhere*: README anchors
        of sections no page includes -> the page that covers their subject (``requirements`` -> the reference)."""
        self.root = readme_path.parent
        self.readme = Readme.read(readme_path)
        # README anchor -> (page, site anchor; empty: the page itself)
        self.anchor_page: dict[str, tuple[str, str]] = {a: (page, "") for a, page in (elsewhere or {}).items()}
        self.images: set[str] = set()  # repository paths of images the included text shows
        for page, source in pages.items():
            for level, title, intro in directives(source):
                for heading in self.readme.section(level, title, intro)[0]:
                    self.anchor_page[heading.github_anchor] = (page, site_anchor(heading.title))

    def expand(self, page: str, markdown: str) -> str:
        def include(match: re.Match) -> str:
            headings, lines = self.readme.section(len(match["hashes"]), match["title"], match["mode"] == "intro")
            top = 1 if match["mode"] == "page" else 2
            text = "\n".join(shift(lines, top - headings[0].level))
            return _LINK.sub(lambda link: self._link(page, link), text)

        expanded = DIRECTIVE.sub(include, markdown)
        left = re.search(r"^<!-- readme:.*$", expanded, re.MULTILINE)
        if left:
            raise SectionError(f"{page}: {left[0]!r} is not an include (<!-- readme: ## Heading --> with an optional "
                               "(intro) or (page))")
        return expanded

    def _link(self, page: str, link: re.Match) -> str:
        target, text = link["target"], link["text"]
        up = "../" * page.count("/")
        if re.match(r"^[a-z]+:", target):
            return link[0]
        if target.startswith("#"):
            if target[1:] not in self.anchor_page:
                raise SectionError(f"{page}: README links to {target}, a heading no page of the site includes")
            where, anchor = self.anchor_page[target[1:]]
            return f"[{text}]({'' if where == page else up + where}{'#' + anchor if anchor else ''})"
        path = target.split("#")[0]
        if path.startswith("docs/") and path.endswith(".md"):
            return f"[{text}]({up}{target[len('docs/'):]})"
        if not (self.root / path).exists():
            raise SectionError(f"{page}: README links to {target}, which is not in the repository")
        if link["bang"] and path.endswith(_IMAGE_SUFFIXES):
            self.images.add(path)
            return f"![{text}]({up}{REPOSITORY_FILES}/{path})"
        return f"{text} (`{path}`)" if text != path else f"`{path}`"


REPOSITORY_FILES = "repository"  # where images of the repository that README shows are copied in the site
