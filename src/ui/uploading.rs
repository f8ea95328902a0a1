//! The uploading step: overall and per-study progress, bytes, speed, time
//! left, the retry notice, and Cancel.

use std::rc::Rc;

use yew::prelude::*;

use super::command::Command;
use super::progress_bar::ProgressBar;
use super::state::{State, StudyPhase};
use super::strings::{bytes, duration, fill, Strings};

/// Properties of [`Uploading`].
#[derive(Properties, PartialEq, Clone)]
pub struct UploadingProps {
    /// The widget's texts.
    pub strings: Rc<Strings>,
    /// The state (uploading step).
    pub state: Rc<State>,
    /// Receives Cancel.
    pub on_command: Callback<Command>,
    /// Focus target of the step's heading.
    pub heading: NodeRef,
}

/// Upload progress.
#[function_component(Uploading)]
pub fn uploading(props: &UploadingProps) -> Html {
    let s = &props.strings;
    let upload = &props.state.upload;
    let (sent, total) = (upload.shown(), upload.total());
    let mut details = vec![fill(
        &s.bytes_sent,
        &[("sent", &bytes(sent)), ("total", &bytes(total))],
    )];
    if let Some(speed) = upload
        .bytes_per_second
        .filter(|v| v.is_finite() && *v > 0.0)
    {
        details.push(fill(&s.speed, &[("speed", &bytes(speed as u64))]));
    }
    if let Some(left) = upload.seconds_left.filter(|v| v.is_finite() && *v >= 0.0) {
        details.push(fill(&s.time_left, &[("time", &duration(left))]));
    }
    let cancel = props.on_command.reform(|_: MouseEvent| Command::Cancel);
    html! {
        <div class="aul-step aul-uploading">
            <h2 tabindex="-1" ref={props.heading.clone()}>{ s.uploading_title.clone() }</h2>
            <ProgressBar label={s.overall_progress.clone()} value={sent} max={total}
                text={details.join(" · ")} />
            if let Some(seconds) = upload.retry_in_seconds {
                <p class="aul-retrying">{ fill(&s.retrying, &[("seconds", &seconds.to_string())]) }</p>
            }
            { for upload.studies.iter().map(|study| {
                let description = props.state.studies.iter()
                    .find(|row| row.uid == study.uid)
                    .map(|row| if row.description.is_empty() { row.study_date.clone() } else { row.description.clone() })
                    .unwrap_or_default();
                let phase = match study.phase {
                    StudyPhase::Waiting => &s.study_waiting,
                    StudyPhase::Preparing => &s.study_preparing,
                    StudyPhase::Sending => &s.study_sending,
                    StudyPhase::Done => &s.study_done,
                    StudyPhase::Failed => &s.study_failed,
                };
                html! {
                    <ProgressBar key={study.uid.clone()}
                        label={fill(&s.study_progress, &[("description", &description)])}
                        value={study.shown()} max={study.total}
                        text={format!("{phase} · {}", bytes(study.shown()))} />
                }
            }) }
            <div class="aul-actions">
                <button type="button" class="aul-button aul-cancel" onclick={cancel}>{ s.cancel.clone() }</button>
            </div>
        </div>
    }
}
