// Small conveniences for every page; each works without this script too.
// Loaded in <head> without defer: the first line marks the page as scripted before it is drawn
// (so the phone menu starts folded); the rest waits for the document.
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  "use strict";

  // A filter's select applies itself when changed (its form also has a submit button).
  for (const field of document.querySelectorAll("[data-autosubmit]")) {
    field.addEventListener("change", () => field.form.requestSubmit());
  }

  // Buttons that change something ask once more (data-confirm holds the question).
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }

  // The phone menu: the button folds and unfolds the sidebar. Without this script the sidebar
  // is simply shown above the page (CSS keys on html.js).
  const menuButton = document.getElementById("menu-button");
  const sidebar = document.getElementById("sidebar");
  if (menuButton && sidebar) {
    menuButton.hidden = false;
    const setOpen = (open) => {
      menuButton.setAttribute("aria-expanded", String(open));
      document.body.classList.toggle("menu-open", open);
    };
    menuButton.addEventListener("click", () => {
      const open = menuButton.getAttribute("aria-expanded") !== "true";
      setOpen(open);
      if (open) {
        const first = sidebar.querySelector("a, button");
        if (first) first.focus();
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && menuButton.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        menuButton.focus();
      }
    });
  }

  // Stars: a favourite is set in the background; the form still works without this script.
  // The page's own script (order.js) hears "favourite-changed" to update its service picker.
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest(".favourite-form");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
      });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error || "refused");
      form.elements.favourite.value = answer.favourite ? "0" : "1";
      button.setAttribute("aria-pressed", String(answer.favourite));
      document.dispatchEvent(
        new CustomEvent("favourite-changed", { detail: { service: answer.service, favourite: answer.favourite } }),
      );
    } catch {
      form.submit(); // the plain form says what went wrong on the page it comes back to
    } finally {
      button.disabled = false;
    }
  });

  // Copy buttons: data-copy holds the text (a long link shown shortened beside it); the words
  // shown after copying come translated from the page (data-copied, data-copy-prompt).
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const label = button.querySelector("[data-copy-label]");
      const idle = label ? label.textContent : "";
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        if (label) label.textContent = button.dataset.copied || "Copied";
      } catch {
        // No clipboard (a page not served over HTTPS, a refused permission): show it to copy by hand.
        window.prompt(button.dataset.copyPrompt || "Copy the link:", button.dataset.copy);
      }
      button.classList.add("copied");
      window.setTimeout(() => {
        if (label) label.textContent = idle;
        button.classList.remove("copied");
      }, 1500);
    });
  }
});
