// The runner's page: bib + surname (or the signed link after #) → this runner's photos only.
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const STORE = "bakusoku.runner.session";

async function call(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const session = sessionStorage.getItem(STORE);
  if (session) headers["X-Runner-Session"] = session;
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error((data.error && data.error.message) || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

async function signIn(body) {
  const found = await call("POST", "/v1/runner/sessions", body);
  sessionStorage.setItem(STORE, found.session);
  await show();
}

function text(id, value) { $(id).textContent = value; }

async function show() {
  const me = await call("GET", "/v1/runner/me");
  $("sign-in").hidden = true;
  $("runner").hidden = false;
  if (me.race.name) text("race-name", me.race.name);
  text("runner-bib", me.bib);
  text("runner-result", me.finish
    ? `${me.name || ""} · ${me.finish.net_time} · #${me.finish.place}`
    : (me.name || ""));
  const list = $("photos");
  list.replaceChildren();
  for (const photo of me.photos) {
    const item = document.createElement("li");
    const img = document.createElement("img");
    img.src = photo.preview;
    img.alt = `Photo of bib ${me.bib}`;
    img.loading = "lazy";
    item.append(img);
    list.append(item);
  }
  $("no-photos").hidden = me.photos.length > 0;
  text("subscribed", me.subscriptions.length ? `Subscribed: ${me.subscriptions.join(", ")}` : "");
  if (me.line_code) { $("line-code-row").hidden = false; text("line-code", me.line_code); }
  const requests = Object.entries(me.requests).map(([kind, r]) =>
    kind === "erase" ? `Erased ${r.photos_erased} photo(s)` : `Your face is hidden in others' photos (${r.faces} found)`);
  text("privacy-status", requests.join(" · "));
  $("push-button").dataset.key = me.push_key;
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("sign-in-error").hidden = true;
  try {
    await signIn({
      service: params.get("service"), album: params.get("album"),
      bib: $("bib").value.trim(), surname: $("surname").value.trim(),
    });
  } catch (error) {
    $("sign-in-error").hidden = false;
    text("sign-in-error", error.message);
  }
});

$("email-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await call("POST", "/v1/runner/subscriptions", { channel: "email", address: $("email").value });
    await show();
  } catch (error) { text("subscribed", error.message); }
});

function keyBytes(b64) {
  const raw = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - b64.length % 4) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

$("push-button").addEventListener("click", async () => {
  try {
    const registration = await navigator.serviceWorker.register("/static/js/runner-sw.js");
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: keyBytes($("push-button").dataset.key),
    });
    await call("POST", "/v1/runner/subscriptions",
      { channel: "webpush", address: JSON.stringify(subscription) });
    await show();
  } catch (error) { text("subscribed", `This browser cannot be notified: ${error.message}`); }
});

async function privacy(kind, question) {
  if (!window.confirm(question)) return;
  try {
    await call("POST", "/v1/runner/privacy", { kind });
    await show();
  } catch (error) { text("privacy-status", error.message); }
}

$("face-button").addEventListener("click", () =>
  privacy("face", "Hide your face in other runners' photos?"));
$("erase-button").addEventListener("click", () =>
  privacy("erase", "Erase your photos from this race? This cannot be undone."));

async function start() {
  const link = location.hash.slice(1);
  if (link) {
    history.replaceState(null, "", location.pathname + location.search);  // keep no token in history
    try { await signIn({ link }); return; } catch (error) {
      $("sign-in-error").hidden = false;
      text("sign-in-error", error.message);
    }
  }
  if (sessionStorage.getItem(STORE)) {
    try { await show(); } catch { sessionStorage.removeItem(STORE); }
  }
}
start();
