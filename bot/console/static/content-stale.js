/*
  Sigurno staff studio: stale facts. Facts checked more than N days ago, facts without a checked date, and
  facts that change on a known date soon (a minimum wage with its year changes on 1 January: it shows
  from December). Most urgent first; each links to its item.
*/
"use strict";
(function () {
  var S = window.Sigurno, St = S.studio;
  St.start(function () {
    var w = St.w, list = S.$("list"), error = S.$("error"), days = S.$("days"), all = S.$("all");
    function load() {
      var qs = (days.value ? "days=" + encodeURIComponent(days.value) : "") + (all.checked ? (days.value ? "&" : "") + "all=1" : "");
      list.setAttribute("aria-busy", "true");
      S.api("GET", "/api/console/content/stale" + (qs ? "?" + qs : "")).then(function (res) {
        list.setAttribute("aria-busy", "false");
        if (!res.ok) { S.say(error, S.problem(res)); return; }
        if (!days.value) { days.value = String(res.data.days); }
        S.clear(list);
        (res.data.facts || []).forEach(function (f) {
          var meta = [S.el("li", { text: w("checked") + ": " + (f.checked || w("never")) })];
          if (f.age_days !== null) { meta.push(S.el("li", { text: w("age", { d: f.age_days }) })); }
          if (f.due) { meta.push(S.el("li", { text: w("due", { d: f.due }) })); }
          list.appendChild(S.el("li", { "class": "card item" }, [
            S.el("div", { "class": "row" }, [
              S.el("span", { "class": "title" }, [S.el("a", { text: f.id, attrs: { href: St.itemUrl(f.id) } })]),
              f.reason ? S.el("span", { "class": "badge urgent", text: f.reason }) : null
            ]),
            S.el("ul", { "class": "meta" }, meta)
          ]));
        });
        S.$("count").textContent = w("facts", { n: (res.data.facts || []).length });
      });
    }
    S.$("filters").addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    load();
  });
})();
