"""The NLU pipeline: normalise -> intent -> risk (rules + model) -> country, once per message.

Risk is read from the whole message: the rules on the whole text and on each piece of a few
sentences, the learned model on each piece (the most worrying piece wins). A rule hit is never
lowered by the model. Where the model is unsure, the result asks the dialogue to ask the person
whether they are safe (``ask_safety``) instead of guessing either way.

Speed: the sentence embedding is most of a parse's time (about 12 ms for a short message, 2 cores).
A message is not embedded at all when the n-gram intent model is sure of a harmless intent, the
rules find nothing and the risk screen finds nothing worth reading; a long story judged urgent is
not embedded a second time for its intent (urgent makes the intent "emergency" anyway). The pieces of
a long story are read one at a time, the likeliest danger (by the screen) first, until one is urgent:
the rest cannot make it more urgent. The intent of a long story that is not urgent reads the mean of
its pieces' embeddings (most are cached by then) instead of embedding the whole text again.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlu.backends.base import NluBackend
from nlu.countries import HOME, extract_countries, pick_country
from nlu.embedding import Embedder
from nlu.normalize import Normalized, normalize
from nlu.risk import assess
from nlu.riskmodel import RiskModel, RiskScore, pieces
from nlu.types import INTENTS, RISK_ORDER, IntentPrediction, NluResult, RiskAssessment

MAX_INPUT_CHARS = 10_000  # longer input is answered as out_of_scope, never parsed
INTENT_CHARS = 1_000  # the intent of a long story comes from its questions, else its head

# Bulgaria is home for most users: "hotline Bulgaria" or a home town is not the topic. It is the topic
# for migrants living there: their questions, and anyone writing Russian about a place in Bulgaria
# ("работодатель в Бургасе не платит").
_HOME_INTENTS = frozenset({"migrants_in_bulgaria"})
_NO_TOPIC = frozenset({"out_of_scope", "greet", "goodbye", "affirm", "deny", "menu"})


@dataclass(frozen=True)
class Thresholds:
    fallback: float = 0.25  # below this the message is "not understood" (out_of_scope)
    emergency_alone: float = 0.85  # the classifier alone may call a message urgent above this


@dataclass(frozen=True)
class RiskView:
    """What the pipeline knows about risk before the intent is fused in."""

    rules: RiskAssessment
    model: RiskScore | None
    model_level: str
    ask: bool  # the model is unsure: ask "are you safe?"
    third_party: bool
    embedded_whole: bool = False  # the model read the embedding of the whole (one-piece) message


def fuse(pred: IntentPrediction, view: RiskView, th: Thresholds) -> tuple[str, float, RiskAssessment, bool]:
    """Combine the classifier, the rules and the risk model. Urgent risk always wins the intent;
    the classifier's "emergency" is never thrown away: when nothing confirms it, the person is asked."""
    intent, conf = pred.intent, pred.confidence
    if intent not in INTENTS:
        intent = "out_of_scope"
    risk = _merge(view)
    if risk.level == "urgent":
        p_emergency = dict(pred.ranking).get("emergency", 0.0)
        intent, conf, ask = "emergency", max(conf, p_emergency), False
    elif intent == "emergency" and conf >= th.emergency_alone and risk.level == "none":
        risk, ask = RiskAssessment("urgent", ("distress", *risk.signals)), False
    elif intent == "emergency":
        ask = True  # the words of danger without a sign of it: keep the reading, ask the person
    else:
        ask = view.ask
        if conf < th.fallback:
            intent = "out_of_scope"
    if view.third_party and (risk.level != "none" or ask) and "third_party" not in risk.signals:
        risk = RiskAssessment(risk.level, (*risk.signals, "third_party"))
    return intent, conf, risk, ask


def _merge(view: RiskView) -> RiskAssessment:
    rules = view.rules
    level = rules.level
    signals = list(rules.signals)
    if RISK_ORDER[view.model_level] > RISK_ORDER[level]:
        level = view.model_level  # type: ignore[assignment]
        if level == "urgent" and not any(s != "third_party" for s in signals):
            signals.append("distress")  # described, not named: the model read it
    return RiskAssessment(level, tuple(signals))


