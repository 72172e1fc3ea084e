/*
  Sigurno staff studio: one content item. Its published form; a draft editor (texts per language,
  source, checked date, phone); the preview as Viber, Messenger, Telegram and the web chat would show it
  (built on the server by the bot's own render code); approve (four eyes on phone numbers), publish,
  and the item's history with a diff per version (roll the whole content back to any version).
*/
"use strict";
(function () {
  var S = window.Sigurno, St = S.studio;
  var LANGS = ["bg", "en", "ru"];
  var SCALARS = ["source", "source_date", "checked", "phone", "url"];
  var CHANNEL_NAMES = { viber: "Viber", messenger: "Messenger", telegram: "Telegram", web: "Web" };

  St.start(function (me) {
    var w = St.w, error = S.$("error"), note = S.$("note");
    var id = window.location.pathname.replace(/^\/console\/content\/items\//, "").split("/").map(decodeURIComponent).join("/");
    var channel = "viber", state = null;
    S.$("item-id").textContent = id;
    S.titleBase(id + " · Sigurno");

    function row(dl, label, value) {
      dl.appendChild(S.el("dt", { text: label }));
      dl.appendChild(S.el("dd", { "class": "pre", text: value === null || value === undefined || value === "" ? "—" : String(value) }));
    }

    function paintPublished(item) {
      var dl = S.$("published");
      S.clear(dl);
      LANGS.forEach(function (l) { if (item.texts[l] !== undefined) { row(dl, w("text", { lang: l }), item.texts[l]); } });
      SCALARS.forEach(function (k) { if (item.data && item.data[k] !== undefined) { row(dl, w(k === "source_date" ? "sourceDate" : k), item.data[k]); } });
      row(dl, w("updated"), w("version", { v: item.version }) + " · " + item.updated_by + " · " + St.when(item.updated_at));
    }

    function field(label, input) {
      return S.el("div", { "class": "field" }, [S.el("label", { text: label, attrs: { "for": input.id } }), input]);
    }

    function paintEditor(item, draft) {
      var texts = S.$("texts"), scalars = S.$("scalars"), source = draft || item;
      S.clear(texts);
      S.clear(scalars);
      var hasText = Object.keys(item.texts).length > 0;
      if (!hasText) { texts.appendChild(S.el("p", { "class": "hint", text: w("noText") })); }
      if (hasText) {
        LANGS.forEach(function (l) {
          var ta = S.el("textarea", { attrs: { id: "text-" + l, rows: "6", lang: l, "data-lang": l } });
          ta.value = source.texts[l] || "";
          texts.appendChild(field(w("text", { lang: l }), ta));
        });
      }
      var data = (draft && draft.data) || item.data || {};
      SCALARS.forEach(function (k) {
        var present = Object.prototype.hasOwnProperty.call(item.data || {}, k) || (k === "checked" || k === "source") && item.kind !== "text";
        if (!present || typeof item.data !== "object" || Array.isArray(item.data)) { return; }
        var input = S.el("input", { attrs: { id: "f-" + k, type: k === "checked" ? "date" : "text", autocomplete: "off" } });
        input.value = data[k] === undefined || data[k] === null ? "" : String(data[k]);
        scalars.appendChild(field(w(k === "source_date" ? "sourceDate" : k), input));
      });
      var stateLine = S.$("draft-state");
      if (!draft) {
        stateLine.textContent = w("noDraft");
      } else {
        var parts = [w("draftBy", { who: draft.author, at: St.when(draft.updated_at) })];
        if (draft.needs_approval) { parts.push(draft.approved_by ? w("approvedBy", { who: draft.approved_by }) : w("needsApproval")); }
        stateLine.textContent = parts.join(" ");
      }
      S.$("publish").hidden = !draft;
      S.$("discard").hidden = !draft;
      S.$("approve").hidden = !(draft && draft.needs_approval && !draft.approved_by && draft.author !== me.username);
    }

    function paintHistory(rows) {
      var ol = S.$("history");
      S.clear(ol);
      if (!rows.length) { ol.appendChild(S.el("li", { text: w("noHistory") })); return; }
      rows.forEach(function (h, i) {
        var head = w("version", { v: h.version }) + " · " + w("act." + h.action) + " · " + w("by", { who: h.author }) +
          (h.approved_by ? " · " + w("approvedShort", { who: h.approved_by }) : "") + " · " + St.when(h.at);
        var li = S.el("li", { "class": "hist" }, [S.el("div", { "class": "row" }, [S.el("span", { "class": "grow", text: head })])]);
        if (i > 0) {
          var b = S.el("button", { "class": "btn ghost small", text: w("rollbackTo", { v: h.version }), attrs: { type: "button" } });
          b.addEventListener("click", function () { rollback(h.version, b); });
          li.firstChild.appendChild(b);
        }
        if (h.diff) {
          li.appendChild(S.el("details", {}, [S.el("summary", { text: w("diff") }), S.el("pre", { "class": "diff", text: h.diff })]));
        }
        ol.appendChild(li);
      });
    }

    function load() {
      return S.api("GET", St.apiItem(id)).then(function (res) {
        if (!res.ok) { S.say(error, S.problem(res)); return; }
        state = res.data;
        paintPublished(state.item);
        paintEditor(state.item, state.draft);
        paintHistory(state.history || []);
        preview();
      });
    }

    function preview() {
      var lang = S.$("plang").value;
      S.api("GET", "/api/console/content/preview/" + id.split("/").map(encodeURIComponent).join("/") +
        "?lang=" + lang + "&channel=" + channel).then(function (res) {
        var ol = S.$("preview");
        S.clear(ol);
        if (!res.ok) { S.$("payload").textContent = ""; S.say(error, S.problem(res)); return; }
        S.$("preview-what").textContent = w(res.data.draft ? "previewDraft" : "previewPublished", { ch: CHANNEL_NAMES[channel] });
        ol.setAttribute("data-channel", channel);
        (res.data.messages || []).forEach(function (m) {
          var kids = [S.el("div", { "class": "body", text: m.text })];
          if (m.buttons && m.buttons.length) {
            kids.push(S.el("ul", { "class": "pbuttons" }, m.buttons.map(function (t) { return S.el("li", { text: t }); })));
          }
          ol.appendChild(S.el("li", { "class": "pmsg" }, kids));
        });
        S.$("payload").textContent = JSON.stringify(res.data.payloads, null, 1);
      });
    }

    function body() {
      var b = {}, texts = {}, any = false;
      LANGS.forEach(function (l) {
        var ta = S.$("text-" + l);
        if (!ta) { return; }
        var before = (state.draft || state.item).texts[l] || "";
        if (ta.value !== before) { texts[l] = ta.value; any = true; }
      });
      if (any) { b.texts = texts; }
      SCALARS.forEach(function (k) {
        var input = S.$("f-" + k);
        if (!input) { return; }
        var data = (state.draft && state.draft.data) || state.item.data || {};
        var before = data[k] === undefined || data[k] === null ? "" : String(data[k]);
        if (input.value.trim() !== before) { b[k] = input.value.trim() || null; }
      });
      return b;
    }

    function act(button, method, path, payload, done) {
      button.disabled = true;
      S.say(error, "");
      return S.api(method, path, payload).then(function (res) {
        button.disabled = false;
        if (!res.ok) { S.say(error, S.problem(res)); return; }
        done(res.data);
      });
    }

    S.$("editor").addEventListener("submit", function (ev) {
      ev.preventDefault();
      act(S.$("save"), "PUT", St.apiItem(id), body(), function () { S.say(note, w("saved"), "ok"); load(); });
    });
    S.$("publish").addEventListener("click", function () {
      act(S.$("publish"), "POST", "/api/console/content/publish", { ids: [id] }, function (d) {
        S.say(note, w("publishedOk", { v: d.version }), "ok");
        load();
      });
    });
    S.$("approve").addEventListener("click", function () {
      act(S.$("approve"), "POST", St.apiItem(id) + "/approve", {}, function () { S.say(note, w("approved"), "ok"); load(); });
    });
    S.$("discard").addEventListener("click", function () {
      act(S.$("discard"), "DELETE", St.apiItem(id) + "/draft", null, function () { S.say(note, w("discarded"), "ok"); load(); });
    });
    function rollback(version, button) {
      if (!window.confirm(w("rollbackAsk", { v: version }))) { return; }
      act(button, "POST", "/api/console/content/rollback", { version: version }, function (d) {
        S.say(note, w("rolledBack", { v: version, n: d.version }), "ok");
        load();
      });
    }

    var tabs = Array.prototype.slice.call(document.querySelectorAll("#channels .tab"));
    tabs.forEach(function (t) {
      t.addEventListener("click", function () {
        channel = t.getAttribute("data-channel");
        tabs.forEach(function (o) { o.setAttribute("aria-selected", o === t ? "true" : "false"); o.tabIndex = o === t ? 0 : -1; });
        preview();
      });
    });
    S.$("plang").value = S.lang === "en" ? "en" : "bg";
    S.$("plang").addEventListener("change", preview);
    load();
  });
})();
