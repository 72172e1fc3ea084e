"""Text normalisation: Latin-script ("shlyokavitsa") Bulgarian to Cyrillic, language guess, skeleton.

People write Bulgarian in Latin letters with digits for letters ("6te", "4e", "rabotq"). We turn
such text into Cyrillic with our own rules for the informal spellings, then a transliteration
library (cyrtranslit) for the standard ones. English stays as it is, so the classifier can read it.
The "skeleton" folds letters that people swap freely (ъ/а/у, я/а, й/и ...) so that spelling habits
meet in one form.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import cyrtranslit
import wordfreq

from nlu.types import Language

_WORD = re.compile(r"[^\W_]+(?:['`][^\W_]+)*", re.UNICODE)
_CYR = re.compile(r"[а-яёіїєґѝ]", re.I)
_LAT = re.compile(r"[a-z]", re.I)
_REPEAT = re.compile(r"([^\W\d_])\1{2,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\ufeff]")

# Latin look-alikes inside Cyrillic words ("пaспорт" typed with a Latin a).
_HOMOGLYPH_TO_CYR = str.maketrans("aceopxykmthb", "асеорхукмтнв")

# Function words that tell English from Latin-script Bulgarian. Kept short and unambiguous.
_EN_WORDS = frozenset(
    """the a an is are am was were be been to of in on at for from with by about how what when where
    who whom which why can could should would will do does did not no yes my me i you your our we they
    them their he she his her it its this that these those have has had get got need want help please
    job work working worker offer agency salary pay paid money passport documents papers contract
    country embassy number phone call police hotline hello hi hey bye thanks thank goodbye menu ok
    okay sure nope yeah yep want know tell there here is it's i'm im don't dont cant can't won't
    let lets any some much many more most minimum wage visa permit register registration school
    children child doctor insurance health card person human talk speak someone somebody real
    mediator delete data chat messages keep stored if but or and so just only still very too
    lock locked beat beating took take taken threaten threatened hit hurt leave home go going""".split()
)
_BG_LATN_WORDS = frozenset(
    """da v vav na mi se e li ne za ot s sas sam sym sum ni kak kakvo kvo koi koq koe koi kade kyde
    kade kude iskam iskame ima imam nqma niama nyama trqbva triabva tryabva moje mozhe moga mojem
    sega oshte o6te shte 6te 4e che i a no ako ili tuk tam tova tezi toi tq tya te nie vie az
    moite moq moya moia nashite tyk zashto za6to kolko kogato dali mnogo malko dobre dobyr zdravei
    zdrasti zdr blagodarq mersi pari rabota rabotq rabotia rabotya dokumenti pasport lichna karta
    pomosht pomo6t pomogni pomognete chovek 4ovek firma zaplata dogovor germaniq anglia angliq
    holandiq ispaniq franciq italiq avstriq belgiq gyrciq kipar chujbina chuzhbina bulgaria
    dobro dobyr dobur utro vecher den nosht leka lek ciao chao 4ao spasete spasi pomagaite molq molya
    mola moliq bqh bqhme byah bih biha rabotim rabotish raboti rabotat rabotodatel shef shefa shefut
    nomer telefon telefona posolstvo posolstvoto policiq politsiq politsia policia agenciq agenciya
    firma firmata pari parite evro leva zaplatata dogovora vizа viza registraciq adres kvartira
    uchilishte detsa deca deteto lekar bolnica osigurovka karta dannite danni iztriite iztriy
    izpratete kaji kaji4 kajete kazhete kaza kazaha iskat iskash iskate mojete moje6 znam znaesh
    ne6to neshto nishto ni6to nqkoi niakoi nyakoi vsi4ko vsichko vse o6te oshte ve4e veche
    sum sam sme ste si sa bil bila bili edin edna edno dva tri""".split()
)
_RU_WORDS = frozenset(
    """что как где мне меня мной я ты вы мы он она они это этот эта для или нужно можно есть
    получить хочу хотим здесь там жительство вид беженец беженцы убежище болгарии болгарию
    болгария язык язык работать работу помогите спасибо привет здравствуйте пожалуйста нет да
    какие какой сколько где мои моих паспорт документы""".split()
)
_BG_CYR_WORDS = frozenset(
    """какво къде искам искаме трябва може ли се е са съм сме сте ще щe който която което които
    аз ние вие той тя те ми ни ви им му й във със през за от до на не да как кой коя защо колко
    много малко здравей здрасти благодаря мерси чужбина работа работя пари документи паспорт
    помощ помогнете човек фирма заплата договор""".split()
)

# Informal Latin spellings, applied in order before the library's standard table.
_LATN_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"(?<=[a-z])6t|^6t|sht|6t", "щ"),
        (r"(?<=[a-z])4|4(?=[a-z])", "ч"),
        (r"(?<=[a-z])6|6(?=[a-z])", "ш"),
        (r"(?<=[a-z])2(?=[a-z])", "ъ"),
        (r"`", "ъ"),
        (r"iq", "ия"),
        (r"q", "я"),
        (r"ia(?=$|ta$|t$)", "ия"),
        (r"ia", "я"),
        (r"iu|yu|ju", "ю"),
        (r"ya", "я"),
        (r"zh|j", "ж"),
        (r"(?<=[bcdfgklmnprstvz])io", "ьо"),
        (r"yo", "йо"),
        (r"(?<=[aeiou])y", "й"),
        (r"(?<=[bcdfghjklmnpqrstvwxz])y(?=[bcdfghjklmnpqrstvwxz])", "ъ"),
        (r"^y(?=[bcdfghjklmnpqrstvwxz])", "ъ"),
        (r"y$", "й"),
        (r"y", "ъ"),
        (r"w", "в"),
        (r"x", "х"),
        (r"ck", "к"),
        (r"ch", "ч"),
        (r"c", "ц"),
    )
)

_BG_SHAPE = re.compile(
    r"(?:iq|ia|ata|ite|yat|qt|ovo|ski|ska|ete|ame|ate|eme|ish|iqt|shte|sht|zh|[46])$|^(?:iz|raz|pre|pri|ot|pro|vy|zd)|[0-9][a-z]|[a-z][0-9]|sht|zh|[^aeiou\s]y[^aeiou\s]"
)
_EN_SHAPE = re.compile(r"th|wh|w|ing$|ed$|ck|ee|oo|ou|'|ly$|tion|ph|^the$|y$")

_SKELETON = str.maketrans(
    {"ъ": "а", "у": "а", "ь": "", "й": "и", "ю": "а", "я": "а", "э": "е", "ы": "и", "ё": "е", "ѝ": "и"}
)


@dataclass(frozen=True)
class Normalized:
    """One message, prepared for matching and classification."""

    lower: str  # cleaned, lowercased original
    text: str  # Bulgarian in Cyrillic where the message is Latin-script Bulgarian, else as lower
    skeleton: str  # spelling-insensitive fold of ``text``
    language: Language
    tokens: tuple[str, ...]


def clean(text: str) -> str:
    """Unicode-normalise, drop control characters, fold runs. The whole text: danger is often in the
    last lines of a long story (the pipeline bounds the length)."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    text = _REPEAT.sub(r"\1\1", text.lower())
    return " ".join(text.split())


