//! The `theme` option and the widget's scoped styles.
//!
//! The styles live in the widget's shadow root, so the host page's CSS does
//! not reach in and these rules do not reach out. Colours, radius and font
//! are CSS custom properties (`--auraloader-*`), which do cross the shadow
//! boundary: a host page themes the widget by setting them on the container.

use serde::Deserialize;

/// Colour scheme of the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Light colours.
    #[default]
    Light,
    /// Dark colours.
    Dark,
    /// Follows the system's `prefers-color-scheme`.
    Auto,
}

impl Theme {
    /// The value of the root's `data-theme` attribute.
    pub fn attribute(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Dark => "dark",
            Self::Auto => "auto",
        }
    }
}

/// The widget's style sheet, placed in its shadow root.
pub const STYLE: &str = r#"
:host { all: initial; display: block; }
.aul-root {
  --aul-bg: var(--auraloader-background, #ffffff);
  --aul-fg: var(--auraloader-text, #1b1f24);
  --aul-muted: var(--auraloader-muted, #555d66);
  --aul-border: var(--auraloader-border, #8a939c);
  --aul-accent: var(--auraloader-accent, #0b5cad);
  --aul-accent-fg: var(--auraloader-accent-text, #ffffff);
  --aul-danger: var(--auraloader-danger, #b3261e);
  --aul-warning-bg: var(--auraloader-warning-background, #fff4ce);
  --aul-surface: var(--auraloader-surface, #f3f5f7);
  --aul-focus: var(--auraloader-focus, #c25e00);
  --aul-radius: var(--auraloader-radius, 8px);
  box-sizing: border-box;
  font-family: var(--auraloader-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: var(--auraloader-font-size, 16px);
  line-height: 1.5;
  color: var(--aul-fg);
  background: var(--aul-bg);
  border-radius: var(--aul-radius);
  padding: 1rem;
}
.aul-root[data-theme="dark"] {
  --aul-bg: var(--auraloader-background, #16191d);
  --aul-fg: var(--auraloader-text, #e8eaed);
  --aul-muted: var(--auraloader-muted, #b0b6bd);
  --aul-border: var(--auraloader-border, #6f7780);
  --aul-accent: var(--auraloader-accent, #7cb8ff);
  --aul-accent-fg: var(--auraloader-accent-text, #0b1a2b);
  --aul-danger: var(--auraloader-danger, #ff8a80);
  --aul-warning-bg: var(--auraloader-warning-background, #3d3200);
  --aul-surface: var(--auraloader-surface, #23272d);
  --aul-focus: var(--auraloader-focus, #ffb454);
}
@media (prefers-color-scheme: dark) {
  .aul-root[data-theme="auto"] {
    --aul-bg: var(--auraloader-background, #16191d);
    --aul-fg: var(--auraloader-text, #e8eaed);
    --aul-muted: var(--auraloader-muted, #b0b6bd);
    --aul-border: var(--auraloader-border, #6f7780);
    --aul-accent: var(--auraloader-accent, #7cb8ff);
    --aul-accent-fg: var(--auraloader-accent-text, #0b1a2b);
    --aul-danger: var(--auraloader-danger, #ff8a80);
    --aul-warning-bg: var(--auraloader-warning-background, #3d3200);
    --aul-surface: var(--auraloader-surface, #23272d);
    --aul-focus: var(--auraloader-focus, #ffb454);
  }
}
.aul-root *, .aul-root *::before, .aul-root *::after { box-sizing: inherit; }
.aul-root h2 { font-size: 1.25em; margin: 0 0 .5rem; font-weight: 600; }
.aul-root h2:focus { outline: none; }
.aul-root h3 { font-size: 1em; margin: 1rem 0 .25rem; font-weight: 600; }
.aul-root p { margin: .25rem 0; }
.aul-dropzone {
  border: 2px dashed var(--aul-border);
  border-radius: var(--aul-radius);
  padding: 1.5rem 1rem;
  text-align: center;
  background: var(--aul-surface);
}
.aul-dropzone[data-over="true"] { border-color: var(--aul-accent); border-style: solid; }
.aul-actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: 1rem; }
.aul-dropzone .aul-actions { justify-content: center; }
.aul-button {
  font: inherit;
  cursor: pointer;
  border-radius: calc(var(--aul-radius) / 2);
  padding: .4rem 1rem;
  border: 1px solid var(--aul-accent);
  background: var(--aul-bg);
  color: var(--aul-accent);
}
.aul-button.aul-primary { background: var(--aul-accent); color: var(--aul-accent-fg); }
.aul-button:disabled { cursor: not-allowed; opacity: .6; }
.aul-button.aul-small { padding: .1rem .6rem; font-size: .9em; }
.aul-root :focus-visible {
  outline: 3px solid var(--aul-focus);
  outline-offset: 2px;
}
.aul-muted { color: var(--aul-muted); }
.aul-table-wrap { overflow-x: auto; }
.aul-table { border-collapse: collapse; width: 100%; font-size: .9em; }
.aul-table caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
.aul-table th, .aul-table td { text-align: left; padding: .35rem .4rem; border-bottom: 1px solid var(--aul-border); vertical-align: top; }
.aul-table td.aul-num, .aul-table th.aul-num { text-align: right; font-variant-numeric: tabular-nums; }
.aul-table td.aul-num, .aul-table td.aul-date, .aul-table td.aul-action { white-space: nowrap; }
/* In a narrow container the table scrolls sideways; the Remove buttons stay in view. */
.aul-table td.aul-action, .aul-table th.aul-action { position: sticky; right: 0; background: var(--aul-bg); }
.aul-warnings { background: var(--aul-warning-bg); border-radius: calc(var(--aul-radius) / 2); padding: .5rem 1rem; margin: .75rem 0; }
.aul-warnings ul { margin: .25rem 0; padding-left: 1.25rem; }
.aul-skipped { margin-top: .75rem; }
.aul-skipped summary { cursor: pointer; }
.aul-skipped ul { max-height: 12rem; overflow: auto; margin: .25rem 0; padding-left: 1.25rem; font-size: .9em; }
.aul-path { font-family: ui-monospace, monospace; word-break: break-all; }
.aul-progress { margin: .5rem 0; }
.aul-progress-label { display: flex; justify-content: space-between; gap: 1rem; font-size: .95em; }
.aul-bar { height: .6rem; border-radius: .3rem; background: var(--aul-surface); border: 1px solid var(--aul-border); overflow: hidden; }
.aul-bar-fill { height: 100%; background: var(--aul-accent); width: 0; transition: width .2s linear; }
.aul-retrying { color: var(--aul-danger); font-weight: 600; }
.aul-error-message { color: var(--aul-danger); }
.aul-error-message::first-letter { text-transform: uppercase; }
.aul-visually-hidden {
  position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
@media (prefers-reduced-motion: reduce) { .aul-bar-fill { transition: none; } }
"#;
