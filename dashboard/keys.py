"""Keyboard use of the page's tabs: Bokeh's tab headers take focus (Tab key) but ignore keys.

`TabKeys`, placed anywhere in the page, makes Enter or Space on a focused tab header open it,
and ← / → move to the neighbouring tab and open it, as for a WAI-ARIA tab list.
"""

from __future__ import annotations

from panel.custom import JSComponent

__all__ = ["TabKeys"]


class TabKeys(JSComponent):
    """Enter/Space/←/→ on a focused tab header (``.bk-tab``, inside shadow roots) switch tabs."""

    _esm = """
    export function render({ model }) {
      const focused = () => {
        let el = document.activeElement
        while (el && el.shadowRoot && el.shadowRoot.activeElement) {
          el = el.shadowRoot.activeElement
        }
        return el
      }
      const onKey = (event) => {
        const tab = focused()
        if (!tab || !tab.classList || !tab.classList.contains("bk-tab")) {
          return
        }
        let target = null
        if (event.key === "Enter" || event.key === " ") {
          target = tab
        } else if (event.key === "ArrowRight") {
          target = tab.nextElementSibling
        } else if (event.key === "ArrowLeft") {
          target = tab.previousElementSibling
        }
        if (target && target.classList.contains("bk-tab")) {
          event.preventDefault()
          target.focus()
          target.click()
          keepFocus(target.getRootNode())
        }
      }
      // the headers may be drawn again once the server answers: focus the active one again
      const keepFocus = (root) => {
        for (const ms of [300, 1500]) {
          setTimeout(() => {
            const active = root.querySelector(".bk-tab.bk-active")
            if (active && focused() !== active) {
              active.focus()
            }
          }, ms)
        }
      }
      document.addEventListener("keydown", onKey)
      model.on("remove", () => document.removeEventListener("keydown", onKey))
      return document.createElement("span")
    }
    """
