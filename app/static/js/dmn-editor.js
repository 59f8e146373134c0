/* Decision tables in the browser: dmn-js Modeler on a DMN file of a deployed version; 校验 and
 * 部署为新版本 post the edited XML with the version's other files (see app/web/modeler.py). */
(function () {
  "use strict";

  var csrf = window.InvestFlow.csrfToken;  // shared helpers of app.js
  var postJSON = window.InvestFlow.postJSON;

  function init() {
    var picker = document.getElementById("dmn-open");
    if (picker) {
      picker.addEventListener("change", function () {
        var parts = picker.value.split("|");
        document.getElementById("dmn-open-key").value = parts[0] || "";
        document.getElementById("dmn-open-file").value = parts.slice(1).join("|");
      });
    }
    var container = document.getElementById("dmn-canvas");
    var statusEl = document.getElementById("dmn-status");
    var list = document.getElementById("dmn-problem-list");
    var count = document.getElementById("dmn-problem-count");
    var resultEl = document.getElementById("dmn-deploy-result");
    var noteEl = document.getElementById("dmn-note");
    var config = {};
    try { config = JSON.parse(document.getElementById("dmn-config").textContent); } catch (e) { /* empty */ }
    function say(text, isError) { statusEl.textContent = text; statusEl.classList.toggle("text-error", !!isError); }
    if (!config.initial) { return; }
    if (typeof window.DmnJS !== "function") { say("决策表组件未加载(管理员请运行 investflow assets fetch)。", true); return; }
    var ZH = { "When": "当", "Then": "则", "Hit policy:": "命中策略:", "View DRD": "查看决策需求图", "Annotations": "注释",
               "And": "且", "Otherwise": "否则", "Add rule": "添加规则", "Add input": "添加输入列", "Add output": "添加输出列",
               "Remove rule": "删除规则", "Delete": "删除" };
    function translate(template, replacements) {
      var text = Object.prototype.hasOwnProperty.call(ZH, template) ? ZH[template] : template;
      return text.replace(/{([^}]+)}/g, function (_, k) { return (replacements || {})[k] !== undefined ? replacements[k] : "{" + k + "}"; });
    }
    var modeler = new window.DmnJS({ container: container, common: { keyboard: { bindTo: container },
                                                                      additionalModules: [{ translate: ["value", translate] }] } });
    window.investflowDmn = modeler;

    function render(errors, warnings) {
      list.textContent = "";
      count.textContent = String(errors.length);
      [["error", errors], ["warning", warnings || []]].forEach(function (pair) {
        pair[1].forEach(function (err) {
          var li = document.createElement("li");
          li.className = pair[0] === "warning" ? "problem problem-warning" : "problem";
          li.setAttribute("data-level", pair[0]);
          li.setAttribute("data-element", err.element_id || "");
          li.textContent = (pair[0] === "warning" ? "提示:" : "错误:") +
            [err.file, err.element_id, err.line ? "第 " + err.line + " 行" : null].filter(Boolean).join(" · ") + " — " + err.message;
          list.appendChild(li);
        });
      });
    }

    function xml() { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); }

    function payload(extra) {
      return xml().then(function (text) {
        var body = { key: config.initial.key, filename: config.initial.filename, xml: text };
        Object.keys(extra || {}).forEach(function (k) { body[k] = extra[k]; });
        return body;
      });
    }

    function validate() {
      say("正在校验…");
      return payload().then(function (body) { return postJSON(config.validate_url, body); }).then(function (res) {
        var errors = (res.data && res.data.errors) || [];
        if (res.status >= 400 && !errors.length) { errors = [{ message: "校验请求失败(HTTP " + res.status + ")" }]; }
        render(errors, res.data && res.data.warnings);
        var ok = res.status < 400 && res.data.valid;
        container.setAttribute("data-valid", ok ? "true" : "false");
        say(ok ? "校验通过,可以部署。" : "发现 " + errors.length + " 处错误。", !ok);
      });
    }

    function deploy() {
      var note = noteEl.value.trim();
      if (!note) { say("请填写变更说明。", true); noteEl.focus(); return; }
      say("正在部署…");
      payload({ note: note }).then(function (body) { return postJSON(config.deploy_url, body); }).then(function (res) {
        resultEl.textContent = "";
        if (res.status === 201 || res.status === 200) {
          var ul = document.createElement("ul");
          (res.data.versions || []).forEach(function (v) {
            var li = document.createElement("li");
            li.setAttribute("data-version", v.version);
            li.setAttribute("data-process", v.process_key);
            var a = document.createElement("a");
            a.href = v.url;
            a.textContent = v.process_key + " v" + v.version;
            li.appendChild(a);
            li.appendChild(document.createTextNode(v.created ? " — 已部署为新版本" : " — 内容未变化"));
            ul.appendChild(li);
          });
          resultEl.appendChild(ul);
          render([], res.data.warnings);
          say("部署成功。");
        } else {
          render((res.data && res.data.errors) || [{ message: "部署失败(HTTP " + res.status + ")" }], res.data && res.data.warnings);
          say("部署被拒绝,未保存任何内容。", true);
        }
      });
    }

    modeler.importXML(config.initial.xml).then(function () {
      var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      return table ? modeler.open(table) : null;
    }).then(function () {
      container.setAttribute("data-loaded", "true");
      say("已打开 " + config.initial.filename + "(" + config.initial.key + " v" + config.initial.version + ")");
      validate();
    }).catch(function (err) { say("无法打开决策表:" + (err && err.message ? err.message : err), true); });

    document.querySelector('[data-action="validate"]').addEventListener("click", validate);
    document.querySelector('[data-action="deploy"]').addEventListener("click", deploy);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
