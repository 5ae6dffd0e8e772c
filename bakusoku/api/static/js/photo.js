// One photo: its full frame with the print trim, renditions, details, and the execution timeline.
import { api } from "./api.js";
import {
  announce,
  badge,
  el,
  formatBytes,
  formatDuration,
  formatTime,
  objectPath,
  photoPlaceholder,
  srcset,
} from "./ui.js";

const $ = (id) => document.getElementById(id);
const photoId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
let photo = null;
let execution = null;
let executionTimer = null;

// ---- the photo -------------------------------------------------------------------------------

function renderPhoto() {
  document.title = (photo.filename || "Photo") + " · bakusoku";
  $("title").textContent = photo.filename || photo.photo_id;
  $("status-badge").replaceChildren(badge(photo.status));
  $("back").href = "/?album=" + encodeURIComponent(photo.album);
  $("back").textContent = "← Album " + photo.album;
  $("subtitle").textContent = [
    photo.width && photo.height ? `${photo.width} × ${photo.height}` : null,
    formatBytes(photo.size),
    photo.taken_at ? "taken " + formatTime(photo.taken_at) : null,
  ]
    .filter(Boolean)
    .join(" · ");

  const errorBox = $("error");
  errorBox.hidden = !photo.error;
  if (photo.error) {
    errorBox.replaceChildren(
      el("strong", {}, "Failed: ", el("span", { class: "code", text: photo.error.code })),
      el("p", { text: photo.error.message }),
    );
  }
  renderStage();
  renderRenditions();
  renderMeta();
}

function renderStage() {
  const stage = $("stage");
  const preview = photo.renditions?.preview;
  const frameSet = photo.images?.frame;
  const shown = frameSet?.length ? frameSet[0].url : preview?.url;
  const current = stage.querySelector("img.full");
  if (shown && current && current.dataset.object === objectPath(shown)) return;
  const ph = photoPlaceholder(photo);
  if (!shown) {
    const note =
      photo.status === "failed"
        ? "No preview: this photo could not be processed."
        : photo.status === "ready"
          ? "This photo has no preview rendition."
          : "The preview appears here when processing ends.";
    stage.replaceChildren(
      ...[ph && el("img", { class: "ph", src: ph, alt: "", style: "position:absolute;inset:0;width:100%;height:100%;object-fit:cover;filter:blur(14px);opacity:.7" }),
      el("p", { class: "stage-note", text: note, style: "position:relative" })].filter(Boolean),
    );
    $("legend").textContent = "";
    return;
  }
  const img = el("img", {
    class: "full",
    alt: `Full frame of ${photo.filename || "the photo"}`,
    width: photo.width || preview.width,
    height: photo.height || preview.height,
  });
  img.dataset.object = objectPath(shown);
  if (frameSet?.length) {
    // The frame's width on this page: the stage's, or less where 72vh of height bounds it; the
    // browser multiplies by the device's pixel ratio and picks the candidate.
    const aspect = (photo.width || 1) / (photo.height || 1);
    const fits = Math.min(stage.clientWidth || 1200, window.innerHeight * 0.72 * aspect);
    img.sizes = `${Math.ceil(fits)}px`;
    img.srcset = srcset(frameSet);
  }
  img.src = shown;
  const frame = el("div", { class: "frame" }, ph ? el("img", { class: "ph", src: ph, alt: "" }) : null, img);
  const box = photo.crop_box;
  if (Array.isArray(box) && box.length === 4 && photo.width && photo.height) {
    const [left, top, right, bottom] = box;
    const pct = (value, whole) => ((value / whole) * 100).toFixed(3) + "%";
    frame.append(
      el(
        "div",
        {
          class: "crop",
          id: "crop-box",
          style: `left:${pct(left, photo.width)};top:${pct(top, photo.height)};width:${pct(right - left, photo.width)};height:${pct(bottom - top, photo.height)}`,
          "aria-hidden": "true",
        },
        el("span", { text: "print 89:127" }),
      ),
    );
    $("legend").textContent =
      `The white box is the print trim: ${right - left} × ${bottom - top} px of the ` +
      `${photo.width} × ${photo.height} frame, from (${left}, ${top}). Outside it is dimmed.`;
  } else {
    $("legend").textContent = "The full frame (no print trim recorded).";
  }
  stage.replaceChildren(frame);
}

