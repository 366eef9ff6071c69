// The new-order page: filter services by category or search, show the chosen service's
// fields and details, and price the order as the customer types. The server decides: this
// only mirrors orders.pricing.order_price (rate × units / 1000 × runs, or rate × quantity for a
// product sold per unit; a package's units are its size; a subscription's max × posts, or max ×
// the hold's posts when unlimited).
// Upstream text (names, descriptions) goes in through textContent / Option(), never as HTML.
(function () {
  "use strict";

  const form = document.getElementById("new-order-form");
  const dataNode = document.getElementById("services-data");
  if (!form || !dataNode) return;

  const services = JSON.parse(dataNode.textContent);
  // The page's words in the customer's language (panel.views.ORDER_PAGE_WORDS), "%(name)s" marking a value.
  const wordsNode = document.getElementById("order-words");
  const words = wordsNode ? JSON.parse(wordsNode.textContent) : {};
  function say(key, fallback, values = {}) {
    return (words[key] || fallback).replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
  }
  const FAVOURITES = "favourites"; // the category select's first choice: the customer's starred services
  const byId = new Map(services.map((s) => [s.id, s]));
  const categorySelect = document.getElementById("id_category");
  const categoryNames = new Map(Array.from(categorySelect.options).map((o) => [Number(o.value), o.text]));
  const serviceSelect = document.getElementById("id_service");
  const search = document.getElementById("service-search");
  const dripfeedBox = document.getElementById("id_dripfeed");
  const dripfeedRow = document.getElementById("field-dripfeed");
  const chargeOut = document.getElementById("order-charge");
  const chargeWarning = document.getElementById("charge-warning");
  const submit = document.getElementById("new-order-submit");
  const balance = parseFloat(form.dataset.balance || "0");
  const currency = form.dataset.currency || "";
  // The customer's display currency, if any: figures converted for reading only, marked "≈".
  const displayRate = parseFloat(form.dataset.displayRate || "0");
  const displayCode = form.dataset.displayCode || "";
  const fieldRows = Array.from(form.querySelectorAll(".field[data-field]")).filter((row) => row.id !== "field-service");

  document.getElementById("field-search").hidden = false;

  function text(id, value) {
    const node = document.getElementById(id);
    if (node) node.textContent = value;
  }

  function money(value) {
    // A charge as the `money:"exact"` filter writes it: five decimals at most, the display places at least.
    const places = parseInt(form.dataset.places || "2", 10);
    const out = (Math.round(value * 1e5) / 1e5).toFixed(5).replace(/0+$/, "");
    const [whole, fraction = ""] = out.split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return fraction.length || places ? grouped + "." + fraction.padEnd(places, "0") : grouped;
  }

  function approx(value) {
    // The `approx` filter's rule (core.money.money_display_approx): converted, then read like a balance: cut (on the
    // digits, not in floating point) to the display places, or shown exactly when that would read 0.00 for an amount
    // that is not zero.
    if (!displayRate || value === null) return "";
    const places = parseInt(form.dataset.places || "2", 10);
    const exact = (Math.round(value * displayRate * 1e5) / 1e5).toFixed(5);
    const point = exact.indexOf(".");
    let out = places ? exact.slice(0, point + 1 + places) : exact.slice(0, point);
    if (parseFloat(out) === 0 && parseFloat(exact) !== 0) out = exact.replace(/0+$/, "");
    const [whole, fraction] = out.split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return `≈ ${fraction ? grouped + "." + fraction : grouped} ${displayCode}`;
  }

  function wholeNumber(name) {
    const input = form.elements[name];
    if (!input) return 0;
    const value = input.value.trim();
    return /^\d{1,12}$/.test(value) ? parseInt(value, 10) : 0;
  }

  function lineCount(name) {
    const input = form.elements[name];
    if (!input) return 0;
    return input.value.split(/\r?\n/).filter((line) => line.trim() !== "").length;
  }

  function current() {
    return byId.get(Number(serviceSelect.value)) || null;
  }

  function unit(service) {
    return service.per === 1000 ? say("per1000", "per 1000") : say("each", "each");
  }

  function label(service) {
    return `${service.id} — ${service.name} — ${money(parseFloat(service.rate))} ${currency} ${unit(service)}`;
  }

  function fillServices() {
    const query = search.value.trim().toLowerCase();
    const chosen = Number(serviceSelect.value);
    const favourites = categorySelect.value === FAVOURITES;
    const category = Number(categorySelect.value);
    const matches = query
      ? services.filter((s) => String(s.id).startsWith(query) || s.name.toLowerCase().includes(query))
      : services.filter((s) => (favourites ? s.favourite : s.category === category));
    serviceSelect.replaceChildren();
    if (!matches.length) {
      const none = new Option(
        favourites && !query
          ? say("noFavourites", "No favourites yet: star a service")
          : say("noMatch", "No service matches"),
        "",
      );
      none.disabled = true;
      serviceSelect.add(none);
    }
    let group = null;
    let groupCategory = null;
    for (const service of matches) {
      if (query && service.category !== groupCategory) {
        group = document.createElement("optgroup");
        group.label = categoryNames.get(service.category) || "";
        serviceSelect.append(group);
        groupCategory = service.category;
      }
      const option = new Option(label(service), String(service.id));
      (group || serviceSelect).append(option);
    }
    const keep = matches.find((s) => s.id === chosen) || matches[0];
    if (keep) serviceSelect.value = String(keep.id);
  }

  function clearErrors() {
    for (const node of form.querySelectorAll(".field-error")) {
      if (node.id === "charge-warning") continue;
      node.hidden = true;
      node.textContent = "";
    }
    for (const row of form.querySelectorAll(".field.has-error")) row.classList.remove("has-error");
    const formErrors = document.getElementById("form-errors");
    if (formErrors) formErrors.hidden = true;
  }

  const choiceOptions = new Map();
  for (const select of form.querySelectorAll("select[data-choice]")) {
    choiceOptions.set(select.name, Array.from(select.options).map((o) => [o.value, o.text]));
  }

  function showChoices(service) {
    // A choice's values depend on the service's provider: keep only those it accepts.
    for (const [name, options] of choiceOptions) {
      const select = form.elements[name];
      const allowed = service && service.choices[name] ? new Set(service.choices[name].map(String)) : null;
      const chosen = select.value;
      select.replaceChildren();
      for (const [value, label] of options) {
        if (value === "" || !allowed || allowed.has(value)) select.add(new Option(label, value));
      }
      select.value = allowed && !allowed.has(chosen) ? "" : chosen;
    }
  }

  function showService(service) {
    const fields = new Set(service ? service.fields : []);
    const required = new Set(service ? service.required : []);
    const dripfeed = Boolean(service && service.dripfeed);
    dripfeedRow.hidden = !dripfeed;
    for (const row of fieldRows) {
      const name = row.dataset.field;
      row.hidden = row.dataset.dripfeed ? !(dripfeed && dripfeedBox.checked) : !fields.has(name);
      const mark = row.querySelector("[data-required-mark]");
      if (mark) mark.hidden = !required.has(name);
    }
    showChoices(service);
    submit.disabled = !service;
    document.getElementById("service-info").hidden = !service;
    if (!service) return;
    showFavourite(service);
    const inFavourites = categorySelect.value === FAVOURITES && service.favourite;
    if (categorySelect.value !== String(service.category) && !search.value.trim() && !inFavourites) {
      categorySelect.value = String(service.category);
    }
    text("service-name", service.name);
    text("service-rate", money(parseFloat(service.rate)));
    text("service-rate-approx", approx(parseFloat(service.rate)));
    text("service-rate-unit", unit(service));
    text("require-hint", service.require || "");
    text("service-min", String(service.min));
    text("service-max", String(service.max));
    text("service-refill", service.refill_words);
    text("service-average-time", service.average_time);
    text("service-cancel", service.cancel ? say("yes", "Yes") : say("no", "No"));
    text("quantity-limits", say("limits", "Min %(min)s – Max %(max)s", { min: service.min, max: service.max }));
    const package_ = { size: service.min, price: service.package_price, PANEL_CURRENCY: currency };
    text("package-price", service.package_price ? say("package", "%(size)s for %(price)s %(PANEL_CURRENCY)s", package_) : "");
    document.getElementById("package-price").hidden = !service.package_price;
    document.getElementById("package-label").hidden = !service.package_price;
    const hold = say("postsHold", "Empty: unlimited, charged as %(hold_posts)s posts up front.", service);
    text("posts-hold", service.price_by === "subscription" ? hold : "");
    const description = document.getElementById("service-description");
    description.textContent = service.description;
    description.hidden = !service.description;
  }

  // The star beside the chosen service's name: its form follows the choice (panel.js sends it).
  const favouriteForm = document.getElementById("favourite-form");
  const favouriteOption = categorySelect.querySelector(`option[value="${FAVOURITES}"]`);

  function showFavourite(service) {
    if (!favouriteForm) return;
    favouriteForm.action = favouriteForm.dataset.urlTemplate.replace("/0/", `/${service.id}/`);
    favouriteForm.elements.favourite.value = service.favourite ? "0" : "1";
    const button = favouriteForm.querySelector("button");
    button.dataset.serviceId = String(service.id);
    button.setAttribute("aria-pressed", String(Boolean(service.favourite)));
    favouriteForm.querySelector(".favourite-name").textContent = service.name;
  }

  document.addEventListener("favourite-changed", (event) => {
    const service = byId.get(event.detail.service);
    if (!service) return;
    service.favourite = event.detail.favourite;
    if (favouriteOption) {
      favouriteOption.text = say("favourites", "★ Favourites (%(count)s)", {
        count: services.filter((s) => s.favourite).length,
      });
    }
  });

  function price() {
    const service = current();
    let units = 0;
    let total = null;
    if (service) {
      const rate = parseFloat(service.rate);
      if (service.price_by === "package") {
        total = parseFloat(service.package_price);
      } else if (service.price_by === "subscription") {
        const posts = form.elements.posts && form.elements.posts.value.trim() ? wholeNumber("posts") : service.hold_posts;
        units = wholeNumber("max") * (posts + wholeNumber("old_posts"));
        total = units ? (rate * units) / service.per : null;
      } else if (service.price_by.startsWith("lines:")) {
        units = lineCount(service.price_by.slice("lines:".length));
        total = units ? (rate * units) / service.per : null;
      } else {
        const runs = service.dripfeed && dripfeedBox.checked ? Math.max(wholeNumber("runs"), 1) : 1;
        units = wholeNumber("quantity");
        total = units ? (rate * units * runs) / service.per : null;
      }
    }
    chargeOut.textContent = total === null ? "—" : money(total);
    text("order-charge-approx", approx(total));
    chargeWarning.hidden = !(total !== null && total > balance);
  }

  categorySelect.addEventListener("change", () => {
    search.value = "";
    fillServices();
    clearErrors();
    showService(current());
    price();
  });
  search.addEventListener("input", () => {
    fillServices();
    showService(current());
    price();
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") event.preventDefault();
  });
  serviceSelect.addEventListener("change", () => {
    clearErrors();
    showService(current());
    price();
  });
  dripfeedBox.addEventListener("change", () => {
    showService(current());
    price();
  });
  form.addEventListener("input", (event) => {
    if (event.target !== search) price();
  });

  fillServices();
  showService(current());
  price();
})();
