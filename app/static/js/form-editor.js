/* Form editor: the JSON Schema + UI schema of a user task's form as a list of fields (key, title,
 * type, required, options, min/max, pattern, help, "required when another field is filled" via
 * dependentRequired). Every change rebuilds both documents and asks the server for a preview rendered
 * by the task page's renderer; 部署为新版本 saves them as files of a new version (with a change note).
 * Properties the editor does not manage are kept as they were (complex fields stay untouched). */
(function () {
  "use strict";

  var MANAGED = ["type", "format", "enum", "oneOf", "minimum", "maximum", "minLength", "maxLength", "pattern",
                 "description", "title"];

  var csrf = window.InvestFlow.csrfToken;  // shared helpers of app.js
  var postJSON = window.InvestFlow.postJSON;
  function copy(v) { return JSON.parse(JSON.stringify(v === undefined ? null : v)); }
  function debounce(fn, ms) { var t = null; return function () { clearTimeout(t); t = setTimeout(fn, ms); }; }

  function fieldFrom(key, s, uiField, required, requiredIf) {
    var type = s.type;
    var options = null;
    if (Array.isArray(s.enum)) { options = s.enum; }
    else if (Array.isArray(s.oneOf) && s.oneOf.every(function (o) { return o && "const" in o; })) {
      options = s.oneOf.map(function (o) { return o.const; });
    }
    var kind;
    if (options && (type === "string" || type === undefined)) { kind = "select"; }
    else if (type === "string" && s.format === "date") { kind = "date"; }
    else if (type === "string" && uiField["ui:widget"] === "textarea") { kind = "textarea"; }
    else if (type === "string" && !s.format && !(uiField["ui:widget"] === "file")) { kind = "string"; }
    else if (type === "number" || type === "integer" || type === "boolean") { kind = type; }
    else { kind = "keep"; }
    var isText = kind === "string" || kind === "textarea";
    return {
      key: key, original: copy(s), originalUi: copy(uiField), kind: kind, title: s.title || "",
      required: required, enum: options ? options.join(",") : "",
      min: isText ? (s.minLength !== undefined ? String(s.minLength) : "") : (s.minimum !== undefined ? String(s.minimum) : ""),
      max: isText ? (s.maxLength !== undefined ? String(s.maxLength) : "") : (s.maximum !== undefined ? String(s.maximum) : ""),
      pattern: s.pattern || "", help: uiField["ui:help"] || s.description || "", requiredIf: requiredIf || ""
    };
  }

  function load(schema, ui) {
    var props = schema.properties || {};
    var order = (ui["ui:order"] || []).filter(function (k) { return k in props; });
    Object.keys(props).forEach(function (k) { if (order.indexOf(k) < 0) { order.push(k); } });
    var required = schema.required || [];
    var dep = schema.dependentRequired || {};
    return order.map(function (key) {
      var when = Object.keys(dep).filter(function (other) { return (dep[other] || []).indexOf(key) >= 0; })[0];
      return fieldFrom(key, props[key] || {}, ui[key] || {}, required.indexOf(key) >= 0, when);
    });
  }

  function num(text) {
    if (text === "" || text === null || text === undefined) { return undefined; }
    var n = Number(text);
    if (isNaN(n)) { throw new Error("“" + text + "” 不是数字"); }
    return n;
  }

  function build(baseSchema, baseUi, fields, title) {
    var schema = copy(baseSchema);
    var ui = copy(baseUi);
    schema.type = "object";
    if (title) { schema.title = title; } else { delete schema.title; }
    schema.properties = {};
    var required = [];
    var dep = {};
    var keys = {};
    fields.forEach(function (f) {
      var key = f.key.trim();
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) { throw new Error("字段键 “" + key + "” 无效(字母、数字、下划线,不以数字开头)"); }
      if (keys[key]) { throw new Error("字段键 “" + key + "” 重复"); }
      keys[key] = true;
      var s = copy(f.original) || {};
      var u = copy(f.originalUi) || {};
      if (f.kind !== "keep") {
        MANAGED.forEach(function (k) { delete s[k]; });
        delete u["ui:help"];
        if (u["ui:widget"] === "textarea" || u["ui:widget"] === "select") { delete u["ui:widget"]; }
        var isText = f.kind === "string" || f.kind === "textarea";
        if (f.kind === "select") {
          s.type = "string";
          var opts = f.enum.split(/[,,]/).map(function (x) { return x.trim(); }).filter(Boolean);
          if (!opts.length) { throw new Error("下拉字段 “" + key + "” 需要至少一个选项"); }
          s.enum = opts;
        } else if (f.kind === "date") { s.type = "string"; s.format = "date"; }
        else if (isText) { s.type = "string"; if (f.kind === "textarea") { u["ui:widget"] = "textarea"; } }
        else { s.type = f.kind; }
        var lo = num(f.min), hi = num(f.max);
        if (isText) {
          if (lo !== undefined) { s.minLength = Math.max(0, Math.round(lo)); }
          if (hi !== undefined) { s.maxLength = Math.max(0, Math.round(hi)); }
          if (f.pattern) {
            try { new RegExp(f.pattern); } catch (e) { throw new Error("字段 “" + key + "” 的格式不是有效的正则表达式"); }
            s.pattern = f.pattern;
          }
        } else if (f.kind === "number" || f.kind === "integer") {
          if (lo !== undefined) { s.minimum = lo; }
          if (hi !== undefined) { s.maximum = hi; }
        }
        if (f.help) { s.description = f.help; }
      }
      if (f.title) { s.title = f.title; }
      schema.properties[key] = s;
      if (Object.keys(u).length) { ui[key] = u; } else { delete ui[key]; }
      if (f.required) { required.push(key); }
      if (f.requiredIf) { (dep[f.requiredIf] = dep[f.requiredIf] || []).push(key); }
    });
    Object.keys(ui).forEach(function (k) { if (k.indexOf("ui:") !== 0 && !keys[k]) { delete ui[k]; } });
    Object.keys(dep).forEach(function (k) { if (!keys[k]) { throw new Error("“必填条件”引用了不存在的字段 " + k); } });
    if (required.length) { schema.required = required; } else { delete schema.required; }
    if (Object.keys(dep).length) { schema.dependentRequired = dep; } else { delete schema.dependentRequired; }
    ui["ui:order"] = fields.map(function (f) { return f.key.trim(); });
    return { schema: schema, ui: ui };
  }

  function init() {
    var picker = document.getElementById("form-open");
    if (picker) {
      picker.addEventListener("change", function () {
        var parts = picker.value.split("|");
        document.getElementById("form-open-key").value = parts[0] || "";
        document.getElementById("form-open-file").value = parts.slice(1).join("|");
      });
    }
    var config = {};
    try { config = JSON.parse(document.getElementById("form-config").textContent); } catch (e) { /* none */ }
    if (!config.initial) { return; }
    var statusEl = document.getElementById("form-status");
    var list = document.getElementById("field-list");
    var preview = document.getElementById("form-preview");
    var problems = document.getElementById("form-problems");
    var titleInput = document.getElementById("form-title-input");
    var template = document.getElementById("field-row");
    var fields = load(config.initial.schema, config.initial.ui || {});
    var seq = 0;
    titleInput.value = config.initial.schema.title || "";
    function say(text, isError) { statusEl.textContent = text; statusEl.classList.toggle("text-error", !!isError); }

    function showProblems(messages) {
      problems.textContent = "";
      messages.forEach(function (m) {
        var li = document.createElement("li");
        li.className = "problem";
        li.textContent = m;
        problems.appendChild(li);
      });
    }

    function current() { return build(config.initial.schema, config.initial.ui || {}, fields, titleInput.value.trim()); }

    function refresh() {
      var docs;
      try { docs = current(); } catch (e) { showProblems([e.message]); preview.setAttribute("data-state", "invalid"); return; }
      var mine = ++seq;
      preview.setAttribute("data-state", "pending");
      postJSON(config.preview_url, { key: config.initial.key, filename: config.initial.filename, schema: docs.schema, ui: docs.ui })
        .then(function (res) {
          if (mine !== seq) { return; }
          if (res.status >= 400 || !res.data.valid) {
            var errs = (res.data && res.data.errors) || [{ message: "预览失败(HTTP " + res.status + ")" }];
            showProblems(errs.map(function (e) { return e.message; }));
            preview.setAttribute("data-state", "invalid");
            return;
          }
          showProblems([]);
          preview.innerHTML = res.data.html;  // server-rendered with autoescaping (macros/form.html)
          preview.setAttribute("data-state", "ready");
        });
    }
    var refreshSoon = debounce(refresh, 300);

    function render() {
      list.textContent = "";
      fields.forEach(function (f, index) {
        var node = template.content.firstElementChild.cloneNode(true);
        node.setAttribute("data-field", f.key);
        node.querySelector(".field-row-legend").textContent = (index + 1) + ". " + (f.title || f.key || "新字段");
        var dep = node.querySelector('[data-k="requiredIf"]');
        fields.forEach(function (other) {
          if (other === f || !other.key) { return; }
          var o = document.createElement("option");
          o.value = other.key;
          o.textContent = (other.title || other.key) + "(" + other.key + ")";
          dep.appendChild(o);
        });
        Array.prototype.forEach.call(node.querySelectorAll("[data-k]"), function (input) {
          var k = input.getAttribute("data-k");
          var prop = k === "type" ? "kind" : k;
          if (input.type === "checkbox") { input.checked = !!f[prop]; } else { input.value = f[prop] || ""; }
          if (f.kind === "keep" && k !== "key" && k !== "title" && k !== "required" && k !== "requiredIf") { input.disabled = true; }
          input.addEventListener(input.tagName === "SELECT" || input.type === "checkbox" ? "change" : "input", function () {
            f[prop] = input.type === "checkbox" ? input.checked : input.value;
            if (k === "title" || k === "key") {
              node.querySelector(".field-row-legend").textContent = (index + 1) + ". " + (f.title || f.key || "新字段");
            }
            if (k === "type" || k === "key") { render(); }
            refreshSoon();
          });
        });
        node.querySelector("[data-remove]").addEventListener("click", function () {
          fields.splice(index, 1);
          fields.forEach(function (o) { if (o.requiredIf === f.key) { o.requiredIf = ""; } });
          render();
          refreshSoon();
        });
        Array.prototype.forEach.call(node.querySelectorAll("[data-move]"), function (btn) {
          btn.addEventListener("click", function () {
            var to = index + Number(btn.getAttribute("data-move"));
            if (to < 0 || to >= fields.length) { return; }
            fields.splice(to, 0, fields.splice(index, 1)[0]);
            render();
            refreshSoon();
          });
        });
        list.appendChild(node);
      });
    }

    document.querySelector('[data-action="add-field"]').addEventListener("click", function () {
      var n = fields.length + 1;
      while (fields.some(function (f) { return f.key === "field_" + n; })) { n++; }
      fields.push({ key: "field_" + n, original: {}, originalUi: {}, kind: "string", title: "", required: false, enum: "",
                    min: "", max: "", pattern: "", help: "", requiredIf: "" });
      render();
      refreshSoon();
      var last = list.lastElementChild;
      if (last) { last.querySelector('[data-k="title"]').focus(); }
    });
    titleInput.addEventListener("input", refreshSoon);

    document.querySelector('[data-action="deploy"]').addEventListener("click", function () {
      var note = document.getElementById("form-note").value.trim();
      if (!note) { say("请填写变更说明。", true); document.getElementById("form-note").focus(); return; }
      var docs;
      try { docs = current(); } catch (e) { say(e.message, true); return; }
      say("正在部署…");
      postJSON(config.deploy_url, { key: config.initial.key, filename: config.initial.filename, schema: docs.schema,
                                    ui: docs.ui, note: note }).then(function (res) {
        var out = document.getElementById("form-deploy-result");
        out.textContent = "";
        if (res.status === 201 || res.status === 200) {
          (res.data.versions || []).forEach(function (v) {
            var p = document.createElement("p");
            p.setAttribute("data-version", v.version);
            p.setAttribute("data-process", v.process_key);
            p.textContent = v.process_key + " v" + v.version + (v.created ? " — 已部署为新版本" : " — 内容未变化");
            out.appendChild(p);
          });
          say("部署成功。");
        } else {
          var errs = (res.data && res.data.errors) || [{ message: "部署失败(HTTP " + res.status + ")" }];
          showProblems(errs.map(function (e) { return (e.file ? e.file + ":" : "") + e.message; }));
          say("部署被拒绝,未保存任何内容。", true);
        }
      });
    });

    render();
    refresh();
    say("已打开 " + config.initial.filename + "(" + config.initial.key + " v" + config.initial.version + ")");
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
