/* 挂图作战 board: arrow-key navigation between cells (roving tabindex), Enter opens the first project. */
(function () {
  "use strict";

  function init() {
    var table = document.querySelector("table.board");
    if (!table) { return; }
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var grid = rows.map(function (tr) { return Array.prototype.slice.call(tr.querySelectorAll("td.board-cell")); });
    if (!grid.length || !grid[0].length) { return; }
    grid.forEach(function (cells) { cells.forEach(function (td) { td.setAttribute("tabindex", "-1"); }); });
    grid[0][0].setAttribute("tabindex", "0");

    function focusCell(r, c) {
      if (r < 0 || r >= grid.length || c < 0 || c >= grid[r].length) { return; }
      table.querySelectorAll("td.board-cell[tabindex='0']").forEach(function (td) { td.setAttribute("tabindex", "-1"); });
      grid[r][c].setAttribute("tabindex", "0");
      grid[r][c].focus();
    }

    table.addEventListener("keydown", function (e) {
      var td = e.target.closest ? e.target.closest("td.board-cell") : null;
      if (!td) { return; }
      var r = -1, c = -1;
      grid.forEach(function (cells, i) { var j = cells.indexOf(td); if (j >= 0) { r = i; c = j; } });
      if (r < 0) { return; }
      var moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      if (moves[e.key]) {
        e.preventDefault();
        focusCell(r + moves[e.key][0], c + moves[e.key][1]);
      } else if (e.key === "Enter" && e.target === td) {
        var link = td.querySelector("a");
        if (link) { e.preventDefault(); link.focus(); }
      } else if (e.key === "Home") {
        e.preventDefault(); focusCell(r, 0);
      } else if (e.key === "End") {
        e.preventDefault(); focusCell(r, grid[r].length - 1);
      }
    });
    table.addEventListener("focusin", function (e) {
      var td = e.target.closest ? e.target.closest("td.board-cell") : null;
      if (td && td.getAttribute("tabindex") !== "0") {
        table.querySelectorAll("td.board-cell[tabindex='0']").forEach(function (x) { x.setAttribute("tabindex", "-1"); });
        td.setAttribute("tabindex", "0");
      }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
