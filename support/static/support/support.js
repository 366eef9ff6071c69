// The new-ticket form shows the order IDs field only for order subjects; without this script it is always shown.
(function () {
  "use strict";
  const form = document.getElementById("ticket-form");
  if (!form) return;
  const subject = form.querySelector("[name=subject_type]");
  const orders = document.getElementById("field-orders");
  if (!subject || !orders) return;
  const orderSubjects = (form.dataset.orderSubjects || "").split(" ");
  const update = () => {
    orders.hidden = !orderSubjects.includes(subject.value) && !orders.querySelector("input").value;
  };
  subject.addEventListener("change", update);
  update();
})();
