/*
  Sigurno mediator console: the queue. Tabs waiting / mine (assigned) / closed; the most urgent and the
  longest waiting first; live through /api/console/events (a new urgent case raises the alert).
*/
"use strict";
(function () {
  var S = window.Sigurno;
  var STATUSES = ["queued", "assigned", "closed"];
  var EMPTY = { queued: "emptyQueued", assigned: "emptyMine", closed: "emptyClosed" };

  S.ready(function () {
    S.translate();
    var list = S.$("list"), empty = S.$("empty"), error = S.$("error"), note = S.$("note"), panel = S.$("panel");
    var tabs = {}, cards = {}, lists = { queued: null, assigned: null, closed: null }, fresh = {};
    var tab = STATUSES.indexOf(window.location.hash.slice(1)) >= 0 ? window.location.hash.slice(1) : "queued";
    var loading = false, again = false, listError = null;

    STATUSES.forEach(function (st) { tabs[st] = S.$("tab-" + st); });
    S.titleBase(S.t("queue") + " · Sigurno");

    // ---- tabs (ARIA tabs: arrows move, the panel follows) ------------------------------------------------
    function select(st, focus) {
      tab = st;
      STATUSES.forEach(function (s) {
        tabs[s].setAttribute("aria-selected", s === st ? "true" : "false");
        tabs[s].tabIndex = s === st ? 0 : -1;
      });
      panel.setAttribute("aria-labelledby", "tab-" + st);
      if (focus) { tabs[st].focus(); }
      try { window.history.replaceState(null, "", st === "queued" ? window.location.pathname : "#" + st); } catch (e) { /* file or sandbox */ }
      S.clear(list);
      cards = {};
      render();
      load();
    }
    STATUSES.forEach(function (st, i) {
      tabs[st].addEventListener("click", function () { if (tab !== st) { select(st, false); } });
      tabs[st].addEventListener("keydown", function (ev) {
        var n = null;
        if (ev.key === "ArrowRight") { n = STATUSES[(i + 1) % STATUSES.length]; }
        if (ev.key === "ArrowLeft") { n = STATUSES[(i + STATUSES.length - 1) % STATUSES.length]; }
        if (ev.key === "Home") { n = STATUSES[0]; }
        if (ev.key === "End") { n = STATUSES[STATUSES.length - 1]; }
        if (n) { ev.preventDefault(); select(n, true); }
      });
    });

    // ---- loading ------------------------------------------------------------------------------------------
    function fetchOne(st) {
      return S.api("GET", "/api/console/cases?status=" + st);
    }
    // The "finished" tab holds closed cases and those handed back to the bot (released).
    function fetchStatus(st) {
      var wanted = st === "closed" ? ["closed", "released"] : [st];
      return Promise.all(wanted.map(fetchOne)).then(function (results) {
        var failed = results.filter(function (r) { return !r.ok; })[0];
        if (failed) { return failed; }
        var all = [];
        results.forEach(function (r) { all = all.concat(S.normCases(r.data)); });
        lists[st] = S.sortCases(all, st);
        return null;
      });
    }
    // Waiting and assigned cases always (the counts, the title and the alert); closed ones when shown.
    function load() {
      if (loading) { again = true; return; }
      loading = true;
      again = false;
      var wanted = tab === "closed" ? ["queued", "assigned", "closed"] : ["queued", "assigned"];
      Promise.all(wanted.map(fetchStatus)).then(function (failures) {
        var failed = failures.filter(function (f) { return f; })[0] || null;
        if (failed && failed.status === 401) { return; }
        listError = failed ? S.problem(failed) : null;
        S.say(error, listError);
        if (lists.queued) {
          S.noticeQueued(lists.queued).forEach(function (id) { fresh[id] = true; });
        }
        render();
      }).then(function () {
        loading = false;
        if (again) { load(); }
      });
    }
    var loadSoon = S.debounce(load, 200);

    // ---- rendering ------------------------------------------------------------------------------------------
    function waitText(c) {
      if (c.status === "closed" || c.status === "released") {
        return S.t(c.status === "closed" ? "closedAgo" : "releasedAgo", { t: S.since(c.closedAt || c.updatedAt) });
      }
      if (c.status === "assigned") {
        if (c.waitingSince) { return S.t("waitsReply", { t: S.since(c.waitingSince) }); }
        return c.lastMessageAt ? S.t("lastAt", { t: S.clock(c.lastMessageAt) }) : "";
      }
      return S.t("waiting", { t: S.since(c.waitingSince || c.createdAt) });
    }
    function metaItem(label, value, cls) {
      var li = S.el("li", null, [label + ": "]);
      li.appendChild(S.el("span", { "class": cls || "", text: value }));
      return li;
    }
    function signature(c) {
      return JSON.stringify([c.status, c.priority, c.signals, c.country, c.channel, c.assignee, c.outcome, c.windowOpen]);
    }
    function build(c) {
      var li = S.el("li", { "class": "card " + c.priority, attrs: { "data-id": String(c.id), "data-priority": c.priority } });
      var titleId = "case-" + c.id + "-title";
      var head = S.el("div", { "class": "row" }, [
        S.priorityBadge(c),
        S.el("h2", { "class": "title", attrs: { id: titleId } }, [
          S.el("a", { text: S.t("openCase", { id: c.id }), attrs: { href: "/console/cases/" + c.id } })
        ]),
        S.el("span", { "class": "wait", text: waitText(c), attrs: { title: S.fullTime(c.waitingSince) } })
      ]);
      li.setAttribute("aria-labelledby", titleId);
      li.appendChild(head);
      if (c.signals.length) { li.appendChild(S.signalList(c)); }
      var meta = S.el("ul", { "class": "meta" });
      meta.appendChild(metaItem(S.t("country"), S.country(c.country)));
      meta.appendChild(metaItem(S.t("channel"), S.channel(c.channel)));
      if (c.status === "queued" || c.status === "assigned") {
        var w = S.windowState(c);
        meta.appendChild(metaItem(S.t("window"), w.text, "window " + w.cls));
      }
      meta.appendChild(metaItem(S.t("assignee"), c.assignee || S.t("noone")));
      if (c.outcome) { meta.appendChild(metaItem(S.t("outcomeLabel"), S.outcome(c.outcome))); }
      if (c.status !== tab) { meta.appendChild(metaItem(S.t("status"), S.status(c.status))); }
      li.appendChild(meta);
      var actions = S.el("div", { "class": "actions" });
      if (c.status === "queued") {
        var claim = S.el("button", { "class": "btn small", text: S.t("claim"), attrs: { type: "button", "data-claim": String(c.id) } });
        claim.addEventListener("click", function () { doClaim(c, claim, problem); });
        actions.appendChild(claim);
      }
      actions.appendChild(S.el("a", { "class": "btn small ghost", text: S.t("open"), attrs: { href: "/console/cases/" + c.id, "aria-describedby": titleId } }));
      var problem = S.el("p", { "class": "problem", attrs: { role: "alert" } });
      problem.hidden = true;
      actions.appendChild(problem);
      li.appendChild(actions);
      li._sig = signature(c);
      li._case = c;
      return li;
    }
    function render() {
      ["queued", "assigned"].forEach(function (st) {
        var count = S.$("count-" + st), n = lists[st] ? lists[st].length : 0;
        count.textContent = String(n);
        count.hidden = !n;
        count.className = "count" + (st === "queued" && lists.queued && lists.queued.some(function (c) { return c.priority === "urgent"; }) ? " hot" : "");
      });
      var cases = lists[tab];
      list.setAttribute("aria-busy", cases ? "false" : "true");
      if (!cases) {
        empty.textContent = listError || S.t("loading");
        empty.hidden = false;
        return;
      }
      var keep = {}, before = null, i;
      cases.forEach(function (c) { keep[c.id] = true; });
      Object.keys(cards).forEach(function (id) {
        if (!keep[id]) { if (cards[id].parentNode) { cards[id].parentNode.removeChild(cards[id]); } delete cards[id]; }
      });
      for (i = cases.length - 1; i >= 0; i--) {
        var c = cases[i], node = cards[c.id];
        if (!node || node._sig !== signature(c)) {
          var built = build(c);
          if (node && node.parentNode) { node.parentNode.replaceChild(built, node); }
          node = built;
          cards[c.id] = node;
        } else {
          node._case = c;
        }
        if (fresh[c.id]) { node.classList.add("fresh"); delete fresh[c.id]; }
        // Move only what is out of place (moving a node loses focus inside it).
        if (node.nextSibling !== before || node.parentNode !== list) { list.insertBefore(node, before); }
        before = node;
      }
      empty.textContent = S.t(tab === "assigned" && S.me && S.me.role === "admin" ? "emptyAssigned" : EMPTY[tab]);
      empty.hidden = cases.length > 0;
    }
    function paintTimes() {
      Object.keys(cards).forEach(function (id) {
        var node = cards[id], c = node._case, wait = node.querySelector(".wait"), win = node.querySelector(".window");
        if (wait) { wait.textContent = waitText(c); }
        if (win) { win.textContent = S.windowState(c).text; }
      });
    }

    // ---- claiming -------------------------------------------------------------------------------------------------
    function doClaim(c, button, problem) {
      if (button.disabled) { return; }
      button.disabled = true;
      button.textContent = S.t("claiming");
      problem.hidden = true;
      S.say(note, "");
      S.api("POST", "/api/console/cases/" + c.id + "/claim", {}).then(function (res) {
        if (res.ok) {
          S.leaving = true;
          window.location.assign("/console/cases/" + c.id);
          return;
        }
        if (res.status === 401) { return; }
        problem.textContent = S.problem(res);
        problem.hidden = false;
        button.textContent = S.t("claim");
        if (S.isTaken(res)) { button.hidden = true; } else { button.disabled = false; }
        loadSoon();
      });
    }

    // ---- live ----------------------------------------------------------------------------------------------------
    function onEvent(kind, data) {
      S.eventAlert(kind, data, lists.queued);
      loadSoon();
    }

    S.requireMe().then(function (me) {
      if (me.role === "editor" || me.role === "admin") {  // the review page (bot/console/review_api.py)
        S.$("nav-review").textContent = S.lang === "en" ? "Not understood" : "Неразбрани";
        S.$("nav-review").hidden = false;
      }
      S.header();
      var who = S.$("who");
      who.textContent = me.username;
      var label = S.$("tab-assigned-label");
      if (me.role === "admin") { label.setAttribute("data-t", "tabAssigned"); label.textContent = S.t("tabAssigned"); }
      select(tab, false);
      S.live(onEvent);
      setInterval(paintTimes, 30000);
    }, function (res) {
      S.say(error, S.problem(res));
    });
  });
})();
