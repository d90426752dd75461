// Tally supervisor UI: live queue refresh, streamed ticket chat, citation highlights.
// Plain browser JavaScript, no libraries; every feature degrades to the server pages.
"use strict";

(function () {
  const REFRESH_MS = 3000;

  function liveQueue() {
    const table = document.getElementById("queue");
    if (!table) return;
    const status = document.getElementById("queue-status");
    const url = table.dataset.rowsUrl;
    let busy = false;
    async function refresh() {
      if (busy || document.hidden) return;
      busy = true;
      try {
        const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!res.ok) return;
        const holder = document.createElement("table");
        holder.innerHTML = await res.text();
        const fresh = holder.querySelector("tbody");
        const old = document.getElementById("queue-rows");
        if (!fresh || !old) return;
        const before = new Set((old.dataset.ids || "").split(" ").filter(Boolean));
        const added = (fresh.dataset.ids || "").split(" ").filter((id) => id && !before.has(id));
        if (fresh.innerHTML !== old.innerHTML) {
          old.replaceWith(fresh);
          const total = document.querySelector("[data-testid=total]");
          if (total) total.textContent = fresh.dataset.total;
          if (added.length) {
            status.textContent = added.length + " new ticket(s) arrived";
            added.forEach((id) => {
              const row = fresh.querySelector('tr[data-ticket="' + CSS.escape(id) + '"]');
              if (row) row.classList.add("cited");
            });
          }
        }
      } catch (err) {
        status.textContent = "Live updates paused: " + err.message;
      } finally {
        busy = false;
      }
    }
    setInterval(refresh, REFRESH_MS);
  }

  function highlightCitation(id) {
    document.querySelectorAll("tr.cited").forEach((r) => r.classList.remove("cited"));
    const row = document.getElementById(id);
    if (row) {
      row.classList.add("cited");
      row.focus({ preventScroll: false });
    }
  }

  function citationLinks() {
    document.addEventListener("click", (ev) => {
      const a = ev.target.closest("a.cite");
      if (a && a.hash) highlightCitation(a.hash.slice(1));
    });
    if (location.hash.startsWith("#ev-")) highlightCitation(location.hash.slice(1));
  }

  // Escape text, then link evidence citations such as [E3] to their rows.
  function renderAnswer(el, text, known) {
    const safe = text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
    el.innerHTML = safe.replace(/\[?\b(E\d{1,4})\b\]?/g, (m, ref) =>
      known.has(ref) ? '<a class="cite" href="#ev-' + ref + '">' + m + "</a>" : m);
  }

  // Read a text/event-stream body: yields {event, data} as each event completes.
  async function* sseEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        const data = [];
        block.split("\n").forEach((line) => {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        });
        if (data.length) yield { event, data: data.join("\n") };
      }
    }
  }

  function chat() {
    const panel = document.getElementById("chat");
    if (!panel) return;
    const log = document.getElementById("chat-log");
    const form = document.getElementById("chat-form");
    const input = document.getElementById("chat-input");
    const known = new Set(Array.from(document.querySelectorAll("#evidence tr[id^=ev-]")).map((r) => r.id.slice(3)));
    function bubble(kind, text) {
      const div = document.createElement("div");
      div.className = "msg " + kind;
      div.textContent = text;
      log.appendChild(div);
      log.scrollTop = log.scrollHeight;
      return div;
    }
    panel.querySelectorAll("button[data-ask]").forEach((chip) => {
      chip.addEventListener("click", () => {
        input.value = chip.dataset.ask;
        form.requestSubmit();
      });
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const message = input.value.trim();
      if (!message) return;
      input.value = "";
      bubble("user", message);
      const answer = bubble("assistant", "…");
      answer.setAttribute("aria-busy", "true");
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      let text = "";
      try {
        const res = await fetch(panel.dataset.chatUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
          body: JSON.stringify({ message }),
        });
        if (!res.ok) {
          let detail = res.statusText;
          try { detail = (await res.json()).detail || detail; } catch (e) { /* not JSON */ }
          throw new Error(detail);
        }
        for await (const { event, data } of sseEvents(res)) {
          const payload = JSON.parse(data);
          if (event === "token" || event === "delta") {
            text += payload.text || "";
            renderAnswer(answer, text, known);
          } else if (event === "done" || event === "answer") {
            if (payload.text) text = payload.text;
            renderAnswer(answer, text, known);
            const cites = (payload.cited || []).filter((c) => known.has(c));
            if (cites.length) answer.dataset.citations = cites.join(" ");
          } else if (event === "error") {
            throw new Error(payload.detail || "the assistant failed");
          }
        }
      } catch (err) {
        answer.textContent = "Sorry: " + err.message;
        answer.classList.add("flash", "error");
      } finally {
        answer.removeAttribute("aria-busy");
        button.disabled = false;
        input.focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    liveQueue();
    citationLinks();
    chat();
  });
})();
