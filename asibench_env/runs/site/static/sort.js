// Sortable tables (progressive enhancement): each heading of a table.sortable becomes a button that
// sorts the rows by that column, numbers as numbers, then the other way on a second press. A cell's
// data-sort value, when present, is what is compared; a heading marked data-nosort stays text.
// Without script the table keeps its built order.
(function () {
  "use strict";
  function key(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var value = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    return value.trim();
  }
  var NUMBER = /^-?[0-9]*\.?[0-9]+(e[-+]?[0-9]+)?$/i;
  function compare(a, b) {
    var x = NUMBER.test(a), y = NUMBER.test(b);
    if (x && y) return parseFloat(a) - parseFloat(b);
    if (x !== y) return x ? -1 : 1; // numbers before blanks and text ("-")
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }
  function sortTable(table, index, direction) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = direction === "descending" ? -1 : 1;
    rows.sort(function (a, b) { return sign * compare(key(a, index), key(b, index)); });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      if (i === index) th.setAttribute("aria-sort", direction);
      else th.removeAttribute("aria-sort");
    });
  }
  window.asibenchSortTable = sortTable;
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      if (th.hasAttribute("data-nosort")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        var next = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        sortTable(table, index, next);
      });
    });
  });
})();
