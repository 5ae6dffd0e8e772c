// The upload page: files and folders are checked, presigned one by one by the API and sent
// straight to the object store, `concurrency` at a time, with per-file and overall progress.
import { api, putToStore } from "./api.js";
import { announce, el, formatBytes, formatDuration } from "./ui.js";

const TYPES_BY_EXTENSION = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  jpe: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heic",
};
const AUTO_RETRIES = 2; // network errors and server hiccups, before a person is asked
const ALBUM_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const $ = (id) => document.getElementById(id);
const albumInput = $("album");
const concurrencyInput = $("concurrency");
const queueList = $("queue");

let policy = {
  max_upload_bytes: 20 * 1024 * 1024,
  content_types: ["image/jpeg", "image/png", "image/webp", "image/heic"],
  presign_expiry_seconds: 900,
};

const items = []; // every accepted file, in queue order
const waiting = []; // items to start, in order (retries go to the front)
const active = new Set();
const dirty = new Set();
const counts = { done: 0, failed: 0, cancelled: 0 };
let totalBytes = 0;
let doneBytes = 0;
let paused = false;
let nextId = 1;
const samples = []; // [time ms, bytes sent] for speed
let startedAt = null;
let finishedIn = 0;

// ---- accepting files ---------------------------------------------------------------------------

function contentType(file) {
  const ext = (file.name.split(".").pop() || "").toLowerCase();
  const byName = TYPES_BY_EXTENSION[ext];
  if (policy.content_types.includes(file.type)) return file.type;
  if (file.type === "image/heif") return "image/heic";
  if ((!file.type || file.type === "application/octet-stream") && byName) return byName;
  return null;
}

function refusal(file) {
  const type = contentType(file);
  if (!type) {
    const what = file.type || "." + (file.name.split(".").pop() || "?");
    return `not a photo type we take (${what}); use JPEG, PNG, WebP or HEIC`;
  }
  if (file.size === 0) return "the file is empty (0 bytes)";
  if (file.size > policy.max_upload_bytes) {
    return `${formatBytes(file.size)} is over the ${formatBytes(policy.max_upload_bytes)} limit`;
  }
  return null;
}

function addFiles(files) {
  if (!checkAlbum()) {
    albumInput.focus();
    return;
  }
  const refused = [];
  let hidden = 0;
  const fragment = document.createDocumentFragment();
  const album = albumInput.value.trim();
  for (const { file, path } of files) {
    if (file.name.startsWith(".") || file.name === "Thumbs.db" || file.name === "desktop.ini") {
      hidden++;
      continue;
    }
    const reason = refusal(file);
    if (reason) {
      refused.push({ name: path || file.name, reason });
      continue;
    }
    const item = {
      id: nextId++,
      file,
      name: path || file.name,
      type: contentType(file),
      album,
      state: "queued",
      loaded: 0,
      attempts: 0,
      grant: null,
      photoId: null,
      error: null,
      note: "",
      node: null,
    };
    item.node = row(item);
    fragment.append(item.node);
    items.push(item);
    waiting.push(item);
    totalBytes += file.size;
  }
  queueList.append(fragment);
  showRefused(refused, hidden);
  if (items.length) {
    $("queue-section").hidden = false;
    $("overall").hidden = false;
    $("finished").textContent = "";
  }
  const accepted = files.length - refused.length - hidden;
  announce(
    `${accepted} ${accepted === 1 ? "file" : "files"} added` +
      (refused.length ? `, ${refused.length} refused` : ""),
  );
  scheduleRender();
  pump();
}

function showRefused(refused, hidden) {
  const box = $("refused");
  if (!refused.length) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.replaceChildren(
    el(
      "strong",
      {},
      `${refused.length} ${refused.length === 1 ? "file was" : "files were"} not uploaded`,
      hidden ? ` (and ${hidden} hidden system files skipped)` : "",
      ":",
    ),
    el(
      "ul",
      {},
      refused.slice(0, 200).map((r) => el("li", {}, el("b", { text: r.name }), " — ", r.reason)),
    ),
  );
}

// ---- folders -----------------------------------------------------------------------------------

async function filesFromDrop(dataTransfer) {
  const entries = [];
  for (const item of dataTransfer.items || []) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry) entries.push(entry);
  }
  if (!entries.length) return [...dataTransfer.files].map((file) => ({ file, path: file.name }));
  const out = [];
  for (const entry of entries) await walk(entry, out);
  return out;
}

