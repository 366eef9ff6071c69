// The deposit page: send the customer on to the gateway once (when they just asked to pay),
// and show the deposit's state live by polling its small JSON endpoint until it is final.
// The server decides everything; this only reads.
(function () {
  "use strict";

  const start = document.querySelector("[data-autostart]");
  if (start) {
    if (start.tagName === "FORM") start.submit();
    else window.location.assign(start.href);
    return;
  }

  const box = document.getElementById("deposit-status");
  if (!box || box.dataset.final === "1") return;
  const url = box.dataset.statusUrl;
  const every = Number(box.dataset.pollMs) || 3000;
  const deadline = Date.now() + 30 * 60 * 1000;

  function show(id, value) {
    const node = document.getElementById(id);
    if (node) node.textContent = value;
  }

  function reveal(id, visible) {
    const node = document.getElementById(id);
    if (node) node.hidden = !visible;
  }

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const state = await response.json();
        show("deposit-status-label", state.label);
        show("deposit-message", state.message || "");
        reveal("deposit-message", Boolean(state.message));
        if (state.credited !== null) {
          show("deposit-credited-amount", state.credited);
          reveal("deposit-credited", true);
        }
        if (state.bonus) {
          show("deposit-bonus-amount", state.bonus);
          reveal("deposit-bonus", true);
        }
        const balance = document.getElementById("nav-balance-amount");
        if (balance && state.balance) balance.textContent = state.balance;
        if (state.final) {
          box.dataset.final = "1";
          reveal("deposit-waiting", false);
          reveal("pay-button", false);
          for (const node of document.querySelectorAll(".deposit-deadline")) node.hidden = true;
          return;
        }
      }
    } catch (error) {
      // A network blip: the next round tries again.
    }
    if (Date.now() < deadline) window.setTimeout(poll, every);
  }

  window.setTimeout(poll, every);
})();
