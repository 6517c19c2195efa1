// Week calendar: click a free cell to start a range, click another free cell
// of the same day to end it; the booking form's start and end are filled.
(function () {
  "use strict";
  var table = document.querySelector("table.week");
  if (!table) { return; }
  var form = document.getElementById(table.dataset.form);
  var startInput = form && form.querySelector("input[name=start]");
  var endInput = form && form.querySelector("input[name=end]");
  if (!startInput || !endInput) { return; }
  var anchor = null;

  function cells() { return Array.prototype.slice.call(table.querySelectorAll("td.cell")); }

  function clearSelection() {
    cells().forEach(function (c) { c.classList.remove("cell-selected"); });
  }

  function column(cell) { return Array.prototype.indexOf.call(cell.parentNode.children, cell); }

  function rangeBetween(a, b) {
    if (column(a) !== column(b)) { return null; }
    var col = column(a);
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var i = rows.indexOf(a.parentNode), j = rows.indexOf(b.parentNode);
    if (i > j) { var t = i; i = j; j = t; }
    var picked = [];
    for (var r = i; r <= j; r++) {
      var cell = rows[r].children[col];
      if (!cell.classList.contains("cell-free")) { return null; }
      picked.push(cell);
    }
    return picked;
  }

  table.addEventListener("click", function (event) {
    var cell = event.target.closest("td.cell-free");
    if (!cell) { return; }
    event.preventDefault();
    var picked = anchor ? rangeBetween(anchor, cell) : null;
    clearSelection();
    if (!picked) {
      anchor = cell;
      picked = [cell];
    } else {
      anchor = null;
    }
    picked.forEach(function (c) { c.classList.add("cell-selected"); });
    startInput.value = picked[0].dataset.start;
    endInput.value = picked[picked.length - 1].dataset.end;
    form.scrollIntoView({ behavior: "smooth", block: "nearest" });
  });
})();
