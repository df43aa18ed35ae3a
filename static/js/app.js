/* CRM behaviour, loaded from 'self' (the Content-Security-Policy forbids inline scripts and
   onclick= handlers). Kept small: declarative data- attributes instead of page scripts. */
(function () {
  "use strict";

  // <form data-confirm="…"> or <button data-confirm="…">: ask before submitting or following.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-confirm]");
    if (link && !window.confirm(link.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // Success and info messages fade after a few seconds; warnings and errors stay until closed.
  function autoDismiss(root) {
    root.querySelectorAll(".alert[data-autodismiss]").forEach(function (el) {
      window.setTimeout(function () {
        if (window.bootstrap && window.bootstrap.Alert) {
          window.bootstrap.Alert.getOrCreateInstance(el).close();
        } else {
          el.remove();
        }
      }, 6000);
    });
  }

  // <select data-autosubmit>: submit the surrounding (filter) form when the choice changes.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      if (typeof el.form.requestSubmit === "function") {
        el.form.requestSubmit();
      } else {
        el.form.submit();
      }
    }
  });

  // <input type="checkbox" data-check-all="items">: ticks or unticks every checkbox named "items"
  // of its form (a page of a list with bulk actions).
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-check-all]")) { return; }
    var scope = box.form || document;
    scope.querySelectorAll('input[type="checkbox"][name="' + box.getAttribute("data-check-all") + '"]').forEach(function (el) {
      el.checked = box.checked;
    });
  });

  // <button data-print>: print the page (the report's print stylesheet takes over).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
  });

  document.addEventListener("DOMContentLoaded", function () { autoDismiss(document); });
  document.addEventListener("htmx:afterSwap", function (event) { autoDismiss(event.target); });

  // htmx: a 4xx/5xx answer to a request shows a visible error instead of silently doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var box = document.querySelector(".messages") || document.querySelector("main");
    if (!box) { return; }
    var alert = document.createElement("div");
    alert.className = "alert alert-danger alert-dismissible fade show";
    alert.setAttribute("role", "alert");
    // The text is translated by the server: <body data-msg-request-failed="…%(status)s…">.
    var template = document.body.getAttribute("data-msg-request-failed") || "%(status)s";
    alert.textContent = template.replace("%(status)s", String(status));
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", document.body.getAttribute("data-msg-close") || "×");
    alert.appendChild(close);
    box.prepend(alert);
  });
})();
