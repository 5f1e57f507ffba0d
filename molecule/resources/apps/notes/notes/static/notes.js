// Live character count for textareas that name a counter element.
document.querySelectorAll("textarea[data-counter]").forEach((area) => {
  const counter = document.getElementById(area.dataset.counter);
  const update = () => { counter.textContent = area.value.length; };
  area.addEventListener("input", update);
  update();
});
