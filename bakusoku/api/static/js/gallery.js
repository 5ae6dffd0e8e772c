// The gallery: one album (or all), newest first, live via server-sent events, pages on scroll.
import { api } from "./api.js";
import { shareAlbumChanged } from "./share.js";
import { announce, badge, el, formatBytes, imageKey, objectPath, thumbBox, timeAgo } from "./ui.js";

const PAGE_SIZE = 48;
const grid = document.getElementById("photos");
const albumInput = document.getElementById("album");
const moreButton = document.getElementById("load-more");
const liveLabel = document.getElementById("live");
const empty = document.getElementById("empty");

const state = {
  album: "",
  status: "",
  cursor: null,
  loading: false,
  generation: 0,
  cards: new Map(), // photo_id -> { photo, node }
  watcher: null,
  refreshed: new Map(), // photo_id -> time a fresh URL was asked for
  albums: new Set(),
};

function readLocation() {
  const params = new URLSearchParams(location.search);
  state.album = params.get("album") || "";
  state.status = params.get("status") || "";
  albumInput.value = state.album;
  for (const radio of document.querySelectorAll("#status input")) {
    radio.checked = radio.value === state.status;
  }
}

function writeLocation() {
  const params = new URLSearchParams();
  if (state.album) params.set("album", state.album);
  if (state.status) params.set("status", state.status);
  const search = params.toString();
  history.replaceState(null, "", search ? "?" + search : location.pathname);
  document.getElementById("title").textContent = state.album ? "Album " + state.album : "All photos";
  document.title = (state.album ? state.album : "Gallery") + " · bakusoku";
  shareAlbumChanged(state.album);
  document.getElementById("upload-link").href =
    "/upload" + (state.album ? "?album=" + encodeURIComponent(state.album) : "");
  for (const link of document.querySelectorAll("#albums a")) {
    link.setAttribute("aria-current", String(link.dataset.album === state.album));
  }
}

function matches(photo) {
  if (state.album && photo.album !== state.album) return false;
  return !state.status || state.status.split(",").includes(photo.status);
}

function card(photo) {
  const label = [photo.filename || "photo", photo.status, photo.error?.code].filter(Boolean);
  const caption = el(
    "div",
    { class: "caption" },
    el("div", { class: "fname", text: photo.filename || photo.photo_id.slice(0, 8) }),
    el("div", { class: "sub" }, formatBytes(photo.size), " · ", timeAgo(photo.created_at)),
    photo.error ? el("span", { class: "err code", text: photo.error.code }) : null,
  );
  const link = el(
    "a",
    { class: "open", href: "/photos/" + encodeURIComponent(photo.photo_id), "aria-label": label.join(", ") },
    thumbBox(photo, { onExpired: refreshPhoto }),
    badge(photo.status),
    caption,
  );
  return el("li", { class: "card", dataset: { id: photo.photo_id, status: photo.status } }, link);
}

function keepLoadedImage(oldNode, newNode) {
  const old = oldNode.querySelector("img.photo.loaded");
  const fresh = newNode.querySelector("img.photo");
  if (old && fresh && old.dataset.object === fresh.dataset.object) fresh.replaceWith(old);
}

function upsert(photo, { fromList = false } = {}) {
  const known = state.cards.get(photo.photo_id);
  if (!matches(photo)) {
    if (known && !fromList) {
      known.node.remove();
      state.cards.delete(photo.photo_id);
      updateEmpty();
    }
    return;
  }
  if (known) {
    if (known.photo.updated_at > photo.updated_at) return;
    const sameLook =
      known.photo.status === photo.status &&
      imageKey(known.photo) === imageKey(photo) &&
      (known.photo.placeholder || null) === (photo.placeholder || null);
    known.photo = photo;
    if (sameLook) return;
    const node = card(photo);
    keepLoadedImage(known.node, node);
    if (!fromList) node.classList.add("flash");
    known.node.replaceWith(node);
    known.node = node;
    return;
  }
  // A new photo: place it by created_at (newest first), unless it belongs to a later page.
  const node = card(photo);
  let before = null;
  for (const other of grid.children) {
    const otherPhoto = state.cards.get(other.dataset.id)?.photo;
    if (otherPhoto && newer(photo, otherPhoto)) {
      before = other;
      break;
    }
  }
  if (!before && state.cursor && !fromList) return; // older than what is shown: paging brings it
  if (!fromList) node.classList.add("flash");
  grid.insertBefore(node, before);
  state.cards.set(photo.photo_id, { photo, node });
  updateEmpty();
}

// The API's order: created_at, then photo_id, both descending.
function newer(a, b) {
  return a.created_at > b.created_at || (a.created_at === b.created_at && a.photo_id > b.photo_id);
}

function updateEmpty() {
  const none = state.cards.size === 0 && !state.loading;
  empty.hidden = !none;
  if (none) {
    empty.replaceChildren(
      state.status
        ? "No photos with this status."
        : "No photos here yet. ",
      state.status ? "" : el("a", { href: document.getElementById("upload-link").href, text: "Upload some" }),
    );
  }
}