@lru_cache(maxsize=65536)
def translit_word(word: str) -> str:
    """One Latin-script Bulgarian word to Cyrillic."""
    if word.isdigit():
        return word
    w = word
    for pattern, repl in _LATN_RULES:
        w = pattern.sub(repl, w)
    return str(cyrtranslit.to_cyrillic(w, "bg"))


def _fix_homoglyphs(word: str) -> str:
    if _CYR.search(word) and _LAT.search(word):
        return word.translate(_HOMOGLYPH_TO_CYR)
    return word


def _zipf(word: str, lang: str) -> float:
    # The "small" lists (words seen at least once per million) for every language: Bulgarian has no
    # larger one, so comparing it with the large Russian or English list would favour those for rare
    # words; and the large Russian list alone costs ~130 MB of the serving process.
    return float(wordfreq.zipf_frequency(word, lang, wordlist="small"))


@lru_cache(maxsize=65536)
def _latin_scores(word: str) -> tuple[float, float]:
    """How English and how Bulgarian (once transliterated) one Latin word looks: word frequencies."""
    cyr = translit_word(word)
    bg = max(_zipf(cyr, "bg"), _zipf(cyr.replace("ш", "щ"), "bg"))
    return _zipf(word, "en"), bg


@lru_cache(maxsize=65536)
def _cyrillic_scores(word: str) -> tuple[float, float]:
    return _zipf(word, "bg"), _zipf(word, "ru")