async function walk(entry, out) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject)).catch(() => null);
    if (file) out.push({ file, path: entry.fullPath.replace(/^\//, "") });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = entry.createReader();
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject)).catch(
      () => [],
    );
    if (!batch.length) break;
    for (const child of batch) await walk(child, out);
  }
}

// ---- the queue ---------------------------------------------------------------------------------

function concurrency() {
  const value = Number.parseInt(concurrencyInput.value, 10);
  return Number.isFinite(value) ? Math.min(16, Math.max(1, value)) : 6;
}

function pump() {
  while (!paused && active.size < concurrency() && waiting.length) {
    const item = waiting.shift();
    if (item.state !== "queued") continue;
    upload(item);
  }
  if (!startedAt && active.size) startedAt = performance.now();
}

function setState(item, state, note = "") {
  item.state = state;
  item.note = note;
  dirty.add(item);
  scheduleRender();
}

function grantUsable(grant) {
  return grant && new Date(grant.expires_at).getTime() - Date.now() > 30000;
}

async function upload(item) {
  active.add(item);
  item.controller = new AbortController();
  item.attempts++;
  try {
    if (!grantUsable(item.grant)) {
      setState(item, "presigning", item.grant ? "getting a fresh upload link" : "");
      item.grant = await api.createUpload(
        { filename: item.file.name, content_type: item.type, size: item.file.size, album: item.album },
        item.controller.signal,
      );
      item.photoId = item.grant.photo_id;
    }
    setState(item, "uploading");
    try {
      await putToStore(item.grant, item.file, {
        signal: item.controller.signal,
        onProgress: (loaded) => {
          item.loaded = Math.min(loaded, item.file.size);
          dirty.add(item);
          scheduleRender();
        },
      });
    } catch (error) {
      // Sent before, its answer lost: the store keeps the first copy (If-None-Match: *).
      if (error.code === "PreconditionFailed") return finish(item);
      throw error;
    }
    finish(item);
  } catch (error) {
    item.loaded = 0;
    if (item.state === "cancelled" || error.code === "aborted" || error.name === "AbortError") {
      return;
    }
    const expired = error.status === 403 && /expired/i.test(error.message || "");
    if (expired) item.grant = null;
    const transient = expired || error.status === 0 || error.status >= 500 || error.status === 429;
    item.error = error;
    if (transient && item.attempts <= AUTO_RETRIES) {
      setState(item, "queued", expired ? "link expired: retrying with a fresh one" : "retrying");
      const delay = expired ? 0 : 500 * 2 ** (item.attempts - 1);
      setTimeout(() => {
        waiting.unshift(item);
        pump();
      }, delay);
      return;
    }
    counts.failed++;
    setState(item, "failed", describeError(error));
  } finally {
    active.delete(item);
    pump();
    scheduleRender();
  }
}

function finish(item) {
  item.loaded = item.file.size;
  doneBytes += item.file.size;
  counts.done++;
  item.error = null;
  setState(item, "done");
}

function describeError(error) {
  const code = error.code && !String(error.code).startsWith("http_") ? error.code + ": " : "";
  return code + (error.message || "upload failed");
}

function retry(item) {
  if (item.state !== "failed") return;
  counts.failed--;
  item.attempts = 0;
  if (!grantUsable(item.grant)) item.grant = null; // the old link expired: ask for a fresh one
  setState(item, "queued", "waiting to retry");
  waiting.unshift(item);
  pump();
}

function cancel(item) {
  if (item.state === "done" || item.state === "cancelled") return;
  if (item.state === "failed") counts.failed--;
  totalBytes -= item.file.size;
  counts.cancelled++;
  setState(item, "cancelled");
  item.controller?.abort();
}

// ---- rendering ---------------------------------------------------------------------------------

const STATE_TEXT = {
  queued: "Waiting",
  presigning: "Starting",
  uploading: "Uploading",
  done: "Uploaded",
  failed: "Failed",
  cancelled: "Cancelled",
};

