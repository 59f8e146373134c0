/* Instance / version diagram: bpmn-js NavigatedViewer with state markers and due-date overlays.
 *
 * Reads <script type="application/json" id="diagram-config">{"url": "..."}</script>; the URL answers
 * {xml, states: {elementId: completed|active|waiting|error|overdue}, due: {elementId: {at, kind, overdue}}}.
 * Markers: CSS classes state-<state> on the shapes (see pages.css). No inline scripts (CSP).
 */
(function () {
  "use strict";

  var STATE_NAMES = { completed: "已完成", active: "进行中", waiting: "等待中", error: "故障", overdue: "已超期" };
  var dateFormat = null;
  try {
    dateFormat = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit",
                                                    hour: "2-digit", minute: "2-digit", hour12: false });
  } catch (e) { dateFormat = null; }

  function fmt(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    return dateFormat ? dateFormat.format(d) : d.toISOString().slice(5, 16).replace("T", " ");
  }

  function readConfig() {
    if (window.InvestFlow && window.InvestFlow.readJSON) { return window.InvestFlow.readJSON("diagram-config"); }
    var el = document.getElementById("diagram-config");
    try { return el ? JSON.parse(el.textContent) : null; } catch (e) { return null; }
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function decorate(viewer, data) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
    var counts = {};
    Object.keys(data.states || {}).forEach(function (id) {
      var state = data.states[id];
      var element = registry.get(id);
      if (!element) { return; }
      canvas.addMarker(id, "state-" + state);
      // containers (expanded sub-processes, pools) keep a coloured outline but no fill over their content
      if (/SubProcess|Transaction|Participant|Lane/.test(element.type) && element.children && element.children.length) {
        canvas.addMarker(id, "state-container");
      }
      counts[state] = (counts[state] || 0) + 1;
    });
    Object.keys(data.due || {}).forEach(function (id) {
      var info = data.due[id];
      var element = registry.get(id);
      if (!element || element.type === "label") { return; }
      var badge = document.createElement("div");
      badge.className = "due-overlay" + (info.overdue ? " due-overlay-overdue" : "") + (info.kind === "timer" ? " due-overlay-timer" : "");
      badge.textContent = (info.kind === "timer" ? "⏱ " : (info.overdue ? "超期 " : "期限 ")) + fmt(info.at);
      badge.title = (info.kind === "timer" ? "定时器到期:" : "办理期限:") + fmt(info.at);
      // task deadlines above the task, timer due times below the (boundary) event
      var position = info.kind === "timer" ? { bottom: -4, left: -10 } : { top: -20, left: 0 };
      overlays.add(id, "due", { position: position, html: badge });
    });
    return counts;
  }

  function summary(counts) {
    var parts = [];
    ["active", "overdue", "waiting", "error", "completed"].forEach(function (k) {
      if (counts[k]) { parts.push(STATE_NAMES[k] + " " + counts[k]); }
    });
    return parts.length ? "环节状态:" + parts.join(",") : "流程图已加载";
  }

  function bindKeys(container, canvas) {
    container.addEventListener("keydown", function (e) {
      if (e.target !== container) { return; }
      var step = 40;
      var handled = true;
      if (e.key === "+" || e.key === "=") { canvas.zoom(canvas.zoom() * 1.2); }
      else if (e.key === "-") { canvas.zoom(canvas.zoom() / 1.2); }
      else if (e.key === "0") { canvas.zoom("fit-viewport", "auto"); }
      else if (e.key === "ArrowLeft") { canvas.scroll({ dx: step, dy: 0 }); }
      else if (e.key === "ArrowRight") { canvas.scroll({ dx: -step, dy: 0 }); }
      else if (e.key === "ArrowUp") { canvas.scroll({ dx: 0, dy: step }); }
      else if (e.key === "ArrowDown") { canvas.scroll({ dx: 0, dy: -step }); }
      else { handled = false; }
      if (handled) { e.preventDefault(); }
    });
  }

  function init() {
    var container = document.getElementById("bpmn-viewer");
    var status = document.getElementById("viewer-status");
    var config = readConfig();
    if (!container) { return; }
    function say(text, isError) {
      if (status) { status.textContent = text; status.classList.toggle("text-error", !!isError); }
    }
    if (!config || !config.url) { say("没有可显示的流程图。"); return; }
    if (typeof window.BpmnJS !== "function") {
      say("流程图组件未加载(管理员请运行 investflow assets fetch)。", true);
      container.classList.add("viewer-missing");
      return;
    }
    var viewer = new window.BpmnJS({ container: container,
                                     additionalModules: window.InvestflowBpmn ? window.InvestflowBpmn.modules() : [] });
    getJSON(config.url).then(function (data) {
      if (!data.xml) { say("该实例没有可显示的流程图。"); return null; }
      return viewer.importXML(data.xml).then(function (result) {
        var canvas = viewer.get("canvas");
        canvas.zoom("fit-viewport", "auto");
        var counts = decorate(viewer, data);
        bindKeys(container, canvas);
        container.setAttribute("data-loaded", "true");
        var warnings = (result && result.warnings) ? result.warnings.length : 0;
        say(summary(counts) + (warnings ? "(导入提示 " + warnings + " 条)" : ""));
      });
    }).catch(function (err) {
      say("流程图加载失败:" + (err && err.message ? err.message : err), true);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
