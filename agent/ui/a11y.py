"""Accessibility fixes for the chat app, found with axe-core (the browser tests run it).

``THEME_COLOURS`` darkens the Soft theme's label and accent text so that it reaches the WCAG AA
contrast ratio (4.5:1) on its pale backgrounds. ``HEAD`` is a small script for the page's
head: Gradio's chat renders each tool step's title as a ``role="button"`` holding an unnamed
arrow button (axe: "button-name", critical; "nested-interactive", serious); the script names
the arrow and disables it (``CSS`` lets its clicks through to the title), since the title
itself already toggles the step by keyboard and mouse. It watches the page because steps
are added as the chat streams.
"""

from __future__ import annotations

#: ``gr.themes.Soft(...).set(**THEME_COLOURS)``: text colours with at least 4.5:1 contrast.
THEME_COLOURS: dict[str, str] = {
    "block_label_text_color": "*primary_800",
    "block_label_text_color_dark": "*primary_100",
    "block_title_text_color": "*primary_800",
    "block_title_text_color_dark": "*primary_100",
    "block_info_text_color": "*neutral_700",
    "checkbox_label_text_color_selected": "white",
    "checkbox_label_background_fill_selected": "*primary_700",
    "body_text_color_subdued": "*neutral_600",
    "button_primary_background_fill": "*primary_700",
    "button_primary_background_fill_hover": "*primary_800",
}

#: Appended to the app's CSS: the selected tab's text, and clicks on a step's arrow reach its
#: title (the arrow button is disabled by ``HEAD``).
CSS = """
button[role="tab"][aria-selected="true"] {color: var(--primary-700) !important;}
[role="button"] button[disabled][aria-hidden="true"] {pointer-events: none;}
"""

HEAD = """
<script>
(() => {
  const fix = (root) => {
    root.querySelectorAll('[role="button"] .icon-button, [role="button"] button').forEach((b) => {
      if (!b.getAttribute('aria-label')) { b.setAttribute('aria-label', 'toggle'); }
      b.disabled = true;
      b.setAttribute('aria-hidden', 'true');
    });
  };
  const start = () => {
    fix(document);
    new MutationObserver(() => fix(document)).observe(
      document.body, {childList: true, subtree: true});
  };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else { start(); }
})();
</script>
"""
