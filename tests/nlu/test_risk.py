"""Urgent is caught in every script; offer red flags are elevated; talk about danger is not danger."""

import pytest

from nlu.normalize import normalize
from nlu.risk import assess

URGENT = [
    ("vzeha mi pasporta", "document_retention"),
    ("взеха ни личните карти", "document_retention"),
    ("they took our passports", "document_retention"),
    ("shefa ni darji dokumentite", "document_retention"),
    ("ne ni puskat da izlizame", "confinement"),
    ("заключват ни през нощта", "confinement"),
    ("they lock us in the house at night", "confinement"),
    ("please help me I want to go home but they won't let me", "confinement"),
    ("me biqt vseki den", "violence"),
    ("бият ни", "violence"),
    ("the boss hits us", "violence"),
    ("заплашват ме че ще ме убият", "threats"),
    ("they threaten my family", "threats"),
    ("karat me da prostituiram", "sexual_exploitation"),
    ("принуждават ме да спя с клиенти", "sexual_exploitation"),
    ("ostanahme bez pari na ulicata v belgiq", "stranded"),
    ("нямаме пари за билет да се приберем", "stranded"),
    ("we are stranded in spain with no money", "stranded"),
    ("deteto mi e na 15 i go karat da raboti", "minor"),
    ("they sent a 14 year old kid to work", "minor"),
    # an adult age beside a child's is a lie told about the child; someone else locking the phone is control
    ("kazaha 4e sinyt mi e na 18 no toi e na 15 i raboti po cql den v obekta", "minor"),
    ("toi mi zaklu4i telefona sys svoq parola i ne moga da pisha na nikogo", "confinement"),
    ("ne mi vyrnaha pasporta ot 2 meseca", "document_retention"),
    ("помогите, у нас забрали паспорта", "document_retention"),
    ("pomosht", "distress"),
    ("SOS", "distress"),
]


@pytest.mark.parametrize(("text", "signal"), URGENT)
def test_urgent_with_signal(text: str, signal: str) -> None:
    risk = assess(normalize(text))
    assert risk.level == "urgent"
    assert signal in risk.signals


ELEVATED = [
    ("iskat pari predvaritelno za rabotata", "recruitment_fee"),
    ("the agency asks me for 500 euro", "recruitment_fee"),
    ("obeshtavat 3000 evro zaplata bez dogovor", "no_contract"),
    ("obeshtavat 3000 evro zaplata", "too_good_pay"),
    ("ще ни вземат паспортите за да ни оправят документите", "document_retention"),
    ("не ни плащат от два месеца", "unpaid_wages"),
    ("dyljim im za pytia i kvartirata", "debt_bondage"),
    ("kazaha da ne kazvame na nikoi i trygvame utre", "pressure_secrecy"),
]


@pytest.mark.parametrize(("text", "signal"), ELEVATED)
def test_elevated_with_signal(text: str, signal: str) -> None:
    risk = assess(normalize(text))
    assert risk.level == "elevated", risk
    assert signal in risk.signals


@pytest.mark.parametrize(
    "text",
    [
        "what is forced labour",
        "какво е трафик на хора",
        "kakvo e kanaldjiq",
        "kolko e minimalnata zaplata v germaniq",
        "изгубих си паспорта на почивка",
        "the agency keeps a copy of my passport for the file, is that ok",
        "играхме escape room, заключиха ни за час хаха",
        "колко данъци се удържат от заплатата в Австрия",
        "ne ni biqt, vsichko e nared",
        "how do I see a doctor in Spain",
        # a phone that locked itself or that its owner locks; a store room locked at night; everyone has a key
        "telefonyt mi se zaklu4i sled kato vkarah greshen pin, kak da go otklu4a",
        "how do I lock my phone with a fingerprint so the kids cant read it",
        "шефът заключва бара в полунощ, а ние си тръгваме с ключа за задната врата",
        "zaklu4vat vhoda v 22 4asa no vseki ot nas ima klu4",
        # locked oneself out, stuck in a lift, and it is over
        "zakliu4ih se na balkona i saseda mi otvori, sega se smeem",
        "we got stuck in the elevator at the hotel for ten minutes",
        # kept for a moment and given back; an adult son
        "na letishteto mi vzeha pasporta za proverka i vednaga mi go vyrnaha",
        "v shkolata vzeha telefona na dyshterq mi za chasa i posle i go vyrnaha",
        "sinyt mi e na 22 i raboti v sklad v holandiq, dobre li plashtat tam",
    ],
)
def test_not_urgent(text: str) -> None:
    assert assess(normalize(text)).level != "urgent"


def test_each_rule_quick_search_finds_at_least_what_the_rule_finds() -> None:
    """The rules search a loose form of each pattern first (nlu/risk.py _Rule): it must never miss."""
    from pathlib import Path

    from nlu.risk import RULES
    from nlu.trainingdata import load_risk_examples

    texts = [e.text for e in load_risk_examples(Path(__file__).parents[2] / "nlu" / "risk_data")]
    assert len(texts) > 1000
    hits = 0
    for text in texts:
        norm = normalize(text)
        for rule in RULES:
            field = norm.skeleton if rule.on_skeleton else norm.lower
            for pattern, loose in zip(rule.patterns, rule.loose, strict=True):
                if pattern.search(field):
                    hits += 1
                    assert loose.search(field), (rule.signal, pattern.pattern)
    assert hits > 500  # the rules do fire on these texts: the check above was exercised
