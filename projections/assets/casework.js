// The sign-in form keeps the token for this tab only and asks the server for this same page with
// it; the server writes the whole page (what each service let this user see), so this script holds
// no logic about cases or logs. A filter form on the page is sent the same way.
"use strict";
(function () {
  const KEY = "kasane.casework.token";
  async function show(token, query) {
    const response = await fetch(location.pathname + (query || ""), {
      headers: { Authorization: "Bearer " + token },
    });
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      alert("トークンが無効です。もう一度入力してください。");
      return;
    }
    if (response.status === 403) {
      alert("この画面を見る権限がありません。");
      return;
    }
    if (!response.ok) {
      alert("表示できませんでした（" + response.status + "）。入力内容を確かめてください。");
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    document.body.replaceWith(page.body);
    const filters = document.getElementById("filters");
    if (filters) {
      filters.addEventListener("submit", function (event) {
        event.preventDefault();
        const params = new URLSearchParams(new FormData(filters));
        for (const [k, v] of [...params]) if (!v) params.delete(k);
        history.replaceState(null, "", location.pathname + "?" + params.toString());
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