function row(item) {
  const bar = el("div", {
    class: "bar",
    role: "progressbar",
    "aria-label": "Upload of " + item.name,
    "aria-valuemin": "0",
    "aria-valuemax": "100",
    "aria-valuenow": "0",
  }, el("span"));
  const node = el(
    "li",
    { dataset: { state: item.state, id: String(item.id) } },
    el("div", {}, el("div", { class: "name", title: item.name, text: item.name }),
      el("div", { class: "meta" }, formatBytes(item.file.size))),
    el("div", { class: "state" }, el("span", { class: "text", text: STATE_TEXT.queued }), el("span", { class: "ops" })),
    bar,
  );
  item.parts = {
    bar,
    fill: bar.firstChild,
    meta: node.querySelector(".meta"),
    text: node.querySelector(".state .text"),
    ops: node.querySelector(".ops"),
  };
  return node;
}

function renderItem(item) {
  const { bar, fill, meta, text, ops } = item.parts;
  const percent = item.file.size ? Math.floor((item.loaded / item.file.size) * 100) : 0;
  item.node.dataset.state = item.state;
  fill.style.width = (item.state === "done" ? 100 : percent) + "%";
  bar.setAttribute("aria-valuenow", String(item.state === "done" ? 100 : percent));
  bar.classList.toggle("done", item.state === "done");
  bar.classList.toggle("error", item.state === "failed");
  const size = formatBytes(item.file.size);
  meta.textContent =
    item.state === "uploading" ? `${formatBytes(item.loaded)} of ${size} · ${percent}%` :
    item.state === "failed" || item.note ? `${size} · ${item.note}` : size;
  text.textContent = STATE_TEXT[item.state];
  const wanted = item.state === "failed" ? "retry" : item.state === "done" ? "view" :
    item.state === "cancelled" ? "" : "cancel";
  if (ops.dataset.kind !== wanted) {
    ops.dataset.kind = wanted;
    ops.replaceChildren();
    if (wanted === "retry") {
      ops.append(el("button", { type: "button", class: "small", "aria-label": "Retry " + item.name, onclick: () => retry(item), text: "Retry" }));
    } else if (wanted === "cancel") {
      ops.append(el("button", { type: "button", class: "small", "aria-label": "Cancel " + item.name, onclick: () => cancel(item), text: "Cancel" }));
    } else if (wanted === "view" && item.photoId) {
      ops.append(el("a", { href: "/photos/" + item.photoId, "aria-label": "View " + item.name, text: "View" }));
    }
  }
}

let renderQueued = false;
let lastStats = 0;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
}

function sentBytes() {
  let sent = doneBytes;
  for (const item of active) if (item.state === "uploading") sent += item.loaded;
  return sent;
}

function render(now) {
  renderQueued = false;
  for (const item of dirty) renderItem(item);
  dirty.clear();
  const busy = active.size > 0 || (waiting.length > 0 && !paused);
  if (now - lastStats > 250 || !busy) {
    lastStats = now;
    renderStats(now);
  }
  if (busy) scheduleRender();
}

function renderStats(now) {
  const sent = sentBytes();
  samples.push([now, sent]);
  while (samples.length > 2 && now - samples[0][0] > 3000) samples.shift();
  const [t0, b0] = samples[0];
  const speed = now - t0 > 300 ? ((sent - b0) / (now - t0)) * 1000 : null;
  const files = items.length - counts.cancelled;
  const percent = totalBytes ? Math.floor((sent / totalBytes) * 100) : 0;
  const allDone = files > 0 && counts.done === files;
  const shown = allDone ? 100 : Math.min(percent, 99);
  $("overall-percent").textContent = shown + "%";
  $("overall-bar").firstElementChild.style.width = shown + "%";
  $("overall-bar").setAttribute("aria-valuenow", String(shown));
  $("overall-bar").classList.toggle("done", allDone);
  $("stat-files").textContent = `${counts.done} of ${files}`;
  $("stat-bytes").textContent = `${formatBytes(sent)} of ${formatBytes(totalBytes)}`;
  const moving = active.size > 0;
  if (moving && speed) $("stat-speed").textContent = formatBytes(speed) + "/s";
  else if (allDone && finishedIn) $("stat-speed").textContent = formatBytes(totalBytes / finishedIn) + "/s average";
  else $("stat-speed").textContent = "—";
  $("stat-eta").textContent =
    moving && speed > 0 ? formatDuration((totalBytes - sent) / speed) : allDone ? "nothing" : "—";
  $("stat-failed").hidden = counts.failed === 0;
  $("stat-failed").firstElementChild.textContent = String(counts.failed);
  $("queue-count").textContent = `${items.length} in this session · ${waiting.length} waiting`;
  const finishedLine = $("finished");
  const settled = files > 0 && active.size === 0 && waiting.length === 0;
  if (settled && !finishedLine.dataset.announced) {
    finishedLine.dataset.announced = "1";
    finishedIn = startedAt ? (now - startedAt) / 1000 : 0;
    const took = finishedIn ? formatDuration(finishedIn) : "";
    if (finishedIn && !counts.failed) {
      $("stat-speed").textContent = formatBytes(totalBytes / finishedIn) + "/s average";
    }
    const album = albumInput.value.trim();
    finishedLine.replaceChildren(
      counts.failed
        ? `${counts.done} uploaded, ${counts.failed} failed: use Retry on each failed file. `
        : `All ${counts.done} uploaded${took ? " in " + took : ""}. `,
      el("a", { href: "/?album=" + encodeURIComponent(album), text: `See album ${album}` }),
    );
    startedAt = null;
  } else if (!settled) {
    delete finishedLine.dataset.announced;
  }
}

