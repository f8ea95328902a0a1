//! The complete step.

use std::rc::Rc;

use yew::prelude::*;

use super::command::Command;
use super::strings::{fill, Strings};

/// Properties of [`Complete`].
#[derive(Properties, PartialEq, Clone)]
pub struct CompleteProps {
    /// The widget's texts.
    pub strings: Rc<Strings>,
    /// Studies uploaded.
    pub count: usize,
    /// Receives "Upload more".
    pub on_command: Callback<Command>,
    /// Focus target of the step's heading.
    pub heading: NodeRef,
}

/// Upload done.
#[function_component(Complete)]
pub fn complete(props: &CompleteProps) -> Html {
    let s = &props.strings;
    let more = props.on_command.reform(|_: MouseEvent| Command::Reset);
    html! {
        <div class="aul-step aul-complete">
            <h2 tabindex="-1" ref={props.heading.clone()}>{ s.complete_title.clone() }</h2>
            <p>{ fill(&s.complete_text, &[("count", &props.count.to_string())]) }</p>
            <div class="aul-actions">
                <button type="button" class="aul-button" onclick={more}>{ s.upload_more.clone() }</button>
            </div>
        </div>
    }
}
