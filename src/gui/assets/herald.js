// Herald's only script, and optional: every page works without it.
// On the new-ticket form it keeps "how many customers will be emailed" current while services
// are ticked, so the ticket can be posted in one step (without it, the server shows the number
// and asks to confirm). On a ticket's page it keeps the deliveries current while messages are
// waiting (without it, reload the page). A secret shown once gets a "Copy" button.
(function () {
  "use strict";

  function servicesOf(form) {
    var ids = [];
    form.querySelectorAll('input[type="checkbox"][name^="Services["]').forEach(function (box) {
      if (box.checked) ids.push(box.value);
    });
    return ids;
  }

  function watchRecipients(form) {
    var out = form.querySelector("[data-recipients]");
    var seen = form.querySelector('input[name="recipients_seen"]');
    var notify = form.querySelector('input[name="notify"]');
    if (!out || !seen) return;
    var pending = 0;

    function update() {
      var ids = servicesOf(form);
      var request = ++pending;
      fetch("/tickets/recipients?services=" + encodeURIComponent(ids.join(",")), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || request !== pending) return;
          seen.value = data.key;
          out.textContent = data.text;
          out.dataset.count = String(data.count);
          out.classList.toggle("muted", notify && !notify.checked);
        })
        .catch(function () { /* the server asks to confirm instead */ });
    }

    form.addEventListener("change", function (e) {
      var t = e.target;
      if (t && (t.name === "notify" || (t.name && t.name.indexOf("Services[") === 0))) update();
    });
    update();
  }

  // Every few seconds, while the section says messages are waiting, swap in a fresh copy of it
  // from the server; it stops by itself once none are.
  var REFRESH_MS = 2000;
  function followDeliveries() {
    var section = document.getElementById("deliveries");
    if (!section || !section.dataset.refresh || section.dataset.pending === "0") return;
    if (document.hidden) {
      setTimeout(followDeliveries, REFRESH_MS);
      return;
    }
    fetch(section.dataset.refresh, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        // Signed out meanwhile (a redirect to the sign-in page): stop, the page says enough.
        return r.ok && !r.redirected ? r.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        section.outerHTML = html;
        setTimeout(followDeliveries, REFRESH_MS);
      })
      .catch(function () { setTimeout(followDeliveries, 5 * REFRESH_MS); });
  }

  function copyButton(input) {
    input.addEventListener("focus", function () { input.select(); });
    if (!navigator.clipboard) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-small";
    button.textContent = "Copy";
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () { button.textContent = "Copied"; });
    });
    input.insertAdjacentElement("afterend", button);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-copy]").forEach(copyButton);
    document.querySelectorAll("form[data-watch-recipients]").forEach(watchRecipients);
    setTimeout(followDeliveries, REFRESH_MS);
  });
})();
