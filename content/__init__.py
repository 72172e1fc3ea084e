"""Sigurno content: answers, country cards, hotlines and UI texts (content/data/*.yml), typed.

    from content import load_content, default_content_dir
    content = load_content(default_content_dir())
    content.text("greeting", "bg")

`content.check.check_content` is the quality gate (languages, sections, sources, phones, links).
This package imports no web framework and no platform SDK.
"""

from content.loader import default_content_dir, load_content
from content.model import (
    EU_EEA_COUNTRIES,
    FULL_COUNTRIES,
    LANGUAGES,
    Answer,
    Contact,
    Content,
    ContentError,
    CountryCard,
    Fact,
    JobQuestion,
    Localized,
    Topic,
)

__all__ = [
    "EU_EEA_COUNTRIES",
    "FULL_COUNTRIES",
    "LANGUAGES",
    "Answer",
    "Contact",
    "Content",
    "ContentError",
    "CountryCard",
    "Fact",
    "JobQuestion",
    "Localized",
    "Topic",
    "default_content_dir",
    "load_content",
]
