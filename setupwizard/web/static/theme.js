// The colour theme, set on <html data-theme> before the first paint (a classic script in <head>, so no
// light flash on a dark system): the person's saved choice (chrome.js's switch), else the system's
// prefers-color-scheme, followed live while nothing is saved.
(function () {
  var KEY = "setupwizard.theme";
  var system = window.matchMedia("(prefers-color-scheme: dark)");
  function saved() {
    try {
      var value = localStorage.getItem(KEY);
      return value === "dark" || value === "light" ? value : null;
    } catch (e) {
      return null; // storage refused: follow the system
    }
  }
  function apply() {
    document.documentElement.dataset.theme = saved() || (system.matches ? "dark" : "light");
    document.dispatchEvent(new CustomEvent("themechange"));
  }
  apply();
  system.addEventListener("change", apply);
  window.addEventListener("storage", function (event) {
    if (event.key === KEY) apply(); // another tab switched
  });
})();
