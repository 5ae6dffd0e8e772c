// The parents' page: an album code opens a session (an HttpOnly cookie the page never sees); the
// album is shown as watermarked previews only; photos of the child search the album. Reference
// photos stay in this page's memory and are sent to the API, which holds them for the session
// only; if the API says it no longer has them (another server answered), they are sent again.

const API = "/v1/parent";
const $ = (id) => document.getElementById(id);
const MAX_EDGE = 1600; // a reference photo is shrunk on the phone before it is sent

const state = { session: null, cursor: null, refs: [], results: [], searching: false };

const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(sentence(error.message || `The server answered ${status}`));
    this.status = status;
    this.code = error.code || "";
  }
}

async function call(method, path, { json, body, type } = {}) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
    init.headers["Content-Type"] = type || "application/octet-stream";
  }
  const response = await fetch(API + path, init);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function show(section) {
  $("enter").hidden = section !== "enter";
  $("album").hidden = section !== "album";
  $("leave").hidden = section !== "album";
}

function sessionLost(error) {
  if (error instanceof ApiError && error.status === 401) {
    state.session = null;
    $("album-name").textContent = "Photos";
    $("code-error").textContent = "Your visit has ended: type the album code again.";
    show("enter");
    return true;
  }
  return false;
}

// ---- entering a code ---------------------------------------------------------------------------

async function openAlbum(event) {
  event.preventDefault();
  const input = $("code");
  const code = input.value.trim();
  if (code.replace(/[\s-]/g, "").length < 12) {
    input.setAttribute("aria-invalid", "true");
    $("code-error").textContent = "The code has 12 letters and digits, e.g. ABCD-EFGH-JKMN.";
    return;
  }
  $("open").disabled = true;
  try {
    state.session = await call("POST", "/session", { json: { code } });
    input.value = "";
    input.removeAttribute("aria-invalid");
    $("code-error").textContent = "";
    enterAlbum();
  } catch (error) {
    input.setAttribute("aria-invalid", "true");
    $("code-error").textContent = error.message;
  } finally {
    $("open").disabled = false;
  }
}

function enterAlbum() {
  $("album-name").textContent = state.session.album;
  document.title = `${state.session.album} · bakusoku`;
  show("album");
  $("photos").replaceChildren();
  state.cursor = null;
  loadPhotos();
  renderRefs();
}

async function leave() {
  try {
    await call("DELETE", "/session");
  } catch (error) {
    if (!sessionLost(error)) throw error;
  }
  state.refs.forEach((r) => URL.revokeObjectURL(r.url));
  Object.assign(state, { session: null, refs: [], results: [], cursor: null });
  $("results").replaceChildren();
  $("search-status").textContent = "";
  $("album-name").textContent = "Photos";
  show("enter");
}

// ---- the album ---------------------------------------------------------------------------------

function picture(src, alt) {
  const img = document.createElement("img");
  img.src = src;
  img.alt = alt;
  img.loading = "lazy";
  img.decoding = "async";
  return img;
}

function openViewer(item) {
  $("viewer-img").src = item.proof;
  $("viewer").showModal();
}

async function loadPhotos() {
  try {
    const query = state.cursor ? `?cursor=${encodeURIComponent(state.cursor)}` : "";
    const page = await call("GET", "/photos" + query);
    for (const item of page.items) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("aria-label", "Show larger");
      button.append(picture(item.thumb, "Photo from the album"));
      button.addEventListener("click", () => openViewer(item));
      li.append(button);
      $("photos").append(li);
    }
    state.cursor = page.next_cursor;
    $("more").hidden = !page.next_cursor;
  } catch (error) {
    if (!sessionLost(error)) $("fatal").textContent = error.message;
  }
}

// ---- reference photos and the search ------------------------------------------------------------

async function shrink(file) {
  // A phone's photo is several megabytes; a face needs far fewer pixels. HEIC that the browser
  // cannot decode is sent as it is.
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return await new Promise((resolve) => canvas.toBlob((b) => resolve(b || file), "image/jpeg", 0.9));
  } catch {
    return file;
  }
}

function renderRefs() {
  const max = (state.session && state.session.max_references) || 3;
  $("refs").replaceChildren(...state.refs.map((r, i) => picture(r.url, `Your photo ${i + 1}`)));
  $("add-ref-label").hidden = state.refs.length >= max;
  $("add-ref-label").textContent = state.refs.length
    ? "Add another photo of your child"
    : "Add a photo of your child";
  $("clear-refs").hidden = state.refs.length === 0;
}

async function sendRefs() {
  await call("DELETE", "/references");
  for (const ref of state.refs) {
    state.session = await call("POST", "/references", { body: ref.blob, type: ref.blob.type || "image/jpeg" });
  }
}

