//! The error step: what went wrong, what to do about a refused token, and
//! Retry where retrying makes sense.

use std::rc::Rc;

use yew::prelude::*;

use super::command::Command;
use super::state::{Failure, Recovery};
use super::strings::Strings;

/// The failure code of a refused upload token or lift token: a new page
/// load (a new token from the host page) is the way out.
pub const AUTH_FAILED: &str = "auth_failed";

/// Properties of [`ErrorStep`].
#[derive(Properties, PartialEq, Clone)]
pub struct ErrorStepProps {
    /// The widget's texts.
    pub strings: Rc<Strings>,
    /// The failure.
    pub failure: Option<Failure>,
    /// Whether there are studies to upload again.
    pub can_retry: bool,
    /// Receives Retry and Start over.
    pub on_command: Callback<Command>,
    /// Focus target of the step's heading.
    pub heading: NodeRef,
}

/// The failure and the way out.
#[function_component(ErrorStep)]
pub fn error_step(props: &ErrorStepProps) -> Html {
    let s = &props.strings;
    let retry = props.on_command.reform(|_: MouseEvent| Command::Upload);
    let start_over = props.on_command.reform(|_: MouseEvent| Command::Reset);
    let retryable = props.can_retry
        && props
            .failure
            .as_ref()
            .is_some_and(|f| f.recovery == Recovery::RetryUpload);
    html! {
        <div class="aul-step aul-error">
            <h2 tabindex="-1" ref={props.heading.clone()}>{ s.error_title.clone() }</h2>
            if let Some(failure) = &props.failure {
                <p class="aul-error-message">{ failure.message.clone() }</p>
                if failure.code == AUTH_FAILED {
                    <p class="aul-error-hint">{ s.error_auth_hint.clone() }</p>
                }
            }
            <div class="aul-actions">
                if retryable {
                    <button type="button" class="aul-button aul-primary aul-retry" onclick={retry}>
                        { s.retry.clone() }
                    </button>
                }
                <button type="button" class="aul-button" onclick={start_over}>{ s.start_over.clone() }</button>
            </div>
        </div>
    }
}
