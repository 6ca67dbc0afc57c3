// Springboard UI: the chat playground's streamed replies (OpenAI SSE from the control
// plane's own /v1/chat/completions). Same origin only; the session cookie, if any, goes along.
(function () {
  "use strict";

  function turn(log, cls, text) {
    const p = document.createElement("p");
    p.className = "turn " + cls;
    p.textContent = text;  // text, never HTML
    log.appendChild(p);
    return p;
  }

  async function send(form, log) {
    const input = form.querySelector("textarea[name=message]");
    const message = input.value;
    if (!message.trim()) return;
    turn(log, "user", "You: " + message);
    const reply = turn(log, "reply", "");
    reply.setAttribute("data-streaming", "true");
    const stats = turn(log, "muted", "");
    const body = {
      model: form.dataset.model,
      messages: [{ role: "user", content: message }],
      stream: true,
      max_tokens: parseInt(form.querySelector("[name=max_tokens]").value || "48", 10),
      temperature: parseFloat(form.querySelector("[name=temperature]").value || "0"),
    };
    const started = performance.now();
    let chunks = 0, reads = 0, first = null;
    try {
      const response = await fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      if (!response.ok) {
        const err = await response.json().catch(() => ({}));
        throw new Error((err.error && err.error.message) || response.statusText);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        reads += 1;
        reply.setAttribute("data-reads", String(reads));  // > 1: the reply came in pieces
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          for (const line of event.split("\n")) {
            if (!line.startsWith("data:")) continue;
            const data = line.slice(5).trim();
            if (data === "[DONE]") continue;
            const parsed = JSON.parse(data);
            if (parsed.error) throw new Error(parsed.error.message || "error");
            const delta = parsed.choices && parsed.choices[0] && parsed.choices[0].delta;
            if (delta && delta.content) {
              if (first === null) first = performance.now();
              chunks += 1;
              reply.textContent += delta.content;
              reply.setAttribute("data-chunks", String(chunks));
            }
          }
        }
      }
      const total = Math.round(performance.now() - started);
      const ttft = first === null ? "-" : Math.round(first - started);
      stats.textContent = chunks + " chunks out · first token " + ttft + " ms · " + total + " ms";
    } catch (e) {
      stats.className = "turn error";
      stats.textContent = "error: " + e.message;
    }
    reply.setAttribute("data-streaming", "false");
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("chat-form");
    if (!form) return;
    const log = document.getElementById("chat-log");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      send(form, log);
    });
  });
})();