_DIGIT_LETTER = re.compile(r"[0-9](?=[a-z])|[a-z][46]")  # "6te", "4e", "zaklu4eni": chat Bulgarian
_MARGIN = 0.5  # a word about as common in both languages tells nothing (Bulgarian wins a tie)
_KNOWN = 1.0  # a Zipf frequency below this (once in 100 million words) is no evidence of a language


def _cyrillic_language(tokens: list[str]) -> Language:
    joined = " ".join(tokens)
    ru = 3.0 * len(re.findall(r"[ыэё]", joined)) + 3.0 * sum(1 for t in tokens if t in _RU_WORDS)
    bg = 3.0 * len(re.findall(r"ъ(?!\b)", joined)) + 3.0 * sum(1 for t in tokens if t in _BG_CYR_WORDS)
    for t in tokens:
        if not _CYR.search(t):
            continue
        f_bg, f_ru = _cyrillic_scores(t)
        # Shared words ("паспорт", "работа") weigh little; a word only one language uses decides.
        bg += max(0.0, f_bg - f_ru - _MARGIN) if f_bg >= _KNOWN else 0.0
        ru += max(0.0, f_ru - f_bg - _MARGIN) if f_ru >= _KNOWN else 0.0
    return "ru" if ru > bg else "bg"


def _latin_language(tokens: list[str]) -> Language:
    en = 2.0 * sum(1 for t in tokens if t in _EN_WORDS)
    bg = 2.0 * sum(1 for t in tokens if t in _BG_LATN_WORDS or re.search(r"[0-9](?=[a-z])|[a-z][46]|q", t))
    known = 0
    for t in tokens:
        if not _LAT.search(t):
            continue
        f_en, f_bg = _latin_scores(t)
        known += f_en >= _KNOWN or f_bg >= _KNOWN
        en += f_en if f_en >= _KNOWN else 0.0
        bg += f_bg if f_bg >= _KNOWN else 0.0
    if not known and not any(_DIGIT_LETTER.search(t) for t in tokens):
        return "unknown"  # no word of any language we read: gibberish must not switch the language
    if abs(en - bg) < 0.5:
        # Nothing decides: spelling does. Bulgarian endings and clusters vs English ones.
        en += sum(1 for t in tokens if t not in _BG_LATN_WORDS and _EN_SHAPE.search(t))
        bg += sum(1 for t in tokens if t not in _EN_WORDS and _BG_SHAPE.search(t))
    return "en" if en > bg else "bg-latn"


def guess_language(tokens: list[str]) -> Language:
    cyr = sum(1 for t in tokens if _CYR.search(t))
    lat = sum(1 for t in tokens if _LAT.search(t))
    if not cyr and not lat:
        return "unknown"
    if cyr >= lat:
        return _cyrillic_language(tokens)
    return _latin_language(tokens)


_DOUBLED = re.compile(r"([^\W\d_])\1+")


def skeleton(text: str) -> str:
    s = text.translate(_SKELETON).replace("щ", "шт")
    return _DOUBLED.sub(r"\1", s)


def normalize(text: str, language: Language | None = None) -> Normalized:
    """``language`` forces the reading (a piece of a longer message is read in the message's language)."""
    lower = clean(text)
    words = [_fix_homoglyphs(w) for w in _WORD.findall(lower)]
    lang = language or guess_language(words)
    out = [translit_word(w) if _LAT.search(w) else w for w in words] if lang == "bg-latn" else words
    norm = " ".join(out)
    return Normalized(lower=lower, text=norm, skeleton=skeleton(norm), language=lang, tokens=tuple(out))