async function addRef(event) {
  const file = event.target.files && event.target.files[0];
  event.target.value = "";
  if (!file) return;
  $("search-status").textContent = "Preparing your photo…";
  const blob = await shrink(file);
  try {
    state.session = await call("POST", "/references", { body: blob, type: blob.type || "image/jpeg" });
    state.refs.push({ blob, url: URL.createObjectURL(blob) });
    renderRefs();
    await search();
  } catch (error) {
    if (error.code === "parent.references_missing") {
      state.refs.push({ blob, url: URL.createObjectURL(blob) });
      await sendRefs();
      renderRefs();
      await search();
    } else if (!sessionLost(error)) {
      $("search-status").textContent = error.message;
    }
  }
}

async function clearRefs() {
  try {
    await call("DELETE", "/references");
  } catch (error) {
    if (sessionLost(error)) return;
  }
  state.refs.forEach((r) => URL.revokeObjectURL(r.url));
  state.refs = [];
  state.results = [];
  $("results").replaceChildren();
  $("search-status").textContent = "";
  renderRefs();
}

async function search(retried = false) {
  if (!state.refs.length) return;
  $("search-status").textContent = "Looking for your child…";
  try {
    const found = await call("POST", "/search", { json: { references: state.refs.length } });
    state.results = found.matches;
    renderResults(found);
  } catch (error) {
    if (error.code === "parent.references_missing" && !retried) {
      await sendRefs();
      return search(true);
    }
    if (!sessionLost(error)) $("search-status").textContent = error.message;
  }
}

function renderResults(found) {
  const items = found.matches.map((match) => {
    const li = document.createElement("li");
    li.className = "result";
    li.dataset.photo = match.photo_id;
    li.dataset.face = match.face_id;
    li.dataset.verdict = match.verdict || "none";
    const open = document.createElement("button");
    open.type = "button";
    open.className = "quiet";
    open.style.padding = "0";
    open.append(picture(match.thumb, "A photo that may show your child"));
    open.addEventListener("click", () => openViewer(match));
    const text = document.createElement("div");
    const confidence = document.createElement("p");
    confidence.className = "confidence";
    const verdictText = { confirmed: " · you said yes", rejected: " · you said no" }[match.verdict] || "";
    confidence.textContent = `${Math.round(match.confidence * 100)}% sure${verdictText}`;
    const actions = document.createElement("div");
    actions.className = "actions";
    const yes = document.createElement("button");
    yes.type = "button";
    yes.className = "yes";
    yes.textContent = "My child";
    yes.addEventListener("click", () => judge(match, match.verdict === "confirmed" ? "none" : "confirmed"));
    const no = document.createElement("button");
    no.type = "button";
    no.className = "no";
    no.textContent = "Not my child";
    no.addEventListener("click", () => judge(match, match.verdict === "rejected" ? "none" : "rejected"));
    actions.append(yes, no);
    text.append(confidence, actions);
    li.append(open, text);
    return li;
  });
  $("results").replaceChildren(...items);
  const n = found.matches.length;
  $("search-status").dataset.took = String(found.took_ms);
  $("search-status").textContent = n
    ? `${n} photo${n === 1 ? "" : "s"} may show your child, best first. Tell us which are right to find more.`
    : "No photo of this album seems to show your child yet. Try another photo of their face.";
}

async function judge(match, verdict) {
  try {
    state.session = await call("PUT", `/faces/${encodeURIComponent(match.face_id)}`, { json: { verdict } });
    await search();
  } catch (error) {
    if (!sessionLost(error)) $("search-status").textContent = error.message;
  }
}

// ---- start ------------------------------------------------------------------------------------

async function start() {
  $("code-form").addEventListener("submit", openAlbum);
  $("leave").addEventListener("click", leave);
  $("more").addEventListener("click", loadPhotos);
  $("add-ref").addEventListener("change", addRef);
  $("clear-refs").addEventListener("click", clearRefs);
  const fromLink = /(?:^#|&)code=([A-Za-z0-9-]+)/.exec(location.hash);
  if (fromLink) {
    $("code").value = decodeURIComponent(fromLink[1]);
    history.replaceState(null, "", location.pathname);
  }
  try {
    state.session = await call("GET", "/session");
    // A reload forgets the page's copies of the reference photos: forget the server's too.
    await call("DELETE", "/references");
    state.session.references = 0;
    enterAlbum();
  } catch (error) {
    if (!sessionLost(error)) $("fatal").textContent = error.message;
    $("code-error").textContent = "";
    show("enter");
    $("code").focus();
  }
}

start();
