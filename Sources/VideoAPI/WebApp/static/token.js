// The API token dialog: opened from the header's key button, or when the server refuses a
// change for want of a token.
import { setToken, token } from "./api.js";
import { announce } from "./dom.js";

/** Shows the dialog; resolves true when a token was saved. */
export function askForToken(reason = "") {
  const dialog = document.getElementById("token-dialog");
  const input = document.getElementById("token-dialog-input");
  const message = document.getElementById("token-dialog-reason");
  if (!dialog || !input) return Promise.resolve(false);
  message.textContent = reason;
  message.hidden = !reason;
  input.value = token();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "save") {
        setToken(input.value.trim());
        announce(input.value.trim() ? "API token saved for this tab" : "API token removed");
        resolve(Boolean(input.value.trim()));
      } else if (dialog.returnValue === "clear") {
        setToken("");
        announce("API token removed");
        resolve(false);
      } else {
        resolve(false);
      }
    }, { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
}
