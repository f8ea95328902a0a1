//! The review step: studies found, patient warnings, skipped files, Upload
//! and Cancel.

use std::rc::Rc;

use yew::prelude::*;

use super::command::Command;
use super::patient_warnings::PatientWarnings;
use super::skipped_list::SkippedList;
use super::state::State;
use super::strings::{fill, Strings};
use super::study_table::StudyTable;

/// Properties of [`Pending`].
#[derive(Properties, PartialEq, Clone)]
pub struct PendingProps {
    /// The widget's texts.
    pub strings: Rc<Strings>,
    /// The state (pending step).
    pub state: Rc<State>,
    /// Receives Remove, Upload, Cancel and Start over.
    pub on_command: Callback<Command>,
    /// Focus target of the step's heading.
    pub heading: NodeRef,
}

/// Review before upload.
#[function_component(Pending)]
pub fn pending(props: &PendingProps) -> Html {
    let s = &props.strings;
    let state = &props.state;
    let title = fill(
        &s.pending_title,
        &[("count", &state.studies.len().to_string())],
    );
    let on_remove = props.on_command.reform(Command::RemoveStudy);
    let upload = props.on_command.reform(|_: MouseEvent| Command::Upload);
    let cancel = props.on_command.reform(|_: MouseEvent| Command::Cancel);
    let start_over = props.on_command.reform(|_: MouseEvent| Command::Reset);
    html! {
        <div class="aul-step aul-pending">
            <h2 tabindex="-1" ref={props.heading.clone()}>{ title }</h2>
            if state.studies.is_empty() {
                <p>{ s.no_studies.clone() }</p>
            } else {
                <PatientWarnings strings={s.clone()} warnings={state.warnings.clone()} />
                <StudyTable strings={s.clone()} studies={state.studies.clone()} {on_remove} />
            }
            <SkippedList strings={s.clone()} skipped={state.skipped.clone()} />
            <div class="aul-actions">
                if state.studies.is_empty() {
                    <button type="button" class="aul-button aul-primary" onclick={start_over}>
                        { s.start_over.clone() }
                    </button>
                } else {
                    <button type="button" class="aul-button aul-primary aul-upload" onclick={upload}>
                        { s.upload.clone() }
                    </button>
                    <button type="button" class="aul-button aul-cancel" onclick={cancel}>
                        { s.cancel.clone() }
                    </button>
                }
            </div>
        </div>
    }
}
