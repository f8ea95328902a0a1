//! The collapsible list of files that will not be uploaded, with reasons.

use std::rc::Rc;

use yew::prelude::*;

use super::state::SkippedRow;
use super::strings::{fill, Strings};

/// At most this many skipped files are listed; the summary counts them all.
const SHOWN: usize = 500;

/// Properties of [`SkippedList`].
#[derive(Properties, PartialEq, Clone)]
pub struct SkippedListProps {
    /// The widget's texts.
    pub strings: Rc<Strings>,
    /// The skipped files.
    pub skipped: Rc<Vec<SkippedRow>>,
}

/// A `<details>` list (keyboard-operable, closed by default).
#[function_component(SkippedList)]
pub fn skipped_list(props: &SkippedListProps) -> Html {
    let count = props.skipped.len();
    if count == 0 {
        return html! {};
    }
    let summary = fill(
        &props.strings.skipped_summary,
        &[("count", &count.to_string())],
    );
    html! {
        <details class="aul-skipped">
            <summary>{ summary }</summary>
            <ul>
                { for props.skipped.iter().take(SHOWN).map(|row| html! {
                    <li><span class="aul-path">{ row.path.clone() }</span>{ ": " }{ row.reason.clone() }</li>
                }) }
                if count > SHOWN {
                    <li>{ format!("… +{}", count - SHOWN) }</li>
                }
            </ul>
        </details>
    }
}
