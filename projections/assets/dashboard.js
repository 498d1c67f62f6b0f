// The sign-in form keeps the token for this tab only and asks the server for the dashboard with it;
// the server renders the figures (already suppressed), so this script holds no logic about them.
"use strict";
(function () {
  const KEY = "kasane.dashboard.token";
  async function show(token, query) {
    const response = await fetch("/" + (query || ""), { headers: { Authorization: "Bearer " + token } });
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      alert("トークンが無効です。もう一度入力してください。");
      return;
    }
    if (response.status === 403) {
      alert("この画面を見る権限がありません（市町村担当課・監査担当のみ）。");
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    document.body.replaceWith(page.body);
    const period = document.getElementById("period");
    if (period) {
      period.addEventListener("submit", function (event) {
        event.preventDefault();
        const params = new URLSearchParams(new FormData(period));
        for (const [k, v] of [...params]) if (!v) params.delete(k);
        show(token, "?" + params.toString());
      });
    }
  }
  const login = document.getElementById("login");
  if (login) {
    const saved = sessionStorage.getItem(KEY);
    if (saved) show(saved, location.search);
    login.addEventListener("submit", function (event) {
      event.preventDefault();
      const token = new FormData(login).get("token").trim();
      sessionStorage.setItem(KEY, token);
      show(token, location.search);
    });
  }
})();
