/*
  Sigurno mediator console: what the login, queue and case pages share (window.Sigurno).
  No framework, no external resource. Every piece of text reaches the page with textContent or a
  text node (the page policy also turns on Trusted Types, so HTML-string sinks throw on Chromium).
  The JSON API is /api/console/* (README, "The mediator console"); POSTs carry X-CSRF-Token.
*/
"use strict";
(function () {
  var S = {};
  window.Sigurno = S;

  var KEY = {
    lang: "sigurno.console.lang",
    csrf: "sigurno.console.csrf",
    sound: "sigurno.console.sound",
    seen: "sigurno.console.seen"
  };

  // ---- words ---------------------------------------------------------------------------------------
  var TEXT = {
    bg: {
      app: "Sigurno · медиатори", otherLang: "English", otherLangCode: "en",
      skip: "Към съдържанието",
      loginTitle: "Вход за медиатори", username: "Потребителско име", password: "Парола",
      signIn: "Влез", signingIn: "Влизане…", badLogin: "Грешно потребителско име или парола.",
      tooMany: "Твърде много опити. Опитайте отново след {n} мин.", tooManyLater: "Твърде много опити. Опитайте отново по-късно.",
      expired: "Сесията изтече. Моля, влезте отново.", loggedOut: "Излязохте от конзолата.",
      loginHint: "Профил се създава с „sigurno users add ИМЕ --role mediator --password-stdin“.",
      logout: "Изход", you: "Вие: {name}",
      queue: "Опашка", tabQueued: "Чакащи", tabMine: "Мои", tabAssigned: "Поети", tabClosed: "Приключени",
      cases: "Случаи",
      emptyQueued: "Няма чакащи случаи.", emptyMine: "Нямате поети случаи.", emptyAssigned: "Няма поети случаи.",
      emptyClosed: "Няма приключени случаи.", loading: "Зареждане…",
      liveOn: "На живо: промените идват сами.", liveOff: "Няма връзка за промени на живо — опитвам отново…",
      liveWait: "Свързване…",
      claim: "Поеми", claiming: "Поемане…", open: "Отвори", openCase: "Случай #{id}",
      taken: "Този случай вече е поет от друг медиатор.", claimed: "Поехте случая.",
      waiting: "чака {t}", waitsReply: "чака отговор {t}", lastAt: "последно {t}", closedAgo: "затворен преди {t}", releasedAgo: "върнат на бота преди {t}",
      country: "Държава", channel: "Канал", window: "Прозорец за отговор", assignee: "Медиатор",
      signals: "Защо е отворен", priority: "Спешност", status: "Състояние", opened: "Отворен", outcomeLabel: "Изход",
      language: "Език", noone: "никой", unknown: "—", noSignals: "няма",
      windowOpen: "отворен", windowClosed: "затворен", windowUnknown: "неизвестно",
      windowWeb: "отворен (уеб чат)",
      prio: { urgent: "Спешно", high: "Висок риск", normal: "Обикновен" },
      st: { queued: "чака", assigned: "поет", closed: "затворен", released: "върнат на бота" },
      ch: { web: "Уеб чат", telegram: "Telegram", viber: "Viber", messenger: "Messenger", terminal: "Терминал" },
      alertOne: "Нов спешен случай #{id}", alertAgain: "Спешен случай #{id} още чака",
      alertTitle: "Спешно!", dismiss: "Скрий", sound: "Звук", soundOn: "Звукът при спешен случай е включен",
      soundOff: "Звукът при спешен случай е изключен",
      e403: "Нямате права за това действие.", e404: "Не е намерено (може би е изтрито).",
      e409: "Случаят се промени междувременно; вижте го отново.", e413: "Текстът е твърде дълъг.",
      e429: "Твърде много заявки. Изчакайте малко и опитайте пак.", e5xx: "Грешка при сървъра. Опитайте пак след малко.",
      offline: "Няма връзка със сървъра. Проверете интернета и опитайте пак.", e4xx: "Заявката не беше приета: {why}",
      reportsLink: "Отчети",
      caseTitle: "Случай #{id}", back: "Опашка", transcript: "Разговор", summary: "За случая",
      person: "Човекът", bot: "Бот", mediator: "Медиатор", system: "Sigurno",
      reply: "Отговор до човека", send: "Изпрати", sending: "Изпращане…", sendHint: "Ctrl+Enter изпраща",
      claimToReply: "Поемете случая, за да пишете на човека.", notYours: "Случаят е поет от {name}.",
      closedNoReply: "Случаят е затворен.", releasedNoReply: "Случаят е върнат на бота.",
      windowShutWarn: "Прозорецът за отговор в този канал е затворен: съобщението може да не стигне до човека.",
      canned: "Готови отговори", noCanned: "Няма готови отговори.",
      notes: "Лични бележки", notesHint: "Виждат ги само медиаторите; човекът не ги вижда.",
      addNote: "Запази бележката", noteLabel: "Нова бележка", noNotes: "Още няма бележки.", noteSaved: "Бележката е запазена.",
      finish: "Край на намесата", release: "Върни на бота", releasing: "Връщане…", released: "Случаят е върнат на бота.",
      closeCase: "Затвори случая", closing: "Затваряне…", outcome: "Изход от случая", pickOutcome: "— изберете —",
      needOutcome: "Изберете изход от случая.", closedOk: "Случаят е затворен.", sent: "Изпратено.",
      outcomes: {
        referred_hotline: "Насочен към гореща линия", referred_police: "Насочен към полицията",
        referred_embassy: "Насочен към посолство / консулство", referred_ngo: "Насочен към организация (НПО)",
        advice_given: "Дадени съвети", no_contact: "Няма връзка с човека", false_alarm: "Фалшива тревога",
        other: "Друго"
      },
      dl: { sent: "изпратено", delivered: "доставено", seen: "видяно", failed: "НЕ Е ДОСТАВЕНО", pending: "изпраща се…" },
      failedWhy: "НЕ Е ДОСТАВЕНО: {why}",
      kinds: {
        image: "[снимка]", audio: "[гласово съобщение]", video: "[видео]", file: "[файл]", sticker: "[стикер]",
        location: "[местоположение]", other: "[съобщение без текст]", payload: "[бутон] {x}", erased: "[текстът е изтрит]"
      },
      ev: {
        opened: "Случаят е отворен", raised: "Спешността е повишена", claimed: "{actor} пое случая",
        released: "{actor} върна случая на бота", closed: "{actor} затвори случая", realert: "Повторен сигнал: още никой не е поел",
        note: "{actor} добави бележка", reassigned: "Случаят е преназначен", signals: "Нови сигнали: {list}"
      },
      sig: {
        document_retention: "Взети документи", confinement: "Заключен / не може да излезе", violence: "Насилие",
        sexual_exploitation: "Сексуална експлоатация", threats: "Заплахи", trafficked: "Продаден / трафик",
        stranded: "Блокиран без пари / път", minor: "Непълнолетен", debt_bondage: "Дългово робство",
        unpaid_wages: "Неплатени заплати", recruitment_fee: "Такса за работа", no_contract: "Без договор",
        too_good_pay: "Твърде добро заплащане", pressure_secrecy: "Натиск / тайна",
        abusive_conditions: "Тежки условия", distress: "В беда / отчаяние",
        third_party: "Пише за друг човек", help_now: "Бутон „Помощ сега“", ask_safety: "Въпрос за безопасност"
      },
      ans: {
        can_write_safely: "Може да пише спокойно", where: "Къде е", others_in_danger: "Други в опасност",
        person_is_in: "Човекът е в", not_safe: "Каза, че не е в безопасност"
      },
      val: { yes: "да", no: "не", written: "написано в разговора" },
      jobcheck: "Оферта: {flag}",
      ago: { now: "по-малко от минута", m: "{m} мин", h: "{h} ч {m} мин", d: "{d} д {h} ч" }
    },
    en: {
      app: "Sigurno · mediators", otherLang: "Български", otherLangCode: "bg",
      skip: "Skip to content",
      loginTitle: "Mediator sign-in", username: "Username", password: "Password",
      signIn: "Sign in", signingIn: "Signing in…", badLogin: "Wrong username or password.",
      tooMany: "Too many attempts. Try again in {n} min.", tooManyLater: "Too many attempts. Try again later.",
      expired: "Your session has ended. Please sign in again.", loggedOut: "You have signed out.",
      loginHint: "Accounts are created with “sigurno users add NAME --role mediator --password-stdin”.",
      logout: "Sign out", you: "You: {name}",
      queue: "Queue", tabQueued: "Waiting", tabMine: "Mine", tabAssigned: "Assigned", tabClosed: "Finished",
      cases: "Cases",
      emptyQueued: "No case is waiting.", emptyMine: "You have no assigned cases.", emptyAssigned: "No assigned cases.",
      emptyClosed: "No finished cases.", loading: "Loading…",
      liveOn: "Live: changes arrive by themselves.", liveOff: "Live updates lost — reconnecting…",
      liveWait: "Connecting…",
      claim: "Claim", claiming: "Claiming…", open: "Open", openCase: "Case #{id}",
      taken: "Another mediator has already taken this case.", claimed: "You claimed the case.",
      waiting: "waiting {t}", waitsReply: "awaits a reply {t}", lastAt: "last {t}", closedAgo: "closed {t} ago", releasedAgo: "back with the bot {t} ago",
      country: "Country", channel: "Channel", window: "Reply window", assignee: "Mediator",
      signals: "Why it opened", priority: "Priority", status: "Status", opened: "Opened", outcomeLabel: "Outcome",
      language: "Language", noone: "nobody", unknown: "—", noSignals: "none",
      windowOpen: "open", windowClosed: "closed", windowUnknown: "unknown",
      windowWeb: "open (web chat)",
      prio: { urgent: "Urgent", high: "High risk", normal: "Normal" },
      st: { queued: "waiting", assigned: "assigned", closed: "closed", released: "back with the bot" },
      ch: { web: "Web chat", telegram: "Telegram", viber: "Viber", messenger: "Messenger", terminal: "Terminal" },
      alertOne: "New urgent case #{id}", alertAgain: "Urgent case #{id} is still waiting",
      alertTitle: "Urgent!", dismiss: "Hide", sound: "Sound", soundOn: "Sound for urgent cases is on",
      soundOff: "Sound for urgent cases is off",
      e403: "You are not allowed to do this.", e404: "Not found (it may have been erased).",
      e409: "The case changed meanwhile; have another look.", e413: "The text is too long.",
      e429: "Too many requests. Wait a moment and try again.", e5xx: "Server error. Please try again shortly.",
      offline: "No connection to the server. Check the internet and try again.", e4xx: "The request was refused: {why}",
      reportsLink: "Reports",
      caseTitle: "Case #{id}", back: "Queue", transcript: "Conversation", summary: "About the case",
      person: "Person", bot: "Bot", mediator: "Mediator", system: "Sigurno",
      reply: "Reply to the person", send: "Send", sending: "Sending…", sendHint: "Ctrl+Enter sends",
      claimToReply: "Claim the case to write to the person.", notYours: "{name} has this case.",
      closedNoReply: "The case is closed.", releasedNoReply: "The case is back with the bot.",
      windowShutWarn: "This channel's reply window is closed: the message may not reach the person.",
      canned: "Canned replies", noCanned: "No canned replies.",
      notes: "Private notes", notesHint: "Only mediators see these; the person never does.",
      addNote: "Save note", noteLabel: "New note", noNotes: "No notes yet.", noteSaved: "Note saved.",
      finish: "Ending the takeover", release: "Hand back to the bot", releasing: "Handing back…", released: "The case is back with the bot.",
      closeCase: "Close the case", closing: "Closing…", outcome: "Outcome", pickOutcome: "— choose —",
      needOutcome: "Choose an outcome.", closedOk: "The case is closed.", sent: "Sent.",
      outcomes: {
        referred_hotline: "Referred to a hotline", referred_police: "Referred to the police",
        referred_embassy: "Referred to the embassy / consulate", referred_ngo: "Referred to an NGO",
        advice_given: "Advice given", no_contact: "No contact with the person", false_alarm: "False alarm",
        other: "Other"
      },
      dl: { sent: "sent", delivered: "delivered", seen: "seen", failed: "NOT DELIVERED", pending: "sending…" },
      failedWhy: "NOT DELIVERED: {why}",
      kinds: {
        image: "[photo]", audio: "[voice message]", video: "[video]", file: "[file]", sticker: "[sticker]",
        location: "[location]", other: "[message without text]", payload: "[button] {x}", erased: "[text erased]"
      },
      ev: {
        opened: "Case opened", raised: "Priority raised", claimed: "{actor} claimed the case",
        released: "{actor} handed the case back to the bot", closed: "{actor} closed the case",
        realert: "Re-alert: nobody has claimed it yet", note: "{actor} added a note", reassigned: "Case reassigned",
        signals: "New signals: {list}"
      },
      sig: {
        document_retention: "Documents taken", confinement: "Locked in / cannot leave", violence: "Violence",
        sexual_exploitation: "Sexual exploitation", threats: "Threats", trafficked: "Trafficked / sold",
        stranded: "Stranded without money", minor: "Minor", debt_bondage: "Debt bondage",
        unpaid_wages: "Unpaid wages", recruitment_fee: "Recruitment fee", no_contract: "No contract",
        too_good_pay: "Pay too good to be true", pressure_secrecy: "Pressure / secrecy",
        abusive_conditions: "Abusive conditions", distress: "Distress",
        third_party: "Writes about someone else", help_now: "“Help now” button", ask_safety: "Safety question"
      },
      ans: {
        can_write_safely: "Can write safely", where: "Where they are", others_in_danger: "Others in danger",
        person_is_in: "The person is in", not_safe: "Said they are not safe"
      },
      val: { yes: "yes", no: "no", written: "written in the chat" },
      jobcheck: "Offer: {flag}",
      ago: { now: "under a minute", m: "{m} min", h: "{h} h {m} min", d: "{d} d {h} h" }
    }
  };
  // The outcomes the API accepts (bot/handoff/cases.py OUTCOMES).
  S.OUTCOMES = [
    "referred_hotline", "referred_police", "referred_embassy", "referred_ngo", "advice_given", "no_contact",
    "false_alarm", "other"
  ];

  // ---- storage (may be unavailable) ------------------------------------------------------------------
  var memory = {};
  function stored(area, k) {
    try { return window[area].getItem(k); } catch (e) { return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null; }
  }
  function keep(area, k, v) {
    memory[k] = v;
    try { if (v === null) { window[area].removeItem(k); } else { window[area].setItem(k, v); } } catch (e) { /* memory only */ }
  }

  // ---- language ---------------------------------------------------------------------------------------
  function pickLang() {
    var saved = stored("localStorage", KEY.lang);
    if (saved && TEXT[saved]) { return saved; }
    var nav = (navigator.languages && navigator.languages[0]) || navigator.language || "bg";
    return /^en\b/i.test(nav) ? "en" : "bg";
  }
  S.lang = pickLang();
  function fill(s, vars) {
    return String(s).replace(/\{(\w+)\}/g, function (m, k) { return vars && vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : m; });
  }
  /** t("key", {vars}) or t("group.key") */
  S.t = function (key, vars) {
    var parts = key.split("."), v = TEXT[S.lang], fallback = TEXT.bg, i;
    for (i = 0; i < parts.length; i++) {
      v = v && v[parts[i]];
      fallback = fallback && fallback[parts[i]];
    }
    if (typeof v !== "string") { v = typeof fallback === "string" ? fallback : null; }
    return v === null ? null : fill(v, vars);
  };
  S.has = function (key) { return S.t(key) !== null; };
  /** Fill every [data-t], [data-t-placeholder], [data-t-label] in the page with words in S.lang. */
  S.translate = function (root) {
    root = root || document;
    document.documentElement.lang = S.lang;
    var nodes = root.querySelectorAll("[data-t]"), i, w;
    for (i = 0; i < nodes.length; i++) { w = S.t(nodes[i].getAttribute("data-t")); if (w !== null) { nodes[i].textContent = w; } }
    nodes = root.querySelectorAll("[data-t-placeholder]");
    for (i = 0; i < nodes.length; i++) { w = S.t(nodes[i].getAttribute("data-t-placeholder")); if (w !== null) { nodes[i].placeholder = w; } }
    nodes = root.querySelectorAll("[data-t-label]");
    for (i = 0; i < nodes.length; i++) { w = S.t(nodes[i].getAttribute("data-t-label")); if (w !== null) { nodes[i].setAttribute("aria-label", w); } }
  };
  S.setLang = function (code) {
    if (!TEXT[code]) { return; }
    keep("localStorage", KEY.lang, code);
    window.location.reload();
  };

  // ---- DOM ------------------------------------------------------------------------------------------------
  S.$ = function (id) { return document.getElementById(id); };
  /** el("li", {class: "x", text: "...", attrs: {...}}, [children: Node | string]) — strings become text nodes. */
  S.el = function (tag, props, kids) {
    var node = document.createElement(tag), k, i;
    props = props || {};
    if (props["class"]) { node.className = props["class"]; }
    if (props.text !== undefined && props.text !== null) { node.textContent = String(props.text); }
    if (props.attrs) { for (k in props.attrs) { if (Object.prototype.hasOwnProperty.call(props.attrs, k)) { node.setAttribute(k, props.attrs[k]); } } }
    if (kids) {
      for (i = 0; i < kids.length; i++) {
        if (kids[i] === null || kids[i] === undefined) { continue; }
        node.appendChild(typeof kids[i] === "string" ? document.createTextNode(kids[i]) : kids[i]);
      }
    }
    return node;
  };
  S.clear = function (node) { while (node.firstChild) { node.removeChild(node.firstChild); } };
  /** A banner line (role=alert or status set in the page); kind: error | ok. Empty text hides it. */
  S.say = function (node, text, kind) {
    if (!node) { return; }
    node.textContent = text || "";
    node.className = "banner " + (kind || "error");
    node.hidden = !text;
  };

  // ---- times ------------------------------------------------------------------------------------------------
  /** A Date from an ISO string (no zone = UTC), epoch seconds / ms, or null. */
  S.date = function (v) {
    if (v === null || v === undefined || v === "") { return null; }
    if (typeof v === "number") { return new Date(v < 1e12 ? v * 1000 : v); }
    if (typeof v !== "string") { return null; }
    var s = /[zZ]$|[+-]\d\d:?\d\d$/.test(v) ? v : v.replace(" ", "T") + "Z";
    var d = new Date(s);
    return isNaN(d.getTime()) ? null : d;
  };
  S.span = function (ms) {
    var m = Math.max(0, Math.floor(ms / 60000)), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (m < 1) { return S.t("ago.now"); }
    if (h < 1) { return S.t("ago.m", { m: m }); }
    if (d < 1) { return S.t("ago.h", { h: h, m: m % 60 }); }
    return S.t("ago.d", { d: d, h: h % 24 });
  };
  S.since = function (date) { return date ? S.span(Date.now() - date.getTime()) : S.t("unknown"); };
  S.clock = function (date) {
    if (!date) { return ""; }
    var now = new Date(), opts = { hour: "2-digit", minute: "2-digit" };
    var locale = S.lang === "bg" ? "bg-BG" : "en-GB";
    if (date.toDateString() !== now.toDateString()) { opts.day = "numeric"; opts.month = "short"; }
    try { return date.toLocaleString(locale, opts); } catch (e) { return date.toISOString().slice(0, 16).replace("T", " "); }
  };
  S.fullTime = function (date) {
    if (!date) { return ""; }
    try { return date.toLocaleString(S.lang === "bg" ? "bg-BG" : "en-GB"); } catch (e) { return date.toISOString(); }
  };

  // ---- labels ---------------------------------------------------------------------------------------------
  var regionNames = null;
  try { regionNames = new Intl.DisplayNames([S.lang === "bg" ? "bg" : "en"], { type: "region" }); } catch (e) { regionNames = null; }
  S.country = function (code) {
    if (!code || typeof code !== "string") { return S.t("unknown"); }
    var name = null;
    if (/^[A-Za-z]{2}$/.test(code) && regionNames) { try { name = regionNames.of(code.toUpperCase()); } catch (e) { name = null; } }
    return name && name !== code.toUpperCase() ? name + " (" + code.toUpperCase() + ")" : code.toUpperCase();
  };
  S.channel = function (ch) { return (ch && S.has("ch." + ch)) ? S.t("ch." + ch) : (ch ? String(ch) : S.t("unknown")); };
  // Signals say what opened the case: NLU signals, job-offer flags ("jobcheck:fee") and the person's
  // answers to the urgent questions ("answer:where=DE").
  S.signal = function (sig) {
    sig = String(sig);
    var m = /^answer:([a-z_]+)(?:=(.*))?$/.exec(sig);
    if (m) {
      var name = S.has("ans." + m[1]) ? S.t("ans." + m[1]) : m[1].replace(/_/g, " ");
      if (m[2] === undefined) { return name; }
      var value = /^[A-Z]{2}$/.test(m[2]) ? S.country(m[2]) : (S.has("val." + m[2]) ? S.t("val." + m[2]) : m[2]);
      return name + ": " + value;
    }
    if (sig.indexOf("jobcheck:") === 0) { return S.t("jobcheck", { flag: sig.slice(9).replace(/_/g, " ") }); }
    return S.has("sig." + sig) ? S.t("sig." + sig) : sig.replace(/_/g, " ");
  };
  S.priority = function (p) { return S.has("prio." + p) ? S.t("prio." + p) : String(p || S.t("unknown")); };
  S.status = function (st) { return S.has("st." + st) ? S.t("st." + st) : String(st || S.t("unknown")); };
  S.outcome = function (o) { return S.has("outcomes." + o) ? S.t("outcomes." + o) : String(o || S.t("unknown")); };
  S.PRIORITY_RANK = { urgent: 2, high: 1, normal: 0 };

  // ---- the API's records, normalised ------------------------------------------------------------------------
  function str(v) { return typeof v === "string" && v ? v : null; }
  function who(v) {
    if (typeof v === "string") { return v || null; }
    if (v && typeof v === "object") { return str(v.username) || str(v.name) || null; }
    return null;
  }
  /** A case of the API (README, "The console API") in the shape the pages use. */
  S.normCase = function (c) {
    if (!c || typeof c !== "object") { return null; }
    var created = S.date(c.created_at);
    // waiting_seconds is counted by the server (no clock skew): a waiting case since it opened, an
    // assigned one since the person's last unanswered message (0: nobody waits for an answer).
    var waited = typeof c.waiting_seconds === "number" && isFinite(c.waiting_seconds) ? Math.max(0, c.waiting_seconds) : null;
    var since = waited === null ? created : (waited > 0 ? new Date(Date.now() - waited * 1000) : null);
    return {
      id: Number(c.id),
      status: str(c.status) || "queued",
      priority: str(c.priority) || "normal",
      signals: Array.isArray(c.signals) ? c.signals.filter(function (x) { return typeof x === "string"; }) : [],
      country: str(c.country),
      channel: str(c.channel),
      language: str(c.language),
      createdAt: created,
      waitingSince: since,
      lastMessageAt: S.date(c.last_message_at),
      updatedAt: S.date(c.updated_at),
      assignee: who(c.assignee),
      outcome: str(c.outcome),
      closedAt: S.date(c.closed_at),
      windowOpen: typeof c.reply_window_open === "boolean" ? c.reply_window_open : null
    };
  };
  S.normCases = function (data) {
    var list = data && Array.isArray(data.cases) ? data.cases : [];
    return list.map(S.normCase).filter(function (c) { return c && isFinite(c.id); });
  };
  /** Waiting cases: most urgent first, then the longest waiting first. Closed: the latest first. */
  S.sortCases = function (list, status) {
    return list.slice().sort(function (a, b) {
      if (status === "closed") {
        return ((b.closedAt || b.updatedAt || b.createdAt || 0) - (a.closedAt || a.updatedAt || a.createdAt || 0)) || b.id - a.id;
      }
      var p = (S.PRIORITY_RANK[b.priority] || 0) - (S.PRIORITY_RANK[a.priority] || 0);
      if (p) { return p; }
      var aw = a.waitingSince ? a.waitingSince.getTime() : Infinity, bw = b.waitingSince ? b.waitingSince.getTime() : Infinity;
      return (aw === bw ? 0 : aw < bw ? -1 : 1) || a.id - b.id;
    });
  };
  /** The reply window as {text, cls}: open, closed (Messenger after 24 h), or unknown. */
  S.windowState = function (c) {
    if (c.windowOpen === true) { return { text: S.t(c.channel === "web" ? "windowWeb" : "windowOpen"), cls: "open" }; }
    if (c.windowOpen === false) { return { text: S.t("windowClosed"), cls: "shut" }; }
    return { text: S.t("windowUnknown"), cls: "" };
  };

  // ---- session, CSRF and the API ------------------------------------------------------------------------------
  S.csrf = function () { return stored("sessionStorage", KEY.csrf); };
  S.setCsrf = function (token) { keep("sessionStorage", KEY.csrf, typeof token === "string" && token ? token : null); };
  S.me = null;
  S.leaving = false;

  var NEXT_RE = /^\/console(?:\/cases\/[1-9][0-9]{0,17}|\/reports|\/review|\/content(?:\/stale|\/items(?:\/[A-Za-z0-9_%-]+)+)?)?$/;
  S.safeNext = function (v) { return typeof v === "string" && NEXT_RE.test(v) ? v : "/console"; };
  S.toLogin = function (why) {
    if (S.leaving) { return; }
    S.leaving = true;
    S.setCsrf(null);
    var q = "?next=" + encodeURIComponent(S.safeNext(window.location.pathname));
    if (why) { q += "&why=" + encodeURIComponent(why); }
    window.location.replace("/console/login" + q);
  };

  function request(method, path, body) {
    var headers = { "Accept": "application/json" };
    var init = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
    if (method !== "GET") {
      var token = S.csrf();
      if (token) { headers["X-CSRF-Token"] = token; }
    }
    if (body !== undefined && body !== null) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      return res.text().then(function (raw) {
        var data = null;
        try { data = raw ? JSON.parse(raw) : null; } catch (e) { data = null; }
        return { status: res.status, ok: res.ok, data: data, retryAfter: res.headers.get("Retry-After") };
      });
    }, function () { return { status: 0, ok: false, data: null, retryAfter: null }; });
  }
  function csrfProblem(res) {
    var why = res.data && typeof res.data.error === "string" ? res.data.error : "";
    return res.status === 403 && /csrf/i.test(why);
  }
  /**
   * api("POST", "/api/console/...", body) -> Promise<{status, ok, data}>. A 401 goes to the login page
   * (unless opts.stay). A POST without a CSRF token in this tab (a new tab) first asks /me for one
   * (unless opts.bare: the login itself).
   */
  S.api = function (method, path, body, opts) {
    opts = opts || {};
    var before = (method !== "GET" && !S.csrf() && !opts.bare) ? refreshCsrf() : Promise.resolve();
    return before.then(function () { return request(method, path, body); }).then(function (res) {
      if (res.status === 403 && method !== "GET" && csrfProblem(res) && !opts.retried && !opts.bare) {
        return refreshCsrf().then(function (got) {
          return got ? S.api(method, path, body, { stay: opts.stay, retried: true }) : res;
        });
      }
      if (res.status === 401 && !opts.stay) { S.toLogin("expired"); }
      return res;
    });
  };
  function refreshCsrf() {
    return request("GET", "/api/console/me").then(function (res) {
      var token = res.ok && res.data ? (res.data.csrf || (res.data.user && res.data.user.csrf)) : null;
      if (typeof token === "string" && token) { S.setCsrf(token); return true; }
      return false;
    });
  }
  /**
   * Another mediator has the case: 409 on a claim, or 403 when the case (now assigned to someone else) is
   * no longer visible to this mediator at all.
   */
  S.isTaken = function (res) {
    var why = res && res.data && typeof res.data.error === "string" ? res.data.error : "";
    return !!res && (res.status === 409 && /taken/i.test(why) || res.status === 403 && /another mediator/i.test(why));
  };
  /** Words for a failed response, for the person at the screen. */
  S.problem = function (res) {
    var why = res && res.data && typeof res.data.error === "string" ? res.data.error.slice(0, 300) : "";
    if (!res || res.status === 0) { return S.t("offline"); }
    if (S.isTaken(res)) { return S.t("taken"); }
    if (res.status === 401) { return S.t("expired"); }
    if (res.status === 403) { return S.t("e403") + (why ? " (" + why + ")" : ""); }
    if (res.status === 404) { return S.t("e404"); }
    if (res.status === 409) { return S.t("e409") + (why ? " (" + why + ")" : ""); }
    if (res.status === 413) { return S.t("e413"); }
    if (res.status === 429) { return S.t("e429"); }
    if (res.status >= 500) { return S.t("e5xx"); }
    return S.t("e4xx", { why: why || String(res.status) });
  };
  /** The signed-in user ({username, role}), or a trip to the login page. */
  S.outcomes = null;  // the outcomes the server accepts (from /me), or S.OUTCOMES
  S.requireMe = function () {
    return S.api("GET", "/api/console/me").then(function (res) {
      if (!res.ok) {
        if (res.status !== 401) { throw res; }
        return new Promise(function () { /* leaving for the login page */ });
      }
      var d = res.data || {}, u = d.user && typeof d.user === "object" ? d.user : d;
      if (typeof d.csrf === "string" && d.csrf) { S.setCsrf(d.csrf); }
      S.me = { username: who(u.username) || who(u.name) || "", role: str(u.role) || "mediator" };
      if (Array.isArray(d.outcomes) && d.outcomes.length) {
        S.outcomes = d.outcomes.filter(function (o) { return typeof o === "string" && o; });
      }
      return S.me;
    });
  };
  S.logout = function () {
    S.api("POST", "/api/console/logout", {}, { stay: true }).then(function () {
      S.setCsrf(null);
      S.leaving = true;
      window.location.replace("/console/login?why=out");
    });
  };

  /** The shared page header: who is signed in, sound toggle, language switch, sign out. */
  S.header = function () {
    var whoEl = S.$("who"), out = S.$("logout"), langBtn = S.$("lang"), soundBtn = S.$("sound");
    if (whoEl && S.me) { whoEl.textContent = S.me.username; whoEl.title = S.t("you", { name: S.me.username }); }
    if (out) { out.addEventListener("click", S.logout); }
    if (S.me && (S.me.role === "editor" || S.me.role === "admin") && out && !document.querySelector(".navlink")) {
      out.parentNode.insertBefore(S.el("a", { "class": "tbtn navlink", text: S.lang === "en" ? "Content" : "Съдържание", attrs: { href: "/console/content" } }), out);
    }
    if (langBtn) {
      langBtn.textContent = S.t("otherLang");
      langBtn.setAttribute("lang", S.t("otherLangCode"));
      langBtn.addEventListener("click", function () { S.setLang(S.t("otherLangCode")); });
    }
    if (soundBtn) {
      var paint = function () {
        var on = S.soundOn();
        soundBtn.setAttribute("aria-pressed", on ? "true" : "false");
        soundBtn.title = on ? S.t("soundOn") : S.t("soundOff");
      };
      soundBtn.addEventListener("click", function () {
        keep("localStorage", KEY.sound, S.soundOn() ? "off" : "on");
        if (S.soundOn()) { unlockAudio(); S.beep(); }
        paint();
      });
      paint();
    }
  };

  // ---- alerts: new urgent cases (banner, page title, optional sound) -----------------------------------------------
  var audio = null;
  S.soundOn = function () { return stored("localStorage", KEY.sound) === "on"; };
  function unlockAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return null; }
    try {
      if (!audio) { audio = new Ctx(); }
      if (audio.state === "suspended") { audio.resume(); }
    } catch (e) { audio = null; }
    return audio;
  }
  // Browsers allow sound only after a tap or key on the page: unlock on the first one.
  document.addEventListener("pointerdown", function () { if (S.soundOn()) { unlockAudio(); } }, { once: true });
  document.addEventListener("keydown", function () { if (S.soundOn()) { unlockAudio(); } }, { once: true });
  S.beep = function () {
    var ctx = unlockAudio(), i;
    if (!ctx || ctx.state !== "running") { return; }
    for (i = 0; i < 2; i++) {
      var osc = ctx.createOscillator(), gain = ctx.createGain(), at = ctx.currentTime + i * 0.25;
      osc.type = "sine";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.2);
    }
  };

  var titleBase = document.title, queuedCount = 0, alerting = false;
  S.titleBase = function (base) { titleBase = base; paintTitle(); };
  S.setQueuedCount = function (n) { queuedCount = n; paintTitle(); };
  function paintTitle() {
    document.title = (queuedCount ? "(" + queuedCount + ") " : "") + (alerting ? S.t("alertTitle") + " · " : "") + titleBase;
  }

  function seenIds() {
    var raw = stored("sessionStorage", KEY.seen), list = null;
    try { list = raw ? JSON.parse(raw) : null; } catch (e) { list = null; }
    return Array.isArray(list) ? list : null;
  }
  var seen = seenIds();
  /**
   * Called with every fresh list of waiting cases. The first list of this tab is taken as known; after that an
   * urgent case not seen before raises the alert. Returns the ids that are new since the last list.
   */
  S.noticeQueued = function (cases) {
    var fresh = [], urgent = [], known = {}, i;
    S.setQueuedCount(cases.length);
    if (seen === null) {
      seen = cases.map(function (c) { return c.id; });
      keep("sessionStorage", KEY.seen, JSON.stringify(seen));
      return fresh;
    }
    for (i = 0; i < seen.length; i++) { known[seen[i]] = true; }
    for (i = 0; i < cases.length; i++) {
      if (!known[cases[i].id]) {
        fresh.push(cases[i].id);
        seen.push(cases[i].id);
        if (cases[i].priority === "urgent") { urgent.push(cases[i]); }
      }
    }
    if (seen.length > 500) { seen = seen.slice(seen.length - 500); }
    keep("sessionStorage", KEY.seen, JSON.stringify(seen));
    if (urgent.length) { S.alert(urgent, false); }
    return fresh;
  };
  /** Show the alert banner (#alert) for these urgent cases; again=true for a re-alert. */
  S.alert = function (cases, again) {
    var box = S.$("alert");
    if (!box || !cases.length) { return; }
    var c = cases[0];
    S.clear(box);
    var parts = [S.t(again ? "alertAgain" : "alertOne", { id: c.id })];
    if (c.country) { parts.push(S.country(c.country)); }
    if (c.signals && c.signals.length) { parts.push(c.signals.slice(0, 3).map(S.signal).join(", ")); }
    if (cases.length > 1) { parts.push("+" + (cases.length - 1)); }
    box.appendChild(S.el("span", { "class": "grow", text: parts.join(" · ") }));
    box.appendChild(S.el("a", { "class": "btn small ghost", text: S.t("open"), attrs: { href: "/console/cases/" + c.id } }));
    var hide = S.el("button", { "class": "btn small ghost", text: S.t("dismiss"), attrs: { type: "button" } });
    hide.addEventListener("click", function () { box.hidden = true; alerting = false; paintTitle(); });
    box.appendChild(hide);
    box.className = "banner alert";
    box.hidden = false;
    alerting = true;
    paintTitle();
    if (S.soundOn()) { S.beep(); }
    if (navigator.vibrate && S.soundOn()) { try { navigator.vibrate([200, 100, 200]); } catch (e) { /* not allowed */ } }
  };

  // ---- live updates: Server-Sent Events on /api/console/events -----------------------------------------------------
  // Events are {"type": case_opened | case_updated | message | overflow, "case_id", "change", ...} with no
  // personal data. Every event is taken as "something changed": the page reloads what it shows (a short
  // debounce folds bursts); case_id narrows what to reload, change names a re-alert. A broken stream is
  // retried with back-off; a 401 goes to the login page; a slow refresh runs anyway as a safety net.
  var EVENT_NAMES = ["case_opened", "case_updated", "overflow"];  // and "message", which onmessage gets
  S.eventCaseId = function (data) {
    if (!data || typeof data !== "object" || data.type === "overflow") { return null; }
    var n = Number(data.case_id);
    return isFinite(n) && n > 0 ? n : null;
  };
  /** A re-alert, or a waiting case raised to urgent: show the alert (known: the cases the page holds). */
  S.eventAlert = function (kind, data, known) {
    var again = /realert/i.test(kind), raised = /raised/i.test(kind) && data && data.priority === "urgent";
    var id = S.eventCaseId(data);
    if ((!again && !raised) || id === null) { return; }
    var c = (known || []).filter(function (k) { return k.id === id; })[0] || {
      id: id, priority: data.priority || "urgent", country: typeof data.country === "string" ? data.country : null, signals: []
    };
    S.alert([c], again);
  };
  /** "type:change" (e.g. "case_updated:realert"), from the event's JSON or else its SSE name. */
  S.eventKind = function (name, data) {
    var k = data && typeof data === "object" && typeof data.type === "string" ? data.type : "";
    var change = data && typeof data === "object" && typeof data.change === "string" ? ":" + data.change : "";
    return String(k || name || "") + change;
  };
  S.live = function (onChange) {
    var es = null, delay = 1000, stateEl = S.$("live"), timer = null;
    function state(s) {
      if (!stateEl) { return; }
      stateEl.setAttribute("data-state", s);
      stateEl.textContent = S.t(s === "on" ? "liveOn" : s === "off" ? "liveOff" : "liveWait");
    }
    function handle(ev) {
      var data = null;
      try { data = ev.data ? JSON.parse(ev.data) : null; } catch (e) { data = null; }
      onChange(S.eventKind(ev.type, data), data);
    }
    function connect() {
      timer = null;
      if (!window.EventSource) { state("off"); return; }
      state("wait");
      es = new EventSource("/api/console/events");
      es.onopen = function () { delay = 1000; state("on"); onChange("open", null); };
      es.onmessage = handle;
      EVENT_NAMES.forEach(function (n) { es.addEventListener(n, handle); });
      es.onerror = function () {
        state("off");
        if (es && es.readyState === 2) {  // CLOSED: the browser gave up (an HTTP error); find out why
          es.close();
          es = null;
          S.api("GET", "/api/console/me").then(function (res) {
            if (res.status === 401) { return; }
            timer = setTimeout(connect, delay);
            delay = Math.min(delay * 2, 30000);
          });
        }
      };
    }
    setInterval(function () { onChange("tick", null); }, window.EventSource ? 60000 : 15000);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        onChange("visible", null);
        if (!es && !timer) { connect(); }
      }
    });
    window.addEventListener("pagehide", function () { if (es) { es.close(); es = null; } });
    window.addEventListener("pageshow", function (ev) {  // back from the back-forward cache
      if (ev.persisted && !es && !timer) { onChange("visible", null); connect(); }
    });
    connect();
  };
  /** fn, called at most once per `ms` burst (the last call wins). */
  S.debounce = function (fn, ms) {
    var t = null;
    return function () { if (t) { clearTimeout(t); } t = setTimeout(function () { t = null; fn(); }, ms); };
  };

  /** Small pieces of a case shown on both pages. */
  S.priorityBadge = function (c) { return S.el("span", { "class": "badge " + c.priority, text: S.priority(c.priority) }); };
  S.signalList = function (c) {
    var ul = S.el("ul", { "class": "signals", attrs: { "aria-label": S.t("signals") } });
    c.signals.forEach(function (s) { ul.appendChild(S.el("li", { text: S.signal(s), attrs: { title: s } })); });
    return ul;
  };
  S.ready = function (fn) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", fn); } else { fn(); }
  };
})();
