"""The conversation: one step per event. Pure: it returns replies and effects and never sends.

State is a JSON-serialisable dict owned by this module:
  lang      chosen language (bg/en/ru) or absent      started   first contact done
  country   remembered ISO code                        awaiting  what a yes/no/number now answers
  pending   intent waiting for a country               jobcheck  {"i": n, "answers": [...]}
  misses    misunderstood messages in a row            buttons   payloads of the last button group
  where     where the person is now (ISO code)         urgent    an urgent case was opened in this chat
  urgent_q  the urgent question now open (safe/where/others)
  safety    what was asked before the safety question ({"intent", "country"})
  flags     warning signs seen in this chat (NLU signals, job-offer flags): a case carries them
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from babel import Locale

from content import FULL_COUNTRIES, Content, CountryCard
from dialogues import lines, render
from dialogues.types import Button, Context, EraseData, Event, Noted, OpenCase, Reply, StepResult
from nlu.types import NluResult

LANGS = ("bg", "en", "ru")
MENU = (
    ("menu_work", "menu:work"),
    ("menu_country", "menu:country"),
    ("menu_offer", "menu:offer"),
    ("menu_trafficking", "menu:trafficking"),
    ("menu_hotlines", "menu:hotlines"),
    ("menu_mediator", "menu:mediator"),
)
HELP_NOW = "help_now"
# Unpaid wages, bad conditions, debts: steps first, then a mediator (issue 9 point 5).
WORK_PROBLEMS = frozenset({"unpaid_wages", "abusive_conditions", "debt_bondage"})
TOPIC_KEYS = ("secure_job", "good_salary", "trusted_person", "good_education", "trafficking_vs_smuggling")
# EU/EEA members and Switzerland: the general EU answer applies where we have no full card.
EU_EEA = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO CH".split()
)
# Intents whose answer depends on the country; asked for when unknown.
COUNTRY_INTENTS = frozenset({"residence_rules"})
_DELETE_WORDS = re.compile(r"изтри|iztri|delete|erase|remove|изчист|удали|udali|zabrav|забрав")
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


class Engine:
    def __init__(self, content: Content) -> None:
        self.c = content

    # ---- entry point ---------------------------------------------------------------------------

    def step(self, state: dict[str, Any], nlu: NluResult | None, event: Event, ctx: Context) -> StepResult:
        s = dict(state)
        s.setdefault("misses", 0)
        hint = event.language_hint.strip().lower()[:2]
        if hint and not s.get("started"):
            s["hint"] = hint if hint in LANGS else None
        if nlu is not None and nlu.country and event.kind == "text":
            s["country"] = nlu.country
        turn = _Turn(self.c, s, ctx, nlu)
        if event.kind == "nontext":
            turn.nontext()
        elif event.kind == "payload":
            turn.payload(event.payload)
        else:
            turn.text(event.text)
        return turn.result()


class _Turn:
    """One step's working memory: the state being changed and the replies being collected."""

    def __init__(self, c: Content, s: dict[str, Any], ctx: Context, nlu: NluResult | None) -> None:
        self.c, self.s, self.ctx, self.nlu = c, s, ctx, nlu
        self.replies: list[Reply] = []
        self.effects: list[OpenCase | EraseData] = []
        self.noted = Noted()

    # ---- helpers -------------------------------------------------------------------------------

    @property
    def lang(self) -> str:
        lang = self.s.get("lang")
        if lang in LANGS:
            return str(lang)
        seen = self.s.get("seen_lang")
        understood = self.nlu is not None and (self.nlu.intent != "out_of_scope" or seen is None)
        if self.nlu is not None and self.nlu.language != "unknown" and understood:
            return {"en": "en", "ru": "ru"}.get(self.nlu.language, "bg")
        if seen in LANGS:
            return str(seen)  # a message we did not understand never switches the language
        hint = self.s.get("hint")  # the platform's language hint (first contact, media, emoji)
        return str(hint) if hint in LANGS else "bg"

    def t(self, key: str, **values: object) -> str:
        return self.c.text(key, self.lang, **values)

    def say(self, text: str, buttons: tuple[Button, ...] = (), sensitive: bool = False) -> None:
        if text.strip():
            self.replies.append(Reply(text.strip(), buttons, sensitive))

    def btn(self, key: str, payload: str) -> Button:
        return Button(self.t(key), payload)

    def result(self) -> StepResult:
        # One numbered group per turn: typed numbers pick from the last group of buttons.
        groups = [i for i, r in enumerate(self.replies) if r.buttons]
        if groups:
            last = self.replies[groups[-1]]
            self.s["buttons"] = [b.payload for b in last.buttons]
            if len(last.buttons) >= 4:  # short groups (yes/no, languages) read well without numbers
                numbered = tuple(Button(f"{i}. {b.title}", b.payload) for i, b in enumerate(last.buttons, 1))
                self.replies[groups[-1]] = Reply(last.text, numbered, last.sensitive)
        else:
            self.s["buttons"] = []
        self.s["started"] = True
        if self.s.get("lang") is None and self.nlu is not None and self.nlu.language != "unknown":
            self.s["seen_lang"] = self.lang
        return StepResult(self.s, tuple(self.replies), tuple(self.effects), self.noted)

    def when(self) -> str:
        return render.when_phrase(self.c, self.lang, self.ctx.now, self.ctx.next_shift, self.ctx.mediators_on_shift)

    def menu_buttons(self) -> tuple[Button, ...]:
        return (*(Button(self.t(k), p) for k, p in MENU), self.btn("menu_help_now", HELP_NOW))

    # ---- events --------------------------------------------------------------------------------

    def nontext(self) -> None:
        if not self.s.get("started"):
            self.first_contact()
            return
        self.say(self.t("nontext"), (self.btn("btn_menu", "menu"), self.btn("btn_mediator", "menu:mediator")))

    def text(self, text: str) -> None:
        nlu = self.nlu
        if nlu is not None and nlu.risk in ("urgent", "elevated"):
            self.remember_flags(nlu.signals)
        if nlu is not None and "third_party" in nlu.signals and (nlu.risk != "none" or nlu.ask_safety):
            self.third_party("urgent" if nlu.risk == "urgent" else "high")
            return
        if nlu is not None and nlu.risk == "urgent":
            if nlu.country:
                self.s["where"] = nlu.country  # "I am in England ...": numbers for there
            self.urgent(nlu.signals)
            return
        if self.s.get("urgent_q") and nlu is not None and self.urgent_reply(nlu):
            return
        if nlu is not None and nlu.risk == "elevated" and set(nlu.signals) & WORK_PROBLEMS:
            # A named problem gets its steps at once; when the NLU also doubts the person is free to
            # leave, the safety question follows the steps instead of holding them back.
            if nlu.ask_safety:
                self.work_problem(offer_mediator=False)
                self.ask_safety(nlu, then_offer_mediator=True)
            else:
                self.work_problem()
            return
        if nlu is not None and nlu.ask_safety and self.s.get("awaiting") != "safety":
            self.ask_safety(nlu)
            return
        m = _NUMBER.match(text)
        if m and self.s.get("started"):
            chosen = self._numbered(int(m.group(1)))
            if chosen:
                self.payload(chosen)
                return
        if not self.s.get("started"):
            if nlu is None or nlu.intent in ("greet", "out_of_scope", "menu"):
                self.first_contact()
                return
            self.first_contact(then_answer=True)  # an understood first message is answered right after
        if nlu is None:
            self.misunderstood()
            return
        awaiting = self.s.get("awaiting")
        if awaiting in ("mediator", "delete", "jobcheck", "help") and nlu.intent in ("affirm", "deny"):
            self.payload(f"{awaiting}:{'yes' if nlu.intent == 'affirm' else 'no'}")
            return
        if awaiting == "safety" and nlu.intent in ("affirm", "deny"):
            self.payload(f"safety:{'safe' if nlu.intent == 'affirm' else 'no'}")
            return
        if awaiting == "country" and nlu.country:
            self.payload(f"country:{nlu.country}")
            return
        if awaiting == "tp_country" and nlu.country:
            self.payload(f"tp_country:{nlu.country}")
            return
        if awaiting == "where" and nlu.country:
            self.payload(f"where:{nlu.country}")
            return
        if self.s.get("urgent") and self.ctx.has_open_case and nlu.intent in ("out_of_scope", "emergency"):
            self.urgent_next_step()
            return
        if awaiting == "language":
            picked = _language_from_text(text)
            if picked:
                self.payload(f"lang:{picked}")
                return
        self.intent(nlu)

    def payload(self, payload: str) -> None:
        kind, _, arg = payload.partition(":")
        handlers: dict[str, Callable[[str], None]] = {
            "/start": lambda _: self.first_contact(),
            "start": lambda _: self.first_contact(),
            "privacy_more": lambda _: self.privacy_more(),
            "lang": self.set_language,
            "menu": self.menu_item,
            "help_now": self.help_now,
            "help": self.help_now,
            "safety": self.safety_answer,
            "tp_country": self.third_party_country,
            "urgent": self.urgent_answer,
            "where": self.where_chosen,
            "more_numbers": lambda _: self.more_numbers(),
            "sec": self.section_tap,
            "pg": self.more_tap,  # the next page of a long answer
            "src": self.source_tap,
            "svc": lambda _: self.services(),
            "child_line": lambda _: self.child_line(),
            "country": self.country_chosen,
            "jobcheck": self.jobcheck_answer,
            "mediator": self.mediator_answer,
            "delete": self.delete_answer,
            "topic": self.topic,
        }
        handler = handlers.get(kind)
        if not self.s.get("started") and kind not in ("lang", "help_now", "help", "privacy_more"):
            # Any first event (Get Started, a referral, an unknown payload) gets the greeting.
            self.first_contact()
            return
        if handler is None:
            self.misunderstood()
            return
        handler(arg)

    def _numbered(self, n: int) -> str | None:
        buttons = self.s.get("buttons") or []
        if 1 <= n <= len(buttons):
            return str(buttons[n - 1])
        return None

    # ---- flows ---------------------------------------------------------------------------------

    def first_contact(self, then_answer: bool = False) -> None:
        self.s["misses"] = 0
        self.s["started"] = True
        self.say(f"{self.t('greeting')}\n{self.t('privacy_short')}", (self.btn("btn_more", "privacy_more"),))
        if then_answer:
            return
        langs = tuple(Button(self.t(f"lang_name_{code}"), f"lang:{code}") for code in LANGS)
        self.say(self.t("choose_language"), langs)
        self.s["awaiting"] = "language"

    def privacy_more(self) -> None:
        self.say(self.t("privacy_more", retention_days=self.ctx.retention_days), (self.btn("btn_menu", "menu"),))

    def set_language(self, code: str) -> None:
        if code not in LANGS:
            self.misunderstood()
            return
        self.s["lang"] = code
        self.s["awaiting"] = None
        self.menu()

    def menu(self) -> None:
        self.s["misses"] = 0
        self.s["awaiting"] = None
        if self.lang == "ru":
            self.say(self.t("menu_title"), self.migrant_menu_buttons())
            return
        self.say(self.t("menu_title"), self.menu_buttons())

    def migrant_menu_buttons(self) -> tuple[Button, ...]:
        """The Russian menu: the topics of migrants in Bulgaria; the EU-citizen topics only on request."""
        card = self.c.country("BG")
        sections = tuple(self.section_button(card, k) for k in card.sections) if card is not None else ()
        return (
            *sections,
            self.btn("menu_hotlines", "where:BG"),
            self.btn("btn_services", "svc:BG"),
            self.btn("menu_offer", "menu:offer"),
            self.btn("menu_mediator", "menu:mediator"),
            self.btn("btn_eu_topics", "menu:eu"),
            self.btn("menu_help_now", HELP_NOW),
        )

    def menu_item(self, item: str) -> None:
        actions: dict[str, Callable[[], None]] = {
            "": self.menu,
            "eu": lambda: self.say(self.t("menu_title"), self.menu_buttons()),
            "work": lambda: self.answer("work_legally"),
            "country": self.ask_country,
            "offer": self.jobcheck_start,
            "trafficking": lambda: self.answer("trafficking_info"),
            "hotlines": lambda: self.answer("hotline"),
            "mediator": self.offer_mediator,
        }
        action = actions.get(item)
        if action is None:
            self.misunderstood()
        else:
            self.s["misses"] = 0
            action()

    def intent(self, nlu: NluResult) -> None:
        intent = nlu.intent
        if intent == "out_of_scope":
            if nlu.risk == "elevated":
                # Not understood as a topic, but it carries a warning sign: a person should look.
                self.s["misses"] = 0
                self.offer_mediator()
            else:
                self.misunderstood()
            return
        self.s["misses"] = 0
        if intent == "greet":
            self.say(self.t("greet_again"))
            self.menu()
        elif intent == "goodbye":
            self.say(self.t("goodbye"), (self.btn("btn_menu", "menu"),))
        elif intent == "menu":
            self.menu()
        elif intent in ("affirm", "deny"):
            self.say(self.t("affirm_no_context" if intent == "affirm" else "deny_no_context"), self.menu_buttons())
        elif intent == "human_mediator":
            self.offer_mediator()
        elif intent == "data_privacy":
            if _DELETE_WORDS.search(nlu.text.lower()):
                self.ask_delete()
            else:
                self.answer("data_privacy")
        elif intent == "job_offer_check":
            self.job_offer(nlu)
        else:
            self.answer(intent)
        if nlu.risk == "elevated" and intent != "job_offer_check":
            self.offer_mediator(soft=True)

    def misunderstood(self) -> None:
        self.noted = dataclasses.replace(self.noted, fallback=True)
        misses = int(self.s.get("misses", 0)) + 1
        self.s["misses"] = misses
        safe_buttons = (self.btn("btn_talk_person", "menu:mediator"), self.btn("menu_help_now", HELP_NOW))
        if misses >= 2 and not self.ctx.has_open_case:
            # Two misses in a row: offer a person.
            self.s["misses"] = 0
            self.s["offered"] = True
            self.s["awaiting"] = "mediator"
            self.say(
                self.t("fallback_twice"),
                (
                    self.btn("btn_yes", "mediator:yes"),
                    self.btn("btn_no", "mediator:no"),
                    self.btn("menu_help_now", HELP_NOW),
                ),
            )
        else:
            self.say(self.t("fallback_once"), (*safe_buttons, self.btn("btn_menu", "menu")))

    # ---- answers -------------------------------------------------------------------------------

    def answer(self, intent: str) -> None:
        country = self.s.get("country")
        card = self.c.country(country) if country else None
        if country and lines.has_no_rules(str(country)) and intent in _COUNTRY_DEPENDENT:
            self.no_rules(str(country))
            return
        if intent in COUNTRY_INTENTS and card is None:
            self.ask_country(pending=intent)
            return
        if intent == "migrants_in_bulgaria":
            self.migrants()
            return
        if intent == "hotline":
            self.hotlines(country)
            return
        if intent == "residence_rules" and card is not None:
            self.card(country, only=("registration", "work_rules"))
            return
        if intent == "wages_costs" and card is not None and country in FULL_COUNTRIES:
            self.card(country, only=("minimum_wage",))
            return
        if intent == "work_legally" and card is not None and country in FULL_COUNTRIES:
            self.card(country, only=("work_rules", "work_numbers", "advice"))
            return
        general = self.c.answers.get(intent)
        topics = {
            "work_legally": ("secure_job", "trusted_person"),
            "wages_costs": ("good_salary",),
            "trafficking_info": ("trafficking_vs_smuggling",),
            "education_family": ("good_education",),
        }.get(intent, ())
        related = [self.topic_button(k) for k in topics if k in self.c.topics]
        eu = self.c.countries.get("EU")
        extra = {"health_social": "ehic", "work_legally": "posted"}.get(intent)
        if eu is not None and extra in eu.sections:
            related.append(self.section_button(eu, str(extra)))
        if intent == "education_family":
            related.append(self.btn("btn_child_line", "child_line"))
        if intent in _COUNTRY_DEPENDENT:
            related.append(self.btn("menu_country", "menu:country"))
        if general is None:
            self.misunderstood()
            return
        self.screen(general.text.get(self.lang), f"a:{intent}", tuple(related))

    def topic_offer(self, keys: tuple[str, ...]) -> None:
        buttons = tuple(
            Button(self.c.topics[k].title.get(self.lang)[:40], f"topic:{k}") for k in keys if k in self.c.topics
        )
        if buttons:
            self.say(self.t("topics_prompt"), (*buttons, self.btn("btn_menu", "menu")))

    def topic(self, key: str) -> None:
        topic = self.c.topics.get(key)
        if topic is None:
            self.misunderstood()
            return
        others = tuple(self.topic_button(k) for k in TOPIC_KEYS if k != key and k in self.c.topics)
        self.screen(self.topic_full_text(key), f"t:{key}", others[:2])

    def ask_country(self, pending: str | None = None) -> None:
        self.s["awaiting"] = "country"
        self.s["pending"] = pending
        buttons = tuple(
            Button(self.c.countries[code].name.get(self.lang), f"country:{code}") for code in FULL_COUNTRIES
        )
        self.say(self.t("ask_country"), (*buttons, self.btn("btn_other_country", "country:other")))

    def country_chosen(self, code: str) -> None:
        if code == "other":
            self.s["awaiting"] = "country"
            self.say(self.t("ask_country"))
            return
        code = code.upper()
        self.s["country"] = code
        self.s["awaiting"] = None
        pending = self.s.pop("pending", None)
        if pending and pending in ("residence_rules", "wages_costs", "work_legally", "hotline"):
            self.answer(str(pending))
        else:
            self.card(code)

    def no_rules(self, code: str) -> None:
        """A country we have no rules for (outside the EU/EEA, or Switzerland): say so, and who helps."""
        text = [self.t("non_eu_country", country=_country_name(self.c, code, self.lang))]
        centre = lines.situation_centre(self.c)
        if centre is not None:
            text.append(render.phone_line(self.c, self.lang, centre, note=False))
            if centre.url:
                text.append(self.t("embassy_list", url=centre.url))
        self.say(
            "\n".join(text),
            (
                self.btn("btn_talk_person", "menu:mediator"),
                self.btn("btn_other_country", "menu:country"),
                self.btn("btn_menu", "menu"),
            ),
        )

    def card(self, code: str | None, only: tuple[str, ...] | None = None) -> None:
        if code and lines.has_no_rules(code):
            self.no_rules(code)
            return
        card = self.c.country(code) if code else None
        first = only[0] if only else "work_rules"
        if card is None or (code not in FULL_COUNTRIES and code != "BG"):
            self.general_eu(code, first)
            return
        if code == "BG":
            self.migrants()
            return
        self.section_screen(card, first)

    def card_contacts(self, card: CountryCard) -> None:
        if card.contacts:
            self.say(f"{self.t('hotlines_intro')}\n\n{render.contacts_block(self.c, self.lang, card.contacts)}")

    def general_eu(self, code: str | None, first: str = "work_rules") -> None:
        eu = self.c.country("EU")
        if eu is None:
            self.answer("work_legally")
            return
        intro = self.t("country_general", country=_country_name(self.c, code, self.lang)) if code else None
        self.section_screen(eu, first if first in eu.sections else "work_rules", intro=intro)

    def answer_text(self, key: str) -> None:
        ans = self.c.answers.get(key)
        if ans is not None:
            self.say(ans.text.get(self.lang))

    def hotlines(self, country: str | None) -> None:
        """At most three numbers for where the person is; asks where first when unknown."""
        where = self.s.get("where")
        if where is None:
            self.s["awaiting"] = "where"
            buttons = (
                self.btn("btn_in_bulgaria", "where:BG"),
                *(
                    Button(self.c.countries[c].name.get(self.lang), f"where:{c}")
                    for c in ((country,) if country in FULL_COUNTRIES else FULL_COUNTRIES[:4])
                ),
                self.btn("btn_other_country", "where:other"),
            )
            self.say(f"{self.t('hotlines_intro')}\n{self.numbers_here(None)}", sensitive=True)
            self.say(self.t("where_now"), buttons)
            return
        self.say(
            f"{self.t('hotlines_intro')}\n{self.numbers_here(str(where))}",
            (self.btn("btn_more_numbers", "more_numbers"), self.btn("btn_menu", "menu")),
            sensitive=True,
        )

    def migrants(self) -> None:
        card = self.c.country("BG")
        ans = self.c.answers.get("migrants_in_bulgaria")
        related = [self.section_button(card, k) for k in card.sections] if card is not None else []
        if card is not None and card.services:
            related.append(self.btn("btn_services", "svc:BG"))
        text = ans.text.get(self.lang) if ans is not None else ""
        self.screen(text, "a:migrants_in_bulgaria", tuple(related[:5]))

    def child_line(self) -> None:
        """The national children's line: for a child sent to work, or anyone worried about a child."""
        line = next((x for x in self.c.hotlines_bg if x.phone and x.phone.startswith("116 111")), None)
        if line is None:
            self.misunderstood()
            return
        self.say(render.phone_line(self.c, self.lang, line), (self.btn("btn_menu", "menu"),), sensitive=True)

    def services(self) -> None:
        card = self.c.country("BG")
        if card is None or not card.services:
            self.misunderstood()
            return
        block = render.phone_block(self.c, self.lang, tuple(x for x in card.services if x.phone), note=False)
        self.say(
            render.pages(block, render.PAGE_MAX)[0],
            (self.btn("btn_mediator", "menu:mediator"), self.btn("btn_menu", "menu")),
        )

    # ---- one screen first: a short first message, the rest one tap away ---------------------------

    def screen(self, text: str, ref: str, related: tuple[Button, ...] = (), *, intro: str | None = None) -> None:
        """The first screen of `text` with: More (when there is more), related buttons, Source, Menu."""
        pages = render.pages(text)
        head = pages[0] if pages else ""
        if intro:  # one line before the answer ("Poland: here are the general EU rules")
            head = f"{intro}\n{head}"
        buttons: list[Button] = []
        if len(pages) > 1:
            buttons.append(self.btn("btn_more", f"pg:{ref}:1"))
        buttons.extend(related)
        if self.source_of(ref) is not None:
            buttons.append(self.btn("btn_source", f"src:{ref}"))
        buttons.append(self.btn("btn_menu", "menu"))
        self.say(head, tuple(buttons))

    def text_of(self, ref: str) -> str | None:
        kind, _, rest = ref.partition(":")
        if kind == "a":
            ans = self.c.answers.get(rest)
            return ans.text.get(self.lang) if ans is not None else None
        if kind == "t":
            return self.topic_full_text(rest) if rest in self.c.topics else None
        if kind == "s":
            code, _, key = rest.partition(":")
            card = self.c.countries.get(code)
            return self.section_full(card, key) if card is not None else None
        return None

    def source_of(self, ref: str) -> tuple[str, Any] | None:
        kind, _, rest = ref.partition(":")
        if kind == "a":
            ans = self.c.answers.get(rest)
            return (ans.source, ans.checked) if ans is not None and ans.source else None
        if kind == "s":
            code, _, key = rest.partition(":")
            card = self.c.countries.get(code)
            fact = card.sections.get(key) if card is not None else None
            return (fact.source, fact.checked) if fact is not None and fact.source else None
        return None

    def more_tap(self, arg: str) -> None:
        ref, _, n = arg.rpartition(":")
        text = self.text_of(ref)
        pages = render.pages(text) if text else []
        i = int(n) if n.isdigit() else 1
        if not 1 <= i < len(pages):
            self.misunderstood()
            return
        buttons: list[Button] = []
        if i + 1 < len(pages):
            buttons.append(self.btn("btn_more", f"pg:{ref}:{i + 1}"))
        if self.source_of(ref) is not None:
            buttons.append(self.btn("btn_source", f"src:{ref}"))
        buttons.append(self.btn("btn_menu", "menu"))
        self.say(pages[i], tuple(buttons))

    def source_tap(self, ref: str) -> None:
        src = self.source_of(ref)
        if src is None:
            self.misunderstood()
            return
        self.say(render.source_line(self.c, self.lang, src[0], src[1]), (self.btn("btn_menu", "menu"),))

    def section_button(self, card: CountryCard, key: str) -> Button:
        return Button(self.t(f"sec_{key}"), f"sec:{card.code}:{key}")

    def section_tap(self, arg: str) -> None:
        code, _, key = arg.partition(":")
        card = self.c.countries.get(code)
        if card is None or key not in card.sections:
            self.misunderstood()
            return
        self.section_screen(card, key)

    def section_screen(self, card: CountryCard, key: str, intro: str | None = None) -> None:
        """One section of a country card, with buttons for the others and the help lines."""
        text = self.section_full(card, key)
        keys = list(card.sections)
        at = keys.index(key) if key in keys else 0
        # The next three sections (in turn), so every section is reachable from any other.
        others = [self.section_button(card, k) for k in (keys[at + 1 :] + keys[:at])[:3]]
        if card.code != "BG":
            others.append(self.btn("menu_hotlines", "menu:hotlines"))
        self.screen(text, f"s:{card.code}:{key}", tuple(others), intro=intro)

    def section_full(self, card: CountryCard, key: str) -> str:
        """A section's text, headed with the country and the section's name (not for EU and BG)."""
        text = render.section_text(self.c, self.lang, card, key) or ""
        if card.code in ("EU", "BG"):
            return text
        return f"{card.name.get(self.lang).upper()} · {self.t(f'sec_{key}')}\n{text}"

    def topic_button(self, key: str) -> Button:
        return Button(self.c.topics[key].title.get(self.lang)[:40], f"topic:{key}")

    def topic_full_text(self, key: str) -> str:
        topic = self.c.topics[key]
        return f"{render.topic_text(self.c, self.lang, topic)}\n\n{topic.story.get(self.lang)}"

    def work_problem(self, offer_mediator: bool = True) -> None:
        """Steps for unpaid wages, bad conditions or a debt: evidence, free advice there, the GLI; a mediator."""
        self.s["started"] = True
        code = self.where_or_country()
        card = self.c.country(code) if code else None
        steps = [self.t("work_problem_intro"), "1. " + self.t("work_problem_evidence")]
        buttons: list[Button] = []
        labour = [x for x in card.contacts if x.kind == "labour" and x.phone] if card is not None else []
        if labour:
            steps.append("2. " + render.phone_line(self.c, self.lang, labour[0], note=False))
        elif card is not None and "advice" in card.sections:
            steps.append("2. " + self.t("work_problem_advice"))
            buttons.append(self.section_button(card, "advice"))
        else:
            steps.append("2. " + self.t("work_problem_advice_country"))
            buttons.append(self.btn("menu_country", "menu:country"))
        gli = next((x for x in self.c.hotlines_bg if x.kind == "labour"), None)
        if gli is not None:
            line = render.phone_line(self.c, self.lang, gli, note=False)
            steps.append(f"3. {self.t('work_problem_posted')}\n{line}" + (f"\n{gli.url}" if gli.url else ""))
        self.say("\n".join(steps), tuple(buttons))
        if offer_mediator:
            self.offer_mediator()

    # ---- job-offer check -----------------------------------------------------------------------

    def job_offer(self, nlu: NluResult) -> None:
        flags = [s for s in nlu.signals if s in _SIGNAL_TO_QUESTION]
        if not flags:
            self.jobcheck_start()
            return
        qs = {q.id: q for q in self.c.jobcheck}
        lines = [self.t("jobcheck_flags_found")]
        for sig in flags:
            q = qs.get(_SIGNAL_TO_QUESTION[sig])
            if q is not None:
                lines.append(f"• {q.meaning.get(self.lang)}")
        self.say("\n".join(lines))
        self.hotline_short()
        self.offer_mediator(soft=True, extra=(self.btn("menu_offer", "menu:offer"),))

    def hotline_short(self) -> None:
        self.say(self.numbers_here(self.s.get("where")), sensitive=True)

    def jobcheck_start(self) -> None:
        self.s["jobcheck"] = {"i": 0, "answers": []}
        self.s["awaiting"] = "jobcheck"
        self.say(self.t("jobcheck_intro", count=len(self.c.jobcheck)))
        self.jobcheck_ask()

    def jobcheck_ask(self) -> None:
        jc = self.s["jobcheck"]
        q = self.c.jobcheck[jc["i"]]
        progress = self.t("jobcheck_progress", n=jc["i"] + 1, count=len(self.c.jobcheck))
        self.say(
            f"{progress}\n{q.text.get(self.lang)}",
            (self.btn("btn_yes", "jobcheck:yes"), self.btn("btn_no", "jobcheck:no")),
        )

    def jobcheck_answer(self, arg: str) -> None:
        jc = self.s.get("jobcheck")
        if not isinstance(jc, dict) or arg not in ("yes", "no"):
            self.jobcheck_start()
            return
        jc["answers"].append(arg == "yes")
        jc["i"] += 1
        if jc["i"] < len(self.c.jobcheck):
            self.jobcheck_ask()
            return
        self.s["awaiting"] = None
        self.s.pop("jobcheck", None)
        flagged = [q for q, ans in zip(self.c.jobcheck, jc["answers"], strict=False) if ans == q.warning_answer]
        self.remember_flags(tuple(f"jobcheck:{q.id}" for q in flagged))
        level = "red" if any(q.weight == "red" for q in flagged) else "amber" if flagged else "green"
        self.noted = dataclasses.replace(self.noted, job_check=level)
        lines = [self.t(f"jobcheck_{level}")]
        lines.extend(f"• {q.meaning.get(self.lang)}" for q in flagged)
        verdict = self.c.verdicts.get(level)
        if verdict is not None:
            lines.append(verdict.get(self.lang))
        self.say("\n\n".join(lines))
        if level == "red":
            self.hotline_short()
            self.offer_mediator(soft=True)
        else:
            self.say(self.t("menu_title"), self.menu_buttons())

    # ---- mediator, urgent, privacy -------------------------------------------------------------

    def offer_mediator(self, soft: bool = False, extra: tuple[Button, ...] = ()) -> None:
        if self.ctx.has_open_case:
            self.say(self.t("mediator_already", when=self.when()))
            return
        if soft and self.s.get("offered"):
            return
        self.s["offered"] = True
        self.s["awaiting"] = "mediator"
        self.say(
            self.t("mediator_offer"), (self.btn("btn_yes", "mediator:yes"), self.btn("btn_no", "mediator:no"), *extra)
        )

    def mediator_answer(self, arg: str) -> None:
        self.s["awaiting"] = None
        if arg != "yes":
            self.say(self.t("mediator_declined"), (self.btn("btn_menu", "menu"),))
            return
        if self.ctx.has_open_case:
            self.say(self.t("mediator_already", when=self.when()))
            return
        flags = tuple(self.s.get("flags") or ())
        risky = bool(flags) or (self.nlu is not None and self.nlu.risk == "elevated")
        self.effects.append(OpenCase("high" if risky else "normal", flags, self.where_or_country(), "asked"))
        self.say(self.t("mediator_case_opened", when=self.when()), (self.btn("btn_menu", "menu"),))
        if not self.ctx.mediators_on_shift:
            self.hotline_short()

    # ---- urgent: a short conversation (issue 9 point 3) -----------------------------------------

    def where_or_country(self) -> str | None:
        where = self.s.get("where") or self.s.get("country")
        return str(where) if where else None

    def remember_flags(self, signals: tuple[str, ...] | list[str]) -> None:
        flags = list(self.s.get("flags") or [])
        flags += [f for f in signals if f not in flags]
        self.s["flags"] = flags[-20:]

    def numbers_here(self, where: str | None) -> str:
        """The first (at most three) numbers for where the person is, with who/when/cost."""
        text = render.phone_block(self.c, self.lang, lines.first_lines(self.c, where))
        if where is None:
            text = text.replace(" – ", f" ({self.t('uk_emergency_note')}) – ", 1)
        elif lines.emergency(self.c, where) is None:
            text = f"☎ {self.t('local_emergency')}\n{text}"
        return text

    def emergency_number(self, where: str | None) -> str:
        contact = lines.emergency(self.c, where)
        return contact.phone or "112" if contact is not None else self.t("local_emergency")

    def urgent(self, signals: tuple[str, ...]) -> None:
        """The safety message at once, the case, then three short questions for the mediator."""
        self.s["awaiting"] = None
        self.s.pop("jobcheck", None)
        where = self.s.get("where")
        self.remember_flags(signals)
        self.say(f"{self.t('urgent_intro')}\n{self.numbers_here(where)}", sensitive=True)
        self.effects.append(
            OpenCase("urgent", tuple(self.s.get("flags") or signals), self.where_or_country(), "urgent")
        )
        self.s["urgent"] = True
        key = "urgent_case_in_hours" if self.ctx.mediators_on_shift else "urgent_case_off_hours"
        self.say(self.t(key, when=self.when()), sensitive=True)
        self.s["urgent_q"] = "safe"
        self.say(
            self.t("urgent_q_safe"),
            (self.btn("btn_yes", "urgent:safe_yes"), self.btn("btn_no", "urgent:safe_no")),
            sensitive=True,
        )

    def urgent_reply(self, nlu: NluResult) -> bool:
        """A typed answer to the open urgent question; False when the text is not one."""
        q = self.s.get("urgent_q")
        if q == "where":
            if nlu.country:
                self.urgent_answer(f"where_{nlu.country}")
                return True
            if nlu.intent in ("out_of_scope", "affirm", "deny"):
                self.urgent_answer("where_unknown")  # a town we do not know: the mediator reads it
                return True
            return False
        if nlu.intent in ("affirm", "deny"):
            yes = nlu.intent == "affirm"
            self.urgent_answer(f"{'safe' if q == 'safe' else 'others'}_{'yes' if yes else 'no'}")
            return True
        return False

    def urgent_answer(self, arg: str) -> None:
        """Record one answer in the case (a signal the mediator sees) and ask the next question."""
        answer, _, value = arg.partition("_")
        where = self.where_or_country()
        if answer == "safe":
            self.effects.append(OpenCase("urgent", (f"answer:can_write_safely={value}",), where, "urgent"))
            if value == "no":
                self.s["urgent_q"] = None
                self.say(self.t("urgent_cannot_write"), sensitive=True)
                return
            self.s["urgent_q"] = "where"
            self.say(
                self.t("urgent_q_where"),
                (self.btn("btn_in_bulgaria", "urgent:where_BG"),),
                sensitive=True,
            )
        elif answer == "where":
            self.s["urgent_q"] = "others"
            known = value if value and value != "unknown" else None
            signals: tuple[str, ...] = ("answer:where=" + (known or "written"),)
            if known:
                changed = known != self.s.get("where")
                self.s["where"] = known
                if changed:
                    self.say(self.numbers_here(known), sensitive=True)
            self.effects.append(OpenCase("urgent", signals, self.where_or_country(), "urgent"))
            self.say(
                self.t("urgent_q_others"),
                (self.btn("btn_yes", "urgent:others_yes"), self.btn("btn_no", "urgent:others_no")),
                sensitive=True,
            )
        elif answer == "others":
            self.s["urgent_q"] = None
            self.effects.append(OpenCase("urgent", (f"answer:others_in_danger={value}",), where, "urgent"))
            self.say(self.t("urgent_thanks"))
            self.urgent_next_step()
        else:
            self.misunderstood()

    def urgent_next_step(self) -> None:
        """ "What now?" after an urgent message: the next step and when the mediator comes."""
        number = self.emergency_number(self.s.get("where"))
        self.say(self.t("urgent_next_step", when=self.when(), number=number), sensitive=True)

    def help_now(self, arg: str) -> None:
        """The help button: the numbers at once, and one confirmation before a case opens."""
        if arg == "yes":
            self.urgent(("help_now",))
            return
        if arg == "no":
            self.s["awaiting"] = None
            self.menu()
            return
        where = self.s.get("where")
        self.say(f"{self.t('urgent_intro')}\n{self.numbers_here(where)}", sensitive=True)
        if self.ctx.has_open_case:
            self.say(self.t("mediator_already", when=self.when()))
            return
        self.s["awaiting"] = "help"
        self.say(self.t("help_confirm"), (self.btn("btn_yes", "help:yes"), self.btn("btn_no", "help:no")))

    # ---- the safety question and the third-party path (issue 12 points 3, 4) -------------------

    def ask_safety(self, nlu: NluResult, then_offer_mediator: bool = False) -> None:
        """Ask whether the person is safe; "I am safe" then answers what they asked (or, after a work
        problem's steps, offers the mediator)."""
        self.s["safety"] = {"intent": nlu.intent, "country": nlu.country, "mediator": then_offer_mediator}
        self.noted = dataclasses.replace(self.noted, safety_asked=True)
        self.s["awaiting"] = "safety"
        self.say(
            self.t("safety_question"),
            (
                self.btn("btn_safe", "safety:safe"),
                self.btn("btn_not_safe", "safety:no"),
                self.btn("btn_someone_else", "safety:other"),
            ),
            sensitive=True,
        )

    def safety_answer(self, arg: str) -> None:
        self.s["awaiting"] = None
        asked = self.s.pop("safety", None) or {}
        if arg == "no":
            self.remember_flags(("answer:not_safe",))
            self.urgent(("ask_safety", "answer:not_safe"))
        elif arg == "other":
            self.third_party("high", country=asked.get("country"))
        else:
            self.say(self.t("safety_ok"))
            intent = asked.get("intent")
            if asked.get("mediator"):
                self.offer_mediator()
            elif intent and intent not in ("out_of_scope", "emergency", "affirm", "deny"):
                self.answer(str(intent))
            else:
                self.menu()

    def third_party(self, priority: str, country: str | None = None) -> None:
        """A relative writes about someone else: what they can do from where they are; a case opens."""
        self.s["awaiting"] = None
        self.s.pop("jobcheck", None)
        self.remember_flags(("third_party",))
        code = country or (self.nlu.country if self.nlu is not None else None) or self.s.get("tp_country")
        self.effects.append(
            OpenCase("urgent" if priority == "urgent" else "high", tuple(self.s["flags"]), code, "third_party")
        )
        if not code:
            self.say(self.t("third_party_case", when=self.when()))
            self.s["awaiting"] = "tp_country"
            buttons = tuple(
                Button(self.c.countries[cc].name.get(self.lang), f"tp_country:{cc}") for cc in FULL_COUNTRIES[:6]
            )
            self.say(self.t("third_party_ask_country"), buttons, sensitive=True)
            return
        self.third_party_steps(str(code))
        self.say(self.t("third_party_case", when=self.when()), (self.btn("btn_menu", "menu"),))

    def third_party_country(self, code: str) -> None:
        code = code.upper()
        self.s["tp_country"] = code
        self.s["awaiting"] = None
        self.effects.append(OpenCase("high", ("third_party", f"answer:person_is_in={code}"), code, "third_party"))
        self.third_party_steps(code)

    def third_party_steps(self, code: str) -> None:
        where = _country_name(self.c, code, self.lang)
        emergency = lines.emergency(self.c, code)
        steps = [self.t("third_party_intro", where=self.t("third_party_where", country=where))]
        if emergency is not None and emergency.phone:
            steps.append("1. " + self.t("third_party_emergency", number=emergency.phone))
        else:
            steps.append("1. " + self.t("third_party_local_emergency"))
        centre = lines.situation_centre(self.c)
        n = 2
        if centre is not None:
            steps.append(f"{n}. {render.phone_line(self.c, self.lang, centre)}")
            n += 1
        local = lines.local_line(self.c, code)
        if local is not None:
            steps.append(f"{n}. {render.phone_line(self.c, self.lang, local)}")
        self.say("\n".join(steps), sensitive=True)

    # ---- help lines by where the person is (issue 9 point 2) -----------------------------------

    def where_chosen(self, code: str) -> None:
        if code == "other":
            self.s["awaiting"] = "where"
            self.say(self.t("ask_country"))
            return
        self.s["where"] = code.upper()
        self.s["awaiting"] = None
        self.hotlines(self.s["where"])

    def more_numbers(self) -> None:
        where = self.s.get("where")
        rest = lines.more_lines(self.c, where)
        self.say(render.phone_block(self.c, self.lang, rest[:8], note=False), (self.btn("btn_menu", "menu"),))

    def ask_delete(self) -> None:
        self.s["awaiting"] = "delete"
        self.say(self.t("privacy_delete_confirm"), (self.btn("btn_yes", "delete:yes"), self.btn("btn_no", "delete:no")))

    def delete_answer(self, arg: str) -> None:
        self.s["awaiting"] = None
        if arg == "yes":
            self.effects.append(EraseData())
            self.say(self.t("privacy_deleted"))
            self.s.clear()
        else:
            self.say(self.t("privacy_delete_cancelled"), (self.btn("btn_menu", "menu"),))


# Intents whose answer depends on the country's rules.
_COUNTRY_DEPENDENT = frozenset({"work_legally", "residence_rules", "wages_costs", "health_social", "education_family"})

_SIGNAL_TO_QUESTION = {
    "recruitment_fee": "fee",
    "no_contract": "contract_language",
    "document_retention": "documents_kept",
    "too_good_pay": "pay_too_high",
    "debt_bondage": "debt",
    "pressure_secrecy": "pressure_secret",
}


def _language_from_text(text: str) -> str | None:
    t = text.strip().lower()
    if t in ("bg", "български", "bulgarski", "balgarski", "bylgarski", "bulgarian", "1"):
        return "bg"
    if t in ("en", "english", "английски", "angliiski", "2"):
        return "en"
    if t in ("ru", "русский", "руски", "russian", "ruski", "3"):
        return "ru"
    return None


def _country_name(c: Content, code: str, lang: str) -> str:
    """Our card's name for the country, else Babel's (CLDR) name in the language, else the code."""
    card = c.country(code)
    if card is not None and card.code == code.upper():
        return card.name.get(lang)
    return str(Locale.parse(lang).territories.get(code.upper(), code))
