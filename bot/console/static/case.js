/*
  Sigurno mediator console: one case. Transcript (person / bot / mediator, with delivery failures), reply
  box with canned replies, private notes, claim / release / close with an outcome; live through
  /api/console/events. Person text only ever goes in with textContent.
*/
"use strict";
(function () {
  var S = window.Sigurno;

  S.ready(function () {
    S.translate();
    var match = /^\/console\/cases\/([1-9][0-9]{0,17})$/.exec(window.location.pathname);
    var caseId = match ? Number(match[1]) : null;
    var $ = S.$;
    var error = $("error"), note = $("note"), facts = $("facts"), transcript = $("transcript"), notesList = $("notes");
    var claimBtn = $("claim"), releaseBtn = $("release"), closeForm = $("closeform"), outcome = $("outcome"), closeBtn = $("close");
    var replyForm = $("replyform"), reply = $("reply"), sendBtn = $("send"), replyHint = $("replyhint"), windowWarn = $("windowwarn");
    var finish = $("p-finish"), canned = $("canned"), cannedList = $("cannedlist"), noteForm = $("noteform"), noteText = $("note-text"), addNote = $("addnote");

    var current = null, items = {}, loaded = false, loading = false, again = false, busy = false, gone = false;
    var cannedItems = null, cannedLang = null, lastMessages = [];

    S.titleBase(S.t("caseTitle", { id: caseId }) + " · Sigurno");
    $("title").textContent = S.t("caseTitle", { id: caseId });

    function flash(text) {
      S.say(note, text, "ok");
      if (text) { setTimeout(function () { if (note.textContent === text) { S.say(note, ""); } }, 6000); }
    }

    // ---- records --------------------------------------------------------------------------------------------------
    // The API's message, event and note (README, "The console API"); anything malformed is left out.
    var FROM = { "in": "person", out: "bot", mediator: "mediator" };
    function strOr(v, other) { return typeof v === "string" ? v : other; }
    function normMessage(m) {
      if (!m || typeof m !== "object" || m.id === undefined) { return null; }
      var from = m.from === "person" || m.from === "bot" || m.from === "mediator" ? m.from : (FROM[m.direction] || "bot");
      return {
        key: "m" + m.id,
        id: m.id,
        from: from,
        kind: strOr(m.kind, "text"),
        text: strOr(m.text, null),
        at: S.date(m.at),
        author: strOr(m.author, null),
        delivery: strOr(m.delivery_status, null),
        deliveryError: strOr(m.delivery_error, null)
      };
    }
    function normEvent(e) {
      if (!e || typeof e !== "object" || typeof e.kind !== "string" || e.id === undefined) { return null; }
      return {
        key: "e" + e.id,
        kind: e.kind,
        actor: strOr(e.actor, null),
        data: e.data && typeof e.data === "object" ? e.data : {},
        at: S.date(e.at)
      };
    }
    function eventText(e) {
      var k = e.kind.toLowerCase(), actor = e.actor || S.t("system"), base = null;
      if (/note/.test(k)) { return null; }
      if (/realert/.test(k)) { base = S.t("ev.realert"); }
      else if (/signal/.test(k)) {
        var added = Array.isArray(e.data.signals) ? e.data.signals.map(function (x) { return S.signal(String(x)); }) : [];
        base = S.t("ev.signals", { list: added.join(", ") || S.t("unknown") });
      }
      else if (/claim|assign/.test(k)) { base = S.t("ev.claimed", { actor: actor }); }
      else if (/releas/.test(k)) { base = S.t("ev.released", { actor: actor }); }
      else if (/clos/.test(k)) { base = S.t("ev.closed", { actor: actor }) + (e.data.outcome ? ": " + S.outcome(String(e.data.outcome)) : ""); }
      else if (/rais|priorit/.test(k)) { base = S.t("ev.raised"); }
      else if (/open|creat/.test(k)) { base = S.t("ev.opened"); }
      else if (/message|reply|sent|deliver|view/.test(k)) { return null; }
      else { base = e.kind + (e.actor ? " · " + e.actor : ""); }
      return base;
    }
    function normNote(n) {
      if (!n || typeof n !== "object" || typeof n.text !== "string") { return null; }
      return { text: n.text, author: strOr(n.author, ""), at: S.date(n.at) };
    }
    function mine(c) { return !!(c && S.me && (c.assignee === S.me.username)); }
    function admin() { return !!(S.me && S.me.role === "admin"); }

    // ---- rendering ---------------------------------------------------------------------------------------------------
    function fact(label, value) {
      facts.appendChild(S.el("dt", { text: label }));
      var dd = S.el("dd");
      if (typeof value === "string") { dd.textContent = value; } else { dd.appendChild(value); }
      facts.appendChild(dd);
    }
    function renderSummary(c) {
      S.clear(facts);
      // What opened the case comes first: signals, job-offer flags, third party, the person's answers.
      fact(S.t("signals"), c.signals.length ? S.signalList(c) : S.t("noSignals"));
      fact(S.t("country"), S.country(c.country));
      fact(S.t("priority"), S.priorityBadge(c));
      var st = S.el("span", null, [S.el("span", { "class": "badge status " + c.status, text: S.status(c.status) })]);
      fact(S.t("status"), st);
      fact(S.t("assignee"), c.assignee || S.t("noone"));
      fact(S.t("channel"), S.channel(c.channel));
      if (c.language) { fact(S.t("language"), c.language); }
      if (c.status === "queued" || c.status === "assigned") {
        var w = S.windowState(c);
        fact(S.t("window"), S.el("span", { "class": "window " + w.cls, text: w.text }));
      }
      var waits = c.waitingSince && (c.status === "queued" || c.status === "assigned");
      fact(S.t("opened"), S.fullTime(c.createdAt) + (waits ? " · " + S.t(c.status === "queued" ? "waiting" : "waitsReply", { t: S.since(c.waitingSince) }) : ""));
      if (c.outcome) { fact(S.t("outcomeLabel"), S.outcome(c.outcome)); }
    }
    function renderActions(c) {
      var canAct = c.status === "assigned" && (mine(c) || admin());
      claimBtn.hidden = c.status !== "queued";
      releaseBtn.hidden = !canAct;
      // The assignee (or an admin) closes an assigned case; an admin may also close a waiting one.
      closeForm.hidden = !(canAct || (c.status === "queued" && admin()));
      finish.hidden = releaseBtn.hidden && closeForm.hidden;
      var canWrite = c.status === "assigned" && mine(c);
      reply.disabled = !canWrite || busy;
      sendBtn.disabled = !canWrite || busy;
      var hint = null;
      if (!canWrite) {
        if (c.status === "queued") { hint = S.t("claimToReply"); }
        else if (c.status === "assigned") { hint = S.t("notYours", { name: c.assignee || S.t("noone") }); }
        else if (c.status === "closed") { hint = S.t("closedNoReply"); }
        else { hint = S.t("releasedNoReply"); }
      }
      replyHint.textContent = hint || "";
      replyHint.hidden = !hint;
      canned.hidden = !canWrite;
      windowWarn.hidden = !(canWrite && c.windowOpen === false);
    }
    function delivery(m) {
      if (m.from !== "mediator" && m.delivery !== "failed") { return null; }
      if (m.delivery === "failed") {
        return S.el("div", { "class": "delivery failed", text: m.deliveryError ? S.t("failedWhy", { why: m.deliveryError }) : S.t("dl.failed") });
      }
      var status = m.delivery && S.has("dl." + m.delivery) ? m.delivery : "pending";
      return S.el("div", { "class": "delivery", text: (status === "pending" ? "" : "\u2713 ") + S.t("dl." + status) });
    }
    function buildMessage(m) {
      var li = S.el("li", { "class": "m " + m.from + (m.delivery === "failed" ? " failed" : ""), attrs: { "data-from": m.from } });
      if (m.id !== undefined) { li.setAttribute("data-id", String(m.id)); }
      var label = S.t(m.from) + (m.from === "mediator" && m.author ? " · " + m.author : "");
      var head = S.el("div", { "class": "head" }, [S.el("b", { text: label })]);
      if (m.at) { head.appendChild(S.el("time", { text: S.clock(m.at), attrs: { datetime: m.at.toISOString(), title: S.fullTime(m.at) } })); }
      li.appendChild(head);
      if (m.kind !== "text" && m.kind !== "payload") {
        li.appendChild(S.el("div", { "class": "body nontext", text: S.has("kinds." + m.kind) ? S.t("kinds." + m.kind) : S.t("kinds.other") }));
        if (m.text) { li.appendChild(S.el("div", { "class": "body", text: m.text })); }
      } else if (m.text === null) {
        li.appendChild(S.el("div", { "class": "body nontext", text: S.t("kinds.erased") }));
      } else if (m.kind === "payload") {
        li.appendChild(S.el("div", { "class": "body nontext", text: S.t("kinds.payload", { x: m.text }) }));
      } else {
        li.appendChild(S.el("div", { "class": "body", text: m.text }));
      }
      var d = delivery(m);
      if (d) { li.appendChild(d); }
      return li;
    }
    function buildEvent(e, text) {
      var li = S.el("li", { "class": "evt", attrs: { "data-event": e.kind } });
      li.appendChild(document.createTextNode(text + (e.at ? " · " + S.clock(e.at) : "")));
      return li;
    }
    // Is the end of the transcript in sight (so new messages should keep it in sight)?
    function nearBottom() {
      if (transcript.scrollHeight > transcript.clientHeight + 4) {
        return transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
      }
      var last = transcript.lastElementChild, r = last ? last.getBoundingClientRect() : null;
      return !r || (r.bottom > 0 && r.top < window.innerHeight);
    }
    function renderTranscript(messages, events) {
      var rows = [], i;
      messages.forEach(function (m) { if (m) { rows.push({ key: m.key, at: m.at, sig: JSON.stringify(m), build: function () { return buildMessage(m); } }); } });
      events.forEach(function (e) {
        var text = e && eventText(e);
        if (text) { rows.push({ key: e.key, at: e.at, sig: text, build: function () { return buildEvent(e, text); } }); }
      });
      // Stable order by time (messages and events interleaved); equal times keep the API's order.
      rows.forEach(function (r, n) { r.n = n; });
      rows.sort(function (a, b) { return ((a.at ? a.at.getTime() : 0) - (b.at ? b.at.getTime() : 0)) || a.n - b.n; });
      var stick = !loaded || nearBottom(), keep = {};
      rows.forEach(function (r) { keep[r.key] = true; });
      Object.keys(items).forEach(function (k) {
        if (!keep[k]) { if (items[k].parentNode) { items[k].parentNode.removeChild(items[k]); } delete items[k]; }
      });
      var before = null;
      for (i = rows.length - 1; i >= 0; i--) {
        var r = rows[i], node = items[r.key];
        if (!node || node._sig !== r.sig) {
          var built = r.build();
          built._sig = r.sig;
          if (node && node.parentNode) { node.parentNode.replaceChild(built, node); }
          node = built;
          items[r.key] = node;
        }
        if (node.parentNode !== transcript || node.nextSibling !== before) { transcript.insertBefore(node, before); }
        before = node;
      }
      transcript.setAttribute("aria-busy", "false");
      if (stick) {
        // The transcript scrolls by itself on a wide screen; on a phone the page scrolls (only after the
        // first load, which starts at the top: the summary).
        transcript.scrollTop = transcript.scrollHeight;
        if (loaded && before && transcript.scrollHeight <= transcript.clientHeight + 4) {
          var last = transcript.lastElementChild, r = last.getBoundingClientRect();
          if (r.bottom > window.innerHeight || r.top < 0) { last.scrollIntoView({ block: "nearest" }); }
        }
      }
    }
    function renderNotes(notes) {
      S.clear(notesList);
      if (!notes.length) { notesList.appendChild(S.el("li", { "class": "hint", text: S.t("noNotes") })); return; }
      notes.forEach(function (n) {
        var head = S.el("div", { "class": "head", text: (n.author || S.t("mediator")) + (n.at ? " · " + S.clock(n.at) : "") });
        notesList.appendChild(S.el("li", null, [head, S.el("div", { "class": "body", text: n.text })]));
      });
    }
    // The person's language, as far as the transcript tells: the bot writes in the language they chose.
    function guessLang(langs) {
      var i, m, text;
      if (current && current.language && langs.indexOf(current.language) >= 0) { return current.language; }
      for (i = lastMessages.length - 1; i >= 0; i--) {
        m = lastMessages[i];
        text = m.from === "bot" && m.text ? m.text : null;
        if (!text) { continue; }
        if (/[\u0400-\u04FF]/.test(text)) {
          if (/[ыэъё]/i.test(text) && langs.indexOf("ru") >= 0) { return "ru"; }
          if (langs.indexOf("bg") >= 0) { return "bg"; }
        } else if (/[A-Za-z]/.test(text) && langs.indexOf("en") >= 0) {
          return "en";
        }
      }
      return langs.indexOf(S.lang) >= 0 ? S.lang : langs[0];
    }
    function renderCanned() {
      S.clear(cannedList);
      if (!cannedItems || !cannedItems.length) { cannedList.appendChild(S.el("li", { "class": "hint", text: S.t("noCanned") })); return; }
      var langs = [];
      cannedItems.forEach(function (item) { if (item.lang && langs.indexOf(item.lang) < 0) { langs.push(item.lang); } });
      if (langs.length && langs.indexOf(cannedLang) < 0) { cannedLang = guessLang(langs); }
      if (langs.length > 1) {
        var row = S.el("li", { "class": "langs", attrs: { role: "group", "aria-label": S.t("language") } });
        langs.forEach(function (code) {
          var b = S.el("button", { "class": "btn small ghost", text: code.toUpperCase(), attrs: { type: "button", "aria-pressed": code === cannedLang ? "true" : "false", lang: code } });
          b.addEventListener("click", function () { cannedLang = code; renderCanned(); focusLang(code); });
          row.appendChild(b);
        });
        cannedList.appendChild(row);
      }
      cannedItems.filter(function (item) { return !item.lang || !langs.length || item.lang === cannedLang; }).forEach(function (item) {
        var b = S.el("button", { "class": "pick", attrs: { type: "button", "data-canned": item.key, lang: item.lang || "" } }, [
          S.el("b", { text: item.title }),
          S.el("span", { text: item.text })
        ]);
        b.addEventListener("click", function () { insertCanned(item.text); });
        cannedList.appendChild(S.el("li", null, [b]));
      });
    }
    function focusLang(code) {
      var b = cannedList.querySelector(".langs button[lang='" + code + "']");
      if (b) { b.focus(); }
    }
    function insertCanned(text) {
      if (reply.disabled) { return; }
      var start = reply.selectionStart, end = reply.selectionEnd, v = reply.value;
      if (typeof start !== "number") { start = end = v.length; }
      var glue = start > 0 && !/\s$/.test(v.slice(0, start)) ? " " : "";
      reply.value = v.slice(0, start) + glue + text + v.slice(end);
      var at = start + glue.length + text.length;
      reply.focus();
      try { reply.setSelectionRange(at, at); } catch (e) { /* older browsers */ }
      canned.open = false;
    }

    // ---- loading ---------------------------------------------------------------------------------------------------------
    function load() {
      if (gone) { return; }
      if (loading) { again = true; return; }
      loading = true;
      again = false;
      S.api("GET", "/api/console/cases/" + caseId).then(function (res) {
        if (res.status === 401) { return; }
        if (!res.ok) {
          S.say(error, S.problem(res));
          if (res.status === 404 || res.status === 403) {
            gone = true;
            [claimBtn, finish].forEach(function (n) { n.hidden = true; });
            reply.disabled = sendBtn.disabled = true;
            transcript.setAttribute("aria-busy", "false");
          }
          return;
        }
        var d = res.data || {}, c = S.normCase(d.case);
        if (!c) { S.say(error, S.t("e5xx")); return; }
        var pick = function (name) { return Array.isArray(d[name]) ? d[name] : []; };
        var messages = pick("messages").map(normMessage).filter(Boolean);
        var events = pick("events").map(normEvent).filter(Boolean);
        var notes = pick("notes").map(normNote).filter(Boolean);
        current = c;
        lastMessages = messages;
        if (error.textContent === S.t("offline") || error.textContent === S.t("e5xx")) { S.say(error, ""); }
        renderSummary(c);
        renderActions(c);
        renderTranscript(messages, events);
        renderNotes(notes);
        if (cannedItems === null && c.status === "assigned" && mine(c)) { loadCanned(); }
        loaded = true;
      }).then(function () {
        loading = false;
        if (again) { load(); }
      });
    }
    var loadSoon = S.debounce(load, 150);
    function loadCanned() {
      cannedItems = [];
      S.api("GET", "/api/console/canned").then(function (res) {
        if (!res.ok) { cannedItems = null; return; }
        var list = res.data && Array.isArray(res.data.canned) ? res.data.canned : [];
        cannedItems = list.map(function (x, n) {
          if (!x || typeof x !== "object" || typeof x.text !== "string" || !x.text) { return null; }
          return { key: strOr(x.key, String(n)), title: strOr(x.title, x.text.slice(0, 40)), text: x.text, lang: strOr(x.lang, null) };
        }).filter(Boolean);
        renderCanned();
      });
    }
    // The waiting cases, for the urgent alert and the count in the title.
    function watchQueue() {
      S.api("GET", "/api/console/cases?status=queued").then(function (res) {
        if (res.ok) { S.noticeQueued(S.normCases(res.data)); }
      });
    }
    var watchSoon = S.debounce(watchQueue, 300);

    // ---- actions --------------------------------------------------------------------------------------------------------
    function act(button, busyKey, path, body, done, after) {
      if (busy) { return; }
      busy = true;
      var label = button.textContent;
      button.disabled = true;
      button.textContent = S.t(busyKey);
      S.say(error, "");
      S.say(note, "");
      S.api("POST", "/api/console/cases/" + caseId + path, body).then(function (res) {
        if (res.status === 401) { return; }
        if (res.ok) { done(res); } else { S.say(error, S.problem(res)); }
      }).then(function () {
        busy = false;
        button.disabled = false;
        button.textContent = label;
        if (after) { after(); }
        load();
      });
    }
    claimBtn.addEventListener("click", function () {
      act(claimBtn, "claiming", "/claim", {}, function () { flash(S.t("claimed")); });
    });
    releaseBtn.addEventListener("click", function () {
      act(releaseBtn, "releasing", "/release", {}, function () { flash(S.t("released")); });
    });
    closeForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!outcome.value) { S.say(error, S.t("needOutcome")); outcome.focus(); return; }
      act(closeBtn, "closing", "/close", { outcome: outcome.value }, function () { flash(S.t("closedOk")); outcome.value = ""; });
    });
    replyForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = reply.value;
      if (busy || reply.disabled || !text.trim()) { return; }
      reply.readOnly = true;
      act(sendBtn, "sending", "/messages", { text: text }, function (res) {
        reply.value = "";
        var m = res.data && res.data.message && typeof res.data.message === "object" ? res.data.message : {};
        if (m.delivery_status === "failed") {
          // Stored, but the channel refused it (blocked, window closed...): say so at once.
          S.say(error, typeof m.delivery_error === "string" && m.delivery_error ? S.t("failedWhy", { why: m.delivery_error }) : S.t("dl.failed"));
        } else {
          flash(S.t("sent"));
        }
      }, function () {
        reply.readOnly = false;
        reply.focus();
      });
    });
    reply.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && !ev.isComposing) {
        ev.preventDefault();
        if (typeof replyForm.requestSubmit === "function") { replyForm.requestSubmit(); }
        else { replyForm.dispatchEvent(new Event("submit", { cancelable: true })); }
      }
    });
    noteForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = noteText.value;
      if (!text.trim() || addNote.disabled) { return; }
      addNote.disabled = true;
      S.api("POST", "/api/console/cases/" + caseId + "/notes", { text: text }).then(function (res) {
        addNote.disabled = false;
        if (res.status === 401) { return; }
        if (res.ok) { noteText.value = ""; flash(S.t("noteSaved")); load(); } else { S.say(error, S.problem(res)); }
      });
    });

    // ---- live ---------------------------------------------------------------------------------------------------------------
    function onEvent(kind, data) {
      var id = S.eventCaseId(data);
      if (id === null || id === caseId) { loadSoon(); }
      if (id !== caseId) { S.eventAlert(kind, data, null); }
      if (id === null || id !== caseId || /open|queue|realert|urgent|raise/i.test(kind)) { watchSoon(); }
    }

    if (caseId === null) { S.say(error, S.t("e404")); return; }
    S.requireMe().then(function () {
      (S.outcomes || S.OUTCOMES).forEach(function (o) { outcome.appendChild(S.el("option", { text: S.outcome(o), attrs: { value: o } })); });
      S.header();
      $("who").textContent = S.me.username;
      load();
      watchQueue();
      S.live(onEvent);
      setInterval(function () { if (current) { renderSummary(current); } }, 30000);
    }, function (res) {
      S.say(error, S.problem(res));
    });
  });
})();
