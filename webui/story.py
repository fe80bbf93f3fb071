"""The guided path through the app: the story a talk tells, page by page, built from ``PAGES``.

The shortcut (Home, Architecture), the recorded race and a replay (Train), why it works, what the
network sees (Classify, Grad-CAM), teaching it your own things (Fine-tune). Every page ends with a
link to the next one; presenter mode adds Previous/Next buttons (``webui.guide``).
"""

from __future__ import annotations

from dataclasses import dataclass

from webui.pages import PAGES, Page

__all__ = ["PARTS", "STORY", "Chapter", "chapter", "next_page", "previous_page"]

#: The part of the story each page tells, by page label.
_PARTS = {
    "Home": "The shortcut",
    "Architecture": "The shortcut",
    "Train": "The race",
    "Why it works": "Why it works",
    "Classify": "What the network sees",
    "Grad-CAM": "What the network sees",
    "Fine-tune": "Teach it your own things",
}


@dataclass(frozen=True)
class Chapter:
    """One page of the story and the part it belongs to."""

    page: Page
    part: str  # e.g. "The shortcut"
    number: int  # of the part, from 1


def _story() -> tuple[Chapter, ...]:
    parts = list(dict.fromkeys(_PARTS[p.label] for p in PAGES))
    return tuple(Chapter(p, _PARTS[p.label], parts.index(_PARTS[p.label]) + 1) for p in PAGES)


#: Every page, in the order the story visits them (the order of ``PAGES``).
STORY: tuple[Chapter, ...] = _story()
PARTS = max(c.number for c in STORY)


def chapter(current: Page) -> Chapter:
    """The story's chapter of ``current``."""
    return next(c for c in STORY if c.page == current)


def next_page(current: Page) -> Page | None:
    """The page after ``current`` in the story; ``None`` after the last."""
    i = [c.page for c in STORY].index(current)
    return STORY[i + 1].page if i + 1 < len(STORY) else None


def previous_page(current: Page) -> Page | None:
    """The page before ``current`` in the story; ``None`` on the first."""
    i = [c.page for c in STORY].index(current)
    return STORY[i - 1].page if i > 0 else None
