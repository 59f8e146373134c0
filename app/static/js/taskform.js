/* Task form behaviour: repeated groups (array of objects) add/remove rows, plain JS.
 * Row inputs are named group[0][field]; the <template> holds names with __INDEX__.
 * After every change rows are renumbered so the server receives 0..n-1. */
(function () {
  "use strict";
  var TOKEN = "__INDEX__";

  function renumber(group) {
    var base = group.getAttribute("data-repeat");
    var idBase = "f-" + group.getAttribute("data-path").replace(/[^A-Za-z0-9_-]/g, "-");
    var rows = group.querySelectorAll("[data-repeat-rows] > [data-repeat-row]");
    Array.prototype.forEach.call(rows, function (row, i) {
      var num = row.querySelector("[data-row-number]");
      if (num) { num.textContent = String(i + 1); }
      Array.prototype.forEach.call(row.querySelectorAll("[name], [id], [for], [aria-describedby]"), function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var v = el.getAttribute(attr);
          if (!v) { return; }
          // replace the first index after this group's name / id prefix
          var namePrefix = base + "[";
          if (attr === "name" && (v.indexOf(namePrefix) === 0 || v.indexOf("_existing:" + namePrefix) === 0 ||
              v.indexOf("_remove:" + namePrefix) === 0)) {
            var at = v.indexOf(namePrefix) + namePrefix.length;
            var end = v.indexOf("]", at);
            el.setAttribute(attr, v.slice(0, at) + i + v.slice(end));
          } else if (attr !== "name") {
            el.setAttribute(attr, v.split(" ").map(function (part) {
              if (part.indexOf(idBase + "-") !== 0) { return part; }
              var rest = part.slice(idBase.length + 1);
              var dash = rest.indexOf("-");
              return idBase + "-" + i + (dash >= 0 ? rest.slice(dash) : "");
            }).join(" "));
          }
        });
      });
    });
    var max = parseInt(group.getAttribute("data-max") || "0", 10);
    var add = group.querySelector("[data-repeat-add]");
    if (add) { add.disabled = max > 0 && rows.length >= max; }
  }

  function addRow(group) {
    var tpl = group.querySelector("template[data-repeat-template]");
    var rows = group.querySelector("[data-repeat-rows]");
    if (!tpl || !rows) { return; }
    var index = rows.querySelectorAll(":scope > [data-repeat-row]").length;
    var html = tpl.innerHTML.split(TOKEN).join(String(index));
    var holder = document.createElement("div");
    holder.innerHTML = html;  // our own server-rendered, autoescaped template
    var row = holder.firstElementChild;
    rows.appendChild(row);
    renumber(group);
    var first = row.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }

  function removeRow(group, row) {
    row.parentNode.removeChild(row);
    renumber(group);
    var add = group.querySelector("[data-repeat-add]");
    if (add) { add.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-repeat]"), function (group) {
      group.addEventListener("click", function (e) {
        var target = e.target.closest("button");
        if (!target || target.closest("[data-repeat]") !== group) { return; }
        if (target.hasAttribute("data-repeat-add")) {
          e.preventDefault();
          addRow(group);
        } else if (target.hasAttribute("data-repeat-remove")) {
          e.preventDefault();
          removeRow(group, target.closest("[data-repeat-row]"));
        }
      });
      renumber(group);
    });
    // disable double submits; the clicked button's name/value is still sent
    var form = document.querySelector("[data-task-form]");
    if (form) {
      form.addEventListener("submit", function (e) {
        var btn = e.submitter;
        if (btn && btn.name) {
          var hidden = document.createElement("input");
          hidden.type = "hidden"; hidden.name = btn.name; hidden.value = btn.value;
          form.appendChild(hidden);
        }
        Array.prototype.forEach.call(form.querySelectorAll('button[type="submit"]'), function (b) { b.disabled = true; });
      });
    }
  });
})();
