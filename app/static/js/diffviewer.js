/* Visual version diff: both versions' main diagrams side by side (bpmn-js NavigatedViewer), elements
 * coloured by status — added (new side), removed (old side), changed (both), layout only (both).
 * Config: <script id="diff-viewer-config"> {a: {url, marks: {id: status}}, b: {url, marks}}.
 */
(function () {
  "use strict";

  var LABELS = { added: "新增", removed: "删除", changed: "修改", moved: "仅布局变化" };

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function show(side, container, conf) {
    var viewer = new window.BpmnJS({ container: container,
                                     additionalModules: window.InvestflowBpmn ? window.InvestflowBpmn.modules() : [] });
    return getJSON(conf.url).then(function (data) {
      return viewer.importXML(data.xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport", "auto");
        var counts = {};
        Object.keys(conf.marks || {}).forEach(function (id) {
          var element = registry.get(id);
          if (!element || element === canvas.getRootElement()) { return; }
          var status = conf.marks[id];
          canvas.addMarker(id, "diff-mark-" + status);
          var gfx = registry.getGraphics(element);
          if (gfx) { gfx.setAttribute("data-diff", status); }
          counts[status] = (counts[status] || 0) + 1;
        });
        container.setAttribute("data-loaded", "true");
        return counts;
      });
    });
  }

  function init() {
    var el = document.getElementById("diff-viewer-config");
    var status = document.getElementById("diff-viewer-status");
    if (!el) { return; }
    var config;
    try { config = JSON.parse(el.textContent); } catch (e) { return; }
    if (typeof window.BpmnJS !== "function") {
      status.textContent = "流程图组件未加载(管理员请运行 investflow assets fetch)。";
      return;
    }
    Promise.all([show("a", document.getElementById("diff-viewer-a"), config.a),
                 show("b", document.getElementById("diff-viewer-b"), config.b)]).then(function (all) {
      var parts = [];
      ["added", "removed", "changed", "moved"].forEach(function (k) {
        var n = (all[0][k] || 0) + (all[1][k] || 0);
        if (k === "changed" || k === "moved") { n = Math.max(all[0][k] || 0, all[1][k] || 0); }
        if (n) { parts.push(LABELS[k] + " " + n); }
      });
      status.textContent = parts.length ? "图中标出:" + parts.join("、") : "主流程图没有元素变化。";
    }).catch(function (err) {
      status.textContent = "流程图加载失败:" + (err && err.message ? err.message : err);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
