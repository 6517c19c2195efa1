// A form with data-confirm asks before it is sent: the question is the
// attribute's text (the page's language), and "cancel" sends nothing.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
