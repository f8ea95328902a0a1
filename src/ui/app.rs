//! The root component: renders the current step, keeps the `aria-live`
//! region up to date and moves focus to a new step's heading.

use std::rc::Rc;

use yew::prelude::*;

use super::cancelled::Cancelled;
use super::command::Command;
use super::complete::Complete;
use super::drop_zone::DropZone;
use super::error::ErrorStep;
use super::live_region::LiveRegion;
use super::pending::Pending;
use super::processing::Processing;
use super::state::{State, Step};
use super::strings::{fill, Strings};
use super::theme::Theme;
use super::uploading::Uploading;

/// Properties of [`App`]: everything the widget shows comes in here; user
/// intents go out through `on_command`.
#[derive(Properties, PartialEq, Clone)]
pub struct AppProps {
    /// The state to show.
    pub state: Rc<State>,
    /// The texts.
    pub strings: Rc<Strings>,
    /// The colour scheme.
    pub theme: Theme,
    /// Receives user intents.
    pub on_command: Callback<Command>,
}

/// The widget's root component.
#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let heading = use_node_ref();
    let last_step = use_mut_ref(|| props.state.step);
    {
        // Focus follows the step (not at mount: the host page keeps its focus).
        let heading = heading.clone();
        use_effect_with(props.state.step, move |step| {
            if *last_step.borrow() != *step {
                if let Some(element) = heading.cast::<web_sys::HtmlElement>() {
                    let _ = element.focus();
                }
            }
            *last_step.borrow_mut() = *step;
        });
    }
    let s = &props.strings;
    let state = &props.state;
    let on_command = props.on_command.clone();
    let step = match state.step {
        Step::Idle => {
            html! { <DropZone strings={s.clone()} {on_command} heading={heading.clone()} /> }
        }
        Step::Processing => html! {
            <Processing strings={s.clone()} counts={state.scan} {on_command} heading={heading.clone()} />
        },
        Step::Pending => html! {
            <Pending strings={s.clone()} state={state.clone()} {on_command} heading={heading.clone()} />
        },
        Step::Uploading => html! {
            <Uploading strings={s.clone()} state={state.clone()} {on_command} heading={heading.clone()} />
        },
        Step::Complete => html! {
            <Complete strings={s.clone()} count={state.uploaded} {on_command} heading={heading.clone()} />
        },
        Step::Error => html! {
            <ErrorStep strings={s.clone()} failure={state.failure.clone()}
                can_retry={state.can_upload()} {on_command} heading={heading.clone()} />
        },
        Step::Cancelled => {
            html! { <Cancelled strings={s.clone()} {on_command} heading={heading.clone()} /> }
        }
    };
    html! {
        <section class="aul-root" data-theme={props.theme.attribute()}
            data-step={state.step.published()} aria-label={s.region_label.clone()}>
            { step }
            <LiveRegion text={announcement(s, state)} />
        </section>
    }
}

/// What the live region says for a state: the step, the count of studies
/// found, the error, the retry notice.
pub fn announcement(s: &Strings, state: &State) -> String {
    match state.step {
        Step::Idle => String::new(),
        Step::Processing => s.processing_title.clone(),
        Step::Pending => fill(
            &s.pending_title,
            &[("count", &state.studies.len().to_string())],
        ),
        Step::Uploading => match state.upload.retry_in_seconds {
            // Announced once per loss, not once per second of countdown.
            Some(_) => fill(&s.retrying, &[("seconds", "…")]),
            None => s.uploading_title.clone(),
        },
        Step::Complete => s.complete_title.clone(),
        Step::Error => match &state.failure {
            Some(failure) if failure.code == super::error::AUTH_FAILED => format!(
                "{}: {} {}",
                s.error_title, failure.message, s.error_auth_hint
            ),
            Some(failure) => format!("{}: {}", s.error_title, failure.message),
            None => s.error_title.clone(),
        },
        Step::Cancelled => s.cancelled_title.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::state::Failure;

    fn failed(failure: Failure) -> State {
        State {
            step: Step::Error,
            failure: Some(failure),
            ..State::default()
        }
    }

    #[test]
    fn a_refused_token_is_announced_with_what_to_do() {
        let s = Strings::default();
        let said = announcement(
            &s,
            &failed(Failure::new(
                "auth_failed",
                "upload token has expired",
                Some(401),
            )),
        );
        assert_eq!(
            said,
            format!(
                "Upload failed: upload token has expired {}",
                s.error_auth_hint
            )
        );
        assert!(s.error_auth_hint.contains("Reload the page"));
    }

    #[test]
    fn other_failures_are_announced_without_the_token_hint() {
        let s = Strings::default();
        let said = announcement(
            &s,
            &failed(Failure::new(
                "network_error",
                "the connection dropped",
                None,
            )),
        );
        assert_eq!(said, "Upload failed: the connection dropped");
    }
}