async function loadPage() {
  if (state.loading) return;
  const generation = state.generation;
  state.loading = true;
  moreButton.disabled = true;
  try {
    const page = await api.listPhotos({
      album: state.album,
      status: state.status,
      cursor: state.cursor,
      limit: PAGE_SIZE,
    });
    if (generation !== state.generation) return;
    state.cursor = page.next_cursor;
    for (const photo of page.items) upsert(photo, { fromList: true });
  } catch (error) {
    if (generation === state.generation) {
      empty.hidden = false;
      empty.textContent = "Could not load photos: " + error.message;
    }
  } finally {
    if (generation === state.generation) {
      state.loading = false;
      moreButton.disabled = false;
      moreButton.hidden = !state.cursor;
      updateEmpty();
      if (state.cursor && sentinelVisible) queueMicrotask(loadPage);
    }
  }
}

let pendingNews = { ready: 0, failed: 0 };
let newsTimer = null;
function noteNews(photo) {
  if (photo.status !== "ready" && photo.status !== "failed") return;
  pendingNews[photo.status]++;
  if (newsTimer) return;
  newsTimer = setTimeout(() => {
    const parts = [];
    if (pendingNews.ready) parts.push(pendingNews.ready + " ready");
    if (pendingNews.failed) parts.push(pendingNews.failed + " failed");
    announce("Photos updated: " + parts.join(", "));
    pendingNews = { ready: 0, failed: 0 };
    newsTimer = null;
  }, 3000);
}

function onLivePhoto(photo) {
  const before = state.cards.get(photo.photo_id)?.photo.status;
  upsert(photo);
  if (before !== photo.status) noteNews(photo);
  if (!before) refreshAlbumsSoon();
}

let albumsTimer = null;
function refreshAlbumsSoon() {
  if (albumsTimer) return;
  albumsTimer = setTimeout(() => {
    albumsTimer = null;
    loadAlbums();
  }, 2000);
}

async function refreshPhoto(photoId) {
  const last = state.refreshed.get(photoId) || 0;
  if (Date.now() - last < 60000) return;
  state.refreshed.set(photoId, Date.now());
  try {
    const photo = await api.getPhoto(photoId);
    photo.updated_at = photo.updated_at || "";
    const known = state.cards.get(photoId);
    if (known) known.photo = { ...known.photo, renditions: {} }; // force a rebuild
    upsert(photo);
  } catch {
    /* the card keeps its placeholder */
  }
}

async function restart() {
  state.generation++;
  state.cursor = null;
  state.loading = false;
  state.cards.clear();
  grid.replaceChildren();
  writeLocation();
  state.watcher?.close();
  let resolveLive;
  const live = new Promise((resolve) => (resolveLive = resolve));
  state.watcher = api.watchPhotos({
    album: state.album,
    onPhoto: onLivePhoto,
    onState: (value) => {
      liveLabel.dataset.state = value;
      liveLabel.textContent = value === "live" ? "Live" : "Reconnecting…";
      resolveLive();
    },
  });
  // List once the event stream is open, so no change falls between the list and the stream.
  await Promise.race([live, new Promise((resolve) => setTimeout(resolve, 1500))]);
  await loadPage();
}

async function loadAlbums() {
  try {
    const { items } = await api.listAlbums();
    state.albums = new Set(items.map((item) => item.album));
    const list = document.getElementById("albums");
    const link = (album, text, count) =>
      el(
        "li",
        {},
        el(
          "a",
          {
            href: album ? "/?album=" + encodeURIComponent(album) : "/",
            dataset: { album },
            "aria-current": String(album === state.album),
            onclick: (event) => {
              event.preventDefault();
              albumInput.value = album;
              state.album = album;
              restart();
            },
          },
          text,
          count === undefined ? null : el("small", { text: String(count) }),
        ),
      );
    list.replaceChildren(
      link("", "All albums"),
      ...items.slice(0, 30).map((item) => link(item.album, item.album, item.count)),
    );
    document
      .getElementById("album-list")
      .replaceChildren(...items.map((item) => el("option", { value: item.album })));
  } catch {
    /* album shortcuts are optional */
  }
}

// ---- wiring --------------------------------------------------------------------------------

let sentinelVisible = false;
new IntersectionObserver(
  (entries) => {
    sentinelVisible = entries.some((entry) => entry.isIntersecting);
    if (sentinelVisible && state.cursor && !state.loading) loadPage();
  },
  { rootMargin: "600px" },
).observe(document.getElementById("more"));

moreButton.addEventListener("click", loadPage);
document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());
albumInput.addEventListener("change", () => {
  if (!albumInput.checkValidity()) {
    albumInput.setAttribute("aria-invalid", "true");
    return;
  }
  albumInput.removeAttribute("aria-invalid");
  state.album = albumInput.value.trim();
  restart();
});
for (const radio of document.querySelectorAll("#status input")) {
  radio.addEventListener("change", () => {
    state.status = radio.value;
    restart();
  });
}
window.addEventListener("popstate", () => {
  readLocation();
  restart();
});

readLocation();
loadAlbums();
restart();
