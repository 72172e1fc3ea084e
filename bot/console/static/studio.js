/*
  Sigurno staff studio: what the content pages share (window.Sigurno.studio), on top of console.js.
  Words in bg and en; every text reaches the page as text (textContent), never as HTML.
  The JSON API is /api/console/content/* (README, "Staff studio").
*/
"use strict";
(function () {
  var S = window.Sigurno;
  var WORDS = {
    bg: {
      content: "Съдържание", staleFacts: "Остарели факти", search: "Търсене", country: "Държава", kind: "Вид",
      language: "Език", all: "всички", staleOnly: "Само остарели", find: "Покажи", allItems: "Всички текстове",
      publishAll: "Публикувай готовите чернови", drafts: "Чернови: {n}", noDrafts: "Няма чернови.",
      versions: "Публикувани версии и връщане назад", rollbackTo: "Върни към версия {v}",
      rollbackAsk: "Цялото съдържание да стане като във версия {v}? (Ще се публикува като нова версия.)",
      rolledBack: "Съдържанието е като във версия {v} (нова версия {n}).", published: "Публикувано",
      publishedOk: "Публикувано като версия {v}. Ботът отговаря с него до 2 секунди.",
      draft: "Чернова", noDraft: "Няма чернова: промените се пазят като чернова, докато не ги публикувате.",
      draftBy: "Чернова от {who}, {at}.", needsApproval: "Променя телефонен номер: трябва одобрение от друг редактор.",
      approvedBy: "Одобрено от {who}.", saveDraft: "Запази черновата", publish: "Публикувай", approve: "Одобри",
      discard: "Откажи черновата", saved: "Черновата е запазена.", approved: "Одобрено.", discarded: "Черновата е отказана.",
      preview: "Как ще изглежда", webchat: "Уеб чат", payload: "Какво получава платформата (JSON)",
      previewDraft: "Черновата, както {ch} ще я покаже.", previewPublished: "Публикуваният текст, както {ch} го показва.",
      history: "История", noHistory: "Няма история.", diff: "Разлика", version: "Версия {v}",
      act: { "import": "внесено", publish: "публикувано", rollback: "върнато" }, by: "от {who}",
      approvedShort: "одобрено от {who}", items: "{n} текста", count: "{n} текста", noItems: "Няма такива текстове.",
      checked: "Проверено", source: "Източник", sourceDate: "Дата на източника", phone: "Телефон", url: "Връзка",
      updated: "Последна промяна", staleWhy: "Защо", age: "{d} дни", due: "Променя се на {d}", never: "никога",
      olderThan: "Проверени преди повече от (дни)", allFacts: "Всички факти", facts: "{n} факта",
      text: "Текст ({lang})", noText: "Този запис няма текст за редактиране.", hasDraft: "чернова",
      kinds: { text: "текст", answer: "отговор", topic: "тема", contact: "контакт", service: "услуга", section: "раздел",
        country_name: "име на държава", question: "въпрос", verdict: "оценка", canned: "готов отговор", field: "поле" }
    },
    en: {
      content: "Content", staleFacts: "Stale facts", search: "Search", country: "Country", kind: "Kind",
      language: "Language", all: "all", staleOnly: "Stale only", find: "Show", allItems: "All items",
      publishAll: "Publish the ready drafts", drafts: "Drafts: {n}", noDrafts: "No drafts.",
      versions: "Published versions and rollback", rollbackTo: "Roll back to version {v}",
      rollbackAsk: "Make all content as it was in version {v}? (It is published as a new version.)",
      rolledBack: "The content is as in version {v} (new version {n}).", published: "Published",
      publishedOk: "Published as version {v}. The bot answers with it within 2 seconds.",
      draft: "Draft", noDraft: "No draft: your changes are kept as a draft until you publish them.",
      draftBy: "Draft by {who}, {at}.", needsApproval: "Changes a phone number: needs another editor's approval.",
      approvedBy: "Approved by {who}.", saveDraft: "Save draft", publish: "Publish", approve: "Approve",
      discard: "Discard draft", saved: "Draft saved.", approved: "Approved.", discarded: "Draft discarded.",
      preview: "Preview", webchat: "Web chat", payload: "What the platform gets (JSON)",
      previewDraft: "The draft as {ch} will show it.", previewPublished: "The published text as {ch} shows it.",
      history: "History", noHistory: "No history.", diff: "Changes", version: "Version {v}",
      act: { "import": "imported", publish: "published", rollback: "rolled back" }, by: "by {who}",
      approvedShort: "approved by {who}", items: "{n} items", count: "{n} items", noItems: "No such items.",
      checked: "Checked", source: "Source", sourceDate: "Source date", phone: "Phone", url: "Link",
      updated: "Last change", staleWhy: "Why", age: "{d} days", due: "Changes on {d}", never: "never",
      olderThan: "Checked more than (days) ago", allFacts: "All facts", facts: "{n} facts",
      text: "Text ({lang})", noText: "This item has no text to edit.", hasDraft: "draft",
      kinds: { text: "text", answer: "answer", topic: "topic", contact: "contact", service: "service", section: "section",
        country_name: "country name", question: "question", verdict: "verdict", canned: "canned reply", field: "field" }
    }
  };
  function fill(s, vars) {
    return String(s).replace(/\{(\w+)\}/g, function (m, k) { return vars && vars[k] !== undefined ? String(vars[k]) : m; });
  }
  var St = {};
  S.studio = St;
  /** w("key", {vars}) or w("group.key"): the studio's words in the console's language. */
  St.w = function (key, vars) {
    var parts = key.split("."), v = WORDS[S.lang] || WORDS.bg, i;
    for (i = 0; i < parts.length; i++) { v = v && v[parts[i]]; }
    return typeof v === "string" ? fill(v, vars) : key;
  };
  St.translate = function () {
    var nodes = document.querySelectorAll("[data-w]"), i;
    for (i = 0; i < nodes.length; i++) { nodes[i].textContent = St.w(nodes[i].getAttribute("data-w")); }
  };
  /** The signed-in editor or admin; a mediator is sent back to the queue. */
  St.start = function (fn) {
    S.ready(function () {
      S.translate();
      St.translate();
      S.requireMe().then(function (me) {
        if (me.role !== "editor" && me.role !== "admin") { window.location.replace("/console"); return; }
        S.header();
        fn(me);
      }, function (res) { S.say(S.$("error"), S.problem(res)); });
    });
  };
  St.itemUrl = function (id) { return "/console/content/items/" + id.split("/").map(encodeURIComponent).join("/"); };
  St.apiItem = function (id) { return "/api/console/content/items/" + id.split("/").map(encodeURIComponent).join("/"); };
  St.snippet = function (texts, lang) {
    var t = (texts && (texts[lang] || texts.bg || texts.en)) || "";
    return t.length > 160 ? t.slice(0, 157) + "…" : t;
  };
  St.kind = function (k) { var w = St.w("kinds." + k); return w === "kinds." + k ? k : w; };
  St.when = function (iso) { var d = S.date(iso); return d ? S.fullTime(d) : "—"; };
})();
