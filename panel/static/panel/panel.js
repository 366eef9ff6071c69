// Small conveniences for every page; each works without this script too.
(function () {
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
})();
