// Suggestions as you type in a search box (input[data-suggest]): thesaurus
// terms with their full names, categories, instruments, from
// GET /api/v1/instruments/suggest, offered through a <datalist>.
(function () {
  "use strict";
  document.querySelectorAll("input[data-suggest]").forEach(function (input, n) {
    var list = document.createElement("datalist");
    list.id = "suggestions-" + n;
    input.after(list);
    input.setAttribute("list", list.id);
    input.setAttribute("autocomplete", "off");
    var timer = null;
    var asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var typed = input.value.trim();
        if (!typed || typed === asked) { return; }
        asked = typed;
        fetch(input.dataset.suggest + "?q=" + encodeURIComponent(typed), {headers: {"Accept": "application/json"}})
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (items) {
            if (asked !== typed) { return; }
            list.replaceChildren.apply(list, items.map(function (item) {
              var option = document.createElement("option");
              option.value = item.text;
              if (item.name && item.name !== item.text) { option.label = item.text + " → " + item.name; }
              return option;
            }));
          })
          .catch(function () { /* no suggestions: the box still works */ });
      }, 150);
    });
  });
}());
