// Every call the web app makes to the bakusoku API goes through request(): headers (such as an
// Authorization header) are added here, in one place. Uploads go to the object store with the
// presigned URL and headers the API returns, never through the API server.

const API_HEADERS = {};

// ---- the API key ------------------------------------------------------------------------------
// Every /v1 call carries "Authorization: Bearer <key>". The key lives in sessionStorage (this tab,
// until it closes). A link may bring it as #key=... (`bakusoku up --demo` prints one): the fragment
// never reaches a server, and it is removed from the address bar at once.

const KEY_ITEM = "bakusoku.apiKey";

(function takeKeyFromFragment() {
  const match = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (!match) return;
  setApiKey(decodeURIComponent(match[1]));
  const rest = location.hash.replace(/(?:^#|&)key=[^&]+/, "").replace(/^&/, "");
  history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
})();

export function getApiKey() {
  try {
    return sessionStorage.getItem(KEY_ITEM) || "";
  } catch {
    return "";
  }
}

export function setApiKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_ITEM, key.trim());
    else sessionStorage.removeItem(KEY_ITEM);
  } catch {
    /* storage disabled: the key is asked for again */
  }
}

let asking = null;

/** Ask the person for a key (one dialog however many calls wait for it). */
function askForKey(reason) {
  if (asking) return asking;
  asking = new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "api-key-dialog";
    dialog.setAttribute("aria-labelledby", "api-key-title");
    const form = document.createElement("form");
    form.method = "dialog";
    const title = document.createElement("h2");
    title.id = "api-key-title";
    title.textContent = "API key";
    const note = document.createElement("p");
    note.textContent = reason;
    const label = document.createElement("label");
    label.htmlFor = "api-key-input";
    label.textContent = "Paste the key you were given (bks_…)";
    const input = document.createElement("input");
    input.id = "api-key-input";
    input.type = "password";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.required = true;
    input.style.width = "100%";
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Use this key";
    form.append(title, note, label, input, button);
    dialog.append(form);
    document.body.append(dialog);
    dialog.addEventListener("cancel", (event) => event.preventDefault());
    form.addEventListener("submit", () => {
      setApiKey(input.value);
      dialog.close();
      dialog.remove();
      asking = null;
      resolve(getApiKey());
    });
    dialog.showModal();
    input.focus();
  });
  return asking;
}

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

async function request(method, path, { body, signal, headers } = {}) {
  let key = getApiKey() || (await askForKey("This page shows photos only to holders of a key."));
  let response;
  for (;;) {
    const init = {
      method,
      signal,
      headers: { ...API_HEADERS, ...headers, Authorization: "Bearer " + key },
    };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    try {
      response = await fetch(path, init);
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "network", "The server could not be reached. Check the connection.");
    }
    if (response.status !== 401) break;
    if (getApiKey() === key) setApiKey("");
    key = getApiKey() || (await askForKey("That key was not accepted (mistyped or revoked)."));
  }
  if (!response.ok) {
    let error = {};
    try {
      error = (await response.json()).error || {};
    } catch {
      /* not JSON: keep the status */
    }
    throw new ApiError(
      response.status,
      error.code || "http_" + response.status,
      error.message || response.statusText || "Request failed",
      error.field,
    );
  }
  return response;
}

const json = (promise) => promise.then((response) => response.json());
const query = (params) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? "?" + text : "";
};

export const api = {
  uploadPolicy: () => json(request("GET", "/v1/upload-policy")),
  createUpload: (body, signal) => json(request("POST", "/v1/uploads", { body, signal })),
  listPhotos: ({ album, status, cursor, limit = 48 } = {}) =>
    json(request("GET", "/v1/photos" + query({ album, status, cursor, limit }))),
  getPhoto: (id) => json(request("GET", "/v1/photos/" + encodeURIComponent(id))),
  getExecution: (id) =>
    json(request("GET", "/v1/photos/" + encodeURIComponent(id) + "/execution")),
  redrive: (name) =>
    json(request("POST", "/v1/executions/" + encodeURIComponent(name) + "/redrive")),
  listAlbums: () => json(request("GET", "/v1/albums")),
  getRace: (album) => json(request("GET", "/v1/races/" + encodeURIComponent(album))),
  listUnknownBibs: (album, { cursor, limit = 20 } = {}) =>
    json(
      request(
        "GET",
        "/v1/races/" + encodeURIComponent(album) + "/bibs/unknown" + query({ cursor, limit }),
      ),
    ),
  tagBibs: (album, photoId, body) =>
    json(
      request(
        "PUT",
        "/v1/races/" + encodeURIComponent(album) + "/photos/" + encodeURIComponent(photoId) + "/bibs",
        { body },
      ),
    ),
  whoami: () => json(request("GET", "/v1/whoami")),
  /** Album codes for parents (admin keys): make one, list an album's, withdraw one. */
  shareAlbum: (album, body) =>
    json(request("POST", "/v1/albums/" + encodeURIComponent(album) + "/codes", { body })),
  listCodes: (album) =>
    json(request("GET", "/v1/albums/" + encodeURIComponent(album) + "/codes" + query({ all: "true" }))),
  revokeCode: (codeId) => json(request("DELETE", "/v1/codes/" + encodeURIComponent(codeId))),
  /** Photo changes (server-sent events or polled pages), read with fetch so API headers apply. */
  watchPhotos: (options) => watch(options),
};

