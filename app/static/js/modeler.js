/* Web modeler: bpmn-js Modeler + our own small properties panel + live validation + drafts + deploy.
 *
 * Config: <script type="application/json" id="modeler-config"> {initial: {xml, filename, key, version}|null,
 *   validate_url, deploy_url, admin_process_url, roles, operators, forms, processes}.
 * SpiffWorkflow extensions are edited through the moddle API with the descriptor below, so they
 * survive import/export (spiffworkflow:properties, serviceTaskOperator, instructionsForEndUser…).
 * Drafts are kept in localStorage under "investflow.modeler.draft.<process key>".
 */
(function () {
  "use strict";

  var SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  var SPIFF_DESCRIPTOR = {
    name: "SpiffWorkflow",
    uri: SPIFF_NS,
    prefix: "spiffworkflow",
    xml: { tagAlias: "lowerCase" },
    associations: [],
    types: [
      { name: "Properties", superClass: ["Element"],
        properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"],
        properties: [{ name: "name", isAttr: true, type: "String" }, { name: "value", isAttr: true, type: "String" }] },
      { name: "InstructionsForEndUser", superClass: ["Element"],
        properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "ServiceTaskOperator", superClass: ["Element"],
        properties: [{ name: "id", isAttr: true, type: "String" },
                     { name: "resultVariable", isAttr: true, type: "String" },
                     { name: "parameterList", type: "Parameters" }] },
      { name: "Parameters", superClass: ["Element"],
        properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
      { name: "Parameter", superClass: ["Element"],
        properties: [{ name: "id", isAttr: true, type: "String" }, { name: "type", isAttr: true, type: "String" },
                     { name: "value", isAttr: true, type: "String" }] },
      { name: "PreScript", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "PostScript", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "CalledDecisionId", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "MessageVariable", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "MessagePayload", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "VariableName", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "LoopScripts", isAbstract: true,
        extends: ["bpmn:MultiInstanceLoopCharacteristics", "bpmn:StandardLoopCharacteristics"],
        properties: [{ name: "scriptsOnInstances", isAttr: true, type: "Boolean" }] }
    ],
    enumerations: []
  };

  var DRAFT_PREFIX = "investflow.modeler.draft.";
  var VALIDATE_DELAY = 800;

  function newDiagram() {
    var pid = "Process_" + Math.random().toString(36).slice(2, 9);
    return '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
      'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
      'xmlns:spiffworkflow="' + SPIFF_NS + '" id="Definitions_' + pid + '" targetNamespace="http://bpmn.io/schema/bpmn">\n' +
      '  <bpmn:process id="' + pid + '" name="新流程" isExecutable="true">\n' +
      '    <bpmn:startEvent id="StartEvent_1" name="开始"/>\n' +
      '  </bpmn:process>\n' +
      '  <bpmndi:BPMNDiagram id="BPMNDiagram_1">\n' +
      '    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="' + pid + '">\n' +
      '      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1"><dc:Bounds x="180" y="160" width="36" height="36"/></bpmndi:BPMNShape>\n' +
      '    </bpmndi:BPMNPlane>\n' +
      '  </bpmndi:BPMNDiagram>\n' +
      '</bpmn:definitions>\n';
  }

  function readConfig() {
    var el = document.getElementById("modeler-config");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }

  var csrf = window.InvestFlow.csrfToken;  // shared helpers of app.js
  var postJSON = window.InvestFlow.postJSON;

  function debounce(fn, ms) {
    var t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  function init() {
    var canvasEl = document.getElementById("modeler-canvas");
    if (!canvasEl) { return; }
    var config = readConfig();
    var statusEl = document.getElementById("modeler-status");
    var problemList = document.getElementById("problem-list");
    var problemCount = document.getElementById("problem-count");
    var validationState = document.getElementById("validation-state");
    var filenameEl = document.getElementById("modeler-filename");
    var titleEl = document.getElementById("modeler-title");
    var propsForm = document.getElementById("props-form");
    var propsTarget = document.getElementById("props-target");
    var deployCard = document.getElementById("deploy-result");
    var deployBody = document.getElementById("deploy-result-body");
    var restoreBtn = document.querySelector('[data-action="restore-draft"]');

    function say(text, isError) {
      statusEl.textContent = text;
      statusEl.classList.toggle("text-error", !!isError);
    }

    if (typeof window.BpmnJS !== "function") {
      say("建模器组件未加载(管理员请运行 investflow assets fetch)。", true);
      return;
    }

    var modeler = new window.BpmnJS({
      container: canvasEl,
      keyboard: { bindTo: canvasEl },
      additionalModules: window.InvestflowBpmn ? window.InvestflowBpmn.modules() : [],
      moddleExtensions: { spiffworkflow: SPIFF_DESCRIPTOR }
    });
    var state = { key: null, filename: null, markers: [], seq: 0, lastXml: null, selected: null };
    window.investflowModeler = modeler; // for debugging and browser tests

    function svc(name) { return modeler.get(name); }

    // ------------------------------------------------------------------ import / process key
    function processIds() {
      var defs = modeler.getDefinitions && modeler.getDefinitions();
      if (!defs) { return []; }
      return (defs.rootElements || []).filter(function (e) { return e.$type === "bpmn:Process"; })
                                      .map(function (e) { return e.id; });
    }

    function refreshHeader() {
      var ids = processIds();
      var key = state.key || ids[0] || "";
      filenameEl.textContent = state.filename || "";
      if (titleEl) { titleEl.textContent = key || "新流程"; }
      if (restoreBtn) {
        var draft = loadDraft(key);
        restoreBtn.hidden = !draft;
        if (draft) { restoreBtn.textContent = "恢复草稿(" + new Date(draft.saved_at).toLocaleString("zh-CN") + ")"; }
      }
    }

    function open(xml, filename, key, message) {
      clearMarkers();
      return modeler.importXML(xml).then(function (result) {
        state.key = key || null;
        state.filename = filename || ((processIds()[0] || "diagram") + ".bpmn");
        if (!state.key) { state.key = processIds()[0] || null; }
        svc("canvas").zoom("fit-viewport", "auto");
        refreshHeader();
        showProps(null);
        var warnings = (result && result.warnings) || [];
        canvasEl.setAttribute("data-import-warnings", String(warnings.length));
        warnings.forEach(function (w) { if (window.console) { console.warn("bpmn import: " + (w && w.message)); } });
        say((message || "已打开") + (warnings.length ? "(导入提示 " + warnings.length + " 条)" : ""));
        canvasEl.setAttribute("data-loaded", "true");
        validate();
      }).catch(function (err) {
        say("无法打开该文件:" + (err && err.message ? err.message : err), true);
      });
    }

    // ------------------------------------------------------------------ validation
    function clearMarkers() {
      var canvas = svc("canvas");
      state.markers.forEach(function (m) { try { canvas.removeMarker(m.id, m.cls); } catch (e) { /* gone */ } });
      state.markers = [];
      try { svc("overlays").remove({ type: "lint" }); } catch (e) { /* nothing imported */ }
    }

    function problemItem(err, level, registry, canvas) {
      var li = document.createElement("li");
      li.className = level === "warning" ? "problem problem-warning" : "problem";
      li.setAttribute("data-level", level);
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "btn-link problem-link";
      var where = [err.file, err.element_id, err.line ? "第 " + err.line + " 行" : null].filter(Boolean).join(" · ");
      var strong = document.createElement("strong");
      strong.textContent = (level === "warning" ? "提示:" : "错误:") + (where || "(整体)");
      var msg = document.createElement("span");
      msg.className = "problem-message";
      msg.textContent = err.message;
      btn.appendChild(strong);
      btn.appendChild(document.createElement("br"));
      btn.appendChild(msg);
      var element = err.element_id ? registry.get(err.element_id) : null;
      if (element) {
        btn.addEventListener("click", function () {
          if (element !== canvas.getRootElement()) {
            svc("selection").select(element);
            try { canvas.scrollToElement(element); } catch (e) { /* older canvas */ }
          } else {
            svc("selection").select(null);
            showProps(null);
          }
          canvasEl.focus();
        });
      } else {
        btn.disabled = !err.element_id;
      }
      li.setAttribute("data-element", err.element_id || "");
      li.appendChild(btn);
      return li;
    }

    function addOverlay(element, level, messages) {
      var badge = document.createElement("span");
      badge.className = "lint-badge lint-" + level;
      badge.setAttribute("data-lint-element", element.id);
      badge.setAttribute("data-level", level);
      badge.setAttribute("role", "img");
      badge.setAttribute("aria-label", (level === "error" ? "错误:" : "提示:") + messages.join(";"));
      badge.title = messages.join("\n");
      badge.textContent = level === "error" ? "✕" + (messages.length > 1 ? messages.length : "")
                                            : "!" + (messages.length > 1 ? messages.length : "");
      svc("overlays").add(element.id, "lint", { position: { top: -10, right: 10 }, html: badge });
    }

    function renderProblems(errors, warnings) {
      warnings = warnings || [];
      clearMarkers();
      problemList.textContent = "";
      problemCount.textContent = String(errors.length);
      problemCount.classList.toggle("count-error", errors.length > 0);
      var warnCount = document.getElementById("warning-count");
      if (warnCount) { warnCount.textContent = String(warnings.length); }
      var registry = svc("elementRegistry");
      var canvas = svc("canvas");
      var byElement = {};
      [["error", errors], ["warning", warnings]].forEach(function (pair) {
        pair[1].forEach(function (err) {
          problemList.appendChild(problemItem(err, pair[0], registry, canvas));
          var element = err.element_id ? registry.get(err.element_id) : null;
          if (!element || element === canvas.getRootElement() || element.type === "label") { return; }
          var key = element.id + "|" + pair[0];
          (byElement[key] = byElement[key] || { element: element, level: pair[0], messages: [] }).messages.push(err.message);
        });
      });
      Object.keys(byElement).forEach(function (key) {
        var entry = byElement[key];
        var cls = entry.level === "error" ? "has-error" : "has-warning";
        canvas.addMarker(entry.element.id, cls);
        state.markers.push({ id: entry.element.id, cls: cls });
        try { addOverlay(entry.element, entry.level, entry.messages); } catch (e) { /* element without bounds */ }
      });
    }

    function currentXml() {
      return modeler.saveXML({ format: true }).then(function (r) { return r.xml; });
    }

    function validate() {
      var seq = ++state.seq;
      validationState.textContent = "正在校验…";
      return currentXml().then(function (xml) {
        return postJSON(config.validate_url, { xml: xml, filename: state.filename, key: state.key });
      }).then(function (res) {
        if (seq !== state.seq) { return; }
        var errors = (res.data && res.data.errors) || [];
        if (res.status >= 400 && !errors.length) { errors = [{ message: "校验请求失败(HTTP " + res.status + ")" }]; }
        var warnings = (res.data && res.data.warnings) || [];
        renderProblems(errors, warnings);
        var ok = res.status < 400 && res.data.valid;
        validationState.textContent = ok ? "校验通过,可以部署" + (warnings.length ? "(" + warnings.length + " 条提示)。" : "。")
                                         : "发现 " + errors.length + " 处错误" + (warnings.length ? "、" + warnings.length + " 条提示" : "") + "。";
        validationState.className = ok ? "validation-ok small" : "text-error small";
        canvasEl.setAttribute("data-valid", ok ? "true" : "false");
      }).catch(function (err) {
        if (seq !== state.seq) { return; }
        validationState.textContent = "校验失败:" + (err && err.message ? err.message : err);
      });
    }
    var validateSoon = debounce(validate, VALIDATE_DELAY);

    modeler.on("commandStack.changed", function () {
      canvasEl.setAttribute("data-valid", "pending");
      validateSoon();
      if (state.selected) { showProps(state.selected); }
    });

    // ------------------------------------------------------------------ drafts
    function draftKey(key) { return DRAFT_PREFIX + (key || "new"); }

    function loadDraft(key) {
      try {
        var raw = window.localStorage.getItem(draftKey(key));
        return raw ? JSON.parse(raw) : null;
      } catch (e) { return null; }
    }

    function saveDraft() {
      return currentXml().then(function (xml) {
        var key = state.key || processIds()[0];
        try {
          window.localStorage.setItem(draftKey(key), JSON.stringify({ xml: xml, filename: state.filename, key: key,
                                                                      saved_at: new Date().toISOString() }));
          say("草稿已保存在本浏览器(" + (key || "新流程") + ")。");
          refreshHeader();
        } catch (e) {
          say("无法保存草稿:" + e.message, true);
        }
      });
    }

    function download() {
      return currentXml().then(function (xml) {
        var blob = new Blob([xml], { type: "application/xml" });
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = state.filename || "diagram.bpmn";
        document.body.appendChild(a);
        a.click();
        setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
        say("已下载 " + a.download);
      });
    }

    // ------------------------------------------------------------------ deploy
    // 部署为新版本 → preview (validation + diff against the latest version) in a dialog that asks for a
    // required change note → deploy with the note.
    var dialog = document.getElementById("deploy-dialog");
    var diffBox = document.getElementById("deploy-diff");
    var noteField = document.getElementById("deploy-note");
    var noteError = document.getElementById("deploy-note-error");
    var STATUS_ZH = { added: "新增", removed: "删除", changed: "修改", moved: "仅布局" };

    function el(tag, cls, text) {
      var node = document.createElement(tag);
      if (cls) { node.className = cls; }
      if (text !== undefined && text !== null) { node.textContent = text; }
      return node;
    }

    function renderPreview(data) {
      diffBox.textContent = "";
      (data.processes || []).forEach(function (p) {
        var section = el("section", "deploy-diff-process");
        section.setAttribute("data-process", p.process_key);
        section.appendChild(el("h3", null, (p.name || p.process_key) + "(" + p.process_key + ")"));
        if (p.base_version === null || p.base_version === undefined) {
          section.appendChild(el("p", "muted", "首次部署:将创建 v1。"));
        } else if (p.identical) {
          section.appendChild(el("p", "muted", "与 v" + p.base_version + " 内容相同,不会创建新版本。"));
        } else if (p.diff) {
          var sum = p.diff.summary;
          var line = el("p", "deploy-diff-summary");
          line.appendChild(document.createTextNode("相对 v" + p.base_version + ":"));
          ["added", "removed", "changed", "moved"].forEach(function (k) {
            var badge = el("span", "badge diff-" + k, STATUS_ZH[k] + " " + sum[k]);
            badge.setAttribute("data-status", k);
            line.appendChild(badge);
            line.appendChild(document.createTextNode(" "));
          });
          section.appendChild(line);
          var ul = el("ul", "deploy-diff-items");
          p.diff.items.slice(0, 40).forEach(function (item) {
            var li = el("li", "diff-" + item.status);
            li.setAttribute("data-element", item.id);
            li.appendChild(el("span", "badge diff-" + item.status, STATUS_ZH[item.status]));
            li.appendChild(document.createTextNode(" " + (item.name || item.id) + "(" + item.type_name + ")"));
            (item.changes || []).slice(0, 4).forEach(function (c) {
              li.appendChild(el("div", "small muted", c.property + ":" + (c.before || "(无)") + " → " + (c.after || "(无)")));
            });
            ul.appendChild(li);
          });
          if (p.diff.items.length > 40) { ul.appendChild(el("li", "muted", "……另有 " + (p.diff.items.length - 40) + " 处")); }
          section.appendChild(ul);
        } else if (p.error) {
          section.appendChild(el("p", "text-error", p.error));
        }
        diffBox.appendChild(section);
      });
      var warnings = data.warnings || [];
      if (warnings.length) {
        diffBox.appendChild(el("p", "deploy-warnings", "提示 " + warnings.length + " 条(不影响部署,见校验结果)。"));
      }
    }

    function showDeployResult(res) {
      deployCard.hidden = false;
      deployBody.textContent = "";
      if (res.status === 201 || res.status === 200) {
        var versions = res.data.versions || [];
        var ul = document.createElement("ul");
        versions.forEach(function (v) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = v.url || config.admin_process_url.replace("__KEY__", encodeURIComponent(v.process_key));
          a.textContent = v.process_key + " v" + v.version;
          li.appendChild(a);
          li.appendChild(document.createTextNode(v.created ? " — 已部署为新版本" : " — 内容未变化,沿用已有版本"));
          li.setAttribute("data-version", v.version);
          ul.appendChild(li);
        });
        deployBody.appendChild(ul);
        var created = versions.filter(function (v) { return v.created; });
        say(created.length ? "部署成功:" + created.map(function (v) { return v.process_key + " v" + v.version; }).join("、")
                           : "内容与已部署版本相同,未创建新版本。");
        if (versions[0]) {
          state.key = versions[0].process_key;
          refreshHeader();
          if (titleEl) { titleEl.textContent = versions[0].process_key + " v" + versions[0].version; }
        }
        var deployWarnings = res.data.warnings || [];
        renderProblems([], deployWarnings);
        validationState.textContent = "已部署" + (deployWarnings.length ? "(" + deployWarnings.length + " 条提示,见下)。" : "。");
      } else {
        var errors = (res.data && res.data.errors) || [{ message: "部署失败(HTTP " + res.status + ")" }];
        renderProblems(errors, (res.data && res.data.warnings) || []);
        var p = document.createElement("p");
        p.className = "text-error";
        p.textContent = "部署被拒绝:" + errors.length + " 处错误,未保存任何内容。详见校验结果。";
        deployBody.appendChild(p);
        say("部署被拒绝。", true);
      }
    }

    function deploy() {
      var btn = document.querySelector('[data-action="deploy"]');
      btn.disabled = true;
      say("正在检查将要部署的变化…");
      return currentXml().then(function (xml) {
        state.pendingXml = xml;
        return postJSON(config.preview_url, { xml: xml, filename: state.filename, key: state.key });
      }).then(function (res) {
        if (res.status >= 400 || !res.data.valid) {
          var errors = (res.data && res.data.errors) || [{ message: "检查失败(HTTP " + res.status + ")" }];
          renderProblems(errors, (res.data && res.data.warnings) || []);
          say("有 " + errors.length + " 处错误,不能部署。详见校验结果。", true);
          return;
        }
        renderPreview(res.data);
        noteField.value = "";
        noteError.hidden = true;
        if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
        noteField.focus();
        say("请确认变化并填写变更说明。");
      }).catch(function (err) {
        say("部署失败:" + (err && err.message ? err.message : err), true);
      }).then(function () { btn.disabled = false; });
    }

    function closeDialog() {
      if (typeof dialog.close === "function") { dialog.close(); } else { dialog.removeAttribute("open"); }
    }

    document.getElementById("deploy-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var note = noteField.value.trim();
      if (!note) { noteError.hidden = false; noteField.focus(); return; }
      var confirmBtn = document.getElementById("deploy-confirm");
      confirmBtn.disabled = true;
      say("正在部署…");
      postJSON(config.deploy_url, { xml: state.pendingXml, filename: state.filename, key: state.key, note: note })
        .then(function (res) { closeDialog(); showDeployResult(res); })
        .catch(function (err) { say("部署失败:" + (err && err.message ? err.message : err), true); })
        .then(function () { confirmBtn.disabled = false; });
    });
    document.getElementById("deploy-cancel").addEventListener("click", function () {
      closeDialog();
      say("已取消部署。");
    });

    // ------------------------------------------------------------------ properties panel
    // Every field is read from the business object when an element is selected and written back by
    // "应用" as ONE command on the command stack (a compound of modeling.updateProperties /
    // updateModdleProperties calls), so one Ctrl+Z undoes the whole edit.
    function bo(element) { return element.businessObject; }

    function targetProcess(element) {
      // no selection: the process (or the first participant's process of a collaboration)
      var root = svc("canvas").getRootElement();
      var rbo = root && root.businessObject;
      if (element || !rbo) { return null; }  // nothing imported yet (implicit root)
      if (rbo.$type === "bpmn:Process") { return { element: root, bo: rbo }; }
      if (rbo.$type === "bpmn:Collaboration") {
        var participant = svc("elementRegistry").filter(function (e) { return e.type === "bpmn:Participant"; })[0];
        if (participant && bo(participant).processRef) { return { element: participant, bo: bo(participant).processRef }; }
      }
      return { element: root, bo: rbo };
    }

    function extValues(b, type) {
      var ext = b.extensionElements;
      return ext && ext.values ? ext.values.filter(function (v) { return v.$instanceOf(type); }) : [];
    }

    function spiffProperty(b, name) {
      var holder = extValues(b, "spiffworkflow:Properties")[0];
      if (!holder) { return ""; }
      var found = (holder.properties || []).filter(function (p) { return p.name === name; })[0];
      return found ? (found.value || "") : "";
    }

    function eventDef(b, type) {
      return (b.eventDefinitions || []).filter(function (d) { return d.$type === type; })[0];
    }
    function timerDef(b) { return eventDef(b, "bpmn:TimerEventDefinition"); }
    function messageHolder(b) {
      if (b.$type === "bpmn:ReceiveTask" || b.$type === "bpmn:SendTask") { return b; }
      return eventDef(b, "bpmn:MessageEventDefinition") || null;
    }

    function aspects(element) {
      if (!element) { return ["process"]; }
      var type = element.type;
      var b = bo(element);
      var out = [];
      if (type === "bpmn:Participant") { out.push("process"); }
      if (type === "bpmn:Lane") { out.push("lane"); }
      if (type === "bpmn:UserTask") { out.push("userTask"); }
      if (type === "bpmn:ServiceTask") { out.push("serviceTask"); }
      if (type === "bpmn:ScriptTask") { out.push("scriptTask"); }
      if (type === "bpmn:BusinessRuleTask") { out.push("businessRuleTask"); }
      if (type === "bpmn:CallActivity") { out.push("callActivity"); }
      if (type === "bpmn:SequenceFlow") { out.push("sequenceFlow"); }
      if (/Event$/.test(type) && timerDef(b)) { out.push("timer"); }
      if (messageHolder(b)) { out.push("message"); }
      return out;
    }

    function field(name) { return propsForm.elements[name]; }

    function docText(b) {
      var docs = b.documentation || [];
      return docs.length ? (docs[0].text || "") : "";
    }

    function paramsText(op) {
      var list = op && op.parameterList ? (op.parameterList.parameters || []) : [];
      return list.map(function (p) { return (p.id || "") + " = " + (p.value || ""); }).join("\n");
    }

    function parseParams(text) {
      var out = [];
      text.split(/\r?\n/).forEach(function (line, i) {
        if (!line.trim()) { return; }
        var at = line.indexOf("=");
        if (at < 0) { throw new Error("参数第 " + (i + 1) + " 行应为“名称 = 表达式”"); }
        var id = line.slice(0, at).trim();
        var value = line.slice(at + 1).trim();
        if (!/^[A-Za-z_][\w]*$/.test(id)) { throw new Error("参数名 " + id + " 无效(字母、数字、下划线)"); }
        out.push({ id: id, value: value });
      });
      return out;
    }

    function ensureRoleOption(value) {
      var select = field("role");
      Array.prototype.forEach.call(select.querySelectorAll("option[data-unknown]"), function (o) { o.remove(); });
      if (value && !select.querySelector('option[value="' + (window.CSS && CSS.escape ? CSS.escape(value) : value) + '"]')) {
        var o = document.createElement("option");
        o.value = value;
        o.textContent = value + "(不是已知角色)";
        o.setAttribute("data-unknown", "true");
        select.appendChild(o);
      }
      select.value = value || "";
    }

    function showProps(element) {
      if (element && element.type === "label") { element = element.labelTarget; }
      state.selected = element || null;
      var kinds = aspects(element);
      var target = element ? { element: element, bo: bo(element) } : targetProcess(null);
      if (!target) { propsTarget.textContent = ""; return; }
      var b = target.bo;
      propsTarget.textContent = element ? ("所选元素:" + (b.name || b.id) + "(" + element.type.replace("bpmn:", "") + ")")
                                        : "未选择元素:编辑流程属性(" + (b.id || "") + ")";
      Array.prototype.forEach.call(propsForm.querySelectorAll("[data-for]"), function (el) {
        var wanted = el.getAttribute("data-for").split(/\s+/);
        el.hidden = !wanted.some(function (k) { return kinds.indexOf(k) >= 0; });
      });
      Array.prototype.forEach.call(propsForm.querySelectorAll("[data-hide-for]"), function (el) {
        var hide = el.getAttribute("data-hide-for").split(/\s+/);
        el.hidden = hide.some(function (k) { return kinds.indexOf(k) >= 0; });
      });
      field("id").value = b.id || "";
      field("name").value = b.name || "";
      ensureRoleOption(element && element.type === "bpmn:Lane" ? (b.name || "") : "");
      field("documentation").value = docText(b);
      var proc = element && element.type === "bpmn:Participant" ? b.processRef : (!element ? b : null);
      field("isExecutable").checked = !!(proc && proc.isExecutable);
      field("formJsonSchemaFilename").value = spiffProperty(b, "formJsonSchemaFilename");
      field("formUiSchemaFilename").value = spiffProperty(b, "formUiSchemaFilename");
      field("noForm").checked = spiffProperty(b, "noForm") === "true";
      var instr = extValues(b, "spiffworkflow:InstructionsForEndUser")[0];
      field("instructionsForEndUser").value = instr ? (instr.value || "") : "";
      var op = extValues(b, "spiffworkflow:ServiceTaskOperator")[0];
      field("operatorId").value = op ? (op.id || "") : "";
      field("resultVariable").value = op ? (op.resultVariable || "") : "";
      field("parameters").value = paramsText(op);
      field("script").value = b.script || "";
      var decision = extValues(b, "spiffworkflow:CalledDecisionId")[0];
      field("calledDecisionId").value = decision ? (decision.value || "") : "";
      field("calledElement").value = b.calledElement || "";
      var holder = messageHolder(b);
      field("messageName").value = holder && holder.messageRef ? (holder.messageRef.name || holder.messageRef.id || "") : "";
      field("condition").value = b.conditionExpression ? (b.conditionExpression.body || "") : "";
      var timer = kinds.indexOf("timer") >= 0 ? timerDef(b) : null;
      var kindKey = timer ? (timer.timeDate ? "timeDate" : (timer.timeCycle ? "timeCycle" : "timeDuration")) : "timeDuration";
      field("timerKind").value = kindKey;
      field("timer").value = timer && timer[kindKey] ? (timer[kindKey].body || "") : "";
    }

    function readForm() {
      var values = {};
      ["id", "name", "role", "documentation", "formJsonSchemaFilename", "formUiSchemaFilename", "instructionsForEndUser",
       "operatorId", "resultVariable", "parameters", "script", "calledDecisionId", "calledElement", "messageName",
       "condition", "timerKind", "timer"].forEach(function (n) { values[n] = field(n).value; });
      values.isExecutable = field("isExecutable").checked;
      values.noForm = field("noForm").checked;
      return values;
    }

    // ---- edit helpers: each one issues modeling commands (inside the compound command below)
    function ensureExtElements(el, b) {
      if (!b.extensionElements) {
        var ext = svc("moddle").create("bpmn:ExtensionElements", { values: [] });
        ext.$parent = b;
        svc("modeling").updateModdleProperties(el, b, { extensionElements: ext });
      }
      return b.extensionElements;
    }

    function ensureExtension(el, b, type, attrs) {
      var ext = ensureExtElements(el, b);
      var found = extValues(b, type)[0];
      if (!found) {
        found = svc("moddle").create(type, attrs || {});
        found.$parent = ext;
        svc("modeling").updateModdleProperties(el, ext, { values: (ext.values || []).concat([found]) });
      }
      return found;
    }

    function removeExtension(el, b, type) {
      var ext = b.extensionElements;
      if (!ext || !ext.values) { return; }
      var rest = ext.values.filter(function (v) { return !v.$instanceOf(type); });
      if (rest.length !== ext.values.length) { svc("modeling").updateModdleProperties(el, ext, { values: rest }); }
    }

    function setSpiffProperty(el, b, name, value) {
      if ((spiffProperty(b, name) || "") === (value || "")) { return; }
      var modeling = svc("modeling");
      var holder = ensureExtension(el, b, "spiffworkflow:Properties");
      var list = holder.properties || [];
      var prop = list.filter(function (p) { return p.name === name; })[0];
      if (!value) {
        modeling.updateModdleProperties(el, holder, { properties: list.filter(function (p) { return p !== prop; }) });
      } else if (prop) {
        modeling.updateModdleProperties(el, prop, { value: value });
      } else {
        prop = svc("moddle").create("spiffworkflow:Property", { name: name, value: value });
        prop.$parent = holder;
        modeling.updateModdleProperties(el, holder, { properties: list.concat([prop]) });
      }
    }

    function setBodyExtension(el, b, type, text) {
      var current = extValues(b, type)[0];
      if (text && (!current || current.value !== text)) {
        current = ensureExtension(el, b, type);
        svc("modeling").updateModdleProperties(el, current, { value: text });
      } else if (!text && current) {
        removeExtension(el, b, type);
      }
    }

    function setDocumentation(el, b, text) {
      if (docText(b) === text) { return; }
      var docs = text ? [svc("moddle").create("bpmn:Documentation", { text: text })] : [];
      svc("modeling").updateModdleProperties(el, b, { documentation: docs });
    }

    function setOperator(el, b, opId, resultVar, params) {
      var modeling = svc("modeling");
      var moddle = svc("moddle");
      var op = extValues(b, "spiffworkflow:ServiceTaskOperator")[0];
      if (!opId) {
        if (op) { removeExtension(el, b, "spiffworkflow:ServiceTaskOperator"); }
        return;
      }
      op = op || ensureExtension(el, b, "spiffworkflow:ServiceTaskOperator", { id: opId });
      if (op.id !== opId || (op.resultVariable || "") !== resultVar) {
        modeling.updateModdleProperties(el, op, { id: opId, resultVariable: resultVar || undefined });
      }
      var old = op.parameterList ? (op.parameterList.parameters || []) : [];
      var same = old.length === params.length && params.every(function (p, i) {
        return old[i].id === p.id && (old[i].value || "") === p.value;
      });
      if (same) { return; }
      var types = {};
      old.forEach(function (p) { types[p.id] = p.type; });
      var holder = moddle.create("spiffworkflow:Parameters", { parameters: [] });
      holder.$parent = op;
      holder.parameters = params.map(function (p) {
        var node = moddle.create("spiffworkflow:Parameter", { id: p.id, type: types[p.id] || "any", value: p.value });
        node.$parent = holder;
        return node;
      });
      modeling.updateModdleProperties(el, op, { parameterList: params.length ? holder : undefined });
    }

    function definitions() { return modeler.getDefinitions(); }

    function setMessageName(el, holder, name) {
      var current = holder.messageRef ? (holder.messageRef.name || holder.messageRef.id || "") : "";
      if (current === name) { return; }
      var modeling = svc("modeling");
      if (!name) { modeling.updateModdleProperties(el, holder, { messageRef: undefined }); return; }
      var defs = definitions();
      var message = (defs.rootElements || []).filter(function (r) { return r.$type === "bpmn:Message" && r.name === name; })[0];
      if (!message) {
        message = svc("moddle").create("bpmn:Message", { id: "Message_" + Math.random().toString(36).slice(2, 9), name: name });
        message.$parent = defs;
        modeling.updateModdleProperties(el, defs, { rootElements: (defs.rootElements || []).concat([message]) });
      }
      modeling.updateModdleProperties(el, holder, { messageRef: message });
    }

    function setTimer(el, def, kindKey, value) {
      var prevKind = def.timeDate ? "timeDate" : (def.timeCycle ? "timeCycle" : (def.timeDuration ? "timeDuration" : null));
      var prev = prevKind && def[prevKind] ? (def[prevKind].body || "") : "";
      if (prevKind === kindKey && prev === value) { return; }
      if (!prevKind && !value) { return; }
      var upd = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
      if (value) {
        var expr = svc("moddle").create("bpmn:FormalExpression", { body: value });
        expr.$parent = def;
        upd[kindKey] = expr;
      }
      svc("modeling").updateModdleProperties(el, def, upd);
    }

    function checkId(b, newId) {
      if (!newId || newId === b.id) { return; }
      if (!/^[A-Za-z_][\w.-]*$/.test(newId)) { throw new Error("ID 只能包含字母、数字、下划线、点和连字符,且不能以数字开头"); }
      if (svc("elementRegistry").get(newId) || (b.$model && b.$model.ids && b.$model.ids.assigned(newId))) {
        throw new Error("ID " + newId + " 已被使用");
      }
    }

    function applyValues(element, target, v, kinds) {
      var b = target.bo;
      var el = target.element;
      var modeling = svc("modeling");
      var moddle = svc("moddle");
      var newId = v.id.trim();
      if (newId && newId !== b.id) {
        if (element) { modeling.updateProperties(element, { id: newId }); }
        else { modeling.updateModdleProperties(el, b, { id: newId }); }
        if (state.key === b.id && !element) { state.key = newId; }
      }
      var name = kinds.indexOf("lane") >= 0 ? v.role : v.name;
      if ((b.name || "") !== name) {
        if (element) { modeling.updateLabel(element, name); }
        else { modeling.updateModdleProperties(el, b, { name: name || undefined }); }
      }
      setDocumentation(el, b, v.documentation);
      if (kinds.indexOf("process") >= 0) {
        var proc = element ? b.processRef : b;
        if (proc && !!proc.isExecutable !== v.isExecutable) {
          modeling.updateModdleProperties(el, proc, { isExecutable: v.isExecutable });
        }
      }
      if (kinds.indexOf("userTask") >= 0) {
        setSpiffProperty(el, b, "formJsonSchemaFilename", v.formJsonSchemaFilename.trim());
        setSpiffProperty(el, b, "formUiSchemaFilename", v.formUiSchemaFilename.trim());
        setSpiffProperty(el, b, "noForm", v.noForm ? "true" : "");
        setBodyExtension(el, b, "spiffworkflow:InstructionsForEndUser", v.instructionsForEndUser);
      }
      if (kinds.indexOf("serviceTask") >= 0) {
        setOperator(el, b, v.operatorId.trim(), v.resultVariable.trim(), v.params);
      }
      if (kinds.indexOf("scriptTask") >= 0 && (b.script || "") !== v.script) {
        modeling.updateProperties(el, { script: v.script, scriptFormat: b.scriptFormat || "python" });
      }
      if (kinds.indexOf("businessRuleTask") >= 0) {
        setBodyExtension(el, b, "spiffworkflow:CalledDecisionId", v.calledDecisionId.trim());
      }
      if (kinds.indexOf("callActivity") >= 0 && (b.calledElement || "") !== v.calledElement.trim()) {
        modeling.updateProperties(el, { calledElement: v.calledElement.trim() || undefined });
      }
      if (kinds.indexOf("message") >= 0) {
        setMessageName(el, messageHolder(b), v.messageName.trim());
      }
      if (kinds.indexOf("sequenceFlow") >= 0) {
        var cond = v.condition.trim();
        var old = b.conditionExpression ? (b.conditionExpression.body || "") : "";
        if (cond !== old) {
          modeling.updateProperties(el, { conditionExpression: cond ? moddle.create("bpmn:FormalExpression", { body: cond }) : undefined });
        }
      }
      if (kinds.indexOf("timer") >= 0) {
        setTimer(el, timerDef(b), v.timerKind, v.timer.trim());
      }
    }

    var commandStack = svc("commandStack");
    commandStack.register("investflow.applyFields", {
      preExecute: function (context) { applyValues(context.element, context.target, context.values, context.kinds); },
      execute: function () { return []; },
      revert: function () { return []; }
    });

    function apply(e) {
      e.preventDefault();
      var element = state.selected;
      var kinds = aspects(element);
      var target = element ? { element: element, bo: bo(element) } : targetProcess(null);
      if (!target) { return; }
      try {
        var values = readForm();  // read everything first: each command re-renders the panel
        checkId(target.bo, values.id.trim());
        values.params = kinds.indexOf("serviceTask") >= 0 ? parseParams(values.parameters) : [];
        var before = commandStack._stack.length;
        commandStack.execute("investflow.applyFields", { element: element, target: target, values: values, kinds: kinds });
        if (commandStack._stack.length - before <= 1) {
          commandStack.undo();  // nothing changed: drop the empty step so Ctrl+Z undoes a real edit
          say("属性没有变化。");
        } else {
          say("已应用属性修改(Ctrl+Z 可撤销)。");
        }
        refreshHeader();
      } catch (err) {
        say("无法应用:" + (err && err.message ? err.message : err), true);
      }
    }

    propsForm.addEventListener("submit", apply);
    modeler.on("selection.changed", function (e) {
      var sel = e.newSelection || [];
      showProps(sel.length === 1 ? sel[0] : null);
    });

    // ------------------------------------------------------------------ toolbar
    var fileInput = document.getElementById("modeler-file");
    fileInput.addEventListener("change", function () {
      var file = fileInput.files && fileInput.files[0];
      if (!file) { return; }
      var reader = new FileReader();
      reader.onload = function () { open(String(reader.result), file.name, null, "已打开本地文件 " + file.name); };
      reader.onerror = function () { say("无法读取文件", true); };
      reader.readAsText(file, "utf-8");
      fileInput.value = "";
    });
    document.querySelector('[data-action="new"]').addEventListener("click", function () {
      open(newDiagram(), null, null, "已新建流程");
    });
    document.querySelector('[data-action="save-draft"]').addEventListener("click", saveDraft);
    document.querySelector('[data-action="download"]').addEventListener("click", download);
    document.querySelector('[data-action="validate"]').addEventListener("click", validate);
    document.querySelector('[data-action="deploy"]').addEventListener("click", deploy);
    if (restoreBtn) {
      restoreBtn.addEventListener("click", function () {
        var draft = loadDraft(state.key || processIds()[0]);
        if (draft) { open(draft.xml, draft.filename || state.filename, draft.key, "已恢复草稿"); }
      });
    }
    var keySelect = document.getElementById("open-key");
    var versionSelect = document.getElementById("open-version");
    if (keySelect && versionSelect) {
      keySelect.addEventListener("change", function () {
        var entry = (config.processes || []).filter(function (p) { return p.key === keySelect.value; })[0];
        versionSelect.textContent = "";
        var latest = document.createElement("option");
        latest.value = "";
        latest.textContent = "最新";
        versionSelect.appendChild(latest);
        ((entry && entry.versions) || []).forEach(function (v) {
          var o = document.createElement("option");
          o.value = v;
          o.textContent = "v" + v;
          versionSelect.appendChild(o);
        });
      });
    }
    window.addEventListener("beforeunload", function () { /* drafts are explicit; nothing to do */ });

    if (config.initial && config.initial.xml) {
      open(config.initial.xml, config.initial.filename, config.initial.key,
           "已打开 " + config.initial.key + " v" + config.initial.version);
    } else {
      open(newDiagram(), null, null, "已新建流程(可打开本地文件或已部署流程)");
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
