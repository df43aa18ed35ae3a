/* Follow-up pages (R3). Loaded from 'self' (the Content-Security-Policy forbids inline scripts). */
(function () {
  "use strict";
  // <button data-print>: print the page (print styles in app.css hide navigation and buttons).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });

  // The monthly plan's customer list: a text filter and "selected only" (both client-side: the
  // whole list is on the page, and hidden boxes keep their state and are still submitted).
  function setUpPlanFilter(bar) {
    var form = bar.closest("form");
    var list = form && form.querySelector(".plan-customer-list");
    if (!list) { return; }
    var text = bar.querySelector("[data-plan-filter-text]");
    var selectedOnly = bar.querySelector("[data-plan-filter-selected]");
    var count = bar.querySelector("[data-plan-filter-count]");
    var empty = list.querySelector("[data-plan-filter-empty]");
    var items = Array.prototype.slice.call(list.querySelectorAll(".form-check"));
    function apply() {
      var needle = (text.value || "").trim().toLowerCase();
      var shown = 0;
      var chosen = 0;
      items.forEach(function (item) {
        var box = item.querySelector("input[type=checkbox]");
        var label = item.textContent.toLowerCase();
        if (box && box.checked) { chosen += 1; }
        var visible = (!needle || label.indexOf(needle) !== -1) && (!selectedOnly.checked || (box && box.checked));
        item.classList.toggle("d-none", !visible);
        if (visible) { shown += 1; }
      });
      if (empty) { empty.classList.toggle("d-none", shown > 0 || items.length === 0); }
      if (count) { count.textContent = (count.getAttribute("data-template") || "%(n)s").replace("%(n)s", String(chosen)); }
    }
    text.addEventListener("input", apply);
    selectedOnly.addEventListener("change", apply);
    list.addEventListener("change", apply);
    // Enter in the filter box must not submit the plan.
    text.addEventListener("keydown", function (event) { if (event.key === "Enter") { event.preventDefault(); } });
    apply();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-plan-filter]").forEach(setUpPlanFilter);
  });
})();
