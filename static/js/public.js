// The public pages' script: GOV.UK Frontend's components, with Quick exit replacing this page in the
// history where the browser allows, so Back does not return to it. Without JavaScript Quick exit is
// a plain link to a neutral site. A module file, not inline script: the Content-Security-Policy allows
// scripts from this site only.
import { Button, ExitThisPage, SkipLink, createAll } from "../govuk/govuk-frontend.min.js";

class QuickExit extends ExitThisPage {
  // GOV.UK's exitPage, but with location.replace instead of setting location.href.
  exitPage() {
    if (!this.$updateSpan) {
      return;
    }
    this.$updateSpan.textContent = "";
    document.body.classList.add("govuk-exit-this-page-hide-content");
    this.$overlay = document.createElement("div");
    this.$overlay.className = "govuk-exit-this-page-overlay";
    this.$overlay.setAttribute("role", "alert");
    this.$overlay.textContent = this.i18n.t("activated");
    document.body.appendChild(this.$overlay);
    window.location.replace(this.$button.href);
  }
}

document.body.classList.add("govuk-frontend-supported", "js-enabled");
createAll(Button);
createAll(SkipLink);
createAll(QuickExit);
