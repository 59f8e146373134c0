/* Chinese for bpmn-js (modeler and viewers): a `translate` service override (palette, context pad,
 * replace menu, popup search) and lane labels that show the Chinese role name of the lane's role key
 * (the lane's name stays the role key in the XML; only the drawing changes).
 *
 * Role names come from <script type="application/json" id="investflow-role-names"> (app/roles.py),
 * rendered by templates/projects/_diagram_assets.html. Use: new BpmnJS({additionalModules:
 * InvestflowBpmn.modules()}).
 */
(function () {
  "use strict";

  var ZH = {
    // palette
    "Activate hand tool": "手形工具(拖动画布)",
    "Activate lasso tool": "套索工具(框选)",
    "Activate create/remove space tool": "插入/删除空间工具",
    "Activate global connect tool": "连接工具",
    "Create start event": "创建开始事件",
    "Create intermediate/boundary event": "创建中间/边界事件",
    "Create end event": "创建结束事件",
    "Create gateway": "创建网关",
    "Create task": "创建任务",
    "Create expanded sub-process": "创建展开的子流程",
    "Create data object reference": "创建数据对象引用",
    "Create data store reference": "创建数据存储引用",
    "Create group": "创建分组",
    "Create pool/participant": "创建池/参与者",
    // context pad
    "Append end event": "追加结束事件",
    "Append gateway": "追加网关",
    "Append task": "追加任务",
    "Append intermediate/boundary event": "追加中间/边界事件",
    "Append compensation activity": "追加补偿活动",
    "Append conditional intermediate catch event": "追加条件中间捕获事件",
    "Append message intermediate catch event": "追加消息中间捕获事件",
    "Append receive task": "追加接收任务",
    "Append signal intermediate catch event": "追加信号中间捕获事件",
    "Append timer intermediate catch event": "追加定时器中间捕获事件",
    "Add text annotation": "添加文本注释",
    "Add lane above": "在上方添加泳道",
    "Add lane below": "在下方添加泳道",
    "Divide into two lanes": "拆分为两个泳道",
    "Divide into three lanes": "拆分为三个泳道",
    "Change element": "更改元素类型",
    "Change type": "更改类型",
    "Delete": "删除",
    "Connect to other element": "连接到其他元素",
    "Connect using association": "用关联连接",
    "Connect using data input association": "用数据输入关联连接",
    "Connect using sequence/message flow or association": "用顺序流/消息流或关联连接",
    "Open element documentation": "打开元素文档",
    "Open {element}": "打开 {element}",
    "Search in diagram": "在图中搜索",
    "Align elements": "对齐元素",
    "Align elements ": "对齐元素",
    "Align left": "左对齐",
    "Align center": "水平居中",
    "Align right": "右对齐",
    "Align top": "顶端对齐",
    "Align middle": "垂直居中",
    "Align bottom": "底端对齐",
    "Distribute elements horizontally": "水平分布",
    "Distribute elements vertically": "垂直分布",
    "Toggle non-interrupting": "切换为非中断",
    "Search": "搜索",
    "No results": "无结果",
    // replace menu
    "Task": "任务",
    "User task": "用户任务",
    "Service task": "服务任务",
    "Script task": "脚本任务",
    "Business rule task": "业务规则任务",
    "Manual task": "人工任务",
    "Send task": "发送任务",
    "Receive task": "接收任务",
    "Call activity": "调用活动",
    "Sub-process": "子流程",
    "Sub-process (collapsed)": "子流程(折叠)",
    "Sub-process (expanded)": "子流程(展开)",
    "Event sub-process": "事件子流程",
    "Transaction": "事务",
    "Ad-hoc": "自由子流程",
    "Parallel multi-instance": "并行多实例",
    "Sequential multi-instance": "串行多实例",
    "Loop": "循环",
    "Exclusive gateway": "排他网关",
    "Parallel gateway": "并行网关",
    "Inclusive gateway": "包容网关",
    "Complex gateway": "复杂网关",
    "Event-based gateway": "事件网关",
    "Start event": "开始事件",
    "End event": "结束事件",
    "Intermediate throw event": "中间抛出事件",
    "Message start event": "消息开始事件",
    "Message start event (non-interrupting)": "消息开始事件(非中断)",
    "Timer start event": "定时器开始事件",
    "Timer start event (non-interrupting)": "定时器开始事件(非中断)",
    "Conditional start event": "条件开始事件",
    "Conditional start event (non-interrupting)": "条件开始事件(非中断)",
    "Signal start event": "信号开始事件",
    "Signal start event (non-interrupting)": "信号开始事件(非中断)",
    "Error start event": "错误开始事件",
    "Escalation start event": "升级开始事件",
    "Escalation start event (non-interrupting)": "升级开始事件(非中断)",
    "Compensation start event": "补偿开始事件",
    "Message intermediate catch event": "消息中间捕获事件",
    "Message intermediate throw event": "消息中间抛出事件",
    "Timer intermediate catch event": "定时器中间捕获事件",
    "Escalation intermediate throw event": "升级中间抛出事件",
    "Conditional intermediate catch event": "条件中间捕获事件",
    "Link intermediate catch event": "链接中间捕获事件",
    "Link intermediate throw event": "链接中间抛出事件",
    "Compensation intermediate throw event": "补偿中间抛出事件",
    "Signal intermediate catch event": "信号中间捕获事件",
    "Signal intermediate throw event": "信号中间抛出事件",
    "Message end event": "消息结束事件",
    "Escalation end event": "升级结束事件",
    "Error end event": "错误结束事件",
    "Cancel end event": "取消结束事件",
    "Compensation end event": "补偿结束事件",
    "Signal end event": "信号结束事件",
    "Terminate end event": "终止结束事件",
    "Message boundary event": "消息边界事件",
    "Message boundary event (non-interrupting)": "消息边界事件(非中断)",
    "Timer boundary event": "定时器边界事件",
    "Timer boundary event (non-interrupting)": "定时器边界事件(非中断)",
    "Escalation boundary event": "升级边界事件",
    "Escalation boundary event (non-interrupting)": "升级边界事件(非中断)",
    "Conditional boundary event": "条件边界事件",
    "Conditional boundary event (non-interrupting)": "条件边界事件(非中断)",
    "Error boundary event": "错误边界事件",
    "Cancel boundary event": "取消边界事件",
    "Signal boundary event": "信号边界事件",
    "Signal boundary event (non-interrupting)": "信号边界事件(非中断)",
    "Compensation boundary event": "补偿边界事件",
    "Sequence flow": "顺序流",
    "Default flow": "默认流",
    "Conditional flow": "条件流",
    "Data object reference": "数据对象引用",
    "Data store reference": "数据存储引用",
    "Expanded pool/participant": "展开的池/参与者",
    "Empty pool/participant": "空的池/参与者",
    "Participant multiplicity": "参与者多重性"
  };

  function translate(template, replacements) {
    replacements = replacements || {};
    var text = Object.prototype.hasOwnProperty.call(ZH, template) ? ZH[template] : template;
    return text.replace(/{([^}]+)}/g, function (_, key) {
      return Object.prototype.hasOwnProperty.call(replacements, key) ? replacements[key] : "{" + key + "}";
    });
  }

  function roleNames() {
    var el = document.getElementById("investflow-role-names");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }

  // Lanes: draw the Chinese role name instead of the role key (the business object keeps the key).
  function LaneLabels(eventBus, bpmnRenderer) {
    var names = roleNames();
    eventBus.on("render.shape", 1500, function (event, context) {
      var element = context.element;
      if (!element || element.type !== "bpmn:Lane") { return; }
      var bo = element.businessObject;
      var key = bo.name;
      if (!key || !Object.prototype.hasOwnProperty.call(names, key)) { return; }
      bo.name = names[key];
      try {
        return bpmnRenderer.drawShape(context.gfx, element);
      } finally {
        bo.name = key;
      }
    });
  }
  LaneLabels.$inject = ["eventBus", "bpmnRenderer"];

  window.InvestflowBpmn = {
    ZH: ZH,
    translate: translate,
    roleNames: roleNames,
    modules: function () {
      return [
        { translate: ["value", translate] },
        { __init__: ["investflowLaneLabels"], investflowLaneLabels: ["type", LaneLabels] }
      ];
    }
  };
})();
