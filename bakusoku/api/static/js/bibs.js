// Bib review, keyboard first: one photo of the race's "bib unknown" set at a time, large. Type the
// bib and Enter tags it and shows the next; Esc or "n" skips (the photo stays in the set for later);
// "x" says no bib is visible (it leaves the set). The field keeps the focus throughout.
import { api } from "./api.js";
import { announce } from "./ui.js";

const $ = (id) => document.getElementById(id);
const album = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");

const queue = []; // photos still to show, in the set's order
const seen = new Set(); // shown in this visit (skipped ones are not shown again until a reload)
let cursor = null;
let exhausted = false;
let current = null;
let done = 0;
let busy = false;

async function fill() {
  while (queue.length < 3 && !exhausted) {
    const page = await api.listUnknownBibs(album, { cursor, limit: 20 });
    for (const photo of page.items) if (!seen.has(photo.photo_id)) queue.push(photo);
    cursor = page.next_cursor;
    exhausted = !cursor;
  }
  const next = queue[0];
  if (next?.preview) new Image().src = next.preview.url; // the next photo is ready at once
}

async function showNext() {
  await fill();
  current = queue.shift() || null;
  const input = $("bib-input");
  input.value = "";
  $("bib-error").textContent = "";
  if (!current) {
    $("photo").hidden = true;
    $("stage-note").hidden = false;
    $("stage-note").textContent = done
      ? `All done: ${done} photo(s) reviewed. No photo of this race is waiting.`
      : "No photo of this race is waiting for a bib.";
    $("caption").textContent = "";
    $("readings").textContent = "";
    $("progress").textContent = `${done} reviewed`;
    announce($("stage-note").textContent);
    input.focus();
    return;
  }
  seen.add(current.photo_id);
  const img = $("photo");
  img.hidden = !current.preview;
  $("stage-note").hidden = Boolean(current.preview);
  $("stage-note").textContent = current.preview ? "" : "This photo has no preview.";
  if (current.preview) {
    img.src = current.preview.url;
    img.width = current.preview.width;
    img.height = current.preview.height;
    img.alt = "Photo " + (current.filename || current.photo_id);
  }
  img.dataset.photoId = current.photo_id;
  $("caption").textContent = current.filename || current.photo_id;
  const guesses = current.readings.map((r) => `${r.bib} (${Math.round(r.confidence * 100)} %)`);
  $("readings").textContent = guesses.length ? "Read, not sure: " + guesses.join(", ") : "";
  $("progress").textContent = `${done} reviewed · ${queue.length + 1}${exhausted ? "" : "+"} waiting`;
  input.focus();
}

async function send(body, said) {
  if (!current || busy) return;
  busy = true;
  try {
    await api.tagBibs(album, current.photo_id, body);
    done += 1;
    announce(said);
    await showNext();
  } catch (error) {
    $("bib-error").textContent = error.message;
    $("bib-input").select();
  } finally {
    busy = false;
  }
}

function tag() {
  const bibs = $("bib-input").value.split(/[\s,]+/).filter(Boolean);
  if (!bibs.length) {
    $("bib-error").textContent = "Type the bib number, or press x if no bib is visible.";
    return;
  }
  send({ bibs }, "Tagged " + bibs.join(", "));
}

function skip() {
  if (!current || busy) return;
  announce("Skipped");
  showNext();
}

function noBib() {
  send({ no_bib: true }, "Marked: no bib visible");
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const empty = $("bib-input").value === "";
  if (event.key === "Escape" || (empty && (event.key === "n" || event.key === "N"))) {
    event.preventDefault();
    skip();
  } else if (empty && (event.key === "x" || event.key === "X")) {
    event.preventDefault();
    noBib();
  } else if (event.key === "ArrowUp" && current?.readings.length) {
    event.preventDefault();
    $("bib-input").value = current.readings[0].bib;
  }
}

async function start() {
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    tag();
  });
  $("skip").addEventListener("click", skip);
  $("no-bib").addEventListener("click", noBib);
  document.addEventListener("keydown", onKey);
  try {
    const race = await api.getRace(album);
    $("title").textContent = "Bib review · " + race.name;
    document.title = race.name + " · bib review · bakusoku";
    await showNext();
  } catch (error) {
    $("stage-note").textContent = error.message;
    $("bib-error").textContent = error.message;
  }
}

start();
