/**
 * The mail catcher's single page: a list that polls /api/v1/messages every two seconds and, on click,
 * shows one message (HTML in a sandboxed frame that runs no scripts, or the plain text).
 */
export const MAIL_CATCHER_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mail catcher · rabbit-shop</title>
<style>
  :root { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "Noto Sans KR", sans-serif; color: #1d2330; }
  body { margin: 0; display: grid; grid-template-rows: auto 1fr; height: 100vh; }
  header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; background: #243b53; color: #fff; }
  header h1 { font-size: 1.05rem; margin: 0; font-weight: 600; }
  header .count { opacity: .8; font-size: .9rem; }
  header button { margin-left: auto; }
  button { font: inherit; padding: .25rem .7rem; border: 1px solid #9fb3c8; border-radius: 4px; background: #fff; cursor: pointer; }
  main { display: grid; grid-template-columns: minmax(22rem, 40%) 1fr; min-height: 0; }
  #list { overflow-y: auto; border-right: 1px solid #d9e2ec; }
  table { border-collapse: collapse; width: 100%; font-size: .88rem; }
  th { position: sticky; top: 0; background: #f0f4f8; text-align: left; padding: .4rem .6rem; font-weight: 600; }
  td { padding: .4rem .6rem; border-top: 1px solid #eef2f6; vertical-align: top; overflow-wrap: anywhere; }
  tr.row { cursor: pointer; }
  tr.row:hover { background: #f7fafc; }
  tr.row.selected { background: #dceefb; }
  td.time { white-space: nowrap; color: #52606d; }
  #detail { display: flex; flex-direction: column; min-height: 0; }
  #meta { padding: .8rem 1rem; border-bottom: 1px solid #d9e2ec; font-size: .9rem; }
  #meta h2 { font-size: 1.1rem; margin: 0 0 .4rem; }
  #meta dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .8rem; margin: 0; }
  #meta dt { color: #52606d; }
  #meta dd { margin: 0; overflow-wrap: anywhere; }
  .tabs { display: flex; gap: .4rem; padding: .5rem 1rem; border-bottom: 1px solid #d9e2ec; }
  .tabs button[aria-pressed="true"] { background: #243b53; color: #fff; border-color: #243b53; }
  #body { flex: 1; min-height: 0; }
  iframe { border: 0; width: 100%; height: 100%; background: #fff; }
  pre { margin: 0; padding: 1rem; white-space: pre-wrap; overflow-wrap: anywhere; height: 100%; box-sizing: border-box; overflow: auto; }
  .empty { padding: 2rem; color: #7b8794; text-align: center; }
</style>
</head>
<body>
<header>
  <h1>Mail catcher</h1>
  <span class="count" id="count">loading…</span>
  <button id="clear" type="button">Delete all</button>
</header>
<main>
  <section id="list"><p class="empty">loading…</p></section>
  <section id="detail"><p class="empty">Select a message.</p></section>
</main>
<script>
"use strict";
const list = document.getElementById("list");
const detail = document.getElementById("detail");
const count = document.getElementById("count");
let selected = null;
let shown = "";

const escape = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const person = (a) => (a ? (a.Name ? a.Name + " <" + a.Address + ">" : a.Address) : "");
const people = (list) => (list || []).map(person).join(", ");
const time = (iso) => new Date(iso).toLocaleString();

async function refresh() {
  try {
    const response = await fetch("api/v1/messages?limit=500", { cache: "no-store" });
    const data = await response.json();
    count.textContent = data.total + (data.total === 1 ? " message" : " messages") + (data.total > data.count ? " (newest " + data.count + " shown)" : "");
    const html = data.messages.length === 0
      ? '<p class="empty">No mail yet. Messages sent to the SMTP port appear here.</p>'
      : "<table><thead><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th></tr></thead><tbody>" +
        data.messages.map((m) =>
          '<tr class="row' + (m.ID === selected ? " selected" : "") + '" data-id="' + escape(m.ID) + '">' +
          '<td class="time">' + escape(time(m.Created)) + "</td><td>" + escape(person(m.From)) + "</td><td>" +
          escape(people(m.To)) + "</td><td>" + escape(m.Subject || "(no subject)") + "</td></tr>").join("") +
        "</tbody></table>";
    if (html !== shown) { list.innerHTML = html; shown = html; }
  } catch (error) {
    count.textContent = "cannot reach the mail catcher (" + error.message + ")";
  }
}

async function open(id) {
  selected = id;
  shown = "";
  refresh();
  const response = await fetch("api/v1/message/" + encodeURIComponent(id), { cache: "no-store" });
  if (!response.ok) { detail.innerHTML = '<p class="empty">That message is gone.</p>'; return; }
  const m = await response.json();
  detail.innerHTML =
    '<div id="meta"><h2>' + escape(m.Subject || "(no subject)") + "</h2><dl>" +
    "<dt>From</dt><dd>" + escape(person(m.From)) + "</dd>" +
    "<dt>To</dt><dd>" + escape(people(m.To)) + "</dd>" +
    (m.Cc.length ? "<dt>Cc</dt><dd>" + escape(people(m.Cc)) + "</dd>" : "") +
    (m.Bcc.length ? "<dt>Bcc</dt><dd>" + escape(people(m.Bcc)) + "</dd>" : "") +
    "<dt>Date</dt><dd>" + escape(time(m.Date)) + "</dd>" +
    (m.Attachments.length ? "<dt>Attachments</dt><dd>" + escape(m.Attachments.map((a) => a.FileName + " (" + a.ContentType + ", " + a.Size + " B)").join(", ")) + "</dd>" : "") +
    "</dl></div>" +
    '<div class="tabs"><button type="button" data-tab="html">HTML</button><button type="button" data-tab="text">Text</button></div>' +
    '<div id="body"></div>';
  const body = document.getElementById("body");
  const show = (tab) => {
    for (const b of detail.querySelectorAll(".tabs button")) b.setAttribute("aria-pressed", String(b.dataset.tab === tab));
    if (tab === "html") {
      const frame = document.createElement("iframe");
      frame.setAttribute("sandbox", "");
      frame.srcdoc = '<meta charset="utf-8">' + m.HTML;
      body.replaceChildren(frame);
    } else {
      const pre = document.createElement("pre");
      pre.textContent = m.Text;
      body.replaceChildren(pre);
    }
  };
  for (const b of detail.querySelectorAll(".tabs button")) b.addEventListener("click", () => show(b.dataset.tab));
  show(m.HTML ? "html" : "text");
}

list.addEventListener("click", (event) => {
  const row = event.target.closest("tr.row");
  if (row) open(row.dataset.id);
});
document.getElementById("clear").addEventListener("click", async () => {
  await fetch("api/v1/messages", { method: "DELETE" });
  selected = null;
  detail.innerHTML = '<p class="empty">Select a message.</p>';
  refresh();
});
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
