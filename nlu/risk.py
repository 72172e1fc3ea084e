"""Risk detector: none / elevated / urgent with named signals, judged on every message.

Rules, not a model: each signal is a handful of patterns over the folded Cyrillic text (Bulgarian
in either script, Russian) and over the lowercased original (English). Recall on urgent comes first;
the patterns are broad on purpose and the few guards below (negation, a future offer condition, a
question about a word's meaning) exist only where a wrong "urgent" would be common.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.normalize import Normalized, skeleton
from nlu.types import RiskAssessment

URGENT_SIGNALS = (
    "document_retention",
    "trafficked",
    "confinement",
    "violence",
    "sexual_exploitation",
    "threats",
    "stranded",
    "minor",
)
ELEVATED_SIGNALS = (
    "debt_bondage",
    "unpaid_wages",
    "recruitment_fee",
    "no_contract",
    "too_good_pay",
    "pressure_secrecy",
    "abusive_conditions",
)
# third_party: the writer speaks of someone else (a daughter abroad who went silent); it marks the
# case and changes the advice, it never raises or lowers the level by itself.
ALL_SIGNALS = URGENT_SIGNALS + ELEVATED_SIGNALS + ("distress", "third_party")

_CYR_RUN = re.compile(r"[а-яёъьѝ]+")


def _cyr(pattern: str) -> re.Pattern[str]:
    """Compile a Cyrillic pattern written in normal spelling against skeleton-folded text."""
    return re.compile(_CYR_RUN.sub(lambda m: skeleton(m.group(0)), pattern))


def _en(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_W = r"(?:\s+\S+){0,4}?\s+"  # up to four words in between
_PRON = r"(?:ни|ми|ме|им|му|й|го|я|ги|нас|мене|меня|нам|мне|их|его|ее)"
_DOCS = r"(?:паспорт\w*|документ\w*|лични\w*|личн\w* карт\w*|карти\w*|картите|телефон\w*|джиесем\w*|паспорт)"
_DOCS_EN = r"(?:passports?|documents?|papers|id cards?|ids?|phones?|ids)"


@dataclass(frozen=True)
class _Rule:
    signal: str
    patterns: tuple[re.Pattern[str], ...]
    on_skeleton: bool
    loose: tuple[re.Pattern[str], ...] = ()  # each pattern without its word boundaries (see _hit)

    def __post_init__(self) -> None:
        # Removing a zero-width assertion only widens a pattern: the loose one matches wherever the
        # real one does. It is several times faster to search: a pattern that starts with a word
        # rather than with a word boundary lets the regex engine skip to that word's first letters.
        loose = tuple(re.compile(p.pattern.replace("\\b", ""), p.flags) for p in self.patterns)
        object.__setattr__(self, "loose", loose)


def _rules(signal: str, cyr: list[str], en: list[str]) -> list[_Rule]:
    return [
        _Rule(signal, tuple(_cyr(p) for p in cyr), True),
        _Rule(signal, tuple(_en(p) for p in en), False),
    ]


_TAKE_BG = (
    r"(?:взеха|взе|взел\w*|взимат|вземат|взема|взима|прибраха|прибра|задържа\w*|държат|държи|пазят|пази|"
    r"конфискува\w*|отнеха|отне|отнемат|отобрали|отобрал\w*|забрали|забрал\w*|держат|скриха|крият|"
    r"не (?:ни|ми|им|му) (?:дават|върнаха|връщат|връща|дава)|не отдают|не возвращают)"
)
_TAKE_EN = (
    r"(?:took|take|taken|taking|kept|keep|keeps|keeping|hold|holds|holding|held|confiscated|"
    r"stole|stolen|hid|hide|hiding|won'?t (?:give|return)|don'?t (?:give|return)|will not (?:give|return)|"
    r"refuse to (?:give|return))"
)

RULES: list[_Rule] = [
    *_rules(
        "document_retention",
        [
            rf"\b{_TAKE_BG}\b{_W}?(?:{_PRON}\s+)?(?:\w+\s+)?{_DOCS}",
            rf"\b{_DOCS}\s+(?:{_PRON}\s+)?(?:ги\s+|са\s+|е\s+)?(?:\w+\s+)?{_TAKE_BG}",
            rf"\b{_DOCS}\w*\s+(?:{_PRON}\s+)?(?:са|е|остана\w*|стоят)\s+(?:при|у)\s+",
            r"\bбез (?:паспорт|документ|лична карта)\w*",
            rf"\b(?:дадем|дам|дадеш|дадат|предадем|предам|оставим|оставя|оставяме|даваме) (?:им |му |й |ги )?{_DOCS}",
        ],
        [
            rf"\b{_TAKE_EN}\b(?:\s+\S+){{0,4}}?\s+{_DOCS_EN}\b",
            rf"\b{_DOCS_EN}\b(?:\s+\S+){{0,3}}?\s+(?:were |was |are |is )?(?:taken|kept|confiscated|held)\b",
            rf"\b(?:boss|employer|agent|they|he|she)\s+(?:has|have|got)\s+(?:my|our)\s+{_DOCS_EN}",
            r"\bwithout (?:my |our )?(?:passports?|documents?|papers)\b",
            rf"\b(?:give|hand|handed|gave|leave) (?:them |him |her )?(?:my |our |your |the )?{_DOCS_EN}\b",
        ],
    ),
    *_rules(
        "confinement",
        [
            rf"\bне {_PRON} пуска\w*",
            rf"\bне {_PRON} пускат\w*",
            r"\bне (?:ни|ме|им) дават да (?:излиза|излез|си тръгн|се прибер|напусн)\w*",
            r"\bзаключ\w+",
            r"\bзатворен\w*|\bзатвориха\b|\bзатварят\b|\bдържат (?:ни|ме|ги|я|го) (?:затворен|вътре|насила|като)",
            r"\bне (?:можем|мога|могат|може) да (?:излез|изляз|си тръгн|напусн|избяга|се махн)\w*",
            r"\bне (?:можем|мога|могат|може) да се (?:прибер|върн)\w*",
            r"\bпазят (?:ни|ме|ги)\b|\bохранява\w*|\bследят (?:ни|ме)\b|\bпод охрана\b",
            r"\bне (?:ни|ме) оставят да\b",
            r"\bне (?:выпускают|отпускают|пускают)\b|\bзаперли\b|\bвзаперти\b|\bне можем уйти\b|\bне могу уйти\b",
            r"\bнасила\b|\bпринужда\w+|\bкарат (?:ни|ме|я|го|ги) насила",
            r"\bне (?:мога|можем) да (?:говоря|говорим|пиша|пишем)\b(?:\s+\S+){0,4}?\s+(?:до|тук|гледа|слуша|чува)",
        ],
        [
            r"\block(?:ed|s|ing)?\b(?:\s+\S+){0,2}?\s+(?:in|inside|up)\b",
            r"\b(?:won'?t|don'?t|do not|will not|wont|dont|doesn'?t|didn'?t) (?:let|allow) (?:me|us|them|him|her)"
            r"(?:\s*[.!?]*\s*$|\s+(?:to\s+)?(?:go|leave|out|call|phone|talk|see|contact|return|come|sleep|eat|rest)\b)",
            r"\b(?:can'?t|cannot|can not|not allowed to|unable to|no way to)\s+(?:leave|go out|get out|escape|go home|get home|return home)\b",
            r"\bnot (?:allowed|permitted) to (?:leave|go)\b",
            r"\b(?:held|kept) (?:captive|prisoner|against)\b|\bguard(?:s|ed)?\b",
            r"\bforced to (?:stay|work|live)\b|\bby force\b",
            r"\bforc(?:e|es|ed|ing) (?:me|us|her|him|them) to\b",
            r"\bcan'?t (?:talk|speak|write)(?:\s+\S+){0,3}?\s+(?:he|she|they|boss)\b",
        ],
    ),
    *_rules(
        "violence",
        [
            r"\b(?:бият|биха|бие|пребиха|пребит\w*|удари\w*|ритат|ритаха|малтретира\w*|нараниха|бъхтят)\b",
            r"\bбьют\b|\bизбили\b|\bизбил\b|\bударил\w*",
            r"\bнасилие (?:над|срещу) (?:нас|мен)",
        ],
        [
            r"\b(?:beat|beats|beating|beaten)\b(?!\s+(?:the|it|that|this))",
            r"\b(?:hit|hits|hitting|kick|kicks|kicked|punch\w*|slap\w*|hurt|hurts|attack\w*)\s+(?:me|us|him|her|them|my|our|one of us)\b",
            r"\b(?:i|we|he|she|they) (?:was|were|got|get|are|am|is) (?:beaten|hit|hurt|attacked)\b",
            r"\bviolen(?:ce|t) (?:against|to|towards) (?:me|us)\b",
        ],
    ),
    *_rules(
        "threats",
        [
            r"\bзаплаш\w+",
            r"\bще (?:ни|ме|те|ви|ги|го|я) (?:убият|убие|пребият|пребие|смачкат|накажат|нараня\w*)",
            r"\bизнудва\w*|\bшантаж\w*|\bугрожа\w*|\bугроз\w*|\bубьют\b",
        ],
        [r"\bthreat\w*", r"\b(?:will|gonna|going to) (?:kill|hurt|beat)\b", r"\bblackmail\w*"],
    ),
    *_rules(
        "sexual_exploitation",
        [
            r"\bпроститу\w+",
            r"\bда (?:спя|спим|спиш|спи|лягам|лягаме) с\b",
            r"\bс клиенти\w*|\bклиенти\w* (?:с|да)\b",
            r"\bсекс\w* с\b|\bкарат\w*(?:\s+\S+){0,3}?\s+секс\w*|\bизнасил\w+|\bпипат\b|\bда се продава\w*",
            r"\b(?:кара|карат)\w* (?:\S+ ){0,3}(?:да стоя|да стои|да стоим) на (?:улицата|пътя)|\bс мъже\b",
            r"\bспать с\b",
        ],
        [
            r"\bprostitut\w+",
            r"\bsleep with\b",
            r"\bsex with\b|\b(?:force|forced|make|made|makes)\w* (?:me|us|her|him|them) (?:to )?(?:have sex|sleep|do things)",
            r"\bwith (?:men|clients)\b",
            r"\brap(?:e|ed|ing)\b",
            r"\bescort\w*\b",
        ],
    ),
    *_rules(
        "trafficked",
        [r"\bпродадоха\b|\bпродаде (?:ни|ме|я|го)\b|\bпродали (?:ни|ме|я|го|нас|меня|ее)\b"],
        [r"\b(?:sold|selling) (?:me|us|her|him|them|my)\b"],
    ),
    *_rules(
        "stranded",
        [
            r"\bбез (?:пари|пукнат|стотинка|лев)\w*(?:\s+\S+){0,5}?\s+(?:улица\w*|билет\w*|прибер\w*|върн\w*|храна|чужбина|тук)",
            r"\bнямам\w* пари (?:за|да)\s+(?:билет|храна|път|прибира|прибер|върн|се прибер|ядене|автобус)\w*",
            r"\b(?:останахме|остана\w*|оставиха (?:ни|ме)|зарязаха (?:ни|ме)|изгониха (?:ни|ме)) (?:на улицата|без\b)",
            r"\bизгони\w* (?:ни|ме|я|го|ги)\b|\bзарязаха (?:ни|ме)\b|\bнямаме къде да спим|\bнямам къде да спя",
            r"\b(?:спи|спим|спя|спят) (?:на гарата|на улицата|навън|в парка)",
            r"\bнет денег на (?:билет|дорогу|еду)|\bвыгнали\b",
        ],
        [
            r"\bstranded\b",
            r"\bstuck (?:here|in|abroad|without)\b",
            r"\bno money (?:to|for) (?:go|get|return|a ticket|ticket|food|the bus)\b",
            r"\b(?:kicked|threw|thrown) (?:us|me) out\b",
            r"\bnowhere to (?:sleep|stay|go)\b",
            r"\bon the street\b",
            r"\bcan'?t (?:afford|pay for) (?:a |the )?(?:ticket|trip) home\b",
        ],
    ),
    *_rules(
        "minor",
        [
            r"\b(?:дете\w*|деца\w*|малолет\w*|непълнолет\w*|син\w* ми|дъщер\w* ми|ребен\w*|несовершеннолет\w*)"
            r"(?:\s+\S+){0,6}?\s+(?:карат|пратиха|изпратиха|изпращат|накараха|работи|работят|работа)\w*",
            r"\bна (?:1[0-7]|[6-9])(?: (?:години|годинки|г|лет))?\b(?:\s+\S+){0,6}?\s+(?:карат|пратиха|изпратиха|работи|работят|работа)\w*",
            r"\b(?:1[0-7]|[6-9])[ -]?годишн\w*(?:\s+\S+){0,6}?\s+(?:карат|пратиха|изпратиха|работи|работят|работа)\w*",
            r"\b(?:карат|пратиха|изпратиха|накараха)\w*(?:\s+\S+){0,4}?\s+(?:дете\w*|детето|малолет\w*|непълнолет\w*)",
        ],
        [
            r"\b(?:child|children|kid|kids|minor|underage|my son|my daughter|(?:1[0-7]|[6-9])[ -]?(?:years?|yrs?)[ -]?old)"
            r"(?:\s+\S+){0,6}?\s+(?:forced|sent|made|makes|working|to work|works)\b",
            r"\b(?:forc\w+|sent|send|made|make)\s+(?:a |my |our )?(?:child|children|kid|kids|minor)\w*",
            r"\b(?:is|aged?|only|just)\s+(?:1[0-7]|[6-9])\b(?:\s+\S+){0,8}?\s+(?:work|working|job)\b",
        ],
    ),
    *_rules(
        "debt_bondage",
        [
            r"\bдълг\w*|\bдълж\w+|\bда изработ\w+|\bда (?:върнем|върна|изплатим|изплатя) (?:билет|пътя|пари|разход)\w*",
            r"\bдолг\w*|\bдолжн\w+|\bотработ\w+",
            r"\b(?:връщаме|върнем|връщам|върна|изплащаме|изплатим) (?:\S+ )?от заплат\w*",
        ],
        [r"\bdebt\w*", r"\bowe\w*\b", r"\bpay back\b", r"\bwork off\b"],
    ),
    *_rules(
        "unpaid_wages",
        [
            rf"\bне {_PRON} (?:плаща\w*|платиха|плати|дават пари|дадоха пари|дават заплата|изплащат)",
            r"\bне (?:сме|съм) (?:получил\w*|взел\w*)(?:\s+\S+){0,2}?\s+(?:пари|заплат\w*)",
            r"\bне са (?:ни|ми) (?:платили|платил|дали)\b|\bбез заплат\w*|\bнито (?:лев|стотинка|евро)\b",
            r"\b(?:удърж\w*|отнемат|вземат|взимат|взема|взима)(?:\s+\S+){0,3}?\s+(?:от заплат\w*|от парите|за квартира|за храна|за път|за разходи)",
            r"\b(?:удърж\w*|взема\w*|взима\w*)\s+(?:\S+\s+){0,2}(?:по\s+)?\d+\s*(?:%|евро|лева|лв|процента)",
            r"\b(?:квартира\w*|пътя?т?|храна\w*|билет\w*)\s+(?:\S+\s+){0,3}(?:ще\s+)?(?:ги\s+)?удърж\w*",
            r"\bзаплат\w* (?:\S+ ){0,2}(?:закъсня\w*|ще е (?:чак )?след)|\bзакъсня\w* (?:\S+ )?заплат\w*",
            r"\b[1-6](?:[.,]\d+)? (?:евро|лева|лв) на час\b",
            r"\bпо-малко (?:пари )?от (?:обещаното|уговореното|договореното)|\bпо малко от обещаното",
            r"\bзадържа\w* (?:ни |ми )?(?:заплат\w*|парите)",
            r"\bне (?:платят|платили|заплатили|выплачивают|платит)\b",
        ],
        [
            r"\b(?:not|never|haven'?t been|wasn'?t|weren'?t) (?:been )?paid\b",
            r"\b(?:don'?t|doesn'?t|didn'?t|won'?t|do not|did not|does not|will not|refuse to) pay (?:us|me|them|him|her|our|my)\b",
            r"\bhaven'?t paid\b|\bunpaid\b|\bno (?:salary|wages?|pay)\b|\bwithout pay\b",
            r"\b(?:withh(?:o|e)ld\w*|deduct\w*|take|takes|took) (?:(?:our|my|the) )?(?:wages?|salary|pay)\b",
            r"\bdeduct\w*\b",
            r"\b(?:takes?|took|taking)\b(?:\s+\S+){0,4}?\s+(?:from|out of) (?:my|our|the) (?:pay|wages?|salary)",
            r"\b[1-6](?:[.,]\d+)? (?:euros?|eur|€|pounds|£) (?:an|per|a) hour\b",
            r"\bless than (?:promised|agreed)\b",
        ],
    ),
    *_rules(
        "recruitment_fee",
        [
            r"\b(?:искат|иска|поискаха|поиска|взеха|взе|вземат|взимат|трябва да (?:платим|платя|дам|дадем|внеса)|да (?:платя|платим|дам|дадем|внеса|внесем)|платих|платихме|плащам|плащаме)"
            r"(?:\s+\S+){0,4}?\s+(?:\d+|пари|лева|лв|евро|евра|паунда|такса|депозит|аванс|предплат\w*)",
            r"\b(?:такса|депозит|предплат\w*|предварително|капаро)\b(?:\s+\S+){0,3}?\s*(?:\d+|пари|лева|лв|евро|за)?",
            r"\bпари (?:предварително|напред|първо|за документи\w*|за оформяне|за визата|за работата)",
            r"\b(?:първо|предварително|отначало) се плаща|\bсе плаща (?:първо|предварително)|\bплаща\w* (?:\S+ )?по \d+",
            r"\bне (?:ми|ни) (?:върнаха|връщат|връща) парите",
            r"\b(?:платить|заплатить|оплатить)\s+(?:за|\d+)|\bденьги вперед\b|\bвзнос\b",
        ],
        [
            r"\b(?:fee|fees|deposit|upfront|up front|in advance|advance payment)\b",
            r"\b(?:asks?|asked|asking|want|wants|wanted|charge|charges|charged|demand\w*)\s+(?:me|us)?\s*(?:for\s+)?(?:\d+|money|euros?|eur|pounds|lev|leva)\b",
            r"\b(?:i|we) (?:have to |must |need to |should )?(?:pay|paid|give|gave)\s+(?:them |him |her |the agency |the agent )?\d+",
            r"\b(?:pay|paid|give|gave)\s+(?:them|him|her|the agency|the agent)\s+\d+",
            r"\b(?:must|have to|need to|should) pay\b",
        ],
    ),
    *_rules(
        "no_contract",
        [
            r"\bбез (?:трудов |писмен |никакъв )?договор\w*",
            r"\bнямаме договор|\bнямам договор|\bняма договор|\bне (?:ни|ми) (?:дадоха|дават) договор",
            r"\bдоговор\w* (?:\S+ ){0,3}на (?:немски|английски|холандски|френски|испански|италиански|гръцки|полски|чешки|португалски|датски|шведски|чужд)(?! и български)",
            r"\bна черно\b|\bбез документи да работ\w*|\bплаща\w* (?:\S+ )?(?:на ръка|в брой)|\bпари (?:на ръка|в брой)",
            r"\bдоговор не трябва|\bняма нужда от договор|\bне трябва договор|\bподпиш\w* (?:\S+ )?(?:там|после|на място)",
            r"\bбез (?:договора|контракта)\b|\bнет договора\b",
        ],
        [
            r"\b(?:no|without a?|without any|not a|never got a) (?:written |work |employment )?contract\b",
            r"\bcontract (?:is )?only in\b",
            r"\bcash in hand\b|\boff the books\b|\bundeclared\b|\bno papers\b",
            r"\bcontract (?:will be |is )?(?:given|signed) (?:later|after|there)\b",
        ],
    ),
    *_rules(
        "too_good_pay",
        [
            r"\b(?:[3-9]\d{3}|[1-9]\d{4})\s*(?:евро|евра|eur|€|лири|паунда|лева|лв|франка|франк)\b",
            r"\bлесни пари\b|\bмного (?:високa |голяма |висока )?заплата\b|\bмного пари\b|\bогромна заплата\b",
        ],
        [
            r"\b(?:[3-9],?\d{3}|[1-9]\d,?\d{3})\s*(?:euros?|eur|€|pounds|£|chf|francs?)",
            r"[€£]\s*(?:[3-9],?\d{3}|[1-9]\d,?\d{3})\b",
            r"\beasy money\b|\btoo good to be true\b|\bhuge salary\b|\bvery high (?:pay|salary)\b",
        ],
    ),
    *_rules(
        "pressure_secrecy",
        [
            r"\bда не (?:казва|казвам|казваме|казвате|кажа|кажем|казваш)\w*|\bне казвай\w*|\bникой да не (?:разбере|знае)",
            r"\bв тайна\b|\bтайно\b",
            r"\b(?:утре|довечера|веднага|днес)\s+(?:\S+\s+)?(?:заминава\w*|тръгва\w*|пътува\w*|автобус\w*|да (?:тръгнем|тръгна|заминем|замина))",
            r"\bспешно (?:заминаване|да заминем|да тръгнем)|\bнямаме време да мислим|\bда решим бързо",
            r"\bникому не (?:говори|говорить)\b|\bзавтра уезжаем\b",
        ],
        [
            r"\b(?:don'?t|do not|not to) tell (?:anyone|anybody|no one|my family|your family)\b",
            r"\bkeep (?:it|this) (?:a )?secret\b|\btell no one\b",
            r"\bleave (?:tomorrow|tonight|today|immediately|right now)\b",
            r"\bdecide (?:now|today|quickly|fast|right away)\b",
        ],
    ),
]

RULES += _rules(
    "abusive_conditions",
    [
        r"\bне (?:ми|ни) дават (?:болничен|почивка|да почиваме|да ядем)",
        r"\bне (?:иска|искат) да (?:ме|ни) (?:заведе|заведат|води|водят) (?:на|при) (?:лекар|доктор|болница)",
        r"\bще (?:ме|ни) глоб\w+|\bще (?:ми|ни) удърж\w+",
    ],
    [
        r"\b(?:don'?t|do not|not to|won'?t let (?:me|us)) go to (?:the )?(?:hospital|doctor)\b",
        r"\bno (?:breaks|rest|days? off)\b",
    ],
)

_NEGATION_CYR = _cyr(r"\b(?:не|никой|никога|нито)\s+(?:\S+\s+)?$")
_NEGATION_EN = re.compile(r"\b(?:not|never|no one|nobody|didn'?t|don'?t|doesn'?t)\s+(?:\S+\s+)?$")
_FUTURE_CYR = _cyr(
    r"\b(?:ще|щели|искат да|иска да|трябва да|ако|дали|казаха че ще|ще трябва|би|може ли|могат ли|нормално ли|законно ли|имат ли право)\b"
)
_FUTURE_EN = re.compile(
    r"\b(?:will|would|want to|wants to|going to|gonna|if|can|could|may|should|is it (?:legal|normal|ok))\b"
    r"|\b(?:say|says|said|told (?:me|us))\s+(?:that\s+)?(?:they|he|she)\s+(?:will\s+)?keep"
)
_COPY = re.compile(r"\b(?:copy|copies|копие|копия|kopie|kopiq)\b")
_JOKE = re.compile(r"\b(?:ха(?:ха)+|ха ха|haha\w*|hehe|lol|шега|на шега|shega|escape room)\b|:\)|😂")
_OWN_ERRAND = _cyr(r"\bда (?:си )?(?:взема|взимам|вземем|получа|извадя)\b")
_MINOR_QUESTION = _cyr(
    r"\bможе ли(?: \S+){0,2} да работи\b|\bима ли право(?: \S+){0,2} да работи\b|\bот колко години\b"
    r"|\bможе ли (?:легално|законно)\b|\bзаконно ли е\b|\bлегално ли е\b"
    r"|\bколко часа\b|\bкакво трябва\b|\bкакви документи\b|\bразрешени\w*|\bразрешително\b|\bлятна работа\b"
    r"|\bможно ли(?: \S+){0,2} работать\b|\bс какого возраста\b"
)
_MINOR_QUESTION_EN = re.compile(
    r"\b(?:can|may) (?:he|she|my (?:son|daughter|child|kid))(?: \S+){0,2} work\b|\bfrom what age\b"
    r"|\bis it legal for (?:a|my) (?:\S+ )?(?:\d+[- ]year[- ]old|teen\w*|son|daughter|child|kid)"
    r"|\bsummer job\b|\bwhat (?:papers|documents)\b|\bhow many hours\b|\bparental (?:consent|permission)\b"
)
# Things, not people, that get locked or closed: "they locked my profile", "the factory closed".
_THING_SHUT = _cyr(
    r"\b(?:заключ\w+|затвор\w+|затвар\w+)(?: \S+){0,2} (?:профил\w*|акаунт\w*|сметка\w*|фабрика\w*|завод\w*|границ\w*|"
    r"консулств\w*|посолств\w*|офис\w*|магазин\w*|ключ\w*|кола\w*|колата|асансьор\w*|сайт\w*|банк\w*)"
    r"|\b(?:профил\w*|акаунт\w*|фабрика\w*|завод\w*|границ\w*|консулств\w*|посолств\w*|офис\w*|магазин\w*|"
    r"асансьор\w*|сайт\w*)(?: \S+){0,3} (?:заключ\w+|затвор\w+|затвар\w+)"
    # "заключить договор / брак" is Russian for signing a contract or marrying; a phone locked with a
    # password or kept in a locker during the shift, a door that does not lock: no one is held.
    r"|\bзаключ\w* (?:\S+ )?(?:договор\w*|брак\w*|сделк\w*|контракт\w*)|\bс парола\b|\bшкафч\w*|\bне се заключва\b"
    # a warehouse or bar locked for the night; a person who locked themselves in or out by mistake;
    # everyone has a key
    r"|\b(?:заключ\w+|затвар\w+)(?: \S+){0,2} (?:склад\w*|бар\w*|кухня\w*|тоалетна\w*|банята|баня\w*|тераса\w*)"
    r"|\bзаключих се\b|\bсе заключи\w* (?:навън|отвън|вътре|в банята|в тоалетната)"
    r"|\b(?:всеки|всички|всеки от нас|ние|аз) (?:има|имат|имаме|имам) ключ\w*|\bключ\w* (?:е |са )?(?:у|при) нас\b"
)
# A phone that locked itself (a wrong code, an update) or that its owner locks: no one is held. A phone
# someone else locked ("he locked my phone with his password") stays a sign of control.
_PHONE_LOCK = _cyr(r"\bтелефон\w*|\bджиесем\w*|\bсмартфон\w*")
_SELF_LOCK = _cyr(r"\bсе заключ\w*|\bзаключих\b|\bда (?:си )?заключа\b|\bотключ\w*|\bъпдейт\w*")
# A thing handed back: "they kept it a day and gave it back" (not after a "not").
_GIVEN_BACK = _cyr(r"\b(?:ги|го) (?:\S+ )?(?:върнаха|върна)\b|\bвърнаха (?:ни |ми )?(?:ги|го)\b|\b(?:отдали|вернули)\b")
_GIVEN_BACK_EN = re.compile(r"\b(?:gave|handed|got|took) (?:\S+ )?(?:them |it )?back\b|\breturned (?:them|it)\b")
# An adult's age stated ("my son is 19"): "son"/"daughter" alone is not a minor. Any age under 18 in
# the message keeps the signal ("he says he is 18, he is 15").
_AGE = _cyr(
    r"\bна (\d{1,2})(?: годин\w*| г\.?)?(?! (?:час|евро|лев|лв|км|долар|паунд|дни|ден|седмиц|месец|смен|кила|метр|градус))"
)
_AGE_EN = re.compile(
    r"\b(?:is|am|are|turned|aged?) (\d{1,2})\b(?! (?:hours|euros?|pounds|km|days|weeks|months))|\b(\d{1,2})[- ]years?[- ]old\b"
)
# Over and laughed about: "we laugh about it now".
_LAUGHED = _cyr(r"\bсмеем се\b|\bсе смеем\b|\bсмяхме се\b|\bсе смяхме\b|\bсмеехме се\b|\blaughed\b|\bwe laugh\b")
_THING_SHUT_EN = re.compile(
    r"\blocked (?:out of )?(?:my |the |our )?(?:account|profile|phone screen|keys|car|bike|door|site|app)\b"
    r"|\b(?:stuck|trapped|locked) in (?:the |a )?(?:lift|elevator|traffic|queue|snow|bathroom|toilet)\b"
    r"|\b(?:account|profile|factory|border|consulate|embassy|office|shop)s? (?:is |are |was |were |got )?(?:locked|closed)\b"
)
# Words of violence used for something else: an electric shock, "I feel beaten up" after work.
_FIGURATIVE = _cyr(r"\bбие (?:ме|ни) ток\w*|\bток\w* (?:ме|ни) бие\b|\bкато пребит\w*|\bкато смазан\w*")
_TAX = _cyr(r"\bданъ\w*|\bданък\b|\bосигуровк\w*|\btax\w*")
_HELP_WORDS = frozenset(
    "помощ помош помогнете помогни помагайте спасете спаси помогите помоги sos help me us please pls plz моля молим "
    "pomosh pomosht pomo6t pomo6 pomogni pomognete spasete spasi "
    "mi ni ме ни ми nas нас молq".split()
)
_HELP_CORE = frozenset(
    "помощ помош помогнете помогни помагайте спасете спаси помогите помоги sos help "
    "pomosh pomosht pomo6t pomo6 pomogni pomognete spasete spasi".split()
)
_DEFINITION = re.compile(
    r"^(?:what (?:is|are|does|means?)|какво (?:е|са|значи|означава)|што е|что (?:такое|значит)|kakvo e|explain)\b"
)
_NEGATABLE = {"violence", "threats", "sexual_exploitation", "document_retention", "debt_bondage"}


def _hit(rule: _Rule, norm: Normalized) -> bool:
    text = norm.skeleton if rule.on_skeleton else norm.lower
    neg = _NEGATION_CYR if rule.on_skeleton else _NEGATION_EN
    for p, loose in zip(rule.patterns, rule.loose, strict=True):
        if loose.search(text) is None:
            continue  # most rules find nothing in most messages: the quick search says so
        for m in p.finditer(text):
            before = text[max(0, m.start() - 25) : m.start()]
            if rule.signal in _NEGATABLE and neg.search(before) and not m.group(0).startswith(("не ", "not ")):
                continue
            return True
    return False


def _adult_age(norm: Normalized) -> bool:
    ages = [int(a) for a in _AGE.findall(norm.skeleton)]
    ages += [int(a or b) for a, b in _AGE_EN.findall(norm.lower)]
    return bool(ages) and min(ages) >= 18


def _given_back(norm: Normalized) -> bool:
    for m in _GIVEN_BACK.finditer(norm.skeleton):
        if not _NEGATION_CYR.search(norm.skeleton[max(0, m.start() - 12) : m.start()]):
            return True
    return bool(_GIVEN_BACK_EN.search(norm.lower)) and not re.search(
        r"\b(?:not|never|won'?t|don'?t|didn'?t|refuse\w*)\b(?:\s+\S+){0,3}\s+\S*\s*back\b", norm.lower
    )


def _conditional(norm: Normalized) -> bool:
    return bool(_FUTURE_CYR.search(norm.skeleton) or _FUTURE_EN.search(norm.lower))


def _is_cry_for_help(norm: Normalized) -> bool:
    """A bare "help!" / "помощ" / "SOS": nothing else to go on, so treat it as urgent."""
    words = set(norm.tokens) | set(re.findall(r"[^\W_]+", norm.lower))
    allowed = _HELP_WORDS | {"ми", "ни"}
    plain = set(re.findall(r"[^\W_]+", norm.lower))
    return bool(words & _HELP_CORE) and len(norm.tokens) <= 4 and (set(norm.tokens) <= allowed or plain <= allowed)


def assess(norm: Normalized) -> RiskAssessment:
    """The risk of one message from its text alone (the pipeline may raise it from the intent)."""
    signals: list[str] = []
    for rule in RULES:
        if rule.signal not in signals and _hit(rule, norm):
            signals.append(rule.signal)
    if "document_retention" in signals and _COPY.search(norm.lower):
        signals.remove("document_retention")
    if "document_retention" in signals and _OWN_ERRAND.search(norm.skeleton):
        signals.remove("document_retention")
    if "minor" in signals and (_MINOR_QUESTION.search(norm.skeleton) or _MINOR_QUESTION_EN.search(norm.lower)):
        signals.remove("minor")
    if "minor" in signals and _adult_age(norm):
        signals.remove("minor")
    if "document_retention" in signals and _given_back(norm):
        signals.remove("document_retention")
    if "confinement" in signals and _PHONE_LOCK.search(norm.skeleton) and _SELF_LOCK.search(norm.skeleton):
        signals.remove("confinement")
    if "unpaid_wages" in signals and _TAX.search(norm.skeleton + " " + norm.lower):
        signals.remove("unpaid_wages")
    if signals == ["confinement"] and (
        _JOKE.search(norm.lower) or _THING_SHUT.search(norm.skeleton) or _THING_SHUT_EN.search(norm.lower)
    ):
        signals = []
    if signals in (["violence"], ["stranded"], ["threats"]) and (
        _JOKE.search(norm.lower) or _FIGURATIVE.search(norm.skeleton)
    ):
        signals = []
    if signals in (["confinement"], ["stranded"]) and (
        _LAUGHED.search(norm.skeleton + " " + norm.lower) or _THING_SHUT_EN.search(norm.lower)
    ):
        signals = []
    if not signals and _is_cry_for_help(norm):
        return RiskAssessment("urgent", ("distress",))
    definition = bool(_DEFINITION.search(norm.lower) or _DEFINITION.search(norm.text))
    urgent = [s for s in signals if s in URGENT_SIGNALS]
    if urgent == ["document_retention"] and _conditional(norm):
        # "they will keep your passport for the papers": a red flag in an offer, not yet a captive.
        return RiskAssessment("elevated", tuple(signals))
    if definition and len(norm.tokens) <= 8:
        return RiskAssessment("none", ())
    if urgent:
        return RiskAssessment("urgent", tuple(signals))
    if signals:
        return RiskAssessment("elevated", tuple(signals))
    return RiskAssessment("none", ())
