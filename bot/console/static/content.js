/*
  Sigurno staff studio: the list of content items (search, country, kind, language, stale), the drafts
  waiting to be published, and the published versions (roll back to any of them).
*/
"use strict";
(function () {
  var S = window.Sigurno, St;
  St = S.studio;
  St.start(function () {
    var w = St.w, list = S.$("list"), error = S.$("error"), note = S.$("note");
    var q = S.$("q"), country = S.$("country"), kind = S.$("kind"), flang = S.$("flang"), stale = S.$("stale");
    var params = new URLSearchParams(window.location.search);
    q.value = params.get("q") || "";
    stale.checked = params.get("stale") === "1";
    flang.value = params.get("lang") || "";
    var filled = false;

    function fillSelects(items) {
      if (filled) { return; }
      filled = true;
      var countries = {}, kinds = {};
      items.forEach(function (it) {
        var p = it.id.split("/");
        if (p[0] === "countries") { countries[p[1]] = true; }
        if (p[0] === "hotlines_bg") { countries.BG = true; }
        kinds[it.kind] = true;
      });
      Object.keys(countries).sort().forEach(function (c) { country.appendChild(S.el("option", { text: c, attrs: { value: c } })); });
      Object.keys(kinds).sort().forEach(function (k) { kind.appendChild(S.el("option", { text: St.kind(k), attrs: { value: k } })); });
      country.value = params.get("country") || "";
      kind.value = params.get("kind") || "";
    }

    function query() {
      var p = new URLSearchParams();
      if (q.value.trim()) { p.set("q", q.value.trim()); }
      if (country.value) { p.set("country", country.value); }
      if (kind.value) { p.set("kind", kind.value); }
      if (flang.value) { p.set("lang", flang.value); }
      if (stale.checked) { p.set("stale", "1"); }
      return p.toString();
    }

    function card(it) {
      var badges = [S.el("span", { "class": "badge status", text: St.kind(it.kind) })];
      if (it.has_draft) { badges.push(S.el("span", { "class": "badge high", text: w("hasDraft") })); }
      if (it.stale) { badges.push(S.el("span", { "class": "badge urgent", text: it.stale.reason })); }
      var meta = [];
      if (it.checked) { meta.push(S.el("li", { text: w("checked") + ": " + it.checked })); }
      meta.push(S.el("li", { text: w("version", { v: it.version }) }));
      return S.el("li", { "class": "card item" }, [
        S.el("div", { "class": "row" }, [
          S.el("span", { "class": "title" }, [S.el("a", { text: it.id, attrs: { href: St.itemUrl(it.id) } })])
        ].concat(badges)),
        S.el("p", { "class": "snippet", text: St.snippet(it.texts, S.lang === "en" ? "en" : "bg") }),
        S.el("ul", { "class": "meta" }, meta)
      ]);
    }

    function load() {
      var qs = query();
      try { window.history.replaceState(null, "", window.location.pathname + (qs ? "?" + qs : "")); } catch (e) { /* sandbox */ }
      list.setAttribute("aria-busy", "true");
      S.api("GET", "/api/console/content/items" + (qs ? "?" + qs : "")).then(function (res) {
        list.setAttribute("aria-busy", "false");
        if (!res.ok) { S.say(error, S.problem(res)); return; }
        var items = res.data.items || [];
        if (!filled && !qs) { fillSelects(items); }
        S.clear(list);
        items.forEach(function (it) { list.appendChild(card(it)); });
        S.$("count").textContent = items.length ? w("count", { n: items.length }) : w("noItems");
        S.$("drafts-line").textContent = res.data.drafts ? w("drafts", { n: res.data.drafts }) : w("noDrafts");
        S.$("publish-all").disabled = !res.data.drafts;
      });
    }

    function loadVersions() {
      S.api("GET", "/api/console/content/versions").then(function (res) {
        if (!res.ok) { return; }
        var ol = S.$("versions");
        S.clear(ol);
        (res.data.versions || []).forEach(function (v) {
          var li = S.el("li", { "class": "version" }, [
            S.el("span", { "class": "grow", text: w("version", { v: v.version }) + " · " + w("act." + v.action) + " · " +
              w("by", { who: v.author }) + " · " + St.when(v.at) + " · " + w("items", { n: v.items }) })
          ]);
          if (v.version !== res.data.version) {
            var b = S.el("button", { "class": "btn ghost small", text: w("rollbackTo", { v: v.version }), attrs: { type: "button" } });
            b.addEventListener("click", function () { rollback(v.version, b); });
            li.appendChild(b);
          }
          ol.appendChild(li);
        });
      });
    }

    function rollback(version, button) {
      if (!window.confirm(w("rollbackAsk", { v: version }))) { return; }
      button.disabled = true;
      S.api("POST", "/api/console/content/rollback", { version: version }).then(function (res) {
        button.disabled = false;
        if (!res.ok) { S.say(error, S.problem(res)); return; }
        S.say(note, w("rolledBack", { v: version, n: res.data.version }), "ok");
        load();
        loadVersions();
      });
    }

    S.$("filters").addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    [country, kind, flang, stale].forEach(function (el) { el.addEventListener("change", load); });
    S.$("publish-all").addEventListener("click", function () {
      var b = S.$("publish-all");
      b.disabled = true;
      S.api("POST", "/api/console/content/publish", {}).then(function (res) {
        b.disabled = false;
        if (!res.ok) { S.say(error, S.problem(res)); return; }
        S.say(error, "");
        S.say(note, w("publishedOk", { v: res.data.version }), "ok");
        load();
        loadVersions();
      });
    });
    S.api("GET", "/api/console/content/items").then(function (res) { if (res.ok) { fillSelects(res.data.items || []); } });
    load();
    loadVersions();
  });
})();
