//! The processing step: files read so far, skipped so far, and Cancel.

use std::rc::Rc;

use yew::prelude::*;

use super::command::Command;
use super::progress_bar::ProgressBar;
use super::state::ScanCounts;
use super::strings::{fill, Strings};

/// Properties of [`Processing`].
#[derive(Properties, PartialEq, Clone)]
pub struct ProcessingProps {
    /// The widget's texts.
    pub strings: Rc<Strings>,
    /// Scan progress.
    pub counts: ScanCounts,
    /// Receives Cancel.
    pub on_command: Callback<Command>,
    /// Focus target of the step's heading.
    pub heading: NodeRef,
}

/// The scan's progress.
#[function_component(Processing)]
pub fn processing(props: &ProcessingProps) -> Html {
    let strings = &props.strings;
    let c = props.counts;
    let text = fill(
        &strings.processing_count,
        &[
            ("scanned", &c.scanned.to_string()),
            ("total", &c.total.to_string()),
            ("skipped", &c.skipped.to_string()),
        ],
    );
    let cancel = props.on_command.reform(|_: MouseEvent| Command::Cancel);
    html! {
        <div class="aul-step aul-processing">
            <h2 tabindex="-1" ref={props.heading.clone()}>{ strings.processing_title.clone() }</h2>
            <ProgressBar label={strings.processing_progress.clone()} value={c.scanned} max={c.total}
                text={text} />
            <div class="aul-actions">
                <button type="button" class="aul-button" onclick={cancel}>{ strings.cancel.clone() }</button>
            </div>
        </div>
    }
}
