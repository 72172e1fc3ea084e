"""The NLU pipeline: normalise -> backend intent -> threshold -> country -> risk, once per message."""

from __future__ import annotations

from dataclasses import dataclass

from nlu.backends.base import NluBackend
from nlu.countries import HOME, extract_countries, pick_country
from nlu.normalize import normalize
from nlu.risk import assess
from nlu.types import INTENTS, IntentPrediction, NluResult, RiskAssessment

MAX_INPUT_CHARS = 10_000  # longer input is answered as out_of_scope, never parsed

# Bulgaria is home for most users: it is the topic's country only for migrants living there.
_HOME_INTENTS = frozenset({"migrants_in_bulgaria"})


@dataclass(frozen=True)
class Thresholds:
    fallback: float = 0.25  # below this the message is "not understood" (out_of_scope)
    emergency_alone: float = 0.85  # the classifier alone may call a message urgent above this


def fuse(pred: IntentPrediction, risk: RiskAssessment, th: Thresholds) -> tuple[str, float, RiskAssessment]:
    """Combine the classifier with the risk rules. Urgent risk always wins the intent."""
    intent, conf = pred.intent, pred.confidence
    if intent not in INTENTS:
        intent = "out_of_scope"
    if risk.level == "urgent":
        p_emergency = dict(pred.ranking).get("emergency", 0.0)
        return "emergency", max(conf, p_emergency), risk
    if intent == "emergency":
        # Rules that found only offer/pay red flags know better than the classifier's alarm.
        if conf >= th.emergency_alone and risk.level == "none":
            return intent, conf, RiskAssessment("urgent", ("distress", *risk.signals))
        # The words of danger without a sign of it: take the next reading.
        nxt = [(i, p) for i, p in pred.ranking if i != "emergency"]
        intent, conf = nxt[0] if nxt else ("out_of_scope", 0.0)
    if conf < th.fallback:
        return "out_of_scope", conf, risk
    return intent, conf, risk


class Nlu:
    def __init__(self, backend: NluBackend, thresholds: Thresholds | None = None) -> None:
        self.backend = backend
        self.thresholds = thresholds or Thresholds()

    async def parse(self, text: str) -> NluResult:
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_INPUT_CHARS:
            return NluResult(
                text=text if isinstance(text, str) else "",
                intent="out_of_scope",
                confidence=0.0,
                country=None,
                risk="none",
                language="unknown",
            )
        norm = normalize(text)
        if not norm.tokens:
            return NluResult(
                text=text, intent="out_of_scope", confidence=0.0, country=None, risk="none", language="unknown"
            )
        pred = await self.backend.predict(norm)
        intent, conf, risk = fuse(pred, assess(norm), self.thresholds)
        country = pick_country(extract_countries(norm))
        if country is None:
            country = _entity_country(pred)
        if country == HOME and intent not in _HOME_INTENTS:
            country = None
        return NluResult(
            text=text,
            intent=intent,
            confidence=conf,
            country=country,
            risk=risk.level,
            signals=risk.signals,
            language=norm.language,
        )

    async def close(self) -> None:
        await self.backend.close()


def _entity_country(pred: IntentPrediction) -> str | None:
    for name, value in pred.entities:
        if name == "country" and len(value) == 2 and value.isalpha():
            return value.upper()
    return None
