/* Shared behaviour of every page (no inline scripts: CSP script-src 'self').
 *
 * window.InvestFlow:
 *   csrfToken()              the session's CSRF token (from <meta name="csrf-token">)
 *   fetchJSON(url, options)  fetch() with same-origin credentials, JSON body/Accept and X-CSRF-Token
 *   readJSON(id)             parse a <script type="application/json" id="..."> data block
 *   postJSON(url, body)      POST JSON with the CSRF token; resolves {status, data} whatever the status
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function fetchJSON(url, options) {
    options = options || {};
    var headers = new Headers(options.headers || {});
    headers.set("Accept", "application/json");
    var method = (options.method || "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD") {
      headers.set("X-CSRF-Token", csrfToken());
    }
    var body = options.body;
    if (body !== undefined && body !== null && !(body instanceof FormData) && typeof body !== "string") {
      body = JSON.stringify(body);
      headers.set("Content-Type", "application/json");
    }
    return fetch(url, {
      method: method, headers: headers, body: body, credentials: "same-origin"
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      var parsed = type.indexOf("application/json") >= 0 ? response.json() : response.text();
      return parsed.then(function (data) {
        if (!response.ok) {
          var err = new Error((data && data.errors && data.errors[0] && data.errors[0].message) || response.statusText);
          err.status = response.status;
          err.data = data;
          throw err;
        }
        return data;
      });
    });
  }

  function readJSON(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return { status: r.status, data: data }; });
    });
  }

  window.InvestFlow = { csrfToken: csrfToken, fetchJSON: fetchJSON, readJSON: readJSON, postJSON: postJSON };

  document.addEventListener("DOMContentLoaded", function () {
    // mobile navigation toggle
    var toggle = document.querySelector('[data-toggle="nav"]');
    var nav = document.getElementById("main-nav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    // close the user menu on Escape / outside click
    var menu = document.querySelector(".usermenu");
    if (menu) {
      document.addEventListener("click", function (e) { if (!menu.contains(e.target)) { menu.removeAttribute("open"); } });
      document.addEventListener("keydown", function (e) { if (e.key === "Escape") { menu.removeAttribute("open"); } });
    }
    // "back" buttons
    Array.prototype.forEach.call(document.querySelectorAll('[data-action="back"]'), function (btn) {
      btn.addEventListener("click", function () {
        if (window.history.length > 1) { window.history.back(); } else { window.location.href = "/inbox"; }
      });
    });
    // confirmation prompts: <form data-confirm="...">
    Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
    // auto-submit filter selects: <select data-autosubmit>
    Array.prototype.forEach.call(document.querySelectorAll("[data-autosubmit]"), function (el) {
      el.addEventListener("change", function () { if (el.form) { el.form.submit(); } });
    });
    // move focus to the first invalid field / error summary after a failed submit
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) { summary.focus(); }
  });
})();
