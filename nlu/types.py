"""Value types shared by every NLU backend and by the dialogue engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

INTENTS: tuple[str, ...] = (
    "greet",
    "goodbye",
    "menu",
    "work_legally",
    "residence_rules",
    "job_offer_check",
    "wages_costs",
    "trafficking_info",
    "hotline",
    "emergency",
    "human_mediator",
    "education_family",
    "health_social",
    "migrants_in_bulgaria",
    "data_privacy",
    "out_of_scope",
    "affirm",
    "deny",
)

Risk = Literal["none", "elevated", "urgent"]
Language = Literal["bg", "bg-latn", "en", "ru", "unknown"]
RISK_ORDER: dict[str, int] = {"none": 0, "elevated": 1, "urgent": 2}


@dataclass(frozen=True)
class IntentPrediction:
    """What a backend says about one message: ranked intents with probabilities."""

    ranking: tuple[tuple[str, float], ...]
    entities: tuple[tuple[str, str], ...] = ()

    @property
    def intent(self) -> str:
        return self.ranking[0][0] if self.ranking else "out_of_scope"

    @property
    def confidence(self) -> float:
        return self.ranking[0][1] if self.ranking else 0.0


@dataclass(frozen=True)
class RiskAssessment:
    level: Risk
    signals: tuple[str, ...] = ()


@dataclass(frozen=True)
class NluResult:
    """The NLU contract: one object per message (see spec/PRODUCT.md §3)."""

    text: str
    intent: str
    confidence: float
    country: str | None
    risk: Risk
    signals: tuple[str, ...] = field(default_factory=tuple)
    language: Language = "unknown"
    # Risk is uncertain: ask "Are you safe right now?" before guessing either way (PRODUCT.md §2).
    ask_safety: bool = False

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["signals"] = list(self.signals)
        d["confidence"] = round(self.confidence, 4)
        return d
