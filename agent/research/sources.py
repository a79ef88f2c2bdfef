"""The research library: a folder of documents (Markdown, text, PDF, HTML, Word), cut into
passages at their headings and ranked with BM25 (bm25s). `agent.research.documents` reads the
files."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import bm25s
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS
from pydantic import BaseModel, ConfigDict

from agent.research import documents
from agent.research.markup import as_data
from agent.research.subject import Profile

if TYPE_CHECKING:
    from agent.settings import AgentSettings

Origin = Literal["library", "documents", "web"]
ORIGINS: dict[str, str] = {  # how a reference's origin reads
    "library": "the bundled library",
    "documents": "your documents",
    "web": "the web",
}
# Sections longer than this are split at paragraph breaks, so that a hit is a quotable passage
# rather than a whole chapter.
MAX_PASSAGE_WORDS = 160
# Words that say what kind of article is wanted, not what it is about ("Explain ... for
# beginners"): they must not count as subject matter the library lacks.
REQUEST_WORDS = frozenset(
    """actually also ask background basic basics beginner beginners best brief briefing bring
    conclusion conclusions could deal describe done everyday evidence explain explained get
    gets getting go goes going good guide happen happens hood introduction just kind know
    let like lot lots made make makes many much need new nothing old overview part parts
    people practical prove put really short show shows simple sort step steps still story
    summarise summarize summary takeaways tell thing things think thoughts today us use used
    using want wants way ways well work works would""".split()
)
WORD = re.compile(r"[a-z]+")


class Passage(BaseModel):
    """A piece of one document: what search ranks, research keeps and the article cites.

    The one shape of a passage: the search tools return it as JSON, the state's sources hold it,
    and the prompt blocks render it.
    """

    model_config = ConfigDict(frozen=True)

    source_id: str
    title: str
    section: str
    text: str
    origin: Origin = "library"
    location: str = ""  # the file, relative to its folder, or the page's URL


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    passages: tuple[Passage, ...]

    @property
    def markdown(self) -> str:
        parts = [f"# {self.title}"]
        section = None
        for passage in self.passages:
            if passage.section != section:
                section = passage.section
                parts.append(f"## {section}")
            parts.append(passage.text)
        return "\n\n".join(parts)


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float


@dataclass(frozen=True)
class Reading:
    """How a folder is read: where converted files are cached, and the bounds on a file."""

    cache: Path | None = None
    max_file_bytes: int = 20_000_000
    convert_timeout_seconds: float = 30.0


class SourceLibrary:
    """Loads every document below a folder once and answers ranked passage queries.

    `origin` says whose documents they are (the bundled library, or the reader's own);
    `skipped` lists the files that could not be read, and why.
    """

    def __init__(
        self, folder: Path, origin: Origin = "library", reading: Reading | None = None
    ) -> None:
        if not folder.is_dir():
            raise FileNotFoundError(f"sources folder {folder} does not exist")
        self.folder = folder
        self.origin: Origin = origin
        self.reading = reading or Reading()
        self.fingerprint = documents.fingerprint(folder)
        self.documents: dict[str, Document] = {}
        self.skipped: list[documents.Skipped] = []
        # Files with sentences addressed to the model, dropped (agent.research.markup), and how
        # many.
        self.addressed: list[tuple[Path, int]] = []
        with documents.Reader(
            folder,
            self.reading.cache,
            self.reading.max_file_bytes,
            self.reading.convert_timeout_seconds,
        ) as reader:
            for path in documents.files(folder):
                read = reader.read(path)
                if isinstance(read, documents.Skipped):
                    self.skipped.append(read)
                    continue
                location = read.path.as_posix() if origin == "documents" else ""
                text, addressed = as_data(read.markdown)
                if addressed:
                    self.addressed.append((read.path, addressed))
                doc = parse_document(self._id(read.path), text, read.title, origin, location)
                if doc.passages:
                    self.documents[doc.id] = doc
                else:
                    self.skipped.append(documents.Skipped(read.path, "no text in it: skipped"))
        if not self.documents:
            kinds = "/".join(sorted(documents.SUFFIXES))
            raise ValueError(f"no readable {kinds} documents found in {folder}")
        self.passages = [p for doc in self.documents.values() for p in doc.passages]
        self._stemmer = Stemmer.Stemmer("english")
        self._index = bm25s.BM25()
        self._index.index(
            self._tokenize([f"{p.title} {p.section} {p.text}" for p in self.passages]),
            show_progress=False,
        )

    @classmethod
    def from_settings(cls, settings: AgentSettings) -> SourceLibrary:
        """SOURCES_DIR as the settings say to read it: the bundled library unless it names
        a folder of the reader's own."""
        from agent.settings import BUNDLED_SOURCES

        folder = settings.sources_dir
        bundled = folder.resolve() == BUNDLED_SOURCES.resolve()
        reading = Reading(
            settings.sources_cache_dir,
            int(settings.source_max_file_mb * 1_000_000),
            settings.source_convert_timeout_seconds,
        )
        return cls(folder, "library" if bundled else "documents", reading)

    def _id(self, path: Path) -> str:
        """The file's path without its suffix ("notes/bees"); with it, if that is taken."""
        plain = path.with_suffix("").as_posix()
        return plain if plain not in self.documents else path.as_posix()

    def refreshed(self) -> SourceLibrary:
        """This library, or a new one read again if a file of its folder was added, removed
        or changed since (converted files come from the cache unless their content changed)."""
        if documents.fingerprint(self.folder) == self.fingerprint:
            return self
        return SourceLibrary(self.folder, self.origin, self.reading)

    def _tokenize(self, texts: list[str]) -> bm25s.tokenization.Tokenized:
        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The k best passages for `query`, best first; passages that share no term are left out."""
        k = max(1, min(k, len(self.passages)))
        tokens = self._tokenize([query])
        if not tokens.ids or not tokens.ids[0]:
            return []
        ids, scores = self._index.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [
            Hit(self.passages[int(i)], round(float(s), 4))
            for i, s in zip(ids[0], scores[0], strict=True)
            if s > 0
        ]

    def describe(self) -> str:
        """What a reader is told was searched: "the 36 documents in agent/corpus"."""
        folder = self.folder.resolve()
        shown = folder.relative_to(Path.cwd()) if folder.is_relative_to(Path.cwd()) else folder
        said = f"the {len(self.documents)} documents in {shown}"
        if self.skipped:
            said += f" ({len(self.skipped)} more could not be read: `writer sources` says why)"
        return said

    def get(self, source_id: str) -> Document | None:
        return self.documents.get(source_id)

    def profile(self, source_id: str) -> Profile:
        """What a document holds, for the coverage rule (agent.research.subject); built once
        each."""
        found = self._profiles.get(source_id)
        if found is None:
            doc = self.documents[source_id]
            headings = [doc.title, *dict.fromkeys(p.section for p in doc.passages)]
            found = self._profiles[source_id] = Profile.of(headings, [p.text for p in doc.passages])
        return found

    @cached_property
    def _profiles(self) -> dict[str, Profile]:
        return {}

    # --- what a document is about (agent.research.grounding) -----------------------------

    def terms(self, text: str) -> frozenset[str]:
        """The stemmed content words of `text`: no stopwords, request words or numbers."""
        words = [
            w
            for w in WORD.findall(text.lower())
            if len(w) > 1 and w not in STOPWORDS_EN_PLUS and w not in REQUEST_WORDS
        ]
        return frozenset(self._stemmer.stemWords(words))

    @cached_property
    def _document_terms(self) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        """Per document: the terms of its title and headings, and those of all its text."""
        found = {}
        for doc in self.documents.values():
            headings = " ".join(dict.fromkeys(p.section for p in doc.passages))
            body = " ".join(p.text for p in doc.passages)
            found[doc.id] = (
                self.terms(f"{doc.title} {headings}"),
                self.terms(f"{doc.title} {headings} {body}"),
            )
        return found

    def heading_terms(self, source_id: str) -> frozenset[str]:
        return self._document_terms[source_id][0]

    def text_terms(self, source_id: str) -> frozenset[str]:
        return self._document_terms[source_id][1]

    def weight(self, term: str) -> float:
        """How telling a term is (inverse document frequency); a term no document has weighs
        most, since a topic built on it is one the library cannot speak to."""
        frequency = self._document_frequency.get(term, 0.5)
        return math.log(1 + len(self.documents) / frequency)

    @cached_property
    def _document_frequency(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, text in self._document_terms.values():
            for term in text:
                counts[term] = counts.get(term, 0) + 1
        return counts


def parse_document(
    doc_id: str,
    text: str,
    title: str | None = None,
    origin: Origin = "library",
    location: str = "",
) -> Document:
    """A document cut into passages at its headings; its title is its first level-1 heading,
    else the one its converter found (an HTML page's), else its file name."""
    if not (title and title.strip()):
        title = doc_id.rsplit("/", 1)[-1].replace("-", " ").replace("_", " ").title()
    title = title.strip()
    section = "Overview"
    blocks: list[tuple[str, str]] = []
    paragraph: list[str] = []

    def close_paragraph() -> None:
        if paragraph:
            blocks.append((section, " ".join(line.strip() for line in paragraph)))
            paragraph.clear()

    for line in text.splitlines():
        if heading := re.match(r"^(#{1,6})\s+(.*\S)", line):
            close_paragraph()
            if len(heading.group(1)) == 1 and not blocks:
                title = heading.group(2)
            else:
                section = heading.group(2)
        elif line.strip():
            paragraph.append(line)
        else:
            close_paragraph()
    close_paragraph()

    passages = [
        Passage(
            source_id=doc_id,
            title=title,
            section=section_name,
            text=chunk,
            origin=origin,
            location=location,
        )
        for section_name, chunk in _merge_paragraphs(blocks)
    ]
    return Document(doc_id, title, tuple(passages))


def _merge_paragraphs(blocks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Joins consecutive paragraphs of one section up to MAX_PASSAGE_WORDS."""
    merged: list[tuple[str, str]] = []
    for section, paragraph in blocks:
        if merged and merged[-1][0] == section:
            joined = f"{merged[-1][1]}\n\n{paragraph}"
            # A size bound on the text, in whitespace-separated pieces, not the prose word
            # count: the passages the library cuts (and what models were measured on) stay put.
            if len(joined.split()) <= MAX_PASSAGE_WORDS:
                merged[-1] = (section, joined)
                continue
        merged.append((section, paragraph))
    return merged