class Nlu:
    def __init__(
        self,
        backend: NluBackend,
        thresholds: Thresholds | None = None,
        risk_model: RiskModel | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        """``risk_model`` needs ``embedder``; without them risk comes from the rules alone (tests of
        other parts, a deployment that chose so)."""
        if (risk_model is None) != (embedder is None):
            raise ValueError("a risk model needs its embedder, and an embedder a risk model")
        self.backend = backend
        self.thresholds = thresholds or Thresholds()
        self.risk_model = risk_model
        self.embedder = embedder

    def judge_risk(self, norm: Normalized, screen_whole: bool = False) -> RiskView:
        """``screen_whole``: the screen may spare even a one-piece message the embedding (the intent
        did not need it); a piece the rules find risky is always read."""
        texts = pieces(norm.lower)
        parts = [norm] if len(texts) == 1 else [normalize(t, norm.language) for t in texts]
        rules = assess(norm)
        if len(parts) > 1:  # a rule's guard over the whole story must not hide one sentence's danger
            for part in parts:
                rules = _worse(rules, assess(part))
        if self.risk_model is None or self.embedder is None:
            return RiskView(rules, None, "none", False, False)
        screen = self.risk_model.screen_scores(parts, even_one=screen_whole and rules.level == "none")
        # the pieces worth reading, the likeliest danger first
        order = sorted((i for i, v in enumerate(screen) if v >= self.risk_model.screen_floor), key=lambda i: -screen[i])
        read = [parts[i] for i in order]
        if not read:  # a long story with nothing the screen finds risky: the rules alone decide
            return RiskView(rules, RiskScore(0.0, 0.0, 0.0), "none", False, False)
        t = self.risk_model.thresholds
        for n in range(1, len(read) + 1):
            # One piece more each time: danger in a piece makes the story urgent whatever the rest says,
            # so the rest (most of the cost of a long story) is read only while none is urgent.
            score = self.risk_model.score(read[:n], self.embedder.embed([p.text for p in read[:n]]))
            if score.urgent >= t.urgent:
                break
        if score.urgent >= t.urgent:
            level = "urgent"
        elif score.urgent + score.elevated >= t.elevated:
            level = "elevated"
        else:
            level = "none"
        ask = t.ask <= score.urgent < t.urgent
        return RiskView(rules, score, level, ask, score.third_party >= t.third_party, embedded_whole=len(parts) == 1)

    async def parse(self, text: str) -> NluResult:
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_INPUT_CHARS:
            return _not_understood(text if isinstance(text, str) else "")
        norm = normalize(text)
        if not norm.tokens:
            return _not_understood(text)
        # The sentence embedding is most of the cost of a parse: it is skipped when the n-gram intent
        # model is sure of a harmless intent, the rules find nothing and the risk screen finds
        # nothing to read (both thresholds held out at training time).
        intent_view = _intent_view(norm)
        quick = self.backend.quick_predict(intent_view)
        view = self.judge_risk(norm, screen_whole=quick is not None)
        if view.embedded_whole:
            quick = None  # the whole text was embedded anyway: the full intent model reads it for free
        elif quick is None and _merge(view).level == "urgent":
            # Urgent risk makes the intent "emergency" whatever the classifier says: a long story's
            # questions need not be embedded for it (the cheap model's ranking gives the confidence).
            quick = self.backend.quick_predict(intent_view, sure_only=False)
        pred = quick or await self.backend.predict(intent_view)
        intent, conf, risk, ask = fuse(pred, view, self.thresholds)
        mentions = extract_countries(norm)
        if intent == "out_of_scope" and all(m.adjective for m in mentions):
            mentions = []  # "italianska kuhnq", "Greek yoghurt": not about a country
        country = pick_country(mentions)
        if country is None:
            country = _entity_country(pred)
        if country is not None and risk.level != "urgent" and _names_only_a_country(norm):
            # "germaniq", "Italy?", "a v holandiq?": a question about that country, nothing to doubt.
            intent, conf, ask = "residence_rules", max(conf, 0.9), False
        if country == HOME and not _home_is_topic(norm, intent):
            country = None
        elif country is None and intent in _HOME_INTENTS:
            country = HOME  # "Сколько ждать решение по убежищу": a migrant's question is about Bulgaria
        return NluResult(
            text=text,
            intent=intent,
            confidence=conf,
            country=country,
            risk=risk.level,
            signals=risk.signals,
            language=norm.language,
            ask_safety=ask,
        )

    async def close(self) -> None:
        await self.backend.close()


def _not_understood(text: str) -> NluResult:
    return NluResult(text=text, intent="out_of_scope", confidence=0.0, country=None, risk="none", language="unknown")


def _worse(a: RiskAssessment, b: RiskAssessment) -> RiskAssessment:
    level = a.level if RISK_ORDER[a.level] >= RISK_ORDER[b.level] else b.level
    return RiskAssessment(level, tuple(dict.fromkeys((*a.signals, *b.signals))))


def _intent_view(norm: Normalized) -> Normalized:
    """A long story's intent comes from its questions (else its head): the rest is narrative."""
    if len(norm.lower) <= INTENT_CHARS:
        return norm
    questions = [p for p in pieces(norm.lower) if "?" in p]
    head = " ".join(questions)[:INTENT_CHARS] if questions else norm.lower[:INTENT_CHARS]
    return normalize(head, norm.language)


# Words that may stand beside a bare country name: "а в Италия?", "and Spain?", "what about Germany".
_COUNTRY_FILLER = frozenset(
    """а и в във за какво как ами ну что насчет про тогава тогда ли е
    and what about in the to for how so then ok""".split()
)


def _names_only_a_country(norm: Normalized) -> bool:
    rest = [t for t in norm.tokens if t not in _COUNTRY_FILLER]
    if not rest or len(rest) > 3:
        return False
    return all(extract_countries(normalize(t, norm.language)) for t in rest)


def _home_is_topic(norm: Normalized, intent: str) -> bool:
    if intent in _HOME_INTENTS:
        return True
    return intent not in _NO_TOPIC and norm.language == "ru"


def _entity_country(pred: IntentPrediction) -> str | None:
    for name, value in pred.entities:
        if name == "country" and len(value) == 2 and value.isalpha():
            return value.upper()
    return None
