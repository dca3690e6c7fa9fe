// Progressive enhancement only: every page works without JavaScript.
import { initAll } from "../govuk/govuk-frontend.min.js";

document.body.classList.add("govuk-frontend-supported", "js-enabled");
initAll();

// A table that scrolls sideways (phones, app.scss) must be reachable with the keyboard to scroll it.
const scrollingTables = () => {
  for (const box of document.querySelectorAll(".govuk-table, .app-table-wrapper")) {
    if (box.scrollWidth > box.clientWidth && getComputedStyle(box).overflowX === "auto") {
      box.tabIndex = 0;
    } else if (box.tabIndex === 0) {
      box.removeAttribute("tabindex");
    }
  }
};
scrollingTables();
window.addEventListener("resize", scrollingTables);
document.body.addEventListener("htmx:afterSettle", scrollingTables);
