// Tables marked .table-stack become cards on a phone (site.css): each cell
// gets its column's heading as data-label, shown before the value.
document.querySelectorAll("table.table-stack").forEach(function (table) {
  var headings = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
    return th.textContent.trim();
  });
  table.querySelectorAll("tbody tr").forEach(function (row) {
    Array.prototype.forEach.call(row.children, function (cell, index) {
      if (headings[index] && !cell.hasAttribute("colspan")) {
        cell.setAttribute("data-label", headings[index]);
      }
    });
  });
});
