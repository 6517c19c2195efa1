// The order form's samples table (templates/orders/new.html): "more rows"
// copies the last row with empty inputs and the next index in their names
// (samples-3-name, ...). Without JavaScript the rows the server drew stay,
// and the button stays hidden.
(function () {
  "use strict";
  var button = document.getElementById("add-sample-row");
  var table = document.getElementById("samples");
  if (!button || !table) { return; }
  var body = table.tBodies[0];
  var most = parseInt(button.getAttribute("data-max-rows"), 10) || 50;

  function renumber(row, index) {
    row.querySelectorAll("input").forEach(function (input) {
      ["name", "id"].forEach(function (attribute) {
        var value = input.getAttribute(attribute);
        if (value) { input.setAttribute(attribute, value.replace(/^samples-\d+-/, "samples-" + index + "-")); }
      });
      var label = input.getAttribute("aria-label");
      if (label) { input.setAttribute("aria-label", label.replace(/\d+$/, String(index + 1))); }
      input.value = "";
      input.classList.remove("is-invalid");
    });
    row.querySelectorAll(".invalid-feedback").forEach(function (message) { message.remove(); });
    var number = row.querySelector(".row-number");
    if (number) { number.textContent = String(index + 1); }
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    var rows = body.querySelectorAll("tr.sample-row");
    if (rows.length >= most) { return; }
    var copy = rows[rows.length - 1].cloneNode(true);
    renumber(copy, rows.length);
    body.appendChild(copy);
    copy.querySelector("input").focus();
    button.disabled = rows.length + 1 >= most;
  });
}());
