/* Bulk migration (admin): dry run through POST /api/v1/processes/<key>/migrations (dry_run: true),
 * then migrate the allowed instances in chunks through POST /api/v1/instances/<id>/migrate, updating a
 * <progress> element. Without JavaScript the form posts to /admin/migrations (server-side dry run). */
(function () {
  "use strict";

  var CHUNK = 10;
  var RESULT_NAMES = { allowed: "可迁移", migrated: "已迁移", refused: "拒绝", unchanged: "无需迁移", failed: "失败" };

  function readConfig() {
    var el = document.getElementById("bulk-config");
    try { return el ? JSON.parse(el.textContent) : null; } catch (e) { return null; }
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function postJSON(url, body) {
    if (window.InvestFlow && window.InvestFlow.fetchJSON) {
      return window.InvestFlow.fetchJSON(url, { method: "POST", body: body });
    }
    return fetch(url, { method: "POST", credentials: "same-origin",
                        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
                        body: JSON.stringify(body) }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) {
          var err = new Error((data.errors && data.errors[0] && data.errors[0].message) || r.statusText);
          err.status = r.status; throw err;
        }
        return data;
      });
    });
  }

  function init() {
    var form = document.getElementById("bulk-form");
    var config = readConfig();
    if (!form || !config || !window.fetch) { return; }
    var dryBtn = form.querySelector('[data-bulk="dry-run"]');
    var execBtn = form.querySelector('[data-bulk="execute"]');
    var card = document.getElementById("bulk-result-card");
    var tbody = document.querySelector("#bulk-result tbody");
    var summary = document.getElementById("bulk-summary");
    var progressWrap = document.getElementById("bulk-progress-wrap");
    var progress = document.getElementById("bulk-progress");
    var progressText = document.getElementById("bulk-progress-text");
    var plan = null;

    function values() {
      var fd = new FormData(form);
      return { process_key: fd.get("process_key"), from_version: parseInt(fd.get("from_version"), 10),
               to_version: parseInt(fd.get("to_version"), 10), business_key: fd.get("business_key") || null,
               status: fd.get("status") || null };
    }

    function row(item) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-instance", item.id);
      if (item.result === "refused" || item.result === "failed") { tr.className = "row-red"; }
      var a = document.createElement("a");
      a.href = "/admin/instances/" + item.id;
      a.textContent = "#" + item.id;
      var td1 = document.createElement("td"); td1.appendChild(a);
      var td2 = document.createElement("td"); td2.textContent = RESULT_NAMES[item.result] || item.result;
      var td3 = document.createElement("td"); td3.textContent = item.reason || "";
      tr.appendChild(td1); tr.appendChild(td2); tr.appendChild(td3);
      return tr;
    }

    function render(items) {
      tbody.textContent = "";
      items.forEach(function (item) { tbody.appendChild(row(item)); });
      card.hidden = false;
    }

    function setRow(item) {
      var old = tbody.querySelector('tr[data-instance="' + item.id + '"]');
      var fresh = row(item);
      if (old) { tbody.replaceChild(fresh, old); } else { tbody.appendChild(fresh); }
    }

    function fail(err) {
      summary.textContent = "操作失败:" + (err && err.message ? err.message : err);
      card.hidden = false;
    }

    dryBtn.addEventListener("click", function (e) {
      if (!form.reportValidity()) { return; }
      e.preventDefault();
      var v = values();
      dryBtn.disabled = true;
      execBtn.disabled = true;
      summary.textContent = "正在试运行…";
      card.hidden = false;
      postJSON(config.api.replace("__KEY__", encodeURIComponent(v.process_key)),
               { from_version: v.from_version, to_version: v.to_version, dry_run: true,
                 business_key: v.business_key, status: v.status })
        .then(function (data) {
          plan = { values: v, ids: data.items.filter(function (i) { return i.result === "allowed"; })
                                            .map(function (i) { return i.id; }) };
          render(data.items);
          summary.textContent = "试运行:共 " + data.total + " 个实例;可迁移 " + data.summary.allowed + ",拒绝 " +
                                data.summary.refused + "。";
          execBtn.disabled = plan.ids.length === 0;
          if (plan.ids.length) { execBtn.focus(); }
        })
        .catch(fail)
        .then(function () { dryBtn.disabled = false; });
    });

    execBtn.addEventListener("click", function (e) {
      e.preventDefault();
      if (!plan || !plan.ids.length) { return; }
      if (!window.confirm("确定将 " + plan.ids.length + " 个实例迁移到 v" + plan.values.to_version + "?")) { return; }
      var ids = plan.ids.slice();
      var toVersion = plan.values.to_version;
      var total = ids.length;
      var done = 0, migrated = 0, refused = 0;
      execBtn.disabled = true;
      dryBtn.disabled = true;
      progressWrap.hidden = false;
      progress.max = total;
      progress.value = 0;
      progressText.textContent = "0 / " + total;

      function nextChunk() {
        if (!ids.length) {
          summary.textContent = "已执行:已迁移 " + migrated + ",未迁移 " + refused + "(共 " + total + ")。";
          progressText.textContent = "完成:" + done + " / " + total;
          dryBtn.disabled = false;
          plan = null;
          return Promise.resolve();
        }
        var chunk = ids.splice(0, CHUNK);
        return Promise.all(chunk.map(function (id) {
          return postJSON(config.instance_api.replace("/instances/0/", "/instances/" + id + "/"),
                          { to_version: toVersion, dry_run: false })
            .then(function (r) {
              if (r.result === "migrated" || r.result === "unchanged") { migrated += 1; } else { refused += 1; }
              setRow({ id: id, result: r.result, reason: r.reason });
            })
            .catch(function (err) {
              refused += 1;
              setRow({ id: id, result: "failed", reason: err && err.message ? err.message : String(err) });
            })
            .then(function () {
              done += 1;
              progress.value = done;
              progress.textContent = Math.round(done * 100 / total) + "%";
              progressText.textContent = done + " / " + total;
            });
        })).then(nextChunk);
      }
      nextChunk();
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
