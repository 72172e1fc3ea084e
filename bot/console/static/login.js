/* Sigurno mediator console: the sign-in page. POST /api/console/login -> {"csrf"} kept for this tab. */
"use strict";
(function () {
  var S = window.Sigurno;
  S.ready(function () {
    S.translate();
    document.title = S.t("loginTitle") + " · Sigurno";
    var form = S.$("login"), user = S.$("username"), pass = S.$("password"), btn = S.$("submit");
    var error = S.$("error"), note = S.$("note"), lang = S.$("lang");
    var params = new URLSearchParams(window.location.search);
    var next = S.safeNext(params.get("next"));
    var why = params.get("why");
    var busy = false;

    lang.textContent = S.t("otherLang");
    lang.setAttribute("lang", S.t("otherLangCode"));
    lang.addEventListener("click", function () { S.setLang(S.t("otherLangCode")); });
    if (why === "expired") { S.say(note, S.t("expired"), "ok"); }
    if (why === "out") { S.say(note, S.t("loggedOut"), "ok"); }

    // Already signed in (a cookie and a token for this tab): straight on.
    if (why !== "out" && why !== "expired") {
      S.api("GET", "/api/console/me", null, { stay: true }).then(function (res) {
        if (res.ok && res.data && (res.data.csrf || S.csrf())) {
          if (res.data.csrf) { S.setCsrf(res.data.csrf); }
          window.location.replace(next);
        }
      });
    }
    user.focus();

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (busy) { return; }
      S.say(error, "");
      if (!user.value.trim() || !pass.value) {
        S.say(error, S.t("badLogin"));
        (user.value.trim() ? pass : user).focus();
        return;
      }
      busy = true;
      btn.disabled = true;
      btn.textContent = S.t("signingIn");
      S.api("POST", "/api/console/login", { username: user.value.trim(), password: pass.value }, { stay: true, bare: true })
        .then(function (res) {
          if (res.ok && res.data && typeof res.data.csrf === "string") {
            S.setCsrf(res.data.csrf);
            S.leaving = true;
            window.location.replace(next);
            return;
          }
          var text;
          if (res.status === 401 || res.status === 400 || (res.ok && !(res.data && res.data.csrf))) {
            text = S.t("badLogin");
          } else if (res.status === 429) {
            var secs = parseInt(res.retryAfter || "", 10);
            text = secs > 0 ? S.t("tooMany", { n: Math.max(1, Math.ceil(secs / 60)) }) : S.t("tooManyLater");
          } else {
            text = S.problem(res);
          }
          S.say(error, text);
          pass.value = "";
          pass.focus();
        })
        .then(function () {
          if (S.leaving) { return; }
          busy = false;
          btn.disabled = false;
          btn.textContent = S.t("signIn");
        });
    });
  });
})();
