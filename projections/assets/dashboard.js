// The dashboard's only script (the CSP allows no inline script). Two jobs:
// 1. sign-in: keep the token for this tab and ask the server for the page with it; the server
//    renders the figures (already suppressed) and their tables, so nothing is computed here;
// 2. charts: draw each figure's rows, embedded by the server as JSON, with Chart.js. A suppressed
//    value (null) is drawn as "＊" at the axis, never as a bar of 0.
"use strict";
(function () {
  const KEY = "kasane.dashboard.token";
  const SUPPRESSED = "＊";
  const FONT = '"Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic", sans-serif';
  // Okabe–Ito colours (readable with colour blindness), then darker and lighter variants.
  const PALETTE = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
    "#004C77", "#9A6B00", "#006B4E", "#8A5171", "#3A7A9E", "#8F3F00",
  ];
  const COUNTS = ["件", "回", "人", "か所"];
  let charts = [];

  function say(text) {
    const status = document.getElementById("status");
    if (status) status.textContent = text;
  }

  async function show(token, query) {
    say("読み込み中…");
    let response;
    try {
      response = await fetch("/" + (query || ""), { headers: { Authorization: "Bearer " + token } });
    } catch (error) {
      say("サーバーに接続できませんでした。時間をおいてもう一度お試しください。");
      return;
    }
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      say("トークンが無効です。もう一度入力してください。");
      return;
    }
    if (response.status === 403) {
      say("この画面を見る権限がありません（市町村担当課・監査担当のみ）。");
      return;
    }
    if (!response.ok) {
      let reason = "";
      try {
        reason = (await response.json()).detail || "";
      } catch (error) {
        reason = "";
      }
      say("表示できませんでした（" + response.status + "）。" + (typeof reason === "string" ? reason : ""));
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const chart of charts) chart.destroy();
    charts = [];
    document.body.replaceWith(page.body);
    history.replaceState(null, "", "/" + (query || ""));
    start(token);
  }

  function unique(pairs) {
    const seen = new Map();
    for (const [code, label] of pairs) if (!seen.has(code)) seen.set(code, label);
    return [...seen];
  }

  function label(row, column) {
    const named = row[column + "_label"];
    return named !== undefined && named !== null ? String(named) : String(row[column]);
  }

  // Categories and datasets of one figure; `hidden` lists [dataset, index] of suppressed values.
  function series(figure) {
    const spec = figure.chart;
    const rows = figure.rows;
    const hidden = [];
    let categories;
    let datasets;
    const cell = (value, d, i) => {
      if (value === null) hidden.push([d, i]);
      return value;
    };
    if (spec.x) {
      const xs = unique(rows.map((r) => [String(r[spec.x]), label(r, spec.x)]));
      categories = xs.map(([, name]) => name);
      if (spec.series) {
        const value = spec.values[0];
        const groups = unique(rows.map((r) => [String(r[spec.series]), label(r, spec.series)]));
        const at = new Map(rows.map((r) => [String(r[spec.x]) + "\u0000" + String(r[spec.series]), r]));
        datasets = groups.map(([code, name], d) => ({
          label: name,
          // No row for a combination means nothing was counted: a true 0.
          data: xs.map(([x], i) => {
            const row = at.get(x + "\u0000" + code);
            return cell(row ? row[value] : 0, d, i);
          }),
        }));
      } else {
        const at = new Map(rows.map((r) => [String(r[spec.x]), r]));
        datasets = spec.values.map((value, d) => ({
          label: figure.labels[value] || value,
          data: xs.map(([x], i) => cell(at.get(x)[value], d, i)),
        }));
      }
    } else {
      // One row of several values (e.g. attendance by generation): the values are the categories.
      categories = spec.values.map((value) => figure.labels[value] || value);
      datasets = rows.map((row, d) => ({
        label: figure.title,
        data: spec.values.map((value, i) => cell(row[value], d, i)),
      }));
    }
    datasets.forEach((dataset, d) => {
      const colour = spec.x || datasets.length > 1 ? PALETTE[d % PALETTE.length] : PALETTE[0];
      dataset.backgroundColor = spec.x ? colour : spec.values.map((_, i) => PALETTE[i % PALETTE.length]);
      dataset.borderColor = colour;
    });
    return { categories, datasets, hidden };
  }

  // Horizontal reference lines (national target, today's typical value), labelled at the right.
  const references = {
    id: "kasaneReferences",
    afterDatasetsDraw(chart, _args, options) {
      const lines = options.lines || [];
      if (!lines.length) return;
      const { ctx, chartArea } = chart;
      const scale = chart.scales.y;
      ctx.save();
      ctx.font = "12px " + FONT;
      for (const [n, line] of lines.entries()) {
        const y = scale.getPixelForValue(line.value);
        ctx.strokeStyle = n === 0 ? "#C00000" : "#555555";
        ctx.setLineDash(n === 0 ? [6, 4] : [2, 3]);
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(chartArea.left, y);
        ctx.lineTo(chartArea.right, y);
        ctx.stroke();
        ctx.fillStyle = ctx.strokeStyle;
        ctx.textAlign = "right";
        ctx.fillText(line.label, chartArea.right - 4, y - 4);
      }
      ctx.restore();
    },
  };

  // "＊" where a value is suppressed, at the base of its category (stacked upward when several).
  const suppressedMarks = {
    id: "kasaneSuppressed",
    afterDatasetsDraw(chart, _args, options) {
      const hidden = options.hidden || [];
      if (!hidden.length) return;
      const horizontal = chart.options.indexAxis === "y";
      const index = horizontal ? chart.scales.y : chart.scales.x;
      const value = horizontal ? chart.scales.x : chart.scales.y;
      const base = value.getPixelForValue(0);
      const stacked = new Map();
      const { ctx } = chart;
      ctx.save();
      ctx.font = "bold 14px " + FONT;
      ctx.textAlign = horizontal ? "left" : "center";
      ctx.textBaseline = horizontal ? "middle" : "bottom";
      for (const [d, i] of hidden) {
        if (!chart.isDatasetVisible(d)) continue;
        const k = stacked.get(i) || 0;
        stacked.set(i, k + 1);
        const along = index.getPixelForValue(i);
        ctx.fillStyle = chart.data.datasets[d].borderColor || "#333333";
        if (horizontal) ctx.fillText(SUPPRESSED, base + 3 + 12 * k, along);
        else ctx.fillText(SUPPRESSED, along, base - 2 - 14 * k);
      }
      ctx.restore();
    },
  };

  function draw(canvas, figure) {
    const spec = figure.chart;
    const { categories, datasets, hidden } = series(figure);
    const horizontal = spec.kind === "hbar";
    const stacked = (spec.kind === "stacked" || horizontal) && Boolean(spec.series);
    const top = Math.max(0, ...spec.references.map((r) => r.value));
    if (horizontal) canvas.parentElement.style.height = Math.max(200, 30 * categories.length + 90) + "px";
    const valueAxis = {
      stacked,
      beginAtZero: true,
      suggestedMax: top ? top * 1.15 : undefined,
      title: { display: true, text: spec.unit },
      // Counts have no fractions; days, percentages and rates do.
      ticks: { precision: COUNTS.includes(spec.unit) ? 0 : undefined },
    };
    const chart = new Chart(canvas, {
      type: spec.kind === "line" ? "line" : "bar",
      data: { labels: categories, datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        spanGaps: false,
        scales: horizontal
          ? { x: valueAxis, y: { stacked } }
          : { x: { stacked }, y: valueAxis },
        plugins: {
          legend: { display: datasets.length > 1 || Boolean(spec.series), position: "bottom" },
          tooltip: {
            callbacks: {
              label: (item) => item.dataset.label + ": " + item.formattedValue + " " + spec.unit,
            },
          },
          kasaneReferences: { lines: spec.references },
          kasaneSuppressed: { hidden },
        },
      },
      plugins: [references, suppressedMarks],
    });
    canvas.dataset.suppressed = String(hidden.length);
    canvas.dataset.drawn = "true";
    charts.push(chart);
  }

  function drawAll() {
    const source = document.getElementById("dashboard-data");
    if (!source || typeof Chart === "undefined") return;
    Chart.defaults.font.family = FONT;
    const figures = JSON.parse(source.textContent);
    for (const canvas of document.querySelectorAll("canvas[data-figure]")) {
      const figure = figures[canvas.dataset.figure];
      if (figure) draw(canvas, figure);
    }
    document.body.dataset.charts = "drawn";
  }

  function filters(token) {
    const form = document.getElementById("filters");
    if (!form) return;
    for (const pick of form.querySelectorAll("button.pick")) {
      pick.addEventListener("click", function () {
        form.elements.from.value = pick.dataset.from;
        form.elements.to.value = pick.dataset.to;
        form.requestSubmit();
      });
    }
    // Signed in through the form: ask again with the token. Opened with a token header
    // (another client), the form's ordinary GET leads to the sign-in form.
    if (!token) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const params = new URLSearchParams(new FormData(form));
      for (const [k, v] of [...params]) if (!v) params.delete(k);
      show(token, "?" + params.toString());
    });
  }

  // The report is an attachment behind the token: fetch it and hand the browser the file.
  function exports(token) {
    const form = document.getElementById("report");
    if (!form || !token) return;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const params = new URLSearchParams(new FormData(form));
      params.set("format", event.submitter ? event.submitter.value : "csv");
      say("書き出し中…");
      const response = await fetch("/api/report?" + params.toString(), {
        headers: { Authorization: "Bearer " + token },
      });
      if (!response.ok) {
        say("書き出せませんでした（" + response.status + "）。");
        return;
      }
      const disposition = response.headers.get("content-disposition") || "";
      const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || "kasane-report." + params.get("format");
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      const url = link.href;
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      say(name + " を保存しました。");
    });
  }

  function start(token) {
    drawAll();
    filters(token);
    exports(token);
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
  } else {
    start(sessionStorage.getItem(KEY));
  }
})();
