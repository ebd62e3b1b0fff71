// The account form: checking a marketplace chooses its region (the server derives the region
// from the marketplaces too, and refuses marketplaces of two regions).
(function () {
  "use strict";
  var region = document.getElementById("field-region");
  if (!region) { return; }
  var boxes = document.querySelectorAll("input[type=checkbox][data-group]");
  function follow(event) {
    var box = event.target;
    var group = box.getAttribute("data-group");
    if (box.checked && group) { region.value = group; }
  }
  for (var i = 0; i < boxes.length; i += 1) {
    boxes[i].addEventListener("change", follow);
  }
})();
