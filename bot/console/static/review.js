/*
  Sigurno console: what the bot did not understand (editors and admins). A list of masked messages, newest
  first; label one (intent, country, risk) or dismiss it. "Train" builds a candidate NLU model in the
  background; its scores show beside the live model's; "Publish model" swaps it into every running process.
  API: /api/console/review, /api/console/nlu (bot/console/review_api.py). Text goes in as text only.
*/
"use strict";
(function () {
  var S = window.Sigurno;
  var TEXT = {
    bg: {
      title: "Неразбрани съобщения", model: "Модел", train: "Обучи", publish: "Публикувай модела",
      queue: "За преглед", show: "Покажи", st_open: "Чакащи", st_labelled: "Обозначени", st_dismissed: "Отхвърлени",
      intent: "Тема (intent)", country: "Държава (DE, IT…)", risk: "Риск", riskNone: "—", label: "Обозначи",
      dismiss: "Отхвърли", empty_open: "Няма неразбрани съобщения.", empty_other: "Няма нищо тук.",
      facts: "Модел в употреба: версия {v}. Обозначени примери: {n}. Чакащи: {open}.",
      factsFile: "Модел в употреба: този от изданието (нищо не е публикувано). Обозначени примери: {n}. Чакащи: {open}.",
      training: "Обучение #{job} тече… (няколко минути)", ready: "Кандидат #{job} е готов.",
      failed: "Обучение #{job} не успя: {why}", refused: "Кандидат #{job} е отказан: {why}",
      published: "Модел #{job} е публикуван като версия {v}.", cannot: "Не може да се публикува: {why}",
      said: "Ботът: {intent} ({conf}%) · {why}", labelled: "Обозначено.", dismissed: "Отхвърлено.",
      startedJob: "Обучението започна (#{job}).", set: "Набор", figure: "Показател", live: "Сега", candidate: "Кандидат",
      f_intent: "Тема вярно", f_bg_latn: "Латиница (bg-latn)", f_urgent_caught: "Спешни уловени",
      f_false_urgent: "Фалшиво спешни", only: "Тази страница е за редактори и администратори.",
      r_out_of_scope: "не разбра", r_low_confidence: "несигурен", r_ask_safety: "пита дали е в безопасност",
      r_fallback: "отговори „не разбрах“"
    },
    en: {
      title: "What the bot did not understand", model: "Model", train: "Train", publish: "Publish model",
      queue: "To review", show: "Show", st_open: "Open", st_labelled: "Labelled", st_dismissed: "Dismissed",
      intent: "Intent", country: "Country (DE, IT…)", risk: "Risk", riskNone: "—", label: "Label",
      dismiss: "Dismiss", empty_open: "Nothing the bot did not understand.", empty_other: "Nothing here.",
      facts: "Model in use: version {v}. Labelled examples: {n}. Open: {open}.",
      factsFile: "Model in use: the release's own (nothing published yet). Labelled examples: {n}. Open: {open}.",
      training: "Training #{job} running… (a few minutes)", ready: "Candidate #{job} is ready.",
      failed: "Training #{job} failed: {why}", refused: "Candidate #{job} was refused: {why}",
      published: "Model #{job} is published as version {v}.", cannot: "Cannot be published: {why}",
      said: "Bot: {intent} ({conf}%) · {why}", labelled: "Labelled.", dismissed: "Dismissed.",
      startedJob: "Training started (#{job}).", set: "Set", figure: "Figure", live: "Live", candidate: "Candidate",
      f_intent: "Intent right", f_bg_latn: "Latin script (bg-latn)", f_urgent_caught: "Urgent caught",
      f_false_urgent: "False urgent", only: "This page is for editors and admins.",
      r_out_of_scope: "did not understand", r_low_confidence: "unsure", r_ask_safety: "asked if safe",
      r_fallback: "answered “I did not understand”"
    }
  };
  var FIGURES = ["intent", "bg_latn", "urgent_caught", "false_urgent"];

  function r(key, vars) {
    var table = TEXT[S.lang] || TEXT.bg, s = table[key] !== undefined ? table[key] : TEXT.bg[key];
    return String(s === undefined ? key : s).replace(/\{(\w+)\}/g, function (m, k) {
      return vars && vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : m;
    });
  }
  function pct(v) { return typeof v === "number" ? (v * 100).toFixed(1) + "%" : "—"; }

  S.ready(function () {
    S.translate();
    var nodes = document.querySelectorAll("[data-r]"), i;
    for (i = 0; i < nodes.length; i++) { nodes[i].textContent = r(nodes[i].getAttribute("data-r")); }
    document.title = r("title") + " · Sigurno";
    var error = S.$("error"), note = S.$("note"), list = S.$("items"), empty = S.$("empty"), statusSel = S.$("status");
    var trainBtn = S.$("train"), publishBtn = S.$("publish"), jobLine = S.$("job"), scoresBox = S.$("scores");
    var intents = [], risks = [], polling = null, shownJob = null;

    // ---- the model: live version, training, scores, publish ------------------------------------------
    function scoresTable(job) {
      S.clear(scoresBox);
      var cand = job.scores && job.scores.candidate, live = job.scores && job.scores.live;
      if (!cand || !live) { return; }
      Object.keys(cand).forEach(function (set) {
        var rows = FIGURES.map(function (f) {
          var c = cand[set][f], l = live[set] ? live[set][f] : null;
          var worse = f === "urgent_caught" && typeof c === "number" && typeof l === "number" && c < l;
          return S.el("tr", {}, [
            S.el("th", { text: r("f_" + f), attrs: { scope: "row" } }),
            S.el("td", { text: pct(l) }),
            S.el("td", { text: pct(c), "class": worse ? "worse" : "" })
          ]);
        });
        scoresBox.appendChild(S.el("table", { "class": "scores" }, [
          S.el("caption", { text: r("set") + ": " + set + " (" + cand[set].n + ")" }),
          S.el("thead", {}, [S.el("tr", {}, [
            S.el("th", { text: r("figure"), attrs: { scope: "col" } }),
            S.el("th", { text: r("live"), attrs: { scope: "col" } }),
            S.el("th", { text: r("candidate"), attrs: { scope: "col" } })
          ])]),
          S.el("tbody", {}, rows)
        ]));
      });
    }
    function showJob(job) {
      shownJob = job;
      var vars = { job: job.job, why: job.error || job.refusal || "", v: job.published_version };
      jobLine.textContent = r(job.status, vars);
      scoresTable(job);
      publishBtn.hidden = job.status !== "ready";
      publishBtn.disabled = !!job.refusal;
      if (job.status === "ready" && job.refusal) { jobLine.textContent += " " + r("cannot", { why: job.refusal }); }
      trainBtn.disabled = job.status === "training";
      if (job.status === "training") { poll(job.job); }
    }
    function poll(job) {
      if (polling) { return; }
      polling = window.setTimeout(function () {
        polling = null;
        S.api("GET", "/api/console/nlu/train/" + job).then(function (res) {
          if (res.ok) { showJob(res.data); if (res.data.status !== "training") { overview(); } } else { S.say(error, S.problem(res)); }
        });
      }, 3000);
    }
    function overview() {
      return S.api("GET", "/api/console/nlu").then(function (res) {
        if (!res.ok) { throw res; }
        var d = res.data;
        intents = d.intents || [];
        risks = d.risks || [];
        S.$("model-facts").textContent = d.live_version
          ? r("facts", { v: d.live_version, n: d.examples, open: d.open })
          : r("factsFile", { n: d.examples, open: d.open });
        if (d.jobs && d.jobs.length && (!shownJob || shownJob.job <= d.jobs[0].job)) { showJob(d.jobs[0]); }
      });
    }
    trainBtn.addEventListener("click", function () {
      trainBtn.disabled = true;
      S.api("POST", "/api/console/nlu/train", {}).then(function (res) {
        if (!res.ok) { trainBtn.disabled = false; S.say(error, S.problem(res)); return; }
        S.say(error, "");
        S.say(note, r("startedJob", { job: res.data.job }), "ok");
        showJob({ job: res.data.job, status: "training", scores: {} });
      });
    });
    publishBtn.addEventListener("click", function () {
      if (!shownJob) { return; }
      publishBtn.disabled = true;
      S.api("POST", "/api/console/nlu/publish", { job: shownJob.job }).then(function (res) {
        if (!res.ok) { S.say(error, S.problem(res)); } else { S.say(error, ""); S.say(note, r("published", { job: res.data.job, v: res.data.version }), "ok"); }
        S.api("GET", "/api/console/nlu/train/" + shownJob.job).then(function (got) { if (got.ok) { showJob(got.data); } });
        overview();
      });
    });

    // ---- the queue ------------------------------------------------------------------------------------------
    function option(value, label, selected) {
      var o = S.el("option", { text: label, attrs: { value: value } });
      if (selected) { o.selected = true; }
      return o;
    }
    function labelForm(item) {
      var id = "i" + item.id, said = item.nlu || {};
      var intentSel = S.el("select", { attrs: { id: id + "-intent" } }, intents.map(function (x) {
        return option(x, x, x === said.intent && x !== "out_of_scope");
      }));
      var country = S.el("input", { attrs: { id: id + "-country", type: "text", maxlength: "2", autocomplete: "off", autocapitalize: "characters", spellcheck: "false" } });
      if (said.country) { country.value = said.country; }
      var riskSel = S.el("select", { attrs: { id: id + "-risk" } }, [option("", r("riskNone"), true)].concat(
        risks.map(function (x) { return option(x, x, false); })));
      var labelBtn = S.el("button", { "class": "btn", text: r("label"), attrs: { type: "submit" } });
      var dismissBtn = S.el("button", { "class": "btn ghost", text: r("dismiss"), attrs: { type: "button" } });
      var form = S.el("form", { "class": "labelform", attrs: { "aria-label": r("label") } }, [
        S.el("div", { "class": "field" }, [S.el("label", { text: r("intent"), attrs: { "for": id + "-intent" } }), intentSel]),
        S.el("div", { "class": "field" }, [S.el("label", { text: r("country"), attrs: { "for": id + "-country" } }), country]),
        S.el("div", { "class": "field" }, [S.el("label", { text: r("risk"), attrs: { "for": id + "-risk" } }), riskSel]),
        S.el("div", { "class": "buttons" }, [labelBtn, dismissBtn])
      ]);
      function send(body, done) {
        labelBtn.disabled = dismissBtn.disabled = true;
        S.api("POST", "/api/console/review/" + item.id, body).then(function (res) {
          labelBtn.disabled = dismissBtn.disabled = false;
          if (!res.ok) { S.say(error, S.problem(res)); return; }
          S.say(error, "");
          S.say(note, r(done), "ok");
          load();
          overview();
        });
      }
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var body = { intent: intentSel.value };
        if (country.value.trim()) { body.country = country.value.trim().toUpperCase(); }
        if (riskSel.value) { body.risk = riskSel.value; }
        send(body, "labelled");
      });
      dismissBtn.addEventListener("click", function () { send({ dismiss: true }, "dismissed"); });
      return form;
    }
    function card(item) {
      var said = item.nlu || {}, why = (said.reasons || []).map(function (x) { return r("r_" + x); }).join(", ");
      var conf = typeof said.confidence === "number" ? Math.round(said.confidence * 100) : "?";
      var at = S.date(item.at);
      return S.el("li", { "class": "card item", attrs: { "data-id": String(item.id) } }, [
        S.el("p", { "class": "text", text: item.text }),
        S.el("p", { "class": "said", text: r("said", { intent: said.intent || "?", conf: conf, why: why }) + " · " + S.clock(at) }),
        item.status === "open" ? labelForm(item) : null
      ]);
    }
    function load() {
      var status = statusSel.value;
      list.setAttribute("aria-busy", "true");
      return S.api("GET", "/api/console/review?status=" + encodeURIComponent(status)).then(function (res) {
        list.setAttribute("aria-busy", "false");
        if (!res.ok) { throw res; }
        S.clear(list);
        (res.data.items || []).forEach(function (item) { list.appendChild(card(item)); });
        empty.hidden = list.children.length > 0;
        empty.textContent = r(status === "open" ? "empty_open" : "empty_other");
      });
    }
    statusSel.addEventListener("change", function () { load().catch(failed); });

    function failed(res) {
      empty.hidden = true;
      S.say(error, res && res.status === 403 ? r("only") : S.problem(res));
      trainBtn.disabled = true;
    }
    S.requireMe().then(function () {
      S.header();
      return overview().then(load);
    }).catch(failed);
  });
})();
