// Sharing an album with parents, from the gallery: make an album code, see the album's codes,
// withdraw one. Needs an admin key; with another key the panel says so.
import { api } from "./api.js";
import { el, formatTime } from "./ui.js";

const panel = document.getElementById("share");
const output = document.getElementById("share-code");
const rows = document.querySelector("#codes tbody");
let album = "";

async function refresh() {
  if (!album) return;
  try {
    const { items } = await api.listCodes(album);
    rows.replaceChildren(
      ...items.map((code) =>
        el(
          "tr",
          { dataset: { code: code.code_id, state: code.state } },
          el("td", {}, el("code", { text: code.code_id + "-…" })),
          el("td", { text: code.note || "" }),
          el("td", { text: formatTime(code.expires_at) }),
          el("td", { text: String(code.uses) }),
          el("td", { text: code.state }),
          el(
            "td",
            {},
            code.state === "active"
              ? el("button", { type: "button", class: "revoke", text: "Withdraw", onclick: () => revoke(code) })
              : null,
          ),
        ),
      ),
    );
  } catch (error) {
    output.textContent = error.code === "auth.forbidden" ? "Sharing needs an admin key." : error.message;
  }
}

async function revoke(code) {
  if (!confirm(`Withdraw code ${code.code_id}-…? Parents using it are signed out at once.`)) return;
  try {
    await api.revokeCode(code.code_id);
    output.textContent = `Code ${code.code_id}-… withdrawn.`;
  } catch (error) {
    output.textContent = error.message;
  }
  refresh();
}

async function create(event) {
  event.preventDefault();
  const button = document.getElementById("share-create");
  button.disabled = true;
  try {
    const made = await api.shareAlbum(album, {
      expires: document.getElementById("share-expires").value,
      note: document.getElementById("share-note").value.trim() || null,
    });
    output.replaceChildren(
      "New code for parents: ",
      el("strong", { class: "code", text: made.code }),
      ` (until ${formatTime(made.expires_at)})`,
    );
  } catch (error) {
    output.textContent = error.code === "auth.forbidden" ? "Sharing needs an admin key." : error.message;
  } finally {
    button.disabled = false;
  }
  refresh();
}

/** The gallery shows another album (or all of them: then there is nothing to share). */
export function shareAlbumChanged(name) {
  if (name === album) return;
  album = name;
  panel.hidden = !album;
  output.textContent = "";
  rows.replaceChildren();
  if (album && panel.open) refresh();
}

panel.addEventListener("toggle", () => panel.open && refresh());
document.getElementById("share-form").addEventListener("submit", create);