// ---- page wiring -------------------------------------------------------------------------------

function checkAlbum() {
  const value = albumInput.value.trim();
  const ok = ALBUM_PATTERN.test(value);
  albumInput.setAttribute("aria-invalid", String(!ok));
  $("album-error").textContent = ok
    ? ""
    : "Name the album first: 1–64 letters, digits, “-” or “_”, starting with a letter or digit.";
  if (ok) {
    localStorage.setItem("bakusoku.album", value);
    $("gallery-link").href = "/?album=" + encodeURIComponent(value);
  }
  return ok;
}

function defaultAlbum() {
  const fromUrl = new URLSearchParams(location.search).get("album");
  if (fromUrl) return fromUrl;
  const saved = localStorage.getItem("bakusoku.album");
  if (saved) return saved;
  return "uploads-" + new Date().toISOString().slice(0, 10);
}

const drop = $("drop");
let dragDepth = 0;
document.addEventListener("dragenter", (event) => {
  if (![...(event.dataTransfer?.types || [])].includes("Files")) return;
  dragDepth++;
  drop.classList.add("over");
});
document.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) drop.classList.remove("over");
});
document.addEventListener("dragover", (event) => {
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
});
document.addEventListener("drop", async (event) => {
  event.preventDefault();
  dragDepth = 0;
  drop.classList.remove("over");
  if (!event.dataTransfer) return;
  addFiles(await filesFromDrop(event.dataTransfer));
});

$("pick-files").addEventListener("click", () => $("files").click());
$("pick-folder").addEventListener("click", () => $("folder").click());
for (const input of [$("files"), $("folder")]) {
  input.addEventListener("change", () => {
    addFiles([...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    input.value = "";
  });
}
$("pause").addEventListener("click", (event) => {
  paused = !paused;
  event.currentTarget.setAttribute("aria-pressed", String(paused));
  event.currentTarget.textContent = paused ? "Resume" : "Pause";
  announce(paused ? "Paused: uploads in flight finish, no new ones start" : "Resumed");
  pump();
  scheduleRender();
});
$("cancel-all").addEventListener("click", () => {
  for (const item of items) if (item.state !== "done") cancel(item);
  waiting.length = 0;
  scheduleRender();
});
$("clear-done").addEventListener("click", () => {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item.state === "done" || item.state === "cancelled") {
      if (item.state === "done") {
        doneBytes -= item.file.size;
        totalBytes -= item.file.size;
        counts.done--;
      } else {
        counts.cancelled--;
      }
      item.node.remove();
      items.splice(i, 1);
    }
  }
  if (!items.length) {
    $("queue-section").hidden = true;
    $("overall").hidden = true;
  }
  scheduleRender();
});
albumInput.addEventListener("change", checkAlbum);
concurrencyInput.addEventListener("change", () => {
  concurrencyInput.value = String(concurrency());
  pump();
});
window.addEventListener("beforeunload", (event) => {
  if (active.size || waiting.length) event.preventDefault();
});

albumInput.value = defaultAlbum();
checkAlbum();
api
  .uploadPolicy()
  .then((value) => {
    policy = value;
    $("max-size").textContent = formatBytes(policy.max_upload_bytes);
  })
  .catch(() => {});
// For tests and scripts: the page's state, read-only.
window.bakusokuUploads = { items, counts, active, waiting, isPaused: () => paused };
