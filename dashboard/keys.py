"""Keyboard use of the page's tabs: Bokeh's tab headers take focus (Tab key) but ignore keys.

`TabKeys`, placed anywhere in the page, makes Enter or Space on a focused tab header open it,
and ← / → move to the neighbouring tab and open it, as for a WAI-ARIA tab list. It also gives
the headers their accessible roles, which Bokeh leaves out: the header row ``role="tablist"``,
each header ``role="tab"`` with ``aria-selected`` following the open tab (a mutation observer
keeps it in step however the tab changes).
"""

from __future__ import annotations

from panel.custom import JSComponent

__all__ = ["TabKeys"]


class TabKeys(JSComponent):
    """Enter/Space/←/→ on a focused tab header (``.bk-tab``, inside shadow roots) switch tabs;
    the headers carry ``role="tab"`` and ``aria-selected``."""

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
      // accessible roles: Bokeh's headers are plain divs inside shadow roots
      const mark = (header) => {
        header.setAttribute("role", "tablist")
        for (const tab of header.querySelectorAll(".bk-tab")) {
          tab.setAttribute("role", "tab")
          tab.setAttribute("aria-selected", tab.classList.contains("bk-active") ? "true" : "false")
        }
      }
      const watched = new WeakSet()
      const observers = []
      const scan = (root) => {
        for (const el of root.querySelectorAll("*")) {
          if (el.classList.contains("bk-header") && el.querySelector(".bk-tab")) {
            mark(el)
            if (!watched.has(el)) {
              watched.add(el)
              const ob = new MutationObserver(() => mark(el))
              ob.observe(el, {subtree: true, childList: true, attributes: true,
                              attributeFilter: ["class"]})
              observers.push(ob)
            }
          }
          if (el.shadowRoot) {
            scan(el.shadowRoot)
          }
        }
      }
      const rescan = () => scan(document)
      const timer = setInterval(rescan, 2000)  // tab lists drawn later (lazy tabs) are found too
      rescan()
      document.addEventListener("keydown", onKey)
      model.on("remove", () => {
        document.removeEventListener("keydown", onKey)
        clearInterval(timer)
        observers.forEach((ob) => ob.disconnect())
      })
      return document.createElement("span")
    }
    """
