// Small helpers shared by the pages: element building, formatting, photo cards.
import { placeholderURL } from "./thumbhash.js";

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return (unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)) + " " + units[unit];
}

export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  if (seconds < 1) return Math.max(1, Math.round(seconds * 1000)) + " ms";
  if (seconds < 60) return (seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)) + " s";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return minutes + " min " + Math.round(seconds % 60) + " s";
  return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
export function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : timeFormat.format(date);
}

export function timeAgo(iso) {
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 45) return "just now";
  if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
  if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
  return formatTime(iso);
}

export const STATUS_LABELS = {
  pending: "uploading",
  processing: "processing",
  ready: "ready",
  failed: "failed",
};

export function badge(status) {
  return el("span", { class: "badge " + status, text: STATUS_LABELS[status] || status });
}

/** The stable part of a signed URL: the same object keeps its loaded image across refreshes. */
export function objectPath(url) {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/** A srcset attribute from the API's candidates ({width, url}). */
export function srcset(candidates) {
  return candidates.map((c) => `${c.url} ${c.width}w`).join(", ");
}

/** What a photo's card shows: the same key keeps its loaded image across refreshes. */
export function imageKey(photo) {
  const first = photo.images?.grid?.[0]?.url || photo.renditions?.preview?.url || "";
  return objectPath(first);
}

/** The placeholder of a photo (ThumbHash), wherever the API puts it; null when there is none. */
export function photoPlaceholder(photo) {
  return placeholderURL(photo.placeholder || null);
}

/**
 * A thumbnail box: the blurred placeholder (or a neutral tint) until the image has loaded.
 * onExpired is called when a signed URL stops working, to fetch a fresh one.
 */
export function thumbBox(photo, { onExpired } = {}) {
  const box = el("div", { class: "thumb" });
  const ph = photoPlaceholder(photo);
  if (ph) box.append(el("img", { class: "ph", src: ph, alt: "", "aria-hidden": "true" }));
  const grid = photo.images?.grid;
  const fallback = photo.renditions?.preview;
  if (photo.status === "failed") {
    box.append(el("div", { class: "failed-art", "aria-hidden": "true", text: "!" }));
  } else if (grid?.length || fallback) {
    const img = el("img", {
      class: "photo",
      alt: photo.filename || "photo",
      decoding: "async",
      loading: "lazy",
      width: grid?.length ? grid[0].width : fallback.width,
      height: grid?.length ? grid[0].width : fallback.height,
    });
    img.addEventListener("load", () => img.classList.add("loaded"), { once: true });
    img.addEventListener("error", () => onExpired?.(photo.photo_id), { once: true });
    if (grid?.length) {
      // Square cells 170-340 CSS px wide: the browser picks the width the cell needs at the
      // device's pixel ratio ("auto": the laid-out width, for lazy images).
      img.sizes = "auto, (max-width: 560px) 50vw, 340px";
      img.srcset = srcset(grid);
      img.src = grid[0].url;
    } else {
      img.src = fallback.url;
    }
    img.dataset.object = imageKey(photo);
    box.append(img);
  } else {
    box.append(el("div", { class: "shimmer", "aria-hidden": "true" }));
  }
  return box;
}

export function announce(message) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  requestAnimationFrame(() => (region.textContent = message));
}
