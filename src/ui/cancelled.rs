//! The cancelled step.

use std::rc::Rc;

use yew::prelude::*;

use super::command::Command;
use super::strings::Strings;

/// Properties of [`Cancelled`].
#[derive(Properties, PartialEq, Clone)]
pub struct CancelledProps {
    /// The widget's texts.
    pub strings: Rc<Strings>,
    /// Receives Start over.
    pub on_command: Callback<Command>,
    /// Focus target of the step's heading.
    pub heading: NodeRef,
}

/// Cancelled by the user.
#[function_component(Cancelled)]
pub fn cancelled(props: &CancelledProps) -> Html {
    let s = &props.strings;
    let start_over = props.on_command.reform(|_: MouseEvent| Command::Reset);
    html! {
        <div class="aul-step aul-cancelled">
            <h2 tabindex="-1" ref={props.heading.clone()}>{ s.cancelled_title.clone() }</h2>
            <p>{ s.cancelled_text.clone() }</p>
            <div class="aul-actions">
                <button type="button" class="aul-button aul-primary" onclick={start_over}>{ s.start_over.clone() }</button>
            </div>
        </div>
    }
}
