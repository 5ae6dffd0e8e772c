// The live system map: GET /v1/graph every few seconds (operators: the admin token), the SVG the
// server draws, and a table of the measured edges. The map's layout and colours are the server's.

import { getApiKey, setApiKey } from "./api.js";
import { el } from "./ui.js";

const REFRESH_MS = 5000;
let timer = null;

function chosenWindow() {
  return document.querySelector("#window input:checked")?.value || "5m";
}

async function fetchMap(window) {
  let key = getApiKey();
  if (!key) {
    key = prompt("The system map is for operators: paste the admin token") || "";
    setApiKey(key);
  }
  const response = await fetch(`/v1/graph?window=${encodeURIComponent(window)}`, {
    headers: { Authorization: "Bearer " + key },
  });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) setApiKey("");
  if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
  return body;
}

function showLinks(links) {
  const box = document.getElementById("links");
  box.replaceChildren(
    ...Object.entries(links || {}).map(([name, url]) => el("a", { href: url, target: "_blank", rel: "noopener" }, name)),
  );
}

function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function showEdges(map) {
  const labels = Object.fromEntries(map.graph.nodes.map((n) => [n.id, n.label]));
  const rows = map.graph.edges
    .map((edge) => ({ edge, stats: map.stats[`${edge.source}->${edge.target}:${edge.kind}`] }))
    .filter(({ stats }) => stats && stats.count > 0)
    .map(({ edge, stats }) => {
      const level = stats.error_share >= map.red_from ? "failing" : stats.errors ? "degraded" : "";
      return el(
        "tr",
        { class: level || undefined, dataset: { edge: `${edge.source}->${edge.target}:${edge.kind}` } },
        el("td", {}, labels[edge.source]),
        el("td", {}, labels[edge.target]),
        el("td", {}, edge.kind.replace("_", " ")),
        el("td", { class: "num" }, stats.per_minute < 1 ? stats.per_minute.toFixed(2) : stats.per_minute.toFixed(1)),
        el("td", { class: "num" }, duration(stats.p50_ms)),
        el("td", { class: "num" }, `${stats.errors} (${Math.round(stats.error_share * 100)} %)`),
      );
    });
  document.querySelector("#edges tbody").replaceChildren(...rows);
}

async function refresh() {
  clearTimeout(timer);
  const error = document.getElementById("error");
  try {
    const map = await fetchMap(chosenWindow());
    document.getElementById("title").textContent = `System map · ${map.graph.title}`;
    document.getElementById("map").innerHTML = map.svg; // drawn by the server with escaped names
    showLinks(map.graph.links);
    showEdges(map);
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    error.hidden = true;
  } catch (failure) {
    error.hidden = false;
    error.textContent = `The map could not be loaded: ${failure.message}`;
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

document.getElementById("window").addEventListener("change", refresh);
refresh();