function renderRenditions() {
  const entries = Object.entries(photo.renditions || {});
  if (!entries.length) {
    $("renditions").replaceChildren(el("p", { class: "hint", text: "None yet." }));
    return;
  }
  const order = { print: 0, preview: 1, thumb: 2 };
  entries.sort((a, b) => (order[a[0]] ?? 9) - (order[b[0]] ?? 9));
  $("renditions").replaceChildren(
    el(
      "table",
      { class: "renditions" },
      el("thead", {}, el("tr", {}, el("th", { text: "Name" }), el("th", { class: "num", text: "Size" }), el("th", { class: "num", text: "Bytes" }))),
      el(
        "tbody",
        {},
        entries.map(([name, r]) =>
          el(
            "tr",
            {},
            el("td", {}, el("a", { href: r.url, target: "_blank", rel: "noopener", text: name })),
            el("td", { class: "num", text: `${r.width} × ${r.height}` }),
            el("td", { class: "num", text: formatBytes(r.size) }),
          ),
        ),
      ),
    ),
  );
}

function renderMeta() {
  const rows = [
    ["Album", photo.album],
    ["File name", photo.filename],
    ["Type", photo.content_type],
    ["Size", photo.size != null ? `${formatBytes(photo.size)} (${photo.size.toLocaleString()} bytes)` : null],
    ["Dimensions", photo.width ? `${photo.width} × ${photo.height}` : null],
    ["Taken", photo.taken_at ? formatTime(photo.taken_at) : null],
    ["Uploaded", formatTime(photo.created_at)],
    ["Updated", formatTime(photo.updated_at)],
    ["SHA-256", photo.sha256],
    ["Object key", photo.key],
    ["Photo id", photo.photo_id],
  ];
  $("meta").replaceChildren(
    ...rows.flatMap(([term, value]) => [
      el("dt", { text: term }),
      el("dd", { class: term === "SHA-256" || term === "Object key" || term === "Photo id" ? "code" : null, text: value ?? "—" }),
    ]),
  );
}

// ---- the execution ------------------------------------------------------------------------------

const ms = (iso) => new Date(iso).getTime();

function causeText(cause) {
  if (!cause) return "";
  try {
    const parsed = JSON.parse(cause);
    return parsed.errorMessage || cause;
  } catch {
    return cause;
  }
}

/** States in the order they were entered, with their times, attempts and errors. */
export function buildTimeline(events, described) {
  const rows = [];
  const open = new Map();
  let depth = 0;
  let endedAt = described.stop_date ? ms(described.stop_date) : null;
  const close = (row, at, status) => {
    row.end = at;
    row.status = status;
    open.delete(row.name);
  };
  for (const event of events) {
    const at = ms(event.timestamp);
    const type = event.type;
    const details = event.details || {};
    const name = details.name || event.state_name;
    if (type.endsWith("StateEntered")) {
      const kind = type.slice(0, -"StateEntered".length);
      const row = { kind: "state", name, type: kind, start: at, end: null, depth, attempts: 0, errors: [], status: "running" };
      rows.push(row);
      open.set(name, row);
      if (kind === "Parallel" || kind === "Map") depth++;
      if (kind === "Fail") row.status = "failed";
    } else if (type.endsWith("StateExited")) {
      const row = open.get(name);
      if (!row) continue;
      if (row.type === "Parallel" || row.type === "Map") {
        depth = Math.max(0, depth - 1);
        for (const child of [...open.values()]) {
          if (child.depth > row.depth) close(child, at, child.errors.length ? "failed" : "cancelled");
        }
      }
      close(row, at, row.failed ? "failed" : "succeeded");
    } else if (/(Task|LambdaFunction)Scheduled$/.test(type)) {
      const row = open.get(event.state_name);
      if (row) row.attempts++;
    } else if (/(Task|LambdaFunction)(Failed|TimedOut|StartFailed|ScheduleFailed)$/.test(type)) {
      const row = open.get(event.state_name);
      if (row) row.errors.push({ error: details.error || type, cause: causeText(details.cause), at });
    } else if (/^(Parallel|Map)StateFailed$/.test(type)) {
      const row = open.get(event.state_name);
      if (row) row.failed = true;
    } else if (type === "ExecutionRedriven") {
      rows.push({ kind: "marker", text: `Re-driven (${details.redriveCount || 1})`, start: at });
      endedAt = described.stop_date ? ms(described.stop_date) : null;
    } else if (/^Execution(Failed|TimedOut|Aborted|Succeeded)$/.test(type)) {
      for (const row of [...open.values()]) {
        close(row, at, type === "ExecutionSucceeded" ? "succeeded" : row.errors.length || row.type === "Fail" ? "failed" : "cancelled");
      }
    }
  }
  const now = Date.now();
  for (const row of open.values()) {
    row.end = endedAt ?? now;
    if (endedAt) row.status = row.errors.length || row.type === "Fail" ? "failed" : "cancelled";
  }
  return rows;
}