// ---- live photo changes -----------------------------------------------------------------------
// The server either streams server-sent events (`bakusoku up`) or, where it cannot hold a response
// open (API Gateway and Lambda), answers JSON pages of changes with a cursor: the first answer
// says which, and the watcher keeps to it.

function watch({ album, since, onPhoto, onState }) {
  const controller = new AbortController();
  let lastId = since;
  let cursor;
  let stopped = false;
  let delay = 500;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function connect() {
    while (!stopped) {
      let wait = delay;
      try {
        const path =
          "/v1/events" +
          query(cursor === undefined ? { album, since: lastId } : { album, cursor });
        const response = await request("GET", path, {
          signal: controller.signal,
          headers: { Accept: "text/event-stream, application/json" },
        });
        const type = response.headers.get("Content-Type") || "";
        if (type.startsWith("application/json")) {
          const page = await response.json();
          for (const photo of page.items) onPhoto(photo);
          cursor = page.cursor;
          onState?.("live");
          delay = 500;
          wait = page.poll_after_ms;
        } else {
          onState?.("live");
          delay = 500;
          await readEvents(response.body, (event) => {
            if (event.id) lastId = event.id;
            if (event.event === "photo") onPhoto(JSON.parse(event.data));
            if (event.retry) delay = event.retry;
          });
          wait = delay;
        }
      } catch (error) {
        if (stopped) return;
        onState?.("reconnecting");
        wait = delay;
        delay = Math.min(delay * 2, 10000);
      }
      if (stopped) return;
      await sleep(wait);
    }
  }
  connect();
  return {
    close() {
      stopped = true;
      controller.abort();
    },
    /** Only changes after this updated_at (epoch seconds) are needed on the next connect. */
    advance(updatedAtSeconds) {
      if (lastId === undefined || updatedAtSeconds > Number(lastId)) lastId = updatedAtSeconds;
    },
  };
}

async function readEvents(stream, onEvent) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { data: "" };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
      if (line === "") {
        if (event.data || event.event) {
          event.data = event.data.replace(/\n$/, "");
          onEvent(event);
        }
        event = { data: "" };
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") event.data += text + "\n";
      else if (field === "event") event.event = text;
      else if (field === "id") event.id = text;
      else if (field === "retry" && /^\d+$/.test(text)) onEvent({ retry: Number(text), data: "" });
    }
  }
}

// ---- the object store -------------------------------------------------------------------------

/**
 * PUT a file to its presigned URL with exactly the signed headers, reporting progress.
 * Resolves with the status; rejects with {status, code, message} (status 0: network).
 * The browser sets Content-Length itself, from the file.
 */
export function putToStore(grant, file, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(grant.upload.method, grant.upload.url);
    for (const [name, value] of Object.entries(grant.upload.headers)) {
      if (name.toLowerCase() !== "content-length") xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event) => onProgress?.(event.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(xhr.status);
        return;
      }
      const text = xhr.responseText || "";
      const code = (text.match(/<Code>([^<]*)<\/Code>/) || [])[1] || "http_" + xhr.status;
      const message = (text.match(/<Message>([^<]*)<\/Message>/) || [])[1] || xhr.statusText;
      reject({ status: xhr.status, code, message });
    };
    xhr.onerror = () =>
      reject({ status: 0, code: "network", message: "The connection to storage was lost." });
    xhr.onabort = () => reject({ status: 0, code: "aborted", message: "Cancelled." });
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}
