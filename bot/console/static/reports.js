/*
  Sigurno console: reports (admins and editors; a mediator is told the page is not for their role).
  The figures come from GET /api/console/reports (every count below 5 arrives as "<5"); the charts are
  SVG drawn by the server (/api/console/reports/charts/NAME.svg); CSV and JSON are plain downloads.
*/
"use strict";
(function () {
  var S = window.Sigurno;
  var W = {
    bg: {
      skip: "Към съдържанието", queue: "Опашка", title: "Отчети", from: "От", to: "До", group: "По",
      day: "дни", week: "седмици", month: "месеци", show: "Покажи", totals: "Общо",
      privacy: "Броят под 5 се показва като „<5“: никой не може да бъде разпознат.",
      people: "Достигнати хора", new_people: "Нови", messages: "Съобщения", cases_opened: "Отворени случаи",
      cases_closed: "Приключени случаи", urgent: "Спешни", fallbacks: "Неразбрани",
      seriesTitle: "Хора и съобщения по период", topicsTitle: "Теми", countriesTitle: "Държави", casesTitle: "Случаи",
      period: "Период", channel: "Канал", topic: "Тема", country: "Държава", count: "Брой", what: "Какво",
      opened: "отворени", claimed: "поети", released: "върнати на бота", closed: "приключени",
      p50: "поемане, медиана (мин.)", p90: "поемане, 90% до (мин.)", none: "няма данни",
      notForRole: "Отчетите са за администратори и редактори.",
      charts: {
        people: "Достигнати хора по канал", topics: "Най-честите теми", countries: "Държави",
        "job-checks": "Проверки на обяви: зелено / жълто / червено", cases: "Случаи и изходи",
        "claim-time": "Време до поемане", "fallback-rate": "Дял неразбрани съобщения"
      }
    },
    en: {
      skip: "Skip to content", queue: "Queue", title: "Reports", from: "From", to: "To", group: "By",
      day: "days", week: "weeks", month: "months", show: "Show", totals: "Totals",
      privacy: "Counts below 5 are shown as \"<5\": nobody can be recognised.",
      people: "People reached", new_people: "New", messages: "Messages", cases_opened: "Cases opened",
      cases_closed: "Cases closed", urgent: "Urgent", fallbacks: "Not understood",
      seriesTitle: "People and messages by period", topicsTitle: "Topics", countriesTitle: "Countries", casesTitle: "Cases",
      period: "Period", channel: "Channel", topic: "Topic", country: "Country", count: "Count", what: "What",
      opened: "opened", claimed: "claimed", released: "back to the bot", closed: "closed",
      p50: "time to claim, median (min)", p90: "time to claim, 90% within (min)", none: "no data",
      notForRole: "Reports are for admins and editors.",
      charts: {
        people: "People reached by channel", topics: "Top topics", countries: "Countries",
        "job-checks": "Job-offer checks: green / amber / red", cases: "Cases and outcomes",
        "claim-time": "Time to claim", "fallback-rate": "Share of messages not understood"
      }
    }
  };
  var CHARTS = ["people", "topics", "countries", "job-checks", "cases", "claim-time", "fallback-rate"];
  var TOTALS = ["people", "new_people", "messages", "cases_opened", "cases_closed", "urgent", "fallbacks"];

  function w(key) {
    var words = W[S.lang] || W.bg, parts = key.split("."), v = words, i;
    for (i = 0; i < parts.length; i++) { v = v && v[parts[i]]; }
    return typeof v === "string" ? v : key;
  }
  function iso(d) { return d.toISOString().slice(0, 10); }
  function query(p) { return "from=" + encodeURIComponent(p.from) + "&to=" + encodeURIComponent(p.to) + "&group=" + encodeURIComponent(p.group); }

  function table(node, head, rows) {
    S.clear(node);
    var thead = S.el("thead", {}, [S.el("tr", {}, head.map(function (h) { return S.el("th", { text: h, attrs: { scope: "col" } }); }))]);
    var body = S.el("tbody");
    if (!rows.length) { body.appendChild(S.el("tr", {}, [S.el("td", { text: w("none"), attrs: { colspan: String(head.length) } })])); }
    rows.forEach(function (r) { body.appendChild(S.el("tr", {}, r.map(function (c) { return S.el("td", { text: c === null || c === undefined ? "—" : String(c) }); }))); });
    node.appendChild(thead);
    node.appendChild(body);
  }

  S.ready(function () {
    var words = document.querySelectorAll("[data-r]"), i;
    for (i = 0; i < words.length; i++) { words[i].textContent = w(words[i].getAttribute("data-r")); }
    S.translate();
    document.title = w("title") + " · Sigurno";
    var form = S.$("form"), error = S.$("error"), figures = S.$("figures");
    var now = new Date(), first = new Date(now.getTime() - 29 * 86400000);
    S.$("from").value = iso(first);
    S.$("to").value = iso(now);

    function charts(p) {
      var box = S.$("charts");
      S.clear(box);
      CHARTS.forEach(function (name) {
        var img = S.el("img", { attrs: { src: "/api/console/reports/charts/" + name + ".svg?" + query(p), alt: w("charts." + name), loading: "lazy", width: "480", height: "320" } });
        box.appendChild(S.el("figure", { "class": "panel chart", attrs: { "data-chart": name } }, [
          S.el("figcaption", { text: w("charts." + name) }), img
        ]));
      });
    }

    function show(r) {
      var totals = S.$("totals");
      S.clear(totals);
      TOTALS.forEach(function (k) {
        totals.appendChild(S.el("li", { "class": "total", attrs: { "data-total": k } }, [
          S.el("span", { "class": "n", text: String(r.totals[k]) }), S.el("span", { "class": "label", text: w(k) })
        ]));
      });
      table(S.$("series"), [w("period"), w("channel"), w("people"), w("messages")], r.series.map(function (s) {
        return [s.period, S.t("ch." + s.channel) || s.channel, s.people, s.messages];
      }));
      table(S.$("intents"), [w("topic"), w("count")], r.intents.map(function (x) { return [x.intent, x.count]; }));
      table(S.$("countries"), [w("country"), w("count")], r.countries.map(function (x) { return [S.country(x.country), x.count]; }));
      var c = r.cases, rows = [[w("opened"), c.opened], [w("claimed"), c.claimed], [w("released"), c.released], [w("closed"), c.closed]];
      Object.keys(c.outcomes).forEach(function (o) { rows.push([w("closed") + ": " + S.outcome(o), c.outcomes[o]]); });
      rows.push([w("p50"), c.claim_minutes_p50], [w("p90"), c.claim_minutes_p90]);
      table(S.$("cases"), [w("what"), w("count")], rows);
    }

    function load() {
      var p = { from: S.$("from").value, to: S.$("to").value, group: S.$("group").value };
      S.say(error, "");
      figures.setAttribute("aria-busy", "true");
      S.$("csv").href = "/api/console/reports?" + query(p) + "&format=csv";
      S.$("json").href = "/api/console/reports?" + query(p) + "&download=1";
      S.api("GET", "/api/console/reports?" + query(p)).then(function (res) {
        figures.setAttribute("aria-busy", "false");
        if (!res.ok) { S.say(error, S.problem(res)); return; }
        show(res.data);
        charts(p);
      });
    }

    form.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    S.requireMe().then(function (me) {
      S.header();
      if (me.role === "mediator") { S.say(error, w("notForRole")); figures.hidden = true; return; }
      load();
    }, function (res) { S.say(error, S.problem(res)); });
  });
})();
