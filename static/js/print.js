// The progress report's Print button. It is hidden in the markup, so without JavaScript nobody sees a
// button that does nothing, and the print stylesheet hides it on paper (it sits in .app-no-print).
for (const button of document.querySelectorAll("[data-app-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