function renderExecution() {
  const list = $("timeline");
  if (!execution) return;
  const { execution: described, events } = execution;
  const rows = buildTimeline(events, described);
  const t0 = ms(described.start_date);
  const t1 = described.stop_date && described.status !== "RUNNING" ? ms(described.stop_date) : Date.now();
  const span = Math.max(1, t1 - t0, ...rows.map((r) => (r.end || r.start) - t0));
  const total = formatDuration((t1 - t0) / 1000);
  $("exec-summary").replaceChildren(
    el("span", { class: "badge " + ({ SUCCEEDED: "ready", FAILED: "failed", RUNNING: "processing" }[described.status] || "pending"), text: described.status.toLowerCase().replace("_", " ") }),
    ` ${total} in all`,
    described.redrive_count ? ` · re-driven ${described.redrive_count}×` : "",
    described.error ? el("span", {}, " · ", el("span", { class: "code", text: described.error })) : "",
  );
  list.replaceChildren(
    ...rows.map((row) => {
      if (row.kind === "marker") return el("li", { class: "marker", text: row.text + " at " + formatTime(new Date(row.start).toISOString()) });
      const duration = (row.end - row.start) / 1000;
      const retries = Math.max(0, row.attempts - 1);
      const left = ((row.start - t0) / span) * 100;
      const width = Math.max(0.6, ((row.end - row.start) / span) * 100);
      const label = `${row.name}: ${row.status}, ${formatDuration(duration)}` + (retries ? `, ${retries} ${retries === 1 ? "retry" : "retries"}` : "");
      const notes = [];
      if (retries) notes.push(el("div", { class: "note retry", text: `${retries} ${retries === 1 ? "retry" : "retries"}` }));
      for (const error of row.errors.slice(-3)) {
        notes.push(el("div", { class: "note" }, el("span", { class: "code", text: error.error }), error.cause ? " — " + error.cause : ""));
      }
      return el(
        "li",
        { class: [row.status, row.depth ? "nested" : ""].join(" "), dataset: { state: row.name, status: row.status }, "aria-label": label },
        el("span", { class: "sname", title: row.type + " state", text: row.name }),
        el("span", { class: "track", "aria-hidden": "true" }, el("span", { class: "seg", style: `left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%` })),
        el("span", { class: "dur", text: row.status === "running" ? "running" : formatDuration(duration) }),
        ...notes,
      );
    }),
  );
  const redrivable = ["FAILED", "TIMED_OUT", "ABORTED"].includes(described.status);
  $("redrive").hidden = !redrivable;
  $("redrive").disabled = false;
  clearTimeout(executionTimer);
  if (described.status === "RUNNING") executionTimer = setTimeout(loadExecution, 800);
}

async function loadExecution() {
  try {
    execution = await api.getExecution(photoId);
    renderExecution();
  } catch (error) {
    $("timeline").replaceChildren();
    $("redrive").hidden = true;
    $("exec-summary").textContent =
      error.code === "execution.not_found"
        ? "Processing starts once the upload is stored."
        : "Could not load the execution: " + error.message;
  }
}

async function redrive() {
  const button = $("redrive");
  if (!execution) return;
  button.disabled = true;
  $("redrive-status").textContent = "Re-driving…";
  try {
    const result = await api.redrive(execution.execution.name);
    $("redrive-status").textContent =
      result.action === "reprocessed"
        ? `Reprocessing the photo as execution ${result.name}.`
        : `Re-driven: the execution is ${result.status.toLowerCase()} (re-drive ${result.redrive_count}).`;
    announce(result.action === "reprocessed" ? "Photo reprocessing" : "Execution re-driven");
    await loadExecution();
  } catch (error) {
    $("redrive-status").textContent = `Could not re-drive: ${error.code}: ${error.message}`;
    button.disabled = false;
  }
}

// ---- start ------------------------------------------------------------------------------------

async function start() {
  try {
    photo = await api.getPhoto(photoId);
  } catch (error) {
    $("title").textContent = error.status === 404 ? "No such photo" : "Could not load the photo";
    $("stage").replaceChildren(el("p", { class: "stage-note", text: error.message }));
    return;
  }
  renderPhoto();
  await loadExecution();
  api.watchPhotos({
    album: photo.album,
    onPhoto: (changed) => {
      if (changed.photo_id !== photoId || changed.updated_at < photo.updated_at) return;
      const statusChanged = changed.status !== photo.status;
      photo = changed;
      renderPhoto();
      if (statusChanged) announce("Status: " + photo.status);
      loadExecution();
    },
  });
}

$("redrive").addEventListener("click", redrive);
start();
